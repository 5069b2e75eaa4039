package clever

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The decode structs below hold only what the roster keeps. They have no field for dob,
// gender, race, hispanic_ethnicity, ell_status, location, iep_status, frl_status,
// credentials or ext: encoding/json skips keys a struct lacks, so those values are never
// copied into anything that outlives the page's bytes (and Strip removes them from the
// bytes before they are staged).

// envelope is a Clever list response: {"data":[{"data":{…}}],"links":[{"rel","uri"}]}.
type envelope struct {
	Data  []json.RawMessage `json:"data"`
	Links []link            `json:"links"`
}

type link struct {
	Rel string `json:"rel"`
	URI string `json:"uri"`
}

// wrapped is one element of an envelope's data array.
type wrapped struct {
	Data json.RawMessage `json:"data"`
}

type district struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NCESID string `json:"nces_id"`
}

type school struct {
	ID           string `json:"id"`
	District     string `json:"district"`
	Name         string `json:"name"`
	SchoolNumber string `json:"school_number"`
	SISID        string `json:"sis_id"`
	LowGrade     string `json:"low_grade"`
	HighGrade    string `json:"high_grade"`
}

type term struct {
	ID        string `json:"id"`
	District  string `json:"district"`
	Name      string `json:"name"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

type course struct {
	ID       string `json:"id"`
	District string `json:"district"`
	Name     string `json:"name"`
	Number   string `json:"number"`
}

type section struct {
	ID            string   `json:"id"`
	District      string   `json:"district"`
	School        string   `json:"school"`
	Course        string   `json:"course"`
	TermID        string   `json:"term_id"`
	Name          string   `json:"name"`
	SectionNumber string   `json:"section_number"`
	Subject       string   `json:"subject"`
	Grade         string   `json:"grade"`
	Teacher       string   `json:"teacher"`
	Teachers      []string `json:"teachers"`
	Students      []string `json:"students"`
}

type name struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

type user struct {
	ID           string `json:"id"`
	District     string `json:"district"`
	Email        string `json:"email"`
	Name         name   `json:"name"`
	LastModified string `json:"last_modified"`
	Roles        roles  `json:"roles"`
}

type roles struct {
	Student *studentRole `json:"student"`
	Teacher *teacherRole `json:"teacher"`
	Staff   *staffRole   `json:"staff"`
	Contact *contactRole `json:"contact"`
}

type studentRole struct {
	SISID         string   `json:"sis_id"`
	StudentNumber string   `json:"student_number"`
	Grade         string   `json:"grade"`
	School        string   `json:"school"`
	Schools       []string `json:"schools"`
}

type teacherRole struct {
	SISID         string   `json:"sis_id"`
	TeacherNumber string   `json:"teacher_number"`
	School        string   `json:"school"`
	Schools       []string `json:"schools"`
}

type staffRole struct {
	StaffID string   `json:"staff_id"`
	Title   string   `json:"title"`
	Schools []string `json:"schools"`
}

type contactRole struct {
	SISID         string         `json:"sis_id"`
	Phone         string         `json:"phone"`
	Relationships []relationship `json:"student_relationships"`
}

type relationship struct {
	Student      string `json:"student"`
	Relationship string `json:"relationship"`
	Type         string `json:"type"`
}

// decodeEnvelope reads a page leniently: unknown keys are ignored, a missing data array is
// an empty page. It fails, with a message fit for the operator, on a body that is not a
// JSON object (an HTML page from a wrong kind of token, a proxy's error page).
func decodeEnvelope(body []byte) (*envelope, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("the response body is empty, not a Clever JSON page")
	}
	if trimmed[0] == '<' {
		return nil, fmt.Errorf("the response is an HTML page, not Clever JSON: the token is probably not a district-app bearer token (an app, SSO or expired token), or a proxy answered")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("the response is not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, fmt.Errorf("the response is not a Clever list page: %s", jsonErr(err))
	}
	return &env, nil
}

// jsonErr describes a decoding error without quoting any value from the body.
func jsonErr(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return fmt.Sprintf("field %s is a JSON %s, not a %s", e.Field, e.Value, e.Type)
		}
		return fmt.Sprintf("a JSON %s where a %s belongs", e.Value, e.Type)
	}
	return "invalid JSON"
}

// next returns the envelope's rel=next URI, or "".
func (e *envelope) next() string {
	for _, l := range e.Links {
		if l.Rel == "next" {
			return l.URI
		}
	}
	return ""
}

// unwrap returns the inner record of data element i. Clever wraps every record in
// {"data":{…}}; a record sent bare is accepted too (lenient), as long as it is an object.
func unwrap(raw json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("a data element is not a JSON object")
	}
	var w wrapped
	if err := json.Unmarshal(t, &w); err != nil {
		return nil, fmt.Errorf("a data element is malformed: %s", jsonErr(err))
	}
	if len(bytes.TrimSpace(w.Data)) > 0 && !bytes.Equal(bytes.TrimSpace(w.Data), []byte("null")) {
		d := bytes.TrimSpace(w.Data)
		if d[0] != '{' {
			return nil, fmt.Errorf("a record is not a JSON object")
		}
		return d, nil
	}
	return t, nil // a bare record
}
