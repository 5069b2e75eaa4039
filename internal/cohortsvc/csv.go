package cohortsvc

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/pthv/reach/internal/cohort"
)

// CSVColumns are the coordinator CSV's columns. Lists within a cell are separated by "; ".
var CSVColumns = []string{
	"family_id", "grade_stratum", "order", "consent", "other_schools",
	"student_ids", "student_names", "student_grades",
	"guardian_names", "guardian_emails", "guardian_phones",
	"educator_ids", "educator_names", "pair_includes_teacher",
}

// coordinatorCSV renders the cohort for the school's coordinator: one row per selected
// family, in stratum then random order. It holds names and contacts: it is written only
// under the district's own prefix and never logged.
func coordinatorCSV(c *cohort.Cohort, families map[string]cohort.Family, consent map[string]cohort.Consent, pop *population) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(CSVColumns); err != nil {
		return nil, err
	}
	name := func(id string) string {
		u := pop.users[id]
		if u == nil {
			return ""
		}
		return strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	for _, m := range c.Members {
		f := families[m.FamilyID]
		var sNames, sGrades, gNames, gEmails, gPhones, eNames []string
		for _, st := range m.StudentIDs {
			sNames = append(sNames, name(st))
			sGrades = append(sGrades, pop.grades[st])
		}
		for _, g := range f.Guardians {
			gNames = append(gNames, name(g))
			if u := pop.users[g]; u != nil {
				gEmails = append(gEmails, u.Email)
				gPhones = append(gPhones, u.Phone)
			}
		}
		for _, e := range m.Pair {
			eNames = append(eNames, name(e))
		}
		row := []string{
			m.FamilyID, m.Stratum, strconv.Itoa(m.Order + 1), string(consentOr(consent[m.FamilyID])), yesNo(m.OtherSchools),
			join(m.StudentIDs), join(sNames), join(sGrades),
			join(gNames), join(gEmails), join(gPhones),
			join(m.Pair), join(eNames), yesNo(m.OwnTeacher),
		}
		for i := range row {
			row[i] = defuse(row[i])
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func consentOr(c cohort.Consent) cohort.Consent {
	if c == "" {
		return cohort.ConsentUnknown
	}
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func join(s []string) string { return strings.Join(s, "; ") }

// defuse keeps a spreadsheet from running a cell as a formula: a cell starting with = + - @
// or a tab or carriage return gets a leading apostrophe (OWASP's advice for CSV injection).
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
