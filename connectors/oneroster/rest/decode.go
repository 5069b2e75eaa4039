package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pthv/reach/internal/sis"
)

// flex is a JSON value read leniently as text: a string, a number or a boolean.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case b[0] == '{' || b[0] == '[':
		*f = "" // an object where text belongs: read as blank, the validator names it
	default:
		*f = flex(b) // true, false, a number
	}
	return nil
}

// ref is a GUIDRef ({"sourcedId": "...", "href": ..., "type": ...}); some servers send the
// bare id as a string.
type ref struct{ SourcedID flex }

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			SourcedID flex `json:"sourcedId"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		r.SourcedID = v.SourcedID
		return nil
	}
	return r.SourcedID.UnmarshalJSON(b)
}

// list is an array of text that some servers send as one comma-separated string.
type list []string

func (l *list) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var vs []flex
		if err := json.Unmarshal(b, &vs); err != nil {
			return err
		}
		*l = nil
		for _, v := range vs {
			*l = append(*l, string(v))
		}
		return nil
	}
	var f flex
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = nil
	if f != "" {
		*l = strings.Split(string(f), ",")
	}
	return nil
}

// refs is an array of GUIDRefs (or a single one).
type refs []ref

func (r *refs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var vs []ref
		if err := json.Unmarshal(b, &vs); err != nil {
			return err
		}
		*r = vs
		return nil
	}
	if string(b) == "null" {
		*r = nil
		return nil
	}
	var one ref
	if err := one.UnmarshalJSON(b); err != nil {
		return err
	}
	*r = refs{one}
	return nil
}

func (r refs) ids() string {
	var out []string
	for _, x := range r {
		if x.SourcedID != "" {
			out = append(out, string(x.SourcedID))
		}
	}
	return strings.Join(out, ",")
}

// record is every field of every collection the service reads; unknown fields are ignored,
// and demographics are never asked for nor kept.
type record struct {
	SourcedID        flex `json:"sourcedId"`
	Status           flex `json:"status"`
	DateLastModified flex `json:"dateLastModified"`
	// orgs
	Name       flex `json:"name"`
	Type       flex `json:"type"`
	Identifier flex `json:"identifier"`
	Parent     ref  `json:"parent"`
	// academicSessions, courses, classes
	Title       flex            `json:"title"`
	StartDate   flex            `json:"startDate"`
	EndDate     flex            `json:"endDate"`
	SchoolYear  json.RawMessage `json:"schoolYear"`
	CourseCode  flex            `json:"courseCode"`
	Grades      list            `json:"grades"`
	Org         ref             `json:"org"`
	Subjects    list            `json:"subjects"`
	SubjectCode list            `json:"subjectCodes"`
	Course      ref             `json:"course"`
	ClassCode   flex            `json:"classCode"`
	ClassType   flex            `json:"classType"`
	Location    flex            `json:"location"`
	School      ref             `json:"school"`
	Terms       refs            `json:"terms"`
	Periods     list            `json:"periods"`
	// users
	EnabledUser flex `json:"enabledUser"`
	Username    flex `json:"username"`
	GivenName   flex `json:"givenName"`
	FamilyName  flex `json:"familyName"`
	Email       flex `json:"email"`
	SMS         flex `json:"sms"`
	Phone       flex `json:"phone"`
	Agents      refs `json:"agents"`
	PrimaryOrg  ref  `json:"primaryOrg"`
	Role        flex `json:"role"` // 1.1 users; enrollments
	Orgs        refs `json:"orgs"` // 1.1 users
	Roles       []struct {
		RoleType  flex `json:"roleType"`
		Role      flex `json:"role"`
		Org       ref  `json:"org"`
		BeginDate flex `json:"beginDate"`
		EndDate   flex `json:"endDate"`
	} `json:"roles"`
	// enrollments
	Class     ref  `json:"class"`
	User      ref  `json:"user"`
	Primary   flex `json:"primary"`
	BeginDate flex `json:"beginDate"`
}

// schoolYear reads schoolYear, which is a GUIDRef in courses and a year in sessions.
func (r *record) schoolYear() (year, refID string) {
	b := bytes.TrimSpace(r.SchoolYear)
	if len(b) > 0 && b[0] == '{' {
		var x ref
		_ = x.UnmarshalJSON(b)
		return "", string(x.SourcedID)
	}
	var f flex
	_ = f.UnmarshalJSON(b)
	return string(f), ""
}

// status reads 1.1's "inactive" (and "deleted") as tobedeleted, any case as written.
func status(s flex) string {
	switch strings.ToLower(string(s)) {
	case "inactive", "deleted", "tobedeleted":
		return "tobedeleted"
	}
	return string(s)
}

// boolText reads true/false as strings or booleans; anything else is passed on for the
// validator to name.
func boolText(s flex) string {
	switch strings.ToLower(string(s)) {
	case "true", "1":
		return "true"
	case "false", "0":
		return "false"
	}
	return string(s)
}

// envelope is a collection response: {"<key>": [records], and sometimes a total}.
type envelope struct {
	records []json.RawMessage
	total   int // -1 when the body has none
}

// decodeEnvelope reads the collection key's array. A body without the key is an error
// (an HTML page, an error body with status 200); null or [] is an empty page.
func decodeEnvelope(b []byte, key string) (envelope, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return envelope{}, fmt.Errorf("the response is not a JSON object: %v", jsonErr(err))
	}
	env := envelope{total: -1}
	raw, ok := top[key]
	if !ok {
		return envelope{}, fmt.Errorf("the response has no %q array", key)
	}
	if string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &env.records); err != nil {
			return envelope{}, fmt.Errorf("%q is not an array: %v", key, jsonErr(err))
		}
	}
	for _, k := range []string{"totalCount", "total", "x-total-count"} {
		if v, ok := top[k]; ok {
			if n, err := strconv.Atoi(strings.Trim(string(v), `" `)); err == nil && n >= 0 {
				env.total = n
			}
		}
	}
	return env, nil
}

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("a %s where %s belongs at byte %d", te.Value, te.Type, te.Offset)
	}
	return "invalid JSON"
}

// rows turns one decoded record into CSV rows of the layout. A record that cannot be decoded
// at all (not an object) still yields a row with only its position, so the validator reports it.
func rows(layout, collection string, raw json.RawMessage) ([]sis.Row, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("a record is not a valid object: %v", jsonErr(err))
	}
	id, st, mod := string(r.SourcedID), status(r.Status), string(r.DateLastModified)
	row := func(file string, vals map[string]string) sis.Row {
		cols := sis.Columns(layout, file)
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = vals[c]
		}
		return sis.Row{File: file, Cells: cells}
	}
	base := func(m map[string]string) map[string]string {
		m["sourcedId"], m["status"], m["dateLastModified"] = id, st, mod
		return m
	}
	switch collection {
	case "orgs":
		return []sis.Row{row("orgs.csv", base(map[string]string{"name": string(r.Name), "type": string(r.Type),
			"identifier": string(r.Identifier), "parentSourcedId": string(r.Parent.SourcedID)}))}, nil
	case "academicSessions":
		year, _ := r.schoolYear()
		return []sis.Row{row("academicSessions.csv", base(map[string]string{"title": string(r.Title), "type": string(r.Type),
			"startDate": string(r.StartDate), "endDate": string(r.EndDate), "parentSourcedId": string(r.Parent.SourcedID), "schoolYear": year}))}, nil
	case "courses":
		_, sy := r.schoolYear()
		return []sis.Row{row("courses.csv", base(map[string]string{"schoolYearSourcedId": sy, "title": string(r.Title),
			"courseCode": string(r.CourseCode), "grades": strings.Join(r.Grades, ","), "orgSourcedId": string(r.Org.SourcedID),
			"subjects": strings.Join(r.Subjects, ","), "subjectCodes": strings.Join(r.SubjectCode, ",")}))}, nil
	case "classes":
		return []sis.Row{row("classes.csv", base(map[string]string{"title": string(r.Title), "grades": strings.Join(r.Grades, ","),
			"courseSourcedId": string(r.Course.SourcedID), "classCode": string(r.ClassCode), "classType": string(r.ClassType),
			"location": string(r.Location), "schoolSourcedId": string(r.School.SourcedID), "termSourcedIds": r.Terms.ids(),
			"subjects": strings.Join(r.Subjects, ","), "subjectCodes": strings.Join(r.SubjectCode, ","), "periods": strings.Join(r.Periods, ",")}))}, nil
	case "enrollments":
		return []sis.Row{row("enrollments.csv", base(map[string]string{"classSourcedId": string(r.Class.SourcedID),
			"schoolSourcedId": string(r.School.SourcedID), "userSourcedId": string(r.User.SourcedID), "role": string(r.Role),
			"primary": boolText(r.Primary), "beginDate": string(r.BeginDate), "endDate": string(r.EndDate)}))}, nil
	case "users":
		u := base(map[string]string{"enabledUser": boolText(r.EnabledUser), "username": string(r.Username),
			"givenName": string(r.GivenName), "familyName": string(r.FamilyName), "identifier": string(r.Identifier),
			"email": string(r.Email), "sms": string(r.SMS), "phone": string(r.Phone), "agentSourcedIds": r.Agents.ids(),
			"grades": strings.Join(r.Grades, ",")})
		if u["enabledUser"] == "" {
			u["enabledUser"] = "true" // optional in REST; the CSV layout requires it
		}
		if layout == "1.1" {
			u["role"], u["orgSourcedIds"] = string(r.Role), r.Orgs.ids()
			if u["role"] == "" && len(r.Roles) > 0 { // 1.2-shaped data on a 1.1 path (ClassLink)
				u["role"] = string(r.Roles[0].Role)
				var orgs []string
				for _, x := range r.Roles {
					orgs = append(orgs, string(x.Org.SourcedID))
				}
				u["orgSourcedIds"] = strings.Join(orgs, ",")
			}
			return []sis.Row{row("users.csv", u)}, nil
		}
		u["primaryOrgSourcedId"] = string(r.PrimaryOrg.SourcedID)
		out := []sis.Row{row("users.csv", u)}
		roles := r.Roles
		if len(roles) == 0 && r.Role != "" { // 1.1-shaped data on a 1.2 path
			for i, o := range r.Orgs {
				rt := "secondary"
				if i == 0 {
					rt = "primary"
				}
				roles = append(roles, struct {
					RoleType  flex `json:"roleType"`
					Role      flex `json:"role"`
					Org       ref  `json:"org"`
					BeginDate flex `json:"beginDate"`
					EndDate   flex `json:"endDate"`
				}{RoleType: flex(rt), Role: r.Role, Org: o})
			}
		}
		for _, x := range roles {
			out = append(out, row("roles.csv", map[string]string{"sourcedId": sis.RoleID(id, string(x.Org.SourcedID), string(x.Role)),
				"status": st, "dateLastModified": mod, "userSourcedId": id, "roleType": string(x.RoleType), "role": string(x.Role),
				"beginDate": string(x.BeginDate), "endDate": string(x.EndDate), "orgSourcedId": string(x.Org.SourcedID)}))
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown collection %q", collection)
}

// describe returns " (description)" from an imsx_ error body in any of the shapes vendors
// send, or "" when there is none. Only the description and code are kept, never more than
// 200 characters.
func describe(b []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return ""
	}
	if inner, ok := top["imsx_StatusInfo"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(inner, &m) == nil {
			top = m
		}
	} else if arr, ok := top["statusInfoSet"]; ok {
		var ms []map[string]json.RawMessage
		if json.Unmarshal(arr, &ms) == nil && len(ms) > 0 {
			top = ms[0]
		}
	}
	var desc, major, minor flex
	if v, ok := top["imsx_description"]; ok {
		_ = desc.UnmarshalJSON(v)
	} else if v, ok := top["error_description"]; ok {
		_ = desc.UnmarshalJSON(v)
	}
	if v, ok := top["imsx_codeMajor"]; ok {
		_ = major.UnmarshalJSON(v)
	}
	if v, ok := top["imsx_CodeMinor"]; ok {
		var cm struct {
			Fields []struct {
				Value flex `json:"imsx_codeMinorFieldValue"`
			} `json:"imsx_codeMinorField"`
		}
		if json.Unmarshal(v, &cm) == nil && len(cm.Fields) > 0 {
			minor = cm.Fields[0].Value
		}
	} else if v, ok := top["imsx_codeMinor"]; ok {
		_ = minor.UnmarshalJSON(v)
	} else if v, ok := top["error"]; ok {
		_ = minor.UnmarshalJSON(v)
	}
	parts := []string{}
	for _, p := range []flex{major, minor, desc} {
		if p != "" {
			parts = append(parts, string(p))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, ": ")
	if len(s) > 200 {
		s = s[:200]
	}
	return " (" + s + ")"
}
