package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/internal/rostergen"
)

// Names in the data that a page must show as text, never run.
const (
	hostileState  = `<script>window.__pwned = 'state'</script>`
	hostileSchool = `<img src=x onerror="window.__pwned = 'school'"> Elementary`
)

// dashboardData is what the dashboard test publishes, as the reach function wrote it.
type dashboardData struct {
	years     []string
	public    map[string]reachsvc.Public
	published map[string]reach.Published
}

// publishDemoData publishes demo-like reach figures on the stack through the real
// functions: district d1 (CA) imports a roster, trainings and visit logs through the ingest
// bootstrap, which asks the reach bootstrap to recompute (2026-2027: one site with enough
// visits to publish its counts, one with a handful, which are suppressed); and a few small
// synthetic districts in other states, written to the table as imports leave them, for
// 2025-2026 and 2026-2027, recomputed by invoking the reach bootstrap as an import would.
// One synthetic district has a state, and one school a name, that are HTML.
func publishDemoData(t *testing.T, e *env) dashboardData {
	t.Helper()
	ctx := context.Background()
	data, _ := gen(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027})
	if imp := e.await(e.put("drops/d1/rosters/a.zip", data)); imp.Status != pthv.StatusApplied {
		t.Fatalf("roster: %s", imp.Status)
	}
	teachers, students := map[string][]string{}, map[string][]string{}
	for _, r := range rolesOfYear(t, 2027) {
		switch r[5] {
		case "teacher":
			teachers[r[8]] = append(teachers[r[8]], r[3])
		case "student":
			students[r[8]] = append(students[r[8]], r[3])
		}
	}
	var trainings strings.Builder
	trainings.WriteString("educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n")
	for _, sch := range slices.Sorted(func(yield func(string) bool) {
		for s := range teachers {
			if !yield(s) {
				return
			}
		}
	}) {
		for _, tch := range teachers[sch] {
			fmt.Fprintf(&trainings, "%s,2026-08-20,introductory,6,PTHV National,true\n", tch)
		}
	}
	if imp := e.await(e.put("drops/d1/trainings/t.csv", []byte(trainings.String()))); imp.Status != pthv.StatusApplied {
		t.Fatalf("trainings: %s", imp.Status)
	}
	schools := slices.Sorted(func(yield func(string) bool) {
		for s := range students {
			if len(students[s]) >= 25 && len(teachers[s]) >= 2 && !yield(s) {
				return
			}
		}
	})[:2]
	var visits strings.Builder
	visits.WriteString("visitId,familyId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\n")
	total := 0
	for i, sch := range schools {
		pair := teachers[sch][0] + ";" + teachers[sch][1]
		n := 24
		if i == 1 {
			n = 4 // a site with a handful of visits: its counts are suppressed
		}
		for j, st := range students[sch][:n] {
			fmt.Fprintf(&visits, "v-%s-1,,%s,%s,2026-09-%02d,1,%s,home,60,completed\n", st, st, sch, 1+j%28, pair)
			total++
			if i == 0 && j < 12 {
				fmt.Fprintf(&visits, "v-%s-2,,%s,%s,2026-10-%02d,2,%s,neutral,45,completed\n", st, st, sch, 1+j%28, pair)
				total++
			}
		}
	}
	if imp := e.await(e.put("drops/d1/visits/fall.csv", []byte(visits.String()))); imp.Status != pthv.StatusApplied {
		t.Fatalf("visits: %s", imp.Status)
	}

	// Synthetic districts in other states, two years; small, as moto reads its whole table
	// for every query.
	var touched []reachsvc.DistrictYear
	for i, y := range []string{"2025-2026", "2026-2027"} {
		ins, _ := reach.Synth(uint64(40+i), reach.SynthOptions{Year: y, States: 3, DistrictsPerState: [2]int{1, 2},
			SitesPerDistrict: [2]int{1, 3}, FamiliesPerSite: [2]int{3, 24}, EducatorsPerDistrict: [2]int{4, 8}})
		for k := range ins {
			in := &ins[k]
			in.District = fmt.Sprintf("syn%d-%s", i, in.District)
			if in.State == "CA" {
				in.State = "NV" // d1 is California's
			}
			for s := range in.Schools {
				in.Schools[s].Students = min(in.Schools[s].Students, 60)
			}
			in.Trainings = slices.DeleteFunc(in.Trainings, func(tr reach.Training) bool { return pthv.SchoolYearOfDate(tr.Date).String() != y })
			touched = append(touched, reachsvc.DistrictYear{District: in.District, Year: y})
		}
		if i == 0 {
			ins[0].District, ins[0].State = "hostile", hostileState
			touched[0].District = "hostile"
			v := ins[0].Visits[slices.IndexFunc(ins[0].Visits, func(v reach.Visit) bool {
				return v.Status == reach.StatusCompleted && pthv.SchoolYearOfDate(v.Date).String() == y && len(v.Educators) >= 2
			})]
			for s := range ins[0].Schools {
				if ins[0].Schools[s].ID == v.School {
					ins[0].Schools[s].Name = hostileSchool
				}
			}
		}
		loadReach(t, ctx, e.store, ins)
	}
	// The ingest function asked the reach function to recompute d1's year; wait for it, then
	// recompute the synthetic districts as their imports would have asked.
	if !waitFor(90*time.Second, func() bool {
		b, err := e.object(reachsvc.PublicKey("2026-2027"))
		return err == nil && strings.Contains(string(b), fmt.Sprintf(`"visits": %d,`, total))
	}) {
		t.Fatalf("d1's visits never reached the public file\n%s", tail(e.logs.String(), 3000))
	}
	payload, _ := json.Marshal(reachsvc.Event{Touched: touched})
	res, err := e.stack.Host.Invoke(ctx, e.stack.Names.Function("reach"), payload)
	if err != nil || res.FunctionError != "" {
		t.Fatalf("reach: %v %s\n%s", err, res.Payload, tail(e.logs.String(), 3000))
	}

	d := dashboardData{public: map[string]reachsvc.Public{}, published: map[string]reach.Published{}}
	var yf reachsvc.YearsFile
	e.objectJSON(reachsvc.YearsKey, &yf)
	d.years = yf.Years
	for _, y := range d.years {
		var p reachsvc.Public
		e.objectJSON(reachsvc.PublicKey(y), &p)
		d.public[y] = p
		var full reach.Published
		e.objectJSON(reachsvc.PublishedKey(y), &full)
		d.published[y] = full
	}
	if !slices.Equal(d.years, []string{"2025-2026", "2026-2027"}) {
		t.Fatalf("published years %v", d.years)
	}
	return d
}

// object reads an object of the reports bucket.
func (e *env) object(key string) ([]byte, error) {
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &e.stack.Names.ReportsBucket, Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (e *env) objectJSON(key string, v any) {
	e.t.Helper()
	b, err := e.object(key)
	if err != nil {
		e.t.Fatalf("%s: %v", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("%s: %v", key, err)
	}
}

// staffLink runs `pthv reach dashboard` as a person would, with an access key of the
// stack's principals, and returns the link it prints.
func staffLink(t *testing.T, e *env, key, secret string, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pthv")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pthv")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build pthv: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"reach", "dashboard"}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range e.stack.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN=", "AWS_PROFILE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pthv reach dashboard: %v\n%s", err, stderr.String())
	}
	link := strings.TrimSpace(string(out))
	if !strings.HasPrefix(link, e.stack.Dashboard.URL()+"/staff.html#") {
		t.Fatalf("pthv reach dashboard printed %q (stderr %s)", link, stderr.String())
	}
	return link
}
