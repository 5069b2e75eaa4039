package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/schemas"
)

// get calls the local API Gateway with a request signed by key/secret ("" = unsigned).
func (e *env) get(key, secret, path string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.stack.API.URL()+path, nil)
	if key != "" {
		empty := sha256.Sum256(nil)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req,
			hex.EncodeToString(empty[:]), "execute-api", devstack.Region, time.Now())
		if err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestVisitsToReachOverTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const year = "2026-2027"
	data, _ := gen(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027})
	if imp := e.await(e.put("drops/d1/rosters/a.zip", data)); imp.Status != pthv.StatusApplied {
		t.Fatalf("roster: %s", imp.Status)
	}
	roles := rolesOfYear(t, 2027)
	teachers, students := map[string][]string{}, map[string][]string{}
	for _, r := range roles {
		switch r[5] {
		case "teacher":
			teachers[r[8]] = append(teachers[r[8]], r[3])
		case "student":
			students[r[8]] = append(students[r[8]], r[3])
		}
	}
	var trainings strings.Builder
	trainings.WriteString("educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n")
	for _, ts := range teachers {
		for _, tch := range ts {
			fmt.Fprintf(&trainings, "%s,2026-08-20,introductory,6,PTHV National,true\n", tch)
		}
	}
	if imp := e.await(e.put("drops/d1/trainings/t.csv", []byte(trainings.String()))); imp.Status != pthv.StatusApplied {
		t.Fatalf("trainings: %s", imp.Status)
	}

	// Visits at two schools: 25 students each get a first visit (2 of them cancelled),
	// 12 of them a second one.
	var visits strings.Builder
	visits.WriteString("visitId,familyId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\n")
	schools := slices.Sorted(func(yield func(string) bool) {
		for s := range students {
			if len(students[s]) >= 25 && len(teachers[s]) >= 2 && !yield(s) {
				return
			}
		}
	})[:2]
	first, second := 0, 0
	for _, sch := range schools {
		pair := teachers[sch][0] + ";" + teachers[sch][1]
		for i, st := range students[sch][:25] {
			status := "completed"
			if i < 2 {
				status = "cancelled"
			} else {
				first++
			}
			fmt.Fprintf(&visits, "v-%s-1,,%s,%s,2026-09-%02d,1,%s,home,60,%s\n", st, st, sch, 1+i%28, pair, status)
			if i >= 2 && i < 14 {
				fmt.Fprintf(&visits, "v-%s-2,,%s,%s,2026-10-%02d,2,%s,neutral,45,completed\n", st, st, sch, 1+i%28, pair)
				second++
			}
		}
	}
	imp := e.await(e.put("drops/d1/visits/fall.csv", []byte(visits.String())))
	if imp.Status != pthv.StatusApplied || imp.Counts[pthv.KindVisit].Rejected != 0 {
		t.Fatalf("visits: %s %+v %+v", imp.Status, imp.Counts, imp.VisitFindings)
	}

	// The ingest function asked the reach function to recompute (an Event invocation); wait
	// for the API to show the visits.
	var code int
	var body []byte
	if !waitFor(60*time.Second, func() bool {
		code, body = e.get("test", "test", "/v1/reach?year="+year+"&groupBy=site")
		return code == 200 && strings.Contains(string(body), fmt.Sprintf(`"visits":%d,`, first+second))
	}) {
		t.Fatalf("no reach figures with the visits for %s: %d %s\n%s", year, code, body, tail(e.logs.String(), 3000))
	}
	if code, years := e.get("test", "test", "/v1/reach/years"); code != 200 || string(years) != `{"years":["`+year+`"]}` {
		t.Fatalf("years: %d %s", code, years)
	}
	if err := schemas.Validate("reach-api.schema.json", body); err != nil {
		t.Fatal(err)
	}
	var r api.ReachResponse
	json.Unmarshal(body, &r)
	if r.Totals.Visits != first+second || r.Totals.VisitsFirst != first || r.Totals.VisitsSecond != second || r.Totals.Sites != 2 ||
		r.Totals.States != 1 || r.Totals.EducatorsVisiting != 4 || len(r.Sites) != 2 {
		t.Fatalf("national figures %+v (want %d first, %d second visits at 2 sites)", r.Totals, first, second)
	}
	if r.Totals.FamiliesVisited < 1 || r.Totals.FamiliesVisited > 46 || r.Totals.StudentsReached < 46 {
		t.Fatalf("families %d, students reached %d: 46 students were visited", r.Totals.FamiliesVisited, r.Totals.StudentsReached)
	}

	// Scopes: a district reads its own figures, with hours; nothing else.
	code, body = e.get("district-d1", "secret-d1", "/v1/districts/d1/reach?year="+year)
	if code != 200 || !strings.Contains(string(body), "hoursPerEducator") {
		t.Fatalf("own district: %d %s", code, body)
	}
	if err := schemas.Validate("reach-api.schema.json", body); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, secret, path string
		status            int
	}{
		{"district-d1", "secret-d1", "/v1/reach?year=" + year, 403},
		{"district-d2", "secret-d2", "/v1/districts/d1/reach?year=" + year, 403},
		{"outsider", "secret-o", "/v1/reach?year=" + year, 403},
		{"", "", "/v1/reach?year=" + year, 403},                              // unsigned: the gateway refuses
		{"district-d1", "wrong", "/v1/districts/d1/reach?year=" + year, 403}, // bad signature
		{"test", "test", "/v1/reach?year=2019-2020", 404},
		{"test", "test", "/v1/reach?year=" + year + "&state=ZZ", 404},
		{"test", "test", "/v1/reach?year=" + year + "&groupBy=school", 400},
		{"test", "test", "/v1/nothing", 404},
	} {
		if code, body := e.get(c.key, c.secret, c.path); code != c.status {
			t.Errorf("%s as %q: %d, want %d: %s", c.path, c.key, code, c.status, body)
		}
	}

	// The public file: national and by state, conforming to its schema.
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &e.stack.Names.ReportsBucket, Key: aws.String(reachsvc.PublicKey(year))})
	if err != nil {
		t.Fatal(err)
	}
	public, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if err := schemas.Validate("reach.schema.json", public); err != nil {
		t.Fatal(err)
	}

	// The nightly safety net recomputes everything and finds nothing to change.
	res, err := e.stack.Host.Invoke(ctx, e.stack.Names.Function("reach"), []byte(`{"full":true}`))
	if err != nil || res.FunctionError != "" {
		t.Fatalf("full recomputation: %v %s", err, res.Payload)
	}
	var full reachsvc.Result
	json.Unmarshal(res.Payload, &full)
	if full.ItemsWritten != 0 || full.DistrictYears == 0 {
		t.Fatalf("the full recomputation after the incremental one: %+v", full)
	}
	// EMF lines went to the function's log.
	if !strings.Contains(e.logs.String(), `"Namespace":"PTHVReach"`) {
		t.Error("no Embedded Metric Format line in the reach function's log")
	}
}

// rolesOfYear returns the rows of roles.csv of the test district generated for a year.
func rolesOfYear(t *testing.T, schoolYear int) [][]string {
	t.Helper()
	return readRoles(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: schoolYear})
}
