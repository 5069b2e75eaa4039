//go:build load

package integration

// The load test (make load; not part of make test): many districts drop their exports at
// once on the local stack, then each drops a changed export while the first wave still
// runs, two of them drop the same object twice, and afterwards every district's roster is
// compared record by record with its last applied export.
//
// Bounded: PTHV_LOAD_DISTRICTS (default 40) districts of PTHV_LOAD_STUDENTS (default 2,000)
// students, a deadline of PTHV_LOAD_TIMEOUT (default 90m) after which it fails and stops;
// every request goes to moto and the Lambda host on the loopback interface. The ingest
// function runs PTHV_LOAD_CONCURRENCY invocations at once (default: Terraform's
// ingest_max_concurrency, deploy.IngestMaxConcurrency), as the event source mapping would.

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store"
)

func loadEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// loadDistrict is one district of the load test and what it dropped.
type loadDistrict struct {
	id        string
	holdShare float64 // 0: the default (10%)
	strict    bool    // hold share under the second wave's removal: its second export must be held
	twice     bool    // drops its second export twice, and its notification is delivered twice
	exports   [][]byte
	drops     []loadDrop
}

type loadDrop struct {
	wave    int
	obj     pthv.Object
	at      time.Time
	imp     *pthv.Import
	dupSent bool // the S3 notification of this version was sent to the queue a second time
}

// LoadResult is what make load writes to load.json (and make bench's summary reads).
type LoadResult struct {
	Districts         int     `json:"districts"`
	Concurrency       int     `json:"ingestConcurrency"`
	PartitionQuery    bool    `json:"motoPartitionQuery"` // moto ran with devstack.EnvMotoPartitionQuery
	Students          int     `json:"studentsPerDistrict"`
	Drops             int     `json:"drops"`
	DuplicateEvents   int     `json:"duplicateEvents"`
	Imports           int     `json:"imports"`
	Applied           int     `json:"applied"`
	Held              int     `json:"held"`
	ExpectedHeld      int     `json:"expectedHeld"`
	OfferedPerMinute  float64 `json:"offeredDropsPerMinute"`
	DropsPerMinute    float64 `json:"processedDropsPerMinute"`
	SlowestDropToRep  float64 `json:"slowestDropToReportSeconds"`
	MedianDropToRep   float64 `json:"medianDropToReportSeconds"`
	OldestMessageAge  float64 `json:"oldestMessageAgeSeconds"`
	MaxQueueDepth     int     `json:"maxQueueDepth"`
	Errors            int     `json:"errors"`
	Retries           int     `json:"retries"`
	WriteRetries      int     `json:"writeRetries"`
	Duplicates        int     `json:"duplicateDecisions"`
	Continuations     int     `json:"continuations"`
	RecordsCompared   int     `json:"recordsCompared"`
	Mismatches        int     `json:"mismatches"`
	WallSeconds       float64 `json:"wallSeconds"`
	MotoCPUSeconds    float64 `json:"motoCpuSeconds"`   // the stand-in's CPU time during the run
	IngestCPUSeconds  float64 `json:"ingestCpuSeconds"` // the ingest processes' CPU time (those alive at the end)
	GeneratedAt       string  `json:"generatedAt"`
	HoldShareDefault  float64 `json:"holdShareDefault"`
	StrictHoldShare   float64 `json:"strictHoldShare"`
	SecondWaveRemoved float64 `json:"secondWaveRemovedShare"`
}

func TestLoadManyDistricts(t *testing.T) {
	nd := loadEnvInt("PTHV_LOAD_DISTRICTS", 40)
	ns := loadEnvInt("PTHV_LOAD_STUDENTS", 2000)
	timeout, err := time.ParseDuration(os.Getenv("PTHV_LOAD_TIMEOUT"))
	if err != nil || timeout <= 0 {
		timeout = 90 * time.Minute
	}
	const remove, strictShare = 0.05, 0.04
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	logs := &syncBuffer{}
	conc := loadEnvInt("PTHV_LOAD_CONCURRENCY", deploy.IngestMaxConcurrency)
	st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: "pthv-load-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36),
		Endpoint: moto.URL, Functions: functions, Logs: logs, IngestConcurrency: conc})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := devstack.AWSConfig(st.Endpoint)
	s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
	ddb := dynamodb.NewFromConfig(cfg)
	db := &store.Store{DB: ddb, Table: st.Names.Table}
	sqsc := sqs.NewFromConfig(cfg)
	queueURL := st.Provisioned.QueueURLs[st.Names.IngestQueue]

	// The districts: every tenth (the last, with fewer than ten) holds at 4% (the second
	// wave's 5% removal is held), two others drop their second export twice.
	ds := make([]*loadDistrict, nd)
	for i := range ds {
		d := &loadDistrict{id: fmt.Sprintf("ld-%02d", i)}
		if i%10 == 9 || nd < 10 && i == nd-1 {
			d.holdShare, d.strict = strictShare, true
		}
		if i == 0 || i == nd/2 && nd > 2 {
			d.twice = true
		}
		ds[i] = d
		if err := db.PutDistrict(ctx, pthv.District{ID: d.id, Name: "Load " + d.id, State: "CA", HoldShare: d.holdShare}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("generating %d exports of %d students", 2*nd, ns)
	var wg sync.WaitGroup
	errs := make(chan error, nd)
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := genExport(ns, uint64(100+i), 0, 0)
			if err == nil {
				var b []byte
				b, err = genExport(ns, uint64(100+i), remove, 50)
				d.exports = [][]byte{a, b}
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Queue depth and the age of its oldest message, sampled every second.
	var sampler sync.WaitGroup
	maxDepth := 0
	sctx, stopSampling := context.WithCancel(ctx)
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for sctx.Err() == nil {
			out, err := sqsc.GetQueueAttributes(sctx, &sqs.GetQueueAttributesInput{QueueUrl: &queueURL,
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err == nil {
				n := 0
				for _, v := range out.Attributes {
					k, _ := strconv.Atoi(v)
					n += k
				}
				maxDepth = max(maxDepth, n)
			}
			select {
			case <-sctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	put := func(d *loadDistrict, wave int) loadDrop {
		key := "drops/" + d.id + "/rosters/export.zip"
		out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Names.DropsBucket, Key: &key, Body: bytes.NewReader(d.exports[wave])})
		if err != nil {
			t.Fatal(err)
		}
		return loadDrop{wave: wave, at: time.Now(), obj: pthv.Object{Bucket: st.Names.DropsBucket, Key: key, VersionID: aws.ToString(out.VersionId)}}
	}
	motoCPU0 := groupCPUSeconds(moto.PID())
	start := time.Now()
	// Wave 1: every district within a few seconds.
	spread := 3 * time.Second
	var mu sync.Mutex
	dropAll := func(wave int) {
		var wg sync.WaitGroup
		for i, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * spread / time.Duration(nd))
				dr := put(d, wave)
				mu.Lock()
				d.drops = append(d.drops, dr)
				mu.Unlock()
				if wave == 1 && d.twice {
					// The same object twice: a second upload of the same bytes (a new version),
					// and the first version's notification delivered a second time.
					dup := put(d, wave)
					body, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"eventName": "ObjectCreated:Put",
						"s3": map[string]any{"bucket": map[string]any{"name": dr.obj.Bucket}, "object": map[string]any{"key": dr.obj.Key, "versionId": dr.obj.VersionID}}}}})
					if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(string(body))}); err != nil {
						t.Error(err)
					}
					mu.Lock()
					d.drops[len(d.drops)-1].dupSent = true
					d.drops = append(d.drops, dup)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	dropAll(0)
	t.Logf("wave 1 dropped in %s", time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // the first imports are under way
	dropAll(1)
	t.Logf("wave 2 dropped %s after the first drop", time.Since(start).Round(time.Millisecond))

	// Wait for every drop's import to finish (claims and imports are single-item reads).
	final := func(s pthv.Status) bool {
		switch s {
		case pthv.StatusApplied, pthv.StatusHeld, pthv.StatusRejected, pthv.StatusSuperseded, pthv.StatusFailed:
			return true
		}
		return false
	}
	for {
		pending := 0
		for _, d := range ds {
			for i := range d.drops {
				dr := &d.drops[i]
				if dr.imp != nil && final(dr.imp.Status) {
					continue
				}
				pending++
				if id, err := db.ObjectClaim(ctx, dr.obj); err == nil {
					if imp, err := db.GetImport(ctx, d.id, id); err == nil {
						dr.imp = imp
						if final(imp.Status) {
							pending--
						}
					}
				}
			}
		}
		if pending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d drops not finished by the deadline; logs:\n%s", pending, tail(logs.String(), 4000))
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
	wall := time.Since(start)
	motoCPU := groupCPUSeconds(moto.PID()) - motoCPU0
	ingestCPU := 0.0
	for _, pid := range st.Host.PIDs(st.Names.Function("ingest")) {
		ingestCPU += cpuSeconds(pid)
	}
	stopSampling()
	sampler.Wait()

	res := LoadResult{Districts: nd, Students: ns, Concurrency: conc, PartitionQuery: os.Getenv(devstack.EnvMotoPartitionQuery) != "", WallSeconds: wall.Seconds(), GeneratedAt: time.Now().UTC().Format(time.RFC3339),
		MotoCPUSeconds: motoCPU, IngestCPUSeconds: ingestCPU, HoldShareDefault: pthv.DefaultHoldShare, StrictHoldShare: strictShare, SecondWaveRemoved: remove, MaxQueueDepth: maxDepth}
	var lastDrop, firstDrop time.Time
	var dropToRep []float64
	for _, d := range ds {
		for i, dr := range d.drops {
			res.Drops++
			if dr.dupSent {
				res.DuplicateEvents++
			}
			if firstDrop.IsZero() || dr.at.Before(firstDrop) {
				firstDrop = dr.at
			}
			if dr.at.After(lastDrop) {
				lastDrop = dr.at
			}
			imp := dr.imp
			res.WriteRetries += imp.Writes.Retries
			// The oldest message: how long a drop waited before its import claimed it.
			res.OldestMessageAge = math.Max(res.OldestMessageAge, imp.Started.Sub(dr.at).Seconds())
			dropToRep = append(dropToRep, imp.Finished.Sub(dr.at).Seconds())
			want := pthv.StatusApplied
			if dr.wave == 1 && d.strict {
				want = pthv.StatusHeld
			}
			if imp.Status != want {
				t.Errorf("%s drop %d (wave %d): %s (%s), want %s", d.id, i, dr.wave+1, imp.Status, imp.Reason, want)
			}
		}
		if d.twice && !d.strict {
			// The same bytes uploaded twice: S3 orders two versions of one second by version
			// id, so either may be imported first; whichever comes second writes nothing.
			a, b := d.drops[1].imp.Writes, d.drops[2].imp.Writes
			if wa, wb := a.Items+a.Updates, b.Items+b.Updates; min(wa, wb) != 0 {
				t.Errorf("%s: the same export uploaded twice wrote %d and %d items; the later import must write none", d.id, wa, wb)
			}
		}
		if d.strict {
			res.ExpectedHeld += len(d.drops) - 1
		}
		// No import lost or applied twice: one import per version, nothing more.
		imps, err := db.ListImports(ctx, d.id, 100)
		if err != nil {
			t.Fatal(err)
		}
		versions := map[string]int{}
		for _, imp := range imps {
			res.Imports++
			versions[imp.Source.VersionID]++
			switch imp.Status {
			case pthv.StatusApplied:
				res.Applied++
			case pthv.StatusHeld:
				res.Held++
			}
		}
		if len(imps) != len(d.drops) {
			t.Errorf("%s: %d imports for %d drops", d.id, len(imps), len(d.drops))
		}
		for v, n := range versions {
			if n != 1 {
				t.Errorf("%s: version %s imported %d times", d.id, v, n)
			}
		}
	}
	slices.Sort(dropToRep)
	res.SlowestDropToRep = dropToRep[len(dropToRep)-1]
	res.MedianDropToRep = dropToRep[len(dropToRep)/2]
	res.OfferedPerMinute = float64(res.Drops) / math.Max(lastDrop.Sub(firstDrop).Minutes(), 1.0/60)
	res.DropsPerMinute = float64(res.Drops) / wall.Minutes()

	// Every district's roster equals its last applied export, record by record.
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.id)
	}
	got := scanRosters(ctx, t, ddb, st.Names.Table, ids)
	for _, d := range ds {
		last := d.exports[1]
		if d.strict {
			last = d.exports[0]
		}
		want := exportRecords(ctx, t, last)
		n, bad := compareRoster(t, d.id, want, got[d.id])
		res.RecordsCompared += n
		res.Mismatches += bad
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, `"level":"ERROR"`):
			res.Errors++
		}
		switch {
		case strings.Contains(line, `"decision":"retry"`):
			res.Retries++
		case strings.Contains(line, `"decision":"duplicate"`):
			res.Duplicates++
		case strings.Contains(line, `"decision":"continue"`):
			res.Continuations++
		}
	}
	if res.Mismatches != 0 {
		t.Errorf("%d records differ from the last applied exports", res.Mismatches)
	}
	if res.Held != res.ExpectedHeld {
		t.Errorf("%d imports held, %d expected", res.Held, res.ExpectedHeld)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("load result:\n%s", out)
	path := os.Getenv("PTHV_LOAD_OUT")
	if path == "" {
		path = filepath.Join("..", "load.json")
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Error(err)
	}
}

// procStat reads a process's group id and its user + system CPU time so far, from
// /proc/PID/stat (times in clock ticks of 1/100 s, Linux's USER_HZ); ok is false when the
// process is gone.
func procStat(pid int) (pgrp int, cpu float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if pid <= 0 || err != nil {
		return 0, 0, false
	}
	// The fields after the command name (which may hold spaces) start at its closing ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, 0, false
	}
	pgrp, _ = strconv.Atoi(f[2])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return pgrp, (ut + st) / 100, true
}

// cpuSeconds is a process's CPU time so far (0 when it cannot be read).
func cpuSeconds(pid int) float64 {
	_, cpu, _ := procStat(pid)
	return cpu
}

// groupCPUSeconds is the CPU time so far of the live processes of process group pgid
// (moto_server runs under a shell that leads its group).
func groupCPUSeconds(pgid int) float64 {
	ents, _ := os.ReadDir("/proc")
	total := 0.0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, cpu, ok := procStat(pid); ok && g == pgid && pgid > 0 {
			total += cpu
		}
	}
	return total
}

// genExport generates a district export; remove leaves out that share of students, and
// every moveEvery-th remaining student (0: none) moves to the next school: their user's
// primary org, their role and their enrollments (to a class of the new school).
func genExport(students int, seed uint64, remove float64, moveEvery int) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := rostergen.WriteZip(&buf, rostergen.Options{Students: students, Seed: seed, Remove: remove}); err != nil {
		return nil, err
	}
	if moveEvery == 0 {
		return buf.Bytes(), nil
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, err
	}
	files := map[string][][]string{}
	var order []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		r := csv.NewReader(rc)
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		files[f.Name] = rows
		order = append(order, f.Name)
	}
	col := func(file, name string) int { return slices.Index(files[file][0], name) }
	// Schools in order, and one class of each.
	var schools []string
	for _, row := range files["orgs.csv"][1:] {
		if row[col("orgs.csv", "type")] == "school" {
			schools = append(schools, row[0])
		}
	}
	classOf := map[string]string{}
	for _, row := range files["classes.csv"][1:] {
		if s := row[col("classes.csv", "schoolSourcedId")]; classOf[s] == "" {
			classOf[s] = row[0]
		}
	}
	if len(schools) < 2 {
		return buf.Bytes(), nil
	}
	next := map[string]string{}
	for i, s := range schools {
		next[s] = schools[(i+1)%len(schools)]
	}
	moved := map[string]string{}
	n := 0
	po := col("users.csv", "primaryOrgSourcedId")
	for _, row := range files["users.csv"][1:] {
		if !strings.HasPrefix(row[0], "stu-") {
			continue
		}
		if n++; n%moveEvery == 0 {
			moved[row[0]] = next[row[po]]
			row[po] = moved[row[0]]
		}
	}
	ru, ro := col("roles.csv", "userSourcedId"), col("roles.csv", "orgSourcedId")
	for _, row := range files["roles.csv"][1:] {
		if s, ok := moved[row[ru]]; ok {
			row[ro] = s
		}
	}
	eu, es, ec := col("enrollments.csv", "userSourcedId"), col("enrollments.csv", "schoolSourcedId"), col("enrollments.csv", "classSourcedId")
	for _, row := range files["enrollments.csv"][1:] {
		if s, ok := moved[row[eu]]; ok {
			row[es], row[ec] = s, classOf[s]
		}
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, name := range order {
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(files[name]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// rosterItem is what the table holds of one record.
type rosterItem struct {
	hash   string
	active bool
}

// scanRosters reads every roster item of the districts: district → kind → id. moto answers a
// Scan page by sorting the whole table, and a Query the same way unless it runs with
// devstack.EnvMotoPartitionQuery: then each district's partitions are queried, else the
// table is read in one Scan.
func scanRosters(ctx context.Context, t *testing.T, db *dynamodb.Client, table string, districts []string) map[string]map[roster.Kind]map[string]rosterItem {
	t.Helper()
	if os.Getenv(devstack.EnvMotoPartitionQuery) != "" {
		return queryRosters(ctx, t, db, table, districts)
	}
	codes := map[string]roster.Kind{}
	for _, k := range roster.Kinds {
		pk := store.RecordPK("x", k, 0) // R#x#{code}#00
		codes[strings.Split(pk, "#")[2]] = k
	}
	out := map[string]map[roster.Kind]map[string]rosterItem{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table,
		FilterExpression: aws.String("begins_with(pk, :p)"), ProjectionExpression: aws.String("pk, sk, h, a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "R#"}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			parts := strings.Split(it["pk"].(*types.AttributeValueMemberS).Value, "#")
			if len(parts) != 4 {
				continue
			}
			d, k := parts[1], codes[parts[2]]
			if out[d] == nil {
				out[d] = map[roster.Kind]map[string]rosterItem{}
			}
			if out[d][k] == nil {
				out[d][k] = map[string]rosterItem{}
			}
			var ri rosterItem
			if h, ok := it["h"].(*types.AttributeValueMemberS); ok {
				ri.hash = h.Value
			}
			if a, ok := it["a"].(*types.AttributeValueMemberBOOL); ok {
				ri.active = a.Value
			}
			out[d][k][it["sk"].(*types.AttributeValueMemberS).Value] = ri
		}
	}
	return out
}

// queryRosters reads every roster partition of the districts with Queries, 8 at a time.
func queryRosters(ctx context.Context, t *testing.T, db *dynamodb.Client, table string, districts []string) map[string]map[roster.Kind]map[string]rosterItem {
	t.Helper()
	type part struct {
		district string
		kind     roster.Kind
		pk       string
	}
	var parts []part
	out := map[string]map[roster.Kind]map[string]rosterItem{}
	for _, d := range districts {
		out[d] = map[roster.Kind]map[string]rosterItem{}
		for _, k := range roster.Kinds {
			out[d][k] = map[string]rosterItem{}
			for sh := range store.Shards {
				parts = append(parts, part{d, k, store.RecordPK(d, k, sh)})
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	next := make(chan part)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				pg := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("pk = :p"),
					ProjectionExpression: aws.String("sk, h, a"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: p.pk}}})
				for pg.HasMorePages() {
					page, err := pg.NextPage(ctx)
					mu.Lock()
					if err != nil {
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						break
					}
					for _, it := range page.Items {
						var ri rosterItem
						if h, ok := it["h"].(*types.AttributeValueMemberS); ok {
							ri.hash = h.Value
						}
						if a, ok := it["a"].(*types.AttributeValueMemberBOOL); ok {
							ri.active = a.Value
						}
						out[p.district][p.kind][it["sk"].(*types.AttributeValueMemberS).Value] = ri
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range parts {
		next <- p
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return out
}

// recordSink collects an export's accepted records as content hashes.
type recordSink struct {
	recs map[roster.Kind]map[string]string
}

func (s *recordSink) File(roster.Kind, roster.Mode) error { return nil }
func (s *recordSink) Record(rec roster.Record) error {
	_, h, err := importer.Encode(rec)
	if err != nil {
		return err
	}
	if s.recs[rec.RecordKind()] == nil {
		s.recs[rec.RecordKind()] = map[string]string{}
	}
	s.recs[rec.RecordKind()][rec.ID()] = h
	return nil
}
func (s *recordSink) Reject(kind roster.Kind, id string) error {
	delete(s.recs[kind], id)
	return nil
}

func exportRecords(ctx context.Context, t *testing.T, zipped []byte) map[roster.Kind]map[string]string {
	t.Helper()
	sink := &recordSink{recs: map[roster.Kind]map[string]string{}}
	pkg := orcsv.OpenZip(bytes.NewReader(zipped), int64(len(zipped)), "export.zip", orcsv.Limits{})
	rep, err := orcsv.Read(ctx, pkg, sink, orcsv.Options{})
	if err != nil || rep.Errors != 0 {
		t.Fatalf("the export does not read clean: %v, %d errors", err, rep.Errors)
	}
	return sink.recs
}

// compareRoster checks that the active records are exactly the export's, with its content,
// and that everything else the table holds is inactive. It returns the records compared and
// the mismatches.
func compareRoster(t *testing.T, district string, want map[roster.Kind]map[string]string, got map[roster.Kind]map[string]rosterItem) (int, int) {
	t.Helper()
	n, bad := 0, 0
	report := func(format string, args ...any) {
		if bad++; bad <= 5 {
			t.Errorf(district+": "+format, args...)
		}
	}
	for _, k := range roster.Kinds {
		for id, h := range want[k] {
			n++
			switch it, ok := got[k][id]; {
			case !ok:
				report("%s %s of the export is not in the table", k, id)
			case !it.active:
				report("%s %s of the export is inactive", k, id)
			case it.hash != h:
				report("%s %s differs from the export", k, id)
			}
		}
		for id, it := range got[k] {
			if _, ok := want[k][id]; !ok && it.active {
				report("%s %s is active but not in the last export", k, id)
			}
		}
	}
	return n, bad
}
