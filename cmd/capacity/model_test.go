package main

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// known is a small population whose figures are worked out by hand in the test.
func known() Inputs {
	return Inputs{
		PipelineCPUUsPerRecord: 100, RecordsPerStudent: 10, ItemBytes: 500, SchoolIndexedShare: 0.5,
		PlanBytesPerOp: 40, SnapshotBytesPerRecord: 10, ReportBytes: 1000, DropBytesPerRecord: 20,
		FixedWrites: 7, FixedReads: 10, Districts: 10, Students: 10000,
		Classes: []SizeClass{{Name: "all", Districts: 10, Students: 1000}}, Largest: 1000,
		WindowHours: 1, LambdaMemoryMB: 1769 * 2, Workers: 8, BatchLatencyMS: 20, SISLatencyMS: 300, Collections: 7,
		OneRosterPage: 1000, OneRosterPerMin: 100, CleverPage: 10000, CleverPerMin: 1200, CSVDropShare: 0.5,
		NoncurrentDays: 365, ReportDays: 730, AccountLambda: 1000, PartitionWCU: 1000, ChangedShares: []float64{0, 0.1},
		Prices: Prices{WriteUnitsM: 1, ReadUnitsM: 0.5, LambdaGBs: 0.00001, S3GBMo: 0.03, SecretMonth: 0.3, SecretCallK: 0.05},
	}
}

func TestTheModelsArithmetic(t *testing.T) {
	r := Compute(known())
	near(t, "records", r.Records, 100_000)
	c := r.Classes[0]
	near(t, "OneRoster requests", c.OneRosterReqs, 10+7) // 10,000 records at 1,000 a page, a partial page per collection
	near(t, "Clever requests", c.CleverReqs, 1+7)
	near(t, "OneRoster minutes", c.OneRosterMin, 17.0/100) // the rate limit (0.6 s a request) is slower than 0.3 s a page
	// Writes: 7 fixed per import; a changed record is 1 WCU (500 bytes) plus its school index write half the time.
	near(t, "write units at 0%", r.WriteUnits[0], 70)
	near(t, "write units at 10%", r.WriteUnits[0.1], 10*(7+10_000*0.1*1.5))
	near(t, "read units", r.ReadUnits, 100)
	// One district at 10%: 10.2 s of pages, 1 s of CPU on 2 vCPU, 1,000 items at 8×25 per 20 ms.
	sec := 17.0/100*60 + 10_000*100e-6/2 + 1000/(8*25/0.020)
	near(t, "seconds at 10%", c.Seconds[0.1], sec)
	near(t, "GB-seconds at 10%", r.GBSeconds[0.1], 10*sec*1769*2/1024)
	near(t, "concurrency at 10%", r.Concurrency[0.1], 10*sec/3600)
	near(t, "largest district's OneRoster hours", r.LargestHours["oneroster"], 17.0/100/60)
	near(t, "shared OneRoster hours", r.SISSharedHours["oneroster"], 10*17.0/100/60)
	near(t, "delta OneRoster requests", r.SISDelta["oneroster"], 10*(1+7))
	// S3 after a year: reports 730 days (all 365 so far), drops' noncurrent versions 365 days,
	// plans (1% changed) and snapshots never expired.
	daily := 10*1000.0 + 100_000*0.5*20 + 100_000*0.01*40 + 100_000*10
	near(t, "S3 GB after a year", r.S3GBYear, daily*365/1e9)
	near(t, "S3 GB-months on average", r.S3GBMonthAvg, daily*365/2/1e9)
	near(t, "S3 GB after a year, plans and snapshots kept 30 days", r.S3GBYear30,
		((10*1000.0+100_000*0.5*20)*365+(100_000*0.01*40+100_000*10)*30)/1e9)
	cost := r.NightDollars[0.1]
	near(t, "DynamoDB $ a night", cost.DynamoDB, r.WriteUnits[0.1]/1e6*1+100/1e6*0.5)
	near(t, "Lambda $ a night", cost.Lambda, r.GBSeconds[0.1]*0.00001)
	// One SIS secret a district: a month's price over 30 nights, and one read a sync.
	near(t, "Secrets Manager $ a night", cost.Secrets, 10*0.3/30+10/1e4*0.05)
	near(t, "partition seconds", r.PartitionSecs, 2500*10*0.5*1/1000.0)
}

func TestPlansAndSnapshotsExpireApart(t *testing.T) {
	in := known()
	in.PlanExpires, in.StateExpires = 90, 35
	r := Compute(in)
	rep, drop, plan, snap := 10*1000.0, 100_000*0.5*20, 100_000*0.01*40, 100_000*10.0
	near(t, "S3 GB after a year", r.S3GBYear, (rep*365+drop*365+plan*90+snap*35)/1e9)
	near(t, "S3 GB-months on average", r.S3GBMonthAvg,
		(rep*365/2+drop*365/2+plan*(90*90/2+90*(365-90))/365+snap*(35.0*35/2+35*(365-35))/365)/1e9)
}

func TestAnItemOverOneKilobyteCostsMoreWriteUnits(t *testing.T) {
	in := known()
	in.ItemBytes = 1500
	r := Compute(in)
	near(t, "write units at 10%", r.WriteUnits[0.1], 10*(7+10_000*0.1*2*1.5))
}

func TestTheTableIsPrinted(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--inputs", t.TempDir() + "/none.json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"13318 districts", "| DynamoDB write units |", "$ a year", "us-east-1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
	if got := num(1234567); got != "1,234,567" {
		t.Errorf("num = %q", got)
	}
}

func TestOnlyMeasuredFiguresComeFromTheBenchmarksFile(t *testing.T) {
	path := t.TempDir() + "/in.json"
	if err := os.WriteFile(path, []byte(`{"pipeline_cpu_us_per_record": 50, "students": 20000, "districts": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.PipelineCPUUsPerRecord != 50 || in.Students != 49_090_000 || in.Districts != 13_318 {
		t.Errorf("measured %v, students %v, districts %v", in.PipelineCPUUsPerRecord, in.Students, in.Districts)
	}
}

// TestTheDefaultPopulationAndPricesHaveSources: the defaults name where their population and
// prices come from (title, address, date), the size classes add up to the population, and
// every price is set.
func TestTheDefaultPopulationAndPricesHaveSources(t *testing.T) {
	in, _, err := load(t.TempDir() + "/none.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Sources) < 9 {
		t.Errorf("%d sources; want the NCES tables and one for each price", len(in.Sources))
	}
	for _, s := range in.Sources {
		if s.Figures == "" || s.Title == "" || !strings.HasPrefix(s.URL, "https://") || s.Date == "" {
			t.Errorf("source %+v: want figures, a title, an https address and a date", s)
		}
	}
	var districts, students float64
	for _, c := range in.Classes {
		districts += c.Districts
		students += c.Districts * c.Students
	}
	if districts != in.Districts || math.Abs(students-in.Students) > 0.001*in.Students {
		t.Errorf("size classes: %v districts, %v students; want %v and %v", districts, students, in.Districts, in.Students)
	}
	p := in.Prices
	for name, v := range map[string]float64{"write units": p.WriteUnitsM, "read units": p.ReadUnitsM, "DynamoDB storage": p.DynamoGBMo,
		"Lambda GB-s": p.LambdaGBs, "Lambda requests": p.LambdaReqM, "S3 storage": p.S3GBMo, "S3 PUT": p.S3PutK, "S3 GET": p.S3GetK,
		"SQS": p.SQSPerM, "Scheduler": p.SchedulerM, "secret": p.SecretMonth, "secret calls": p.SecretCallK} {
		if v <= 0 {
			t.Errorf("no price for %s", name)
		}
	}
}
