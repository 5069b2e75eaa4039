package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/store"
)

// nationalShape is twice PTHV's 2022-23 reach: about 800 sites in 40 states, 66,000
// completed visits, 5,500 educators trained.
var nationalShape = reach.SynthOptions{Year: "2025-2026", States: 40, DistrictsPerState: [2]int{5, 5}, SitesPerDistrict: [2]int{4, 4},
	FamiliesPerSite: [2]int{55, 67}, EducatorsPerDistrict: [2]int{40, 52}}

// loadReach writes Synth's districts into the store as imports would: districts, visits,
// trainings, school orgs, and one active student role per student (for the school index).
func loadReach(b testing.TB, ctx context.Context, db *store.Store, ins []reach.DistrictInput) {
	for _, in := range ins {
		if err := db.PutDistrict(ctx, pthv.District{ID: in.District, Name: in.District, State: in.State}); err != nil {
			b.Fatal(err)
		}
		var vs []pthv.VisitWrite
		for _, v := range in.Visits {
			sv := pthv.StoredVisit{Family: v.Family, Students: v.Students, Year: pthv.SchoolYearOfDate(v.Date).String()}
			sv.ID, sv.School, sv.Date, sv.Number, sv.Educators, sv.Minutes, sv.Status = v.ID, v.School, v.Date, v.Number, v.Educators, v.Minutes, v.Status
			data, _ := json.Marshal(sv)
			vs = append(vs, pthv.VisitWrite{ID: v.ID, Data: data, VisitCurrent: pthv.VisitCurrent{Hash: pthv.Hash(data), Year: sv.Year, School: v.School, Family: v.Family, Number: v.Number}})
		}
		if _, err := db.PutVisits(ctx, in.District, "bench", vs); err != nil {
			b.Fatal(err)
		}
		var ts []pthv.TrainingWrite
		for i, t := range in.Trainings {
			ts = append(ts, pthv.TrainingWrite{Key: fmt.Sprintf("%s#%s#t%d", t.Educator, t.Date, i), Educator: t.Educator, SchoolYear: pthv.SchoolYearOfDate(t.Date).String(), Hash: "h", Data: []byte(`{}`)})
		}
		if _, err := db.PutTrainings(ctx, in.District, "bench", ts); err != nil {
			b.Fatal(err)
		}
		var ops []pthv.Op
		for _, s := range in.Schools {
			data, hash, _ := importer.Encode(&roster.Org{SourcedID: s.ID, Status: roster.StatusActive, Name: s.Name, Type: "school"})
			ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindOrg, ID: s.ID, Hash: hash, Data: data})
			for i := range s.Students {
				id := fmt.Sprintf("stu-%s-%s-%d", in.District, s.ID, i)
				data, hash, _ := importer.Encode(&roster.Role{SourcedID: "rol-" + id, Status: roster.StatusActive, UserSourcedID: id, Role: "student", OrgSourcedID: s.ID})
				ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindRole, ID: "rol-" + id, Hash: hash, Data: data, Role: "student", User: id, School: s.ID})
			}
		}
		if _, err := db.Apply(ctx, in.District, "bench", ops); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReach measures the reach function's work on moto: a full recomputation of a
// year, one district's incremental update, and the API's latency for the national query.
//
// moto's Query reads its whole table whatever the key (about 1 s per Query with 30,000
// items), so a national year (about 500,000 items with the rosters' student roles) cannot
// be recomputed on moto in reasonable time: the moto runs take PTHV_BENCH_REACH_STATES of
// the 40 states (default 2) of the national shape, and the same work at national scale is
// measured on an in-memory store by BenchmarkFullNational (internal/reachsvc). The API
// serves the national-scale published view.
func BenchmarkReach(b *testing.B) {
	ctx := context.Background()
	states := 2
	if n, err := strconv.Atoi(os.Getenv("PTHV_BENCH_REACH_STATES")); err == nil && n > 0 {
		states = n
	}
	shape := nationalShape
	shape.States = states
	ins, truth := reach.Synth(2023, shape)
	rb := make([]byte, 4)
	rand.Read(rb)
	st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: "pthv-rbench-" + hex.EncodeToString(rb), Endpoint: moto.URL,
		Functions: map[string]string{"api": functions["api"]}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := devstack.AWSConfig(st.Endpoint)
	db := &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: st.Names.Table}
	t0 := time.Now()
	loadReach(b, ctx, db, ins)
	b.Logf("loaded %d districts, %d sites, %d visits in %v", len(ins), truth.National.Sites, truth.National.Visits, time.Since(t0))
	svc := &reachsvc.Service{Store: db, Blobs: blob.New(cfg), ReportsBucket: st.Names.ReportsBucket}

	var full, inc *reachsvc.Result
	var fullTime, incTime time.Duration
	for i := 0; i < b.N; i++ {
		t1 := time.Now()
		if full, err = svc.Full(ctx); err != nil {
			b.Fatal(err)
		}
		fullTime += time.Since(t1)
	}
	b.StopTimer()
	var nat reach.Totals
	items, _ := db.Aggregates(ctx, shape.Year, "NATIONAL")
	json.Unmarshal(items["NATIONAL"], &nat)
	if nat.Visits != truth.National.Visits || nat.Sites != truth.National.Sites {
		b.Fatalf("national %+v, want %+v", nat, truth.National)
	}
	// One district logs one more visit; only its district-year is recomputed.
	d := ins[0]
	v := d.Visits[0]
	v.ID, v.Status, v.Number, v.Family, v.Students = "bench-extra", "completed", 1, "fam-extra", []string{"stu-extra"}
	sv := pthv.StoredVisit{Family: v.Family, Students: v.Students, Year: shape.Year}
	sv.ID, sv.School, sv.Date, sv.Number, sv.Educators, sv.Minutes, sv.Status = v.ID, v.School, v.Date, v.Number, v.Educators, v.Minutes, v.Status
	data, _ := json.Marshal(sv)
	if _, err := db.PutVisits(ctx, d.District, "bench", []pthv.VisitWrite{{ID: v.ID, Data: data,
		VisitCurrent: pthv.VisitCurrent{Hash: pthv.Hash(data), Year: shape.Year, School: v.School, Family: v.Family, Number: 1}}}); err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	if inc, err = svc.Recompute(ctx, []reachsvc.DistrictYear{{District: d.District, Year: shape.Year}}); err != nil {
		b.Fatal(err)
	}
	incTime = time.Since(t2)

	// The API: the national-scale published view, GET /v1/reach?year=&groupBy=site through
	// the API Gateway front and the api function, against reading the same object from S3.
	nIns, nTruth := reach.Synth(2023, nationalShape)
	var ds []reach.DistrictMetrics
	for _, in := range nIns {
		ds = append(ds, reach.ComputeDistrict(in))
	}
	nNat, nBy := reach.Rollup(nationalShape.Year, ds)
	pub, _ := json.Marshal(reach.Publish(nationalShape.Year, nNat, nBy, ds))
	s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
	key := reachsvc.PublishedKey(nationalShape.Year)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Names.ReportsBucket, Key: &key, Body: bytes.NewReader(pub)}); err != nil {
		b.Fatal(err)
	}
	const n = 200
	var apiLat, s3Lat []time.Duration
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodGet, st.API.URL()+"/v1/reach?year="+nationalShape.Year+"&groupBy=site", nil)
		empty := sha256.Sum256(nil)
		v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hex.EncodeToString(empty[:]), "execute-api", devstack.Region, time.Now())
		t3 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		apiLat = append(apiLat, time.Since(t3))
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(fmt.Sprintf(`"sites":%d,`, nTruth.National.Sites))) {
			b.Fatalf("API: %d %.300s", resp.StatusCode, body)
		}
		t4 := time.Now()
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.Names.ReportsBucket, Key: &key})
		if err != nil {
			b.Fatal(err)
		}
		io.ReadAll(out.Body)
		out.Body.Close()
		s3Lat = append(s3Lat, time.Since(t4))
	}
	slices.Sort(apiLat)
	slices.Sort(s3Lat)
	p := func(l []time.Duration, q float64) float64 {
		return float64(l[int(q*float64(len(l)-1))].Microseconds()) / 1000
	}

	b.ReportMetric(float64(truth.National.Sites), "sites")
	b.ReportMetric(float64(truth.National.Visits), "visits")
	b.ReportMetric(float64(fullTime.Milliseconds())/float64(b.N), "full-ms")
	b.ReportMetric(float64(full.ItemsRead), "full-items-read")
	b.ReportMetric(float64(incTime.Milliseconds()), "incremental-ms")
	b.ReportMetric(float64(inc.ItemsRead), "incremental-items-read")
	b.ReportMetric(float64(inc.ItemsWritten), "incremental-items-written")
	b.ReportMetric(float64(incTime)/float64(fullTime/time.Duration(b.N)), "incremental/full")
	b.ReportMetric(p(apiLat, 0.5), "api-p50-ms")
	b.ReportMetric(p(apiLat, 0.99), "api-p99-ms")
	b.ReportMetric(p(apiLat, 0.5)/p(s3Lat, 0.5), "api/s3-p50")
	b.ReportMetric(float64(len(pub))/1024, "published-KiB")
}
