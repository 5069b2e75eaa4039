package rostergen

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Expected headers, copied from RULES.md §4 (1.2) and §5 (1.1 users.csv).
var wantHeaders = map[string]string{
	"manifest.csv":         "propertyName,value",
	"academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
	"orgs.csv":             "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
	"courses.csv":          "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes",
	"classes.csv":          "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
	"users.csv":            "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns",
	"roles.csv":            "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId",
	"enrollments.csv":      "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
}

const wantUsers11 = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password"

// Catalogues from RULES.md §2, in canonical order.
var (
	wantCatalog12 = strings.Split("academicSessions,categories,classes,classResources,courseResources,courses,demographics,enrollments,lineItemLearningObjectiveIds,lineItems,lineItemScoreScales,orgs,resources,resultLearningObjectiveIds,results,resultScoreScales,roles,scoreScales,userProfiles,userResources,users", ",")
	wantCatalog11 = strings.Split("academicSessions,categories,classes,classResources,courses,courseResources,demographics,enrollments,lineItems,orgs,resources,results,users", ",")
)

var (
	idRE   = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// table is one parsed CSV file.
type table struct {
	header []string
	rows   [][]string
	col    map[string]int
}

func (t *table) get(r []string, name string) string {
	i, ok := t.col[name]
	if !ok {
		panic("no column " + name)
	}
	return r[i]
}

// byID indexes rows by sourcedId.
func (t *table) byID() map[string][]string {
	m := make(map[string][]string, len(t.rows))
	for _, r := range t.rows {
		m[r[0]] = r
	}
	return m
}

type pkg struct {
	files  map[string][]byte
	tables map[string]*table
	stats  Stats
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func parseFiles(t testing.TB, files map[string][]byte) map[string]*table {
	t.Helper()
	tables := map[string]*table{}
	for name, b := range files {
		r := csv.NewReader(bytes.NewReader(b)) // FieldsPerRecord 0: every row as wide as the header
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) == 0 {
			t.Fatalf("%s: empty", name)
		}
		tb := &table{header: recs[0], rows: recs[1:], col: map[string]int{}}
		for i, h := range tb.header {
			tb.col[h] = i
		}
		tables[name] = tb
	}
	return tables
}

func generateDir(t testing.TB, o Options) pkg {
	t.Helper()
	dir := t.TempDir()
	st, err := Write(dir, o)
	if err != nil {
		t.Fatalf("Write(%+v): %v", o, err)
	}
	files := readDir(t, dir)
	return pkg{files: files, tables: parseFiles(t, files), stats: st}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"minimal", Options{Students: 1}, ""},
		{"1.1", Options{Students: 10, Version: "1.1"}, ""},
		{"1.2 explicit", Options{Students: 10, Version: "1.2", Remove: 0.5, DistrictID: "d@x.org/1_2-3"}, ""},
		{"zero students", Options{}, "Students must be at least 1"},
		{"negative students", Options{Students: -5}, "Students must be at least 1"},
		{"too many students", Options{Students: maxStudents + 1}, "Students must be at most"},
		{"bad version", Options{Students: 1, Version: "1.0"}, `Version must be "1.2" or "1.1"`},
		{"version v-prefix", Options{Students: 1, Version: "v1.2"}, "Version must be"},
		{"remove negative", Options{Students: 1, Remove: -0.1}, "Remove must be in [0, 1)"},
		{"remove one", Options{Students: 1, Remove: 1}, "Remove must be in [0, 1)"},
		{"remove NaN", Options{Students: 1, Remove: math.NaN()}, "Remove must be in [0, 1)"},
		{"bad district", Options{Students: 1, DistrictID: "district 1"}, "not a valid sourcedId"},
		{"district collides", Options{Students: 1, DistrictID: "sch-001"}, `must not start with "sch-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			// Write and WriteZip refuse invalid options without writing.
			dir := filepath.Join(t.TempDir(), "out")
			if _, werr := Write(dir, tt.o); werr == nil || werr.Error() != err.Error() {
				t.Errorf("Write error = %v, want %v", werr, err)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Errorf("Write created %s for invalid options", dir)
			}
			var buf bytes.Buffer
			if _, zerr := WriteZip(&buf, tt.o); zerr == nil || buf.Len() != 0 {
				t.Errorf("WriteZip error = %v with %d bytes, want error and no output", zerr, buf.Len())
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	tests := []struct {
		name     string
		a, b     Options
		wantSame bool
	}{
		{"same seed 1.2", Options{Students: 700, Seed: 7}, Options{Students: 700, Seed: 7}, true},
		{"same seed 1.1", Options{Students: 700, Seed: 7, Version: "1.1"}, Options{Students: 700, Seed: 7, Version: "1.1"}, true},
		{"same seed with remove", Options{Students: 700, Seed: 7, Remove: 0.3}, Options{Students: 700, Seed: 7, Remove: 0.3}, true},
		{"default version is 1.2", Options{Students: 300, Seed: 2}, Options{Students: 300, Seed: 2, Version: "1.2", DistrictID: "district-1"}, true},
		{"different seed", Options{Students: 700, Seed: 7}, Options{Students: 700, Seed: 8}, false},
		{"different remove", Options{Students: 700, Seed: 7, Remove: 0.1}, Options{Students: 700, Seed: 7, Remove: 0.2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := generateDir(t, tt.a), generateDir(t, tt.b)
			same := len(a.files) == len(b.files)
			for name, fa := range a.files {
				same = same && bytes.Equal(fa, b.files[name])
			}
			if same != tt.wantSame {
				t.Errorf("Write outputs identical = %v, want %v", same, tt.wantSame)
			}
			var za, zb bytes.Buffer
			if _, err := WriteZip(&za, tt.a); err != nil {
				t.Fatal(err)
			}
			if _, err := WriteZip(&zb, tt.b); err != nil {
				t.Fatal(err)
			}
			if got := bytes.Equal(za.Bytes(), zb.Bytes()); got != tt.wantSame {
				t.Errorf("WriteZip outputs identical = %v, want %v", got, tt.wantSame)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		catalog []string
		files   []string
	}{
		{"1.2", Options{Students: 1500, Seed: 3}, wantCatalog12,
			[]string{"academicSessions", "classes", "courses", "enrollments", "orgs", "roles", "users"}},
		{"1.1", Options{Students: 1500, Seed: 3, Version: "1.1"}, wantCatalog11,
			[]string{"academicSessions", "classes", "courses", "enrollments", "orgs", "users"}},
		{"one student", Options{Students: 1, Seed: 3}, wantCatalog12,
			[]string{"academicSessions", "classes", "courses", "enrollments", "orgs", "roles", "users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := generateDir(t, tt.o)
			v11 := tt.o.Version == "1.1"

			// Exactly manifest.csv plus the bulk files.
			var gotNames []string
			for name := range p.files {
				gotNames = append(gotNames, name)
			}
			slices.Sort(gotNames)
			wantNames := []string{"manifest.csv"}
			for _, f := range tt.files {
				wantNames = append(wantNames, f+".csv")
			}
			slices.Sort(wantNames)
			if !slices.Equal(gotNames, wantNames) {
				t.Fatalf("files = %v, want %v", gotNames, wantNames)
			}

			// Manifest: header, versions, one row per catalogue file in order.
			m := p.tables["manifest.csv"]
			want := [][]string{{"manifest.version", "1.0"}, {"oneroster.version", map[bool]string{true: "1.1", false: "1.2"}[v11]}}
			for _, name := range tt.catalog {
				mode := "absent"
				if slices.Contains(tt.files, name) {
					mode = "bulk"
				}
				want = append(want, []string{"file." + name, mode})
			}
			want = append(want, []string{"source.systemName", "PTHV Reach rostergen"}, []string{"source.systemCode", "rostergen"})
			if !slices.EqualFunc(m.rows, want, slices.Equal) {
				t.Errorf("manifest rows = %q, want %q", m.rows, want)
			}

			for name, b := range p.files {
				if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
					t.Errorf("%s starts with a BOM", name)
				}
				if bytes.ContainsRune(b, '\r') {
					t.Errorf("%s contains CR", name)
				}
				if !utf8.Valid(b) {
					t.Errorf("%s is not valid UTF-8", name)
				}
				if !bytes.HasSuffix(b, []byte("\n")) {
					t.Errorf("%s does not end with LF", name)
				}
				tb := p.tables[name]
				wantHdr := wantHeaders[name]
				if name == "users.csv" && v11 {
					wantHdr = wantUsers11
				}
				if got := strings.Join(tb.header, ","); got != wantHdr {
					t.Errorf("%s header = %q, want %q", name, got, wantHdr)
				}
				// The raw header line is exactly the header (no quoting, no spaces).
				if line, _, _ := bytes.Cut(b, []byte("\n")); string(line) != wantHdr {
					t.Errorf("%s raw header line = %q", name, line)
				}
				if len(tb.rows) == 0 {
					t.Errorf("%s has no data rows", name)
				}
				if name == "manifest.csv" {
					continue
				}
				seen := map[string]bool{}
				for _, r := range tb.rows {
					if !idRE.MatchString(r[0]) {
						t.Errorf("%s: bad sourcedId %q", name, r[0])
					}
					if seen[r[0]] {
						t.Errorf("%s: duplicate sourcedId %q", name, r[0])
					}
					seen[r[0]] = true
					if r[1] != "" || r[2] != "" {
						t.Errorf("%s %s: bulk row has status %q dateLastModified %q", name, r[0], r[1], r[2])
					}
					for i, v := range r {
						col := tb.header[i]
						if strings.ContainsAny(v, "\r\n") {
							t.Errorf("%s %s: line break in %s", name, r[0], col)
						}
						switch col {
						case "enabledUser", "primary":
							if v != "true" && v != "false" {
								t.Errorf("%s %s: %s = %q, want true/false", name, r[0], col, v)
							}
						case "startDate", "endDate", "beginDate":
							if v == "" && name == "roles.csv" { // optional, left blank
								continue
							}
							if _, err := time.Parse("2006-01-02", v); err != nil || !dateRE.MatchString(v) {
								t.Errorf("%s %s: %s = %q is not YYYY-MM-DD", name, r[0], col, v)
							}
						case "password", "userIds":
							if v != "" {
								t.Errorf("%s %s: %s = %q, want blank", name, r[0], col, v)
							}
						}
					}
				}
			}
		})
	}
}

// checkReferences asserts that every reference in the package resolves, with
// the target types and reciprocal links OneRoster expects.
func checkReferences(t *testing.T, p pkg, v11 bool) {
	t.Helper()
	orgs := p.tables["orgs.csv"].byID()
	sessions := p.tables["academicSessions.csv"]
	sess := sessions.byID()
	courses := p.tables["courses.csv"].byID()
	classes := p.tables["classes.csv"].byID()
	users := p.tables["users.csv"]
	userByID := users.byID()
	orgType := func(id string) string {
		r, ok := orgs[id]
		if !ok {
			return ""
		}
		return p.tables["orgs.csv"].get(r, "type")
	}

	ot := p.tables["orgs.csv"]
	for _, r := range ot.rows {
		if par := ot.get(r, "parentSourcedId"); par != "" && orgType(par) != "district" {
			t.Errorf("org %s parent %q is not the district", r[0], par)
		}
	}
	for _, r := range sessions.rows {
		if par := sessions.get(r, "parentSourcedId"); par != "" {
			if _, ok := sess[par]; !ok {
				t.Errorf("session %s parent %q unresolved", r[0], par)
			}
		}
	}
	ct := p.tables["courses.csv"]
	for _, r := range ct.rows {
		if orgType(ct.get(r, "orgSourcedId")) != "school" {
			t.Errorf("course %s orgSourcedId %q is not a school", r[0], ct.get(r, "orgSourcedId"))
		}
		sy, ok := sess[ct.get(r, "schoolYearSourcedId")]
		if !ok || sessions.get(sy, "type") != "schoolYear" {
			t.Errorf("course %s schoolYearSourcedId %q is not a schoolYear", r[0], ct.get(r, "schoolYearSourcedId"))
		}
	}
	kt := p.tables["classes.csv"]
	for _, r := range kt.rows {
		school := kt.get(r, "schoolSourcedId")
		if orgType(school) != "school" {
			t.Errorf("class %s schoolSourcedId %q is not a school", r[0], school)
		}
		c, ok := courses[kt.get(r, "courseSourcedId")]
		if !ok {
			t.Errorf("class %s courseSourcedId %q unresolved", r[0], kt.get(r, "courseSourcedId"))
		} else if ct.get(c, "orgSourcedId") != school {
			t.Errorf("class %s at %s has course of %s", r[0], school, ct.get(c, "orgSourcedId"))
		}
		terms := list(kt.get(r, "termSourcedIds"))
		if len(terms) == 0 {
			t.Errorf("class %s has no terms", r[0])
		}
		for _, term := range terms {
			if s, ok := sess[term]; !ok || sessions.get(s, "type") == "schoolYear" {
				t.Errorf("class %s term %q is not a term", r[0], term)
			}
		}
		if kt.get(r, "grades") == "" {
			t.Errorf("class %s has no grades", r[0])
		}
	}

	roleOf := func(r []string) string { // primary role of a user
		if v11 {
			return users.get(r, "role")
		}
		return ""
	}
	rolesByUser := map[string][][]string{}
	if !v11 {
		rt := p.tables["roles.csv"]
		for _, r := range rt.rows {
			u := rt.get(r, "userSourcedId")
			if _, ok := userByID[u]; !ok {
				t.Errorf("role %s user %q unresolved", r[0], u)
			}
			if orgType(rt.get(r, "orgSourcedId")) == "" {
				t.Errorf("role %s org %q unresolved", r[0], rt.get(r, "orgSourcedId"))
			}
			if rt.get(r, "roleType") != "primary" {
				t.Errorf("role %s roleType %q", r[0], rt.get(r, "roleType"))
			}
			rolesByUser[u] = append(rolesByUser[u], r)
		}
		roleOf = func(r []string) string {
			rs := rolesByUser[r[0]]
			if len(rs) != 1 {
				t.Errorf("user %s has %d roles, want 1", r[0], len(rs))
				return ""
			}
			return rt.get(rs[0], "role")
		}
	}

	for _, r := range users.rows {
		role := roleOf(r)
		var org string
		if v11 {
			org = users.get(r, "orgSourcedIds")
		} else {
			org = users.get(r, "primaryOrgSourcedId")
			if org != "" {
				if rs := rolesByUser[r[0]]; len(rs) != 1 || p.tables["roles.csv"].get(rs[0], "orgSourcedId") != org {
					t.Errorf("user %s primaryOrgSourcedId %q has no role there", r[0], org)
				}
			}
		}
		switch role {
		case "student", "teacher":
			if orgType(org) != "school" {
				t.Errorf("%s %s org %q is not a school", role, r[0], org)
			}
		case "parent", "guardian":
			if v11 && orgType(org) != "district" || !v11 && org != "" {
				t.Errorf("%s %s org %q, want the district (1.1) or blank (1.2)", role, r[0], org)
			}
			if !v11 {
				if rs := rolesByUser[r[0]]; len(rs) == 1 && orgType(p.tables["roles.csv"].get(rs[0], "orgSourcedId")) != "district" {
					t.Errorf("%s %s role is not at the district", role, r[0])
				}
			}
		default:
			t.Errorf("user %s has role %q", r[0], role)
		}
		agents := list(users.get(r, "agentSourcedIds"))
		if (role == "student" || role == "parent" || role == "guardian") && len(agents) == 0 {
			t.Errorf("%s %s has no agents", role, r[0])
		}
		for _, a := range agents {
			ar, ok := userByID[a]
			if !ok {
				t.Errorf("user %s agent %q unresolved", r[0], a)
				continue
			}
			if !slices.Contains(list(users.get(ar, "agentSourcedIds")), r[0]) {
				t.Errorf("user %s lists agent %s, but not the other way round", r[0], a)
			}
		}
	}

	et := p.tables["enrollments.csv"]
	for _, r := range et.rows {
		c, ok := classes[et.get(r, "classSourcedId")]
		if !ok {
			t.Errorf("enrollment %s class %q unresolved", r[0], et.get(r, "classSourcedId"))
			continue
		}
		if _, ok := userByID[et.get(r, "userSourcedId")]; !ok {
			t.Errorf("enrollment %s user %q unresolved", r[0], et.get(r, "userSourcedId"))
		}
		if s := et.get(r, "schoolSourcedId"); orgType(s) != "school" || s != kt.get(c, "schoolSourcedId") {
			t.Errorf("enrollment %s school %q does not match its class", r[0], s)
		}
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"1.2", Options{Students: 2000, Seed: 11}},
		{"1.1", Options{Students: 2000, Seed: 11, Version: "1.1"}},
		{"1.2 removed", Options{Students: 2000, Seed: 11, Remove: 0.35}},
		{"1.1 removed", Options{Students: 2000, Seed: 11, Remove: 0.35, Version: "1.1"}},
		{"custom district", Options{Students: 300, Seed: 1, DistrictID: "ca.lausd@01"}},
		{"tiny", Options{Students: 2, Seed: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := generateDir(t, tt.o)
			checkReferences(t, p, tt.o.Version == "1.1")
			if tt.o.DistrictID != "" {
				if _, ok := p.tables["orgs.csv"].byID()[tt.o.DistrictID]; !ok {
					t.Errorf("district %q not in orgs.csv", tt.o.DistrictID)
				}
			}
		})
	}
}

// userKinds counts users.csv rows by sourcedId prefix.
func userKinds(p pkg) (students, guardians, teachers int) {
	for _, r := range p.tables["users.csv"].rows {
		switch {
		case strings.HasPrefix(r[0], "stu-"):
			students++
		case strings.HasPrefix(r[0], "gdn-"):
			guardians++
		case strings.HasPrefix(r[0], "tch-"):
			teachers++
		}
	}
	return
}

func TestStatsMatchRows(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"1.2", Options{Students: 1000, Seed: 4}},
		{"1.1", Options{Students: 1000, Seed: 4, Version: "1.1"}},
		{"removed", Options{Students: 1000, Seed: 4, Remove: 0.5}},
		{"one", Options{Students: 1, Seed: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := generateDir(t, tt.o)
			st := p.stats
			s, g, tc := userKinds(p)
			if s+g+tc != len(p.tables["users.csv"].rows) {
				t.Errorf("users.csv has rows of unknown kind")
			}
			schools := 0
			for _, r := range p.tables["orgs.csv"].rows {
				if p.tables["orgs.csv"].get(r, "type") == "school" {
					schools++
				}
			}
			roles := 0
			if rt, ok := p.tables["roles.csv"]; ok {
				roles = len(rt.rows)
			}
			families := map[string]bool{} // a family is identified by its guardians list
			for _, r := range p.tables["users.csv"].rows {
				if strings.HasPrefix(r[0], "stu-") {
					families[p.tables["users.csv"].get(r, "agentSourcedIds")] = true
				}
			}
			want := Stats{
				Schools: schools, Students: s, Guardians: g, Teachers: tc,
				Classes: len(p.tables["classes.csv"].rows), Enrollments: len(p.tables["enrollments.csv"].rows),
				Roles: roles, Families: len(families),
			}
			if st != want {
				t.Errorf("Stats = %+v, rows = %+v", st, want)
			}
			if tt.o.Remove == 0 && st.Students != tt.o.Students {
				t.Errorf("Students = %d, want %d", st.Students, tt.o.Students)
			}
		})
	}
}

func TestShape(t *testing.T) {
	const n = 2000
	p := generateDir(t, Options{Students: n, Seed: 1})
	st := p.stats
	users, classes, enr := p.tables["users.csv"], p.tables["classes.csv"], p.tables["enrollments.csv"]
	classByID := classes.byID()
	userByID := users.byID()

	if st.Schools < 3 || st.Schools > 6 {
		t.Errorf("Schools = %d, want about %d (at least 3)", st.Schools, n/450)
	}
	for _, suffix := range []string{" Elementary School", " Middle School", " High School"} {
		found := false
		for _, r := range p.tables["orgs.csv"].rows {
			found = found || strings.HasSuffix(r[3], suffix)
		}
		if !found {
			t.Errorf("no school named *%s", suffix)
		}
	}
	if r := float64(st.Guardians) / n; r < 1.5 || r > 2.0 {
		t.Errorf("guardians per student = %.2f, want 1.6–2.0", r)
	}
	if r := float64(n) / float64(st.Teachers); r < 14 || r > 18 {
		t.Errorf("students per teacher = %.1f, want about 16", r)
	}
	if r := float64(st.Enrollments-st.Classes) / n; r < 6.5 || r > 8 {
		t.Errorf("student enrollments per student = %.2f, want about 7", r)
	}

	// Users: contact details, grades and org by kind; non-ASCII names.
	nonASCII := 0
	for _, r := range users.rows {
		id := r[0]
		email, phone, grades, org := users.get(r, "email"), users.get(r, "phone"), users.get(r, "grades"), users.get(r, "primaryOrgSourcedId")
		if users.get(r, "username") == "" || users.get(r, "givenName") == "" || users.get(r, "familyName") == "" {
			t.Errorf("user %s lacks username or name", id)
		}
		for _, col := range []string{"givenName", "familyName"} {
			if v := users.get(r, col); utf8.RuneCountInString(v) != len(v) {
				nonASCII++
			}
		}
		switch {
		case strings.HasPrefix(id, "stu-"):
			if email != "" || phone != "" || users.get(r, "sms") != "" {
				t.Errorf("student %s has contact details", id)
			}
			if !slices.Contains(gradeLabels[:], grades) {
				t.Errorf("student %s grades = %q, want one grade", id, grades)
			}
			if org == "" {
				t.Errorf("student %s has no primary org", id)
			}
		case strings.HasPrefix(id, "gdn-"):
			if !strings.Contains(email, "@") || phone == "" || org != "" || grades != "" {
				t.Errorf("guardian %s: email %q phone %q org %q grades %q", id, email, phone, org, grades)
			}
			if k := len(list(users.get(r, "agentSourcedIds"))); k < 1 || k > 3 {
				t.Errorf("guardian %s has %d children", id, k)
			}
		case strings.HasPrefix(id, "tch-"):
			if !strings.Contains(email, "@") || phone == "" || org == "" {
				t.Errorf("teacher %s: email %q phone %q org %q", id, email, phone, org)
			}
		}
	}
	if nonASCII < n/10 {
		t.Errorf("only %d non-ASCII names", nonASCII)
	}
	for _, name := range []string{"Müller", "O'Brien", "Nguyễn", "李", "José", "Zoë", "Þórunn"} {
		if !bytes.Contains(p.files["users.csv"], []byte(name)) {
			t.Errorf("users.csv lacks the name %q", name)
		}
	}

	// Enrollments: one teacher per class; every student in exactly one
	// homeroom of their grade at their school; teachers at their own school.
	teachers := map[string]int{}
	homerooms := map[string]int{}
	perStudent := map[string]int{}
	for _, r := range enr.rows {
		cls, user, role := enr.get(r, "classSourcedId"), enr.get(r, "userSourcedId"), enr.get(r, "role")
		c, u := classByID[cls], userByID[user]
		if c == nil || u == nil {
			t.Fatalf("enrollment %s does not resolve", r[0])
		}
		switch role {
		case "teacher":
			teachers[cls]++
			if enr.get(r, "primary") != "true" || !strings.HasPrefix(user, "tch-") {
				t.Errorf("teacher enrollment %s: user %s primary %s", r[0], user, enr.get(r, "primary"))
			}
			if users.get(u, "primaryOrgSourcedId") != classes.get(c, "schoolSourcedId") {
				t.Errorf("teacher %s teaches outside their school", user)
			}
		case "student":
			perStudent[user]++
			if enr.get(r, "primary") != "false" || !strings.HasPrefix(user, "stu-") {
				t.Errorf("student enrollment %s: user %s primary %s", r[0], user, enr.get(r, "primary"))
			}
			if users.get(u, "primaryOrgSourcedId") != classes.get(c, "schoolSourcedId") {
				t.Errorf("student %s enrolled outside their school", user)
			}
			if !slices.Contains(list(classes.get(c, "grades")), users.get(u, "grades")) {
				t.Errorf("student %s (grade %s) in class %s for grades %s", user, users.get(u, "grades"), cls, classes.get(c, "grades"))
			}
			if classes.get(c, "classType") == "homeroom" {
				homerooms[user]++
			}
		default:
			t.Errorf("enrollment %s role %q", r[0], role)
		}
	}
	hrSize := map[string]int{}
	for _, r := range enr.rows {
		if c := classByID[enr.get(r, "classSourcedId")]; enr.get(r, "role") == "student" && classes.get(c, "classType") == "homeroom" {
			hrSize[r[3]]++
		}
	}
	for _, r := range classes.rows {
		if teachers[r[0]] != 1 {
			t.Errorf("class %s has %d teacher enrollments", r[0], teachers[r[0]])
		}
		if typ := classes.get(r, "classType"); typ == "homeroom" {
			if hrSize[r[0]] > 25 || len(list(classes.get(r, "grades"))) != 1 {
				t.Errorf("homeroom %s has %d students, grades %q", r[0], hrSize[r[0]], classes.get(r, "grades"))
			}
		} else if typ != "scheduled" {
			t.Errorf("class %s type %q", r[0], typ)
		}
	}
	for _, r := range users.rows {
		if !strings.HasPrefix(r[0], "stu-") {
			continue
		}
		if homerooms[r[0]] != 1 {
			t.Errorf("student %s in %d homerooms", r[0], homerooms[r[0]])
		}
		want := [2]int{6, 7} // elementary: homeroom + 5 or 6 specials
		if g := users.get(r, "grades"); g >= "06" && g <= "12" {
			want = [2]int{8, 8} // secondary: homeroom + 5 core + 2 electives
		}
		if k := perStudent[r[0]]; k < want[0] || k > want[1] {
			t.Errorf("student %s grade %s has %d enrollments, want %v", r[0], users.get(r, "grades"), k, want)
		}
	}

	// Families: most have one child, some siblings, and at least one family
	// has children at two different schools.
	sizes := map[int]int{}
	twoSchools := 0
	for _, r := range users.rows {
		if !strings.HasPrefix(r[0], "gdn-") {
			continue
		}
		kids := list(users.get(r, "agentSourcedIds"))
		sizes[len(kids)]++
		schools := map[string]bool{}
		for _, k := range kids {
			schools[users.get(userByID[k], "primaryOrgSourcedId")] = true
		}
		if len(schools) > 1 {
			twoSchools++
		}
	}
	if sizes[1] <= sizes[2]+sizes[3] || sizes[2] == 0 || sizes[3] == 0 {
		t.Errorf("guardians by number of children = %v, want mostly 1 with some 2 and 3", sizes)
	}
	if twoSchools == 0 {
		t.Error("no family has children at two different schools")
	}
}

func TestSiblingsAtTwoSchoolsSmall(t *testing.T) {
	// Family 0 is built to span elementary and middle school whenever there
	// are at least two students.
	for _, seed := range []uint64{1, 2, 3} {
		p := generateDir(t, Options{Students: 2, Seed: seed})
		users := p.tables["users.csv"]
		orgs := map[string]bool{}
		for _, r := range users.rows {
			if strings.HasPrefix(r[0], "stu-") {
				orgs[users.get(r, "primaryOrgSourcedId")] = true
			}
		}
		if len(orgs) != 2 || p.stats.Families != 1 {
			t.Errorf("seed %d: 2 students in %d schools and %d families, want siblings at 2 schools", seed, len(orgs), p.stats.Families)
		}
	}
}

func lineSet(b []byte) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		m[l] = true
	}
	return m
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name   string
		o      Options
		remove float64
	}{
		{"1.2 20%", Options{Students: 2000, Seed: 9}, 0.2},
		{"1.1 20%", Options{Students: 2000, Seed: 9, Version: "1.1"}, 0.2},
		{"1.2 5%", Options{Students: 777, Seed: 10}, 0.05},
		{"1.2 90%", Options{Students: 500, Seed: 12}, 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := generateDir(t, tt.o)
			ro := tt.o
			ro.Remove = tt.remove
			part := generateDir(t, ro)

			want := float64(tt.o.Students) - math.Round(tt.remove*float64(tt.o.Students))
			if got := float64(part.stats.Students); math.Abs(got-want) > 1 {
				t.Errorf("Students after Remove = %v, want %v ± 1", got, want)
			}
			if part.stats.Schools != full.stats.Schools || part.stats.Classes != full.stats.Classes || part.stats.Teachers != full.stats.Teachers {
				t.Errorf("Remove changed schools/classes/teachers: %+v vs %+v", part.stats, full.stats)
			}
			if part.stats.Enrollments >= full.stats.Enrollments || part.stats.Guardians >= full.stats.Guardians {
				t.Errorf("Remove did not drop enrollments/guardians: %+v vs %+v", part.stats, full.stats)
			}

			// Every remaining line is byte-identical to a line of the full output.
			for name, b := range part.files {
				fullLines := lineSet(full.files[name])
				for _, l := range strings.Split(string(b), "\n") {
					if !fullLines[l] {
						t.Errorf("%s: line not in Remove=0 output: %q", name, l)
						break
					}
				}
			}
			for _, name := range []string{"manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv"} {
				if !bytes.Equal(part.files[name], full.files[name]) {
					t.Errorf("%s changed under Remove", name)
				}
			}

			// A full-output user is kept iff it is a teacher, a kept student,
			// or a guardian with at least one kept child; removed students have
			// no enrollments left.
			fu, pu := full.tables["users.csv"], part.tables["users.csv"].byID()
			kept := func(id string) bool { _, ok := pu[id]; return ok }
			for _, r := range fu.rows {
				var want bool
				switch {
				case strings.HasPrefix(r[0], "tch-"), strings.HasPrefix(r[0], "stu-") && kept(r[0]):
					want = true
				case strings.HasPrefix(r[0], "gdn-"):
					for _, k := range list(fu.get(r, "agentSourcedIds")) {
						want = want || kept(k)
					}
				default:
					want = kept(r[0])
				}
				if kept(r[0]) != want {
					t.Errorf("user %s kept = %v, want %v", r[0], kept(r[0]), want)
				}
			}
			pe := part.tables["enrollments.csv"]
			for _, r := range pe.rows {
				if !kept(pe.get(r, "userSourcedId")) {
					t.Errorf("enrollment %s of removed user %s", r[0], pe.get(r, "userSourcedId"))
				}
			}
			// The enrollments of kept users are all still there.
			fe := full.tables["enrollments.csv"]
			keptEnr := 0
			for _, r := range fe.rows {
				if kept(fe.get(r, "userSourcedId")) {
					keptEnr++
				}
			}
			if keptEnr != len(pe.rows) {
				t.Errorf("enrollments after Remove = %d, want %d", len(pe.rows), keptEnr)
			}
			checkReferences(t, part, tt.o.Version == "1.1")
		})
	}
}

func TestWriteZipMatchesWrite(t *testing.T) {
	for _, o := range []Options{{Students: 600, Seed: 5}, {Students: 600, Seed: 5, Version: "1.1", Remove: 0.25}} {
		p := generateDir(t, o)
		var buf bytes.Buffer
		st, err := WriteZip(&buf, o)
		if err != nil {
			t.Fatal(err)
		}
		if st != p.stats {
			t.Errorf("WriteZip Stats = %+v, Write Stats = %+v", st, p.stats)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != len(p.files) {
			t.Errorf("zip has %d entries, dir has %d files", len(zr.File), len(p.files))
		}
		if zr.File[0].Name != "manifest.csv" {
			t.Errorf("first zip entry = %s, want manifest.csv", zr.File[0].Name)
		}
		for _, f := range zr.File {
			if strings.ContainsAny(f.Name, `/\`) || f.Method != zip.Deflate {
				t.Errorf("entry %s: method %d; want a root entry, Deflate", f.Name, f.Method)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, p.files[f.Name]) {
				t.Errorf("zip entry %s differs from the written file", f.Name)
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	// dir is a regular file: MkdirAll fails.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(file, Options{Students: 5}); err == nil {
		t.Error("Write into a regular file succeeded")
	}
	// A failing writer surfaces its error.
	if _, err := WriteZip(failWriter{}, Options{Students: 5}); err == nil {
		t.Error("WriteZip to a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func BenchmarkWrite100k(b *testing.B) {
	for b.Loop() {
		if _, err := Write(b.TempDir(), Options{Students: 100_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteZip100k(b *testing.B) {
	for b.Loop() {
		if _, err := WriteZip(io.Discard, Options{Students: 100_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
