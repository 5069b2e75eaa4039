package csv

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestRecordsCarryWhatTheExportMeant(t *testing.T) {
	f := validPackage().
		set("classes.csv", 2, "classType", "Homeroom").
		set("users.csv", 2, "enabledUser", "TRUE")
	_, rec := readZip(t, zipOf(t, f), Options{})

	wantModes := map[roster.Kind]roster.Mode{}
	for _, k := range roster.Kinds {
		wantModes[k] = roster.ModeBulk
	}
	if diff := cmp.Diff(wantModes, rec.modes); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	cls := rec.find(roster.KindClass, "cls-1").(*roster.Class)
	if diff := cmp.Diff(&roster.Class{SourcedID: "cls-1", Status: roster.StatusActive, Title: "Homeroom KG", ClassCode: "HR-KG",
		ClassType: "homeroom", CourseSourcedID: "crs-1", SchoolSourcedID: "sch-1", TermSourcedIDs: []string{"term-1"},
		Grades: []string{"KG"}}, cls); diff != "" {
		t.Errorf("class (-want +got):\n%s", diff)
	}
	stu := rec.find(roster.KindUser, "stu-1").(*roster.User)
	if diff := cmp.Diff(&roster.User{SourcedID: "stu-1", Status: roster.StatusActive, EnabledUser: true, Identifier: "1001",
		GivenName: "José", FamilyName: "Nguyễn", AgentSourcedIDs: []string{"gdn-1"}, Grades: []string{"KG"},
		PrimaryOrgSourcedID: "sch-1"}, stu); diff != "" {
		t.Errorf("student (-want +got):\n%s", diff)
	}
	tch := rec.find(roster.KindUser, "tch-1").(*roster.User)
	if tch.Phone != "555-0199" {
		t.Errorf("a teacher with only sms should keep it as phone, got %q", tch.Phone)
	}
	crs := rec.find(roster.KindCourse, "crs-1").(*roster.Course)
	if !slices.Equal(crs.Grades, []string{"KG", "01"}) {
		t.Errorf("course grades = %q", crs.Grades)
	}
}

func TestPasswordsAndDemographicsAreNeverKept(t *testing.T) {
	const secret = "Sup3rSecretPw"
	f := validPackage().set("users.csv", 2, "password", secret).set("users.csv", 2, "middleName", "Middlename").
		set("users.csv", 2, "pronouns", "xe/xem")
	f["demographics.csv"] = "sourcedId,status,dateLastModified,birthDate,sex\nstu-1,,,2019-01-01,female\n"
	f.manifest("file.demographics", "bulk")
	_, rec := readZip(t, zipOf(t, f), Options{})
	for _, r := range rec.records {
		v := reflect.ValueOf(r).Elem()
		for i := 0; i < v.NumField(); i++ {
			s := strings.ToLower(v.Field(i).String() + strings.Join(strSlice(v.Field(i)), ","))
			for _, bad := range []string{strings.ToLower(secret), "middlename", "xe/xem", "2019-01-01", "female"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s %s keeps %q in field %s", r.RecordKind(), r.ID(), bad, v.Type().Field(i).Name)
				}
			}
		}
	}
}

func strSlice(v reflect.Value) []string {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
		return v.Interface().([]string)
	}
	return nil
}

func TestFindingsNeverCarryPersonalData(t *testing.T) {
	// Break every users.csv row in several ways; no message may echo a name, email or phone.
	f := validPackage()
	pii := []string{"José", "Nguyễn", "Zoë", "zoe@example.org", "555-0100", "O'Brien", "ann@example.org"}
	f.set("users.csv", 2, "enabledUser", "José").set("users.csv", 3, "agentSourcedIds", "zoe@example.org").
		set("users.csv", 4, "username", "").set("users.csv", 4, "enabledUser", "555-0100").
		set("enrollments.csv", 2, "userSourcedId", "ann@example.org").set("roles.csv", 2, "sourcedId", "zoe@example.org").
		appendRow("roles.csv", "zoe@example.org,,,stu-1,primary,student,,,sch-1,")
	f = f.set("classes.csv", 2, "classType", "Nguyễn")
	rep, _ := readZip(t, zipOf(t, f), Options{})
	if rep.Errors == 0 {
		t.Fatal("the broken export should have errors")
	}
	b, _ := json.Marshal(rep)
	for _, p := range pii {
		if strings.Contains(string(b), p) {
			t.Errorf("the report contains %q", p)
		}
	}
}

func TestAStudentWithAMissingGuardianIsRetractedBeforeLaterFiles(t *testing.T) {
	f := validPackage().set("users.csv", 2, "agentSourcedIds", "gdn-404")
	_, rec := readZip(t, zipOf(t, f), Options{})
	if !slices.Contains(rec.retracted, "user/stu-1") {
		t.Fatalf("stu-1 not retracted: %v", rec.retracted)
	}
	// The retraction must come before any enrollment is passed on.
	if got := rec.live(roster.KindEnrollment); !slices.Equal(got, []string{"enr-2"}) {
		t.Errorf("live enrollments = %v, want only the teacher's", got)
	}
}

func TestOneRoster11UsersGetSynthesisedRoles(t *testing.T) {
	f := validPackage()
	delete(f, "roles.csv")
	f["manifest.csv"] = strings.Replace(f["manifest.csv"], "oneroster.version,1.2", "oneroster.version,1.1", 1)
	var m []string
	for _, l := range strings.Split(f["manifest.csv"], "\n") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(l, "file."), ","); ok && strings.HasPrefix(l, "file.") && !slices.Contains(catalogue("1.1"), name) {
			continue
		}
		m = append(m, l)
	}
	f["manifest.csv"] = strings.Join(m, "\n")
	f["users.csv"] = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
		"stu-1,,,true,sch-1,student,stu1,,José,Nguyễn,,,,,,gdn-1,KG,\n" +
		"gdn-1,,,true,\"dist-1,sch-1\",guardian,gdn1,,Zoë,Nguyễn,,,zoe@example.org,,555-0100,stu-1,,\n" +
		"tch-1,,,true,sch-1,teacher,tch1,,Ann,O'Brien,,,,,,,,\n"
	rep, rec := readZip(t, zipOf(t, f), Options{})
	if rep.Errors != 0 || rep.Version != "1.1" {
		t.Fatalf("version %q, findings:\n%s", rep.Version, dump(rep))
	}
	r := rec.find(roster.KindRole, "gdn-1#sch-1")
	if r == nil {
		t.Fatalf("no synthesised secondary role; roles: %v", rec.live(roster.KindRole))
	}
	if diff := cmp.Diff(&roster.Role{SourcedID: "gdn-1#sch-1", Status: roster.StatusActive, UserSourcedID: "gdn-1",
		RoleType: "secondary", Role: "guardian", OrgSourcedID: "sch-1"}, r); diff != "" {
		t.Errorf("role (-want +got):\n%s", diff)
	}
	if got := len(rec.live(roster.KindRole)); got != 4 {
		t.Errorf("%d roles, want 4", got)
	}
}

func TestDeltaRowsToBeDeletedNeedOnlyTheirID(t *testing.T) {
	f := deltaOrgs(validPackage())
	f.line("enrollments.csv", 2, "enr-1,tobedeleted,2025-08-02T10:00:00.000Z,,,,,,,")
	rep, rec := readZip(t, zipOf(t, f), Options{})
	if rep.Errors != 0 {
		t.Fatalf("findings:\n%s", dump(rep))
	}
	e := rec.find(roster.KindEnrollment, "enr-1")
	if e == nil || e.RecordStatus() != roster.StatusToBeDeleted {
		t.Fatalf("enr-1 = %+v", e)
	}
}

type knownSet map[string]bool

func (k knownSet) Known(kind roster.Kind, id string) bool { return k[string(kind)+"/"+id] }

func TestAResolverSettlesDeltaReferences(t *testing.T) {
	f := deltaOrgs(validPackage()).set("classes.csv", 2, "courseSourcedId", "crs-earlier")
	rep, _ := readZip(t, zipOf(t, f), Options{Resolver: knownSet{"course/crs-earlier": true}})
	if len(rep.Findings) != 0 {
		t.Errorf("a known course should need no finding:\n%s", dump(rep))
	}
	rep, _ = readZip(t, zipOf(t, f), Options{Resolver: knownSet{}})
	if rep.Count("classes.csv", CodeRefDangling) != 1 {
		t.Errorf("an unknown course should dangle:\n%s", dump(rep))
	}
}

func TestAFolderReadsLikeItsZip(t *testing.T) {
	f := validPackage().set("classes.csv", 2, "classType", "lab")
	fromZip, _ := readZip(t, zipOf(t, f), Options{})
	fromDir, err := ReadPath(context.Background(), writeDir(t, f), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromZip.Source, fromDir.Source = "", ""
	if diff := cmp.Diff(fromZip, fromDir, cmp.AllowUnexported(Report{})); diff != "" {
		t.Errorf("zip and folder differ (-zip +dir):\n%s", diff)
	}
}

func TestAMissingPathIsAnError(t *testing.T) {
	if _, err := ReadPath(context.Background(), filepath.Join(t.TempDir(), "nope.zip"), nil, Options{}); !os.IsNotExist(err) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

// sharedSamples returns the folder of third-party exports, skipping when ../shared is absent.
func sharedSamples(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../../../shared/oneroster/samples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared samples not present at %s", dir)
	}
	return dir
}

// TestRealExports states, for each real third-party export, what PTHV Reach must say of it.
func TestRealExports(t *testing.T) {
	base := sharedSamples(t)
	cases := []struct {
		path       string
		version    string
		importable bool
		errors     bool
		must       []want
		accepted   map[string]int
	}{
		{path: "moodle-enrol_oneroster/tests/fixtures/csv_data/VRd118.zip", version: "1.2", importable: true,
			must:     []want{{code: CodeFileNotImported, file: "demographics.csv"}, {code: CodeFileNotImported, file: "userProfiles.csv"}},
			accepted: map[string]int{"users.csv": 1, "enrollments.csv": 1, "roles.csv": 1}},
		{path: "moodle-enrol_oneroster/tests/fixtures/csv_data/oneroster_test_data.zip", version: "1.2", importable: true,
			must: []want{{code: CodeBooleanCase, file: "users.csv", line: 2, column: "enabledUser"}}, accepted: map[string]int{"users.csv": 1}},
		{path: "moodle-enrol_oneroster/tests/fixtures/csvs/test01.zip", version: "1.1", importable: true, errors: true,
			must: []want{
				{code: CodeRefDangling, file: "enrollments.csv", line: 2, column: "classSourcedId"}, // cls-222-12345 is not in classes.csv
				{code: CodeDate, file: "academicSessions.csv", line: 2, column: "startDate"},        // 1/09/2022
				{code: CodeDate, file: "enrollments.csv", line: 2, column: "beginDate"},             // a timestamp in a date field
				{code: CodeEnumCase, file: "classes.csv", line: 2, column: "classType"},             // Scheduled
				{code: CodeRefDangling, file: "orgs.csv", line: 2, column: "parentSourcedId"},
			}},
		{path: "moodle-enrol_oneroster/tests/fixtures/csv_data/Test_minimal_data_set.zip", version: "1.1", importable: true, errors: true,
			must: []want{{code: CodeRefTargetAbsent, file: "classes.csv", column: "courseSourcedId"}, {code: CodeBooleanCase, file: "users.csv"},
				{code: CodeRefType, file: "classes.csv", column: "schoolSourcedId"}},
			accepted: map[string]int{"users.csv": 6, "enrollments.csv": 0}},
		{path: "moodle-enrol_oneroster/tests/fixtures/csv_data/Test_full_data_set.zip", version: "1.1", importable: true, errors: true,
			must: []want{{code: CodeBulkStatus, file: "orgs.csv"}, {code: CodeStatus, file: "academicSessions.csv", line: 4}}}, // inactive

		{path: "moodle-enrol_oneroster/tests/fixtures/csv_data/v1p2_full_dataset.zip", version: "1.2", importable: true, errors: true,
			must: []want{{code: CodeHeaderUnknown, file: "users.csv", column: "prefferedGivenName"}, {code: CodeHeaderUnknown, file: "roles.csv", column: "dataLastModified"},
				{code: CodeHeaderBlank, file: "roles.csv"}, {code: CodePackageUnknownFile, file: "userprofiles.csv"}, {code: CodeManifestModeBlank}}},
		{path: "oneroster-import/data/samples/OneRosterv1p1BaseCSV", version: "1.1", importable: false, errors: true,
			must: []want{{code: CodeHeaderMissing, file: "academicSessions.csv", column: "schoolYear"}, {code: CodeFileEmptyBulk, file: "courses.csv"},
				{code: CodeHeaderExtension, file: "orgs.csv", column: "metadata.classification"}, {code: CodeHeaderLegacy, file: "users.csv", column: "agents"},
				{code: CodeHeaderOrder, file: "enrollments.csv"}, {code: CodeRequired, file: "classes.csv", column: "courseSourcedId"}}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			rep, err := ReadPath(context.Background(), filepath.Join(base, tc.path), nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Version != tc.version || rep.Importable != tc.importable || (rep.Errors > 0) != tc.errors {
				t.Errorf("version %q importable %v errors %d; want %q %v %v\n%s", rep.Version, rep.Importable, rep.Errors,
					tc.version, tc.importable, tc.errors, dump(rep))
			}
			for _, w := range tc.must {
				if !slices.ContainsFunc(rep.Findings, w.matches) {
					t.Errorf("missing %+v", w)
				}
			}
			for file, n := range tc.accepted {
				if got := accepted(rep, file); got != n {
					t.Errorf("%s: %d accepted, want %d", file, got, n)
				}
			}
			checkGolden(t, strings.NewReplacer("/", "_", ".zip", "").Replace(tc.path), rep)
		})
	}
}

// checkGolden compares the JSON report with testdata/golden/NAME.json and checks it
// against the report schema. Run with -update to rewrite the golden file.
func checkGolden(t *testing.T, name string, rep *Report) {
	t.Helper()
	rep.Source = name
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if err := schemas.Validate("validation-report.schema.json", got); err != nil {
		t.Errorf("report: %v", err)
	}
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantB, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(wantB), string(got)); diff != "" {
		t.Errorf("report differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestGoldenReportsOfFixtures(t *testing.T) {
	for _, tc := range ruleCases() {
		if tc.zip != nil || tc.build == nil {
			continue
		}
		switch tc.name {
		case "a student whose guardian is missing is retracted", "a 1.1 users.csv under a 1.2 manifest is refused",
			"bytes that are not UTF-8 reject the row", "a header-only bulk file is refused":
		default:
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			rep, _ := readZip(t, zipOf(t, tc.build(validPackage().clone())), tc.opt)
			checkGolden(t, "fixture_"+strings.ReplaceAll(tc.name, " ", "_"), rep)
		})
	}
}

func TestTheSchemaListsEveryRuleCode(t *testing.T) {
	raw, err := schemas.Raw("validation-report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			Code struct {
				Enum []Code `json:"enum"`
			} `json:"code"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var codes []Code
	for _, r := range Rules {
		codes = append(codes, r.Code)
	}
	if diff := cmp.Diff(codes, s.Defs.Code.Enum); diff != "" {
		t.Errorf("schema code enum drifts from Rules (-rules +schema):\n%s", diff)
	}
}

func TestAnEmailLikeSourcedIDIsKeptInRecordsButNotShownInFindings(t *testing.T) {
	f := validPackage().appendRow("enrollments.csv", "enr@3,,,cls-404,sch-1,stu-1,student,false,,").
		appendRow("enrollments.csv", "enr@4,,,cls-1,sch-1,stu-1,student,false,,")
	rep, rec := readZip(t, zipOf(t, f), Options{})
	if rec.find(roster.KindEnrollment, "enr@4") == nil {
		t.Error("a valid row with an @ in its sourcedId must still be passed on under that id")
	}
	for _, fd := range rep.Findings {
		if strings.Contains(fd.SourcedID+fd.Message, "@") {
			t.Errorf("finding shows an email-like id: %s", fd)
		}
	}
	if rep.Count("enrollments.csv", CodeRefDangling) != 1 {
		t.Errorf("want the dangling row reported:\n%s", dump(rep))
	}
}
