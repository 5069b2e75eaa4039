package csv

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"time"
	"unicode/utf8"

	"github.com/pthv/reach/internal/roster"
)

// rowCtx checks one data row at a time; it is reused across the rows of a file.
type rowCtx struct {
	rd     *reader
	sc     *scanner
	fields [][]byte
	line   int
	errs   int
	id     []byte
	idOK   bool
	idStr  string
	status roster.Status
	flags  uint8
	pend   []pendingRef
	items  [][]byte
}

// rawID is the row's sourcedId when it is valid, else "".
func (r *rowCtx) rawID() string {
	if r.idOK && r.idStr == "" {
		r.idStr = string(r.id)
	}
	return r.idStr
}

// sid is the row's sourcedId as findings may show it.
func (r *rowCtx) sid() string { return roster.FindingID(r.rawID()) }

func (r *rowCtx) colName(i int) string {
	if i >= 0 && i < len(r.rd.hdr) {
		return r.rd.hdr[i]
	}
	return ""
}

func (r *rowCtx) finding(code Code, col, msg string) {
	r.rd.add(Finding{Code: code, File: r.rd.spec.file, Line: r.line, Column: col, SourcedID: r.sid(), Message: msg})
	if rule := ruleByCode[code]; rule.Severity == SeverityError {
		r.errs++
	}
}

// get returns the value of a spec column, or nil when the column is missing or the row short.
func (r *rowCtx) get(name string) []byte {
	i, ok := r.rd.idx[name]
	if !ok {
		return nil
	}
	return r.at(i)
}

// at returns the value of physical column i, or nil when i < 0 or the row is short.
func (r *rowCtx) at(i int) []byte {
	if i < 0 || i >= len(r.fields) {
		return nil
	}
	return r.fields[i]
}

func (r *rowCtx) process(fields [][]byte) error {
	rd := r.rd
	spec := rd.spec
	rd.sum.Rows++
	r.fields, r.line, r.errs, r.idStr, r.flags = fields, r.sc.line, 0, "", 0
	r.pend = r.pend[:0]
	r.id = r.at(rd.cidx[0])
	r.idOK = validID(r.id)

	for _, p := range r.sc.prob {
		col := r.colName(p.column)
		msg := p.msg
		if p.code == CodeNotUTF8 {
			msg = "the line has bytes that are not UTF-8; save the export as UTF-8 (the reader never guesses an encoding, so names are not corrupted)"
			for i, f := range fields {
				if !utf8.Valid(f) {
					col = r.colName(i)
					break
				}
			}
		}
		r.finding(p.code, col, msg)
	}
	switch {
	case r.errs > 0:
		// The line could not be split reliably: a cell count would only repeat the problem.
	case len(fields) < len(rd.hdr):
		r.finding(CodeFieldCount, "", fmt.Sprintf("the row has %d cells but the header has %d", len(fields), len(rd.hdr)))
	case len(fields) > len(rd.hdr):
		for _, f := range fields[len(rd.hdr):] {
			if len(f) > 0 {
				r.finding(CodeFieldCount, "", fmt.Sprintf("the row has %d cells but the header has %d", len(fields), len(rd.hdr)))
				break
			}
		}
	}
	if r.errs > 0 {
		return r.finish()
	}
	r.checkStatus()
	if r.status == roster.StatusToBeDeleted {
		// Deleting needs only the sourcedId: the other fields are not checked.
		if !r.idOK {
			r.checkID()
		}
		return r.finish()
	}
	for ci := range spec.cols {
		c := &spec.cols[ci]
		i := rd.cidx[ci]
		if i < 0 {
			continue
		}
		var v []byte
		if i < len(fields) {
			v = fields[i]
		}
		if c.typ == tSkip || c.typ == tStatus || c.typ == tModified {
			continue
		}
		if len(v) == 0 || (c.typ != tText && (v[0] == ' ' || v[len(v)-1] == ' ') && len(bytes.TrimSpace(v)) == 0) {
			if c.req {
				r.finding(CodeRequired, c.name, c.name+" is required but blank")
			}
			continue
		}
		if c.max > 0 && len(v) > c.max {
			// Rejected before its record is built: no value longer than its cap is ever held.
			r.finding(CodeValueTooLong, c.name, fmt.Sprintf("%s is %d bytes long; at most %d are kept", c.name, len(v), c.max))
			continue
		}
		if ch, bad := controlAt(v); bad {
			r.finding(CodeControlChar, c.name, fmt.Sprintf("%s contains the control character U+%04X; values may not hold control or bidirectional override characters", c.name, ch))
			continue
		}
		switch c.typ {
		case tID:
			r.checkID()
		case tRef:
			r.checkRef(c, v)
		case tRefList:
			r.items = splitList(r.items[:0], v)
			for _, it := range r.items {
				r.checkRef(c, it)
			}
		case tDate:
			if !validDate(v) {
				r.finding(CodeDate, c.name, c.name+" must be a real date written YYYY-MM-DD (for example 2025-09-02)")
			}
		case tYear:
			if _, ok := digits(v); !ok || len(v) != 4 {
				r.finding(CodeYear, c.name, c.name+" must be the four-digit year in which the school year ends (for example 2026)")
			}
		case tBool:
			switch string(v) {
			case "true", "false":
			default:
				if bytes.EqualFold(v, []byte("true")) || bytes.EqualFold(v, []byte("false")) {
					r.finding(CodeBooleanCase, c.name, c.name+" should be written in lower case (true or false); it is read as meant")
					fields[i] = bytes.ToLower(v)
				} else {
					r.finding(CodeBoolean, c.name, c.name+" must be true or false")
				}
			}
		case tEnum:
			r.checkEnum(c, i, v)
		}
	}
	return r.finish()
}

func (r *rowCtx) checkID() {
	if len(r.id) == 0 {
		r.finding(CodeRequired, "sourcedId", "sourcedId is required but blank")
	} else if !r.idOK {
		r.finding(CodeSourcedID, "sourcedId", "sourcedId must be 1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -")
	}
}

func (r *rowCtx) checkStatus() {
	rd := r.rd
	st, dlm := r.at(rd.cidx[1]), r.at(rd.cidx[2])
	r.status = roster.StatusActive
	if rd.mode == roster.ModeBulk {
		if len(st) > 0 || len(dlm) > 0 {
			r.finding(CodeBulkStatus, "status", "status and dateLastModified must be blank in a bulk file; they are ignored except tobedeleted")
		}
		switch {
		case len(st) == 0 || bytes.EqualFold(st, []byte("active")):
		case bytes.EqualFold(st, []byte("tobedeleted")):
			r.status = roster.StatusToBeDeleted
		default:
			r.finding(CodeStatus, "status", statusMsg(st))
		}
		return
	}
	switch {
	case len(st) == 0:
		r.finding(CodeRequired, "status", "status is required in a delta file (active or tobedeleted)")
	case string(st) == "active":
	case string(st) == "tobedeleted":
		r.status = roster.StatusToBeDeleted
	case bytes.EqualFold(st, []byte("active")):
		r.finding(CodeEnumCase, "status", "status should be written active; it is read as meant")
	case bytes.EqualFold(st, []byte("tobedeleted")):
		r.finding(CodeEnumCase, "status", "status should be written tobedeleted; it is read as meant")
		r.status = roster.StatusToBeDeleted
	default:
		r.finding(CodeStatus, "status", statusMsg(st))
	}
	switch {
	case len(dlm) == 0:
		r.finding(CodeRequired, "dateLastModified", "dateLastModified is required in a delta file")
	case validDateTime(dlm):
	default:
		if _, err := time.Parse(time.RFC3339Nano, string(dlm)); err == nil {
			r.finding(CodeDateTimeFormat, "dateLastModified", "dateLastModified should be written YYYY-MM-DDTHH:MM:SS.sssZ in UTC; it is read as meant")
		} else {
			r.finding(CodeDateTime, "dateLastModified", "dateLastModified must be a UTC date and time written YYYY-MM-DDTHH:MM:SS.sssZ")
		}
	}
}

func statusMsg(st []byte) string {
	if bytes.EqualFold(st, []byte("inactive")) {
		return "status inactive is a OneRoster 1.0 value; use tobedeleted in a delta file, or leave the record out of a bulk file"
	}
	return "status must be active or tobedeleted"
}

func (r *rowCtx) checkEnum(c *colSpec, i int, v []byte) {
	voc := c.vocab
	canon, exact, ok := voc.lookup(v)
	if exact {
		r.noteFlags(c, v)
		return
	}
	if voc.ext && len(v) > 4 && string(v[:4]) == "ext:" && validExt(v[4:]) {
		return
	}
	if ok {
		r.finding(CodeEnumCase, c.name, fmt.Sprintf("%s values are case-sensitive; this one is read as %s", c.name, canon))
		r.fields[i] = []byte(canon)
		r.noteFlags(c, r.fields[i])
		return
	}
	r.finding(CodeEnum, c.name, fmt.Sprintf("%s must be one of %s", c.name, voc.list()))
}

func validExt(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == ',' || c == '"' || c >= 0x7f {
			return false
		}
	}
	return true
}

// noteFlags records the type flags a reference may require of this record.
func (r *rowCtx) noteFlags(c *colSpec, v []byte) {
	if c.name != "type" {
		return
	}
	switch {
	case r.rd.spec.kind == roster.KindOrg && string(v) == "school":
		r.flags |= flagSchool
	case r.rd.spec.kind == roster.KindAcademicSession && string(v) == "schoolYear":
		r.flags |= flagSchoolYear
	}
}

func (r *rowCtx) checkRef(c *colSpec, v []byte) {
	if !validID(v) {
		r.finding(CodeSourcedID, c.name, c.name+" must hold sourcedIds of 1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -")
		return
	}
	rd := r.rd
	e, seen := rd.ids[c.refK].get(maphash.Bytes(rd.seed, v))
	if !seen && c.ref == rd.spec.kind {
		r.pend = append(r.pend, pendingRef{line: r.line, col: c.name, target: string(v)})
		return
	}
	code, msg := rd.refProblemOf(c.refK, v, e, seen, c.need, c.name)
	if code != "" {
		r.finding(code, c.name, msg)
	}
}

// finish registers the row's sourcedId and passes an accepted row to the sink.
func (r *rowCtx) finish() error {
	rd := r.rd
	ids := rd.ids[rd.kind]
	var h uint64
	if !r.idOK && r.errs == 0 {
		r.checkID()
	}
	st := stAccepted
	if r.errs > 0 {
		st = stRejected
	}
	if r.idOK {
		h = maphash.Bytes(rd.seed, r.id)
		if first, dup := ids.insert(h, ent{line: uint32(r.line), state: st, flags: r.flags}); dup {
			r.finding(CodeDuplicate, "sourcedId", fmt.Sprintf("sourcedId %s already appears on line %d; this row is rejected", roster.MessageID(string(r.id)), first.line))
			rd.sum.Rejected++
			return nil
		}
	}
	if r.errs > 0 {
		rd.sum.Rejected++
		if rd.sink != nil && r.idOK {
			return rd.sink.Reject(rd.spec.kind, r.rawID())
		}
		return nil
	}
	rd.sum.Accepted++
	for _, p := range r.pend {
		p.from, p.fromID = h, r.rawID()
		rd.pending = append(rd.pending, p)
	}
	if rd.spec.kind == roster.KindRole && r.status == roster.StatusActive {
		uh := maphash.Bytes(rd.seed, r.get("userSourcedId"))
		if u := rd.ids[kindIndex[roster.KindUser]].ref(uh); u != nil {
			u.flags |= flagHasRole
		}
	}
	if rd.sink == nil {
		return nil
	}
	return r.emit()
}

// emit builds the record from the row and passes it on.
func (r *rowCtx) emit() error {
	s := func(name string) string { return string(r.get(name)) }
	list := func(name string) []string {
		v := r.get(name)
		if len(v) == 0 {
			return nil
		}
		var out []string
		for _, it := range splitList(nil, v) {
			out = append(out, string(it))
		}
		return out
	}
	id, st := r.rawID(), r.status
	var rec roster.Record
	switch r.rd.spec.kind {
	case roster.KindOrg:
		rec = &roster.Org{SourcedID: id, Status: st, Name: s("name"), Type: s("type"), Identifier: s("identifier"),
			ParentSourcedID: s("parentSourcedId")}
	case roster.KindAcademicSession:
		rec = &roster.AcademicSession{SourcedID: id, Status: st, Title: s("title"), Type: s("type"),
			StartDate: s("startDate"), EndDate: s("endDate"), ParentSourcedID: s("parentSourcedId"), SchoolYear: s("schoolYear")}
	case roster.KindCourse:
		rec = &roster.Course{SourcedID: id, Status: st, Title: s("title"), CourseCode: s("courseCode"),
			SchoolYearSourcedID: s("schoolYearSourcedId"), OrgSourcedID: s("orgSourcedId"), Grades: list("grades")}
	case roster.KindClass:
		rec = &roster.Class{SourcedID: id, Status: st, Title: s("title"), ClassCode: s("classCode"), ClassType: s("classType"),
			CourseSourcedID: s("courseSourcedId"), SchoolSourcedID: s("schoolSourcedId"),
			TermSourcedIDs: list("termSourcedIds"), Grades: list("grades")}
	case roster.KindUser:
		phone := s("phone")
		if phone == "" {
			phone = s("sms")
		}
		u := &roster.User{SourcedID: id, Status: st, EnabledUser: string(r.get("enabledUser")) == "true",
			Identifier: s("identifier"), GivenName: s("givenName"), FamilyName: s("familyName"), Email: s("email"),
			Phone: phone, AgentSourcedIDs: list("agentSourcedIds"), Grades: list("grades"),
			PrimaryOrgSourcedID: s("primaryOrgSourcedId")}
		if err := r.rd.sink.Record(u); err != nil {
			return err
		}
		if r.rd.version == "1.1" {
			role := s("role")
			for n, org := range list("orgSourcedIds") {
				rt := "secondary"
				if n == 0 {
					rt = "primary"
				}
				if err := r.rd.sink.Record(&roster.Role{SourcedID: id + "#" + org, Status: st, UserSourcedID: id,
					RoleType: rt, Role: role, OrgSourcedID: org}); err != nil {
					return err
				}
			}
		}
		return nil
	case roster.KindRole:
		rec = &roster.Role{SourcedID: id, Status: st, UserSourcedID: s("userSourcedId"), RoleType: s("roleType"),
			Role: s("role"), OrgSourcedID: s("orgSourcedId"), BeginDate: s("beginDate"), EndDate: s("endDate")}
	case roster.KindEnrollment:
		rec = &roster.Enrollment{SourcedID: id, Status: st, ClassSourcedID: s("classSourcedId"),
			SchoolSourcedID: s("schoolSourcedId"), UserSourcedID: s("userSourcedId"), Role: s("role"),
			Primary: string(r.get("primary")) == "true", BeginDate: s("beginDate"), EndDate: s("endDate")}
	}
	return r.rd.sink.Record(rec)
}

// splitList splits a comma-separated list, trimming spaces around items and dropping
// empty ones.
func splitList(dst [][]byte, v []byte) [][]byte {
	for len(v) > 0 {
		j := bytes.IndexByte(v, ',')
		var it []byte
		if j < 0 {
			it, v = v, nil
		} else {
			it, v = v[:j], v[j+1:]
		}
		it = bytes.TrimSpace(it)
		if len(it) > 0 {
			dst = append(dst, it)
		}
	}
	return dst
}
