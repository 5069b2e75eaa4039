package csv

import (
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/pthv/reach/internal/roster"
)

// releaseUnreferenced drops the sourcedId index of every kind that none of the files still
// to read (next, the first of them, included) refers to, so that memory holds only what
// later checks need: the roles' index, for one, is gone before enrollments.csv is read.
func (rd *reader) releaseUnreferenced(next []*fileSpec) {
	var needed [7]bool
	for _, spec := range next {
		needed[kindIndex[spec.kind]] = true
		for _, c := range spec.cols {
			if c.typ == tRef || c.typ == tRefList {
				needed[c.refK] = true
			}
		}
		if spec.kind == roster.KindRole {
			needed[kindIndex[roster.KindUser]] = true // roles mark the users they name
		}
	}
	for k := range rd.ids {
		if !needed[k] && rd.ids[k].len() > 0 {
			rd.ids[k] = newIDTable(0)
		}
	}
}

// resolvePending checks references to records of the same file that were not yet read
// when their row was, retracting rows whose target is missing or rejected, until nothing
// changes (a retracted row may be the target of another pending reference).
func (rd *reader) resolvePending() error {
	ids := rd.ids[rd.kind]
	for changed := true; changed; {
		changed = false
		for i := range rd.pending {
			p := &rd.pending[i]
			from, ok := ids.get(p.from)
			if !ok || from.state != stAccepted {
				continue
			}
			code, msg := rd.refProblem(rd.kind, []byte(p.target), 0, p.col)
			if code == "" {
				continue
			}
			rd.add(Finding{Code: code, File: rd.spec.file, Line: p.line, Column: p.col, SourcedID: roster.FindingID(p.fromID), Message: msg})
			from.state = stRejected
			ids.put(p.from, from)
			rd.sum.Accepted--
			rd.sum.Rejected++
			changed = true
			if rd.sink != nil {
				if err := rd.sink.Reject(rd.spec.kind, p.fromID); err != nil {
					return err
				}
			}
		}
	}
	rd.pending = nil // a large file's list is not kept through the next files
	return nil
}

// refProblem checks a reference to kind/id. It returns "" when the reference is good or
// cannot be checked without the roster in a way that is only informational; in that case
// the info finding has been added by the caller via the returned code CodeRefUnverified.
func (rd *reader) refProblem(k int, v []byte, need uint8, col string) (Code, string) {
	e, ok := rd.ids[k].get(maphash.Bytes(rd.seed, v))
	return rd.refProblemOf(k, v, e, ok, need, col)
}

// refProblemOf is refProblem for the entry e (ok when present) already looked up for v.
func (rd *reader) refProblemOf(k int, v []byte, e ent, ok bool, need uint8, col string) (Code, string) {
	if ok && e.state == stAccepted && (need == 0 || e.flags&need != 0) {
		return "", "" // the common case: no strings are built
	}
	kind := roster.Kinds[k]
	id := string(v)
	target := fileOfKind[kind]
	shown := roster.MessageID(id)
	if ok {
		if e.state == stRejected {
			return CodeRefRejected, fmt.Sprintf("%s refers to %s, which was rejected (%s line %d)", col, shown, target, e.line)
		}
		if need != 0 && e.flags&need == 0 {
			return CodeRefType, fmt.Sprintf("%s refers to %s, which is not %s (%s line %d)", col, shown, needText(need), target, e.line)
		}
		return "", ""
	}
	if rd.failed[k] {
		return "", "" // the target file is rejected as a whole; no cascade of findings
	}
	if rd.opt.Resolver != nil && rd.opt.Resolver.Known(kind, id) {
		return "", ""
	}
	switch rd.kmode[k] {
	case roster.ModeBulk:
		return CodeRefDangling, fmt.Sprintf("%s refers to %s, which is not in %s", col, shown, target)
	case roster.ModeDelta:
		if rd.opt.Resolver != nil {
			return CodeRefDangling, fmt.Sprintf("%s refers to %s, which is neither in %s nor in the district's roster", col, shown, target)
		}
		return CodeRefUnverified, fmt.Sprintf("%s refers to %s, which is not in this delta %s; it must exist in the district's roster", col, shown, target)
	}
	if rd.opt.Resolver != nil {
		return CodeRefDangling, fmt.Sprintf("%s refers to %s, which is not in the district's roster (%s is absent from the export)", col, shown, target)
	}
	return CodeRefTargetAbsent, fmt.Sprintf("%s refers to %s, but manifest.csv marks %s absent", col, shown, target)
}

func needText(need uint8) string {
	switch need {
	case flagSchool:
		return "an org of type school"
	case flagSchoolYear:
		return "an academic session of type schoolYear"
	}
	return "of the required type"
}

// checkUsersHaveRoles warns about users that no roles.csv row names, when both files are
// complete snapshots.
func (rd *reader) checkUsersHaveRoles() {
	if rd.modes["users.csv"] != roster.ModeBulk || rd.modes["roles.csv"] != roster.ModeBulk ||
		rd.failed[kindIndex[roster.KindUser]] || rd.failed[kindIndex[roster.KindRole]] {
		return
	}
	var lines []int
	rd.ids[kindIndex[roster.KindUser]].each(func(e ent) {
		if e.state == stAccepted && e.flags&flagHasRole == 0 {
			lines = append(lines, int(e.line))
		}
	})
	slices.Sort(lines)
	for _, l := range lines {
		rd.add(Finding{Code: CodeUserNoRole, File: "users.csv", Line: l,
			Message: "no row of roles.csv names this user; the user is kept but is no student, teacher or guardian"})
	}
}
