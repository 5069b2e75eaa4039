package main

import (
	"math"
)

// Inputs are the model's figures: measured per-record costs (written by the benchmarks into
// bench-inputs.json), the population, the limits and the list prices. Defaults are in
// inputs.json beside this file.
type Inputs struct {
	// Measured here (make bench writes them).
	ValidationCPUNsPerRow  float64 `json:"validation_cpu_ns_per_row"`  // BenchmarkValidateVsEncodingCSV: CPU of validation per CSV row
	PipelineCPUUsPerRecord float64 `json:"pipeline_cpu_us_per_record"` // BenchmarkImport: process CPU of a first import per record (read, validate, plan, apply)
	RecordsPerStudent      float64 `json:"records_per_student"`        // roster records per student (users, roles, enrollments, classes … of a generated district)
	ItemBytes              float64 `json:"item_bytes"`                 // average roster item size as DynamoDB counts it
	SchoolIndexedShare     float64 `json:"school_indexed_share"`       // share of roster items that carry the school index key (one more write each)
	PlanBytesPerOp         float64 `json:"plan_bytes_per_op"`          // gzipped plan in S3 per write
	SnapshotBytesPerRecord float64 `json:"snapshot_bytes_per_record"`  // gzipped roster snapshot per record
	ReportBytes            float64 `json:"report_bytes"`               // import report (JSON) per import
	DropBytesPerRecord     float64 `json:"drop_bytes_per_record"`      // zipped OneRoster export per record
	FixedWrites            float64 `json:"unchanged_import_writes"`    // DynamoDB write requests of an import that changes nothing
	FixedReads             float64 `json:"unchanged_import_reads"`     // DynamoDB read requests of an import read from its snapshot

	// Population (NCES) and its spread over district sizes.
	Districts float64     `json:"districts"`
	Students  float64     `json:"students"`
	Classes   []SizeClass `json:"size_classes"`
	Largest   float64     `json:"largest_district_students"`

	// How a sync runs.
	WindowHours     float64   `json:"window_hours"`
	LambdaMemoryMB  float64   `json:"lambda_memory_mb"`
	Workers         float64   `json:"write_workers"`
	BatchLatencyMS  float64   `json:"batch_write_latency_ms"` // assumed BatchWriteItem latency on AWS (not measurable here)
	SISLatencyMS    float64   `json:"sis_page_latency_ms"`    // assumed latency of one SIS page
	Collections     float64   `json:"sis_collections"`        // collections read per sync (orgs, sessions, courses, classes, users, enrollments…)
	OneRosterPage   float64   `json:"oneroster_page_limit"`
	OneRosterPerMin float64   `json:"oneroster_requests_per_minute"`
	CleverPage      float64   `json:"clever_page_limit"`
	CleverPerMin    float64   `json:"clever_requests_per_minute"`
	CSVDropShare    float64   `json:"csv_drop_share"`       // share of districts that send a nightly CSV drop instead of an SIS sync
	NoncurrentDays  float64   `json:"noncurrent_drop_days"` // infra: drops' noncurrent versions expire after
	ReportDays      float64   `json:"report_days"`          // infra: reports/ expire after
	PlanExpires     float64   `json:"plan_days"`            // infra: plans/ expire after (0: never)
	StateExpires    float64   `json:"state_days"`           // infra: state/ (snapshots) expire after (0: never)
	AccountLambda   float64   `json:"account_lambda_concurrency"`
	PartitionWCU    float64   `json:"partition_wcu_per_second"`
	ChangedShares   []float64 `json:"changed_shares"`

	// List prices (us-east-1), with the date they were taken.
	Prices Prices `json:"prices"`
	// Sources say where the population and the prices come from.
	Sources []Source `json:"sources"`
}

// Source is where an input comes from: the figures it gives, the page's title and
// address, and its date (of the figures or of the stored copy read).
type Source struct {
	Figures string `json:"figures"`
	Title   string `json:"title"`
	URL     string `json:"url"`
	Date    string `json:"date"`
}

// SizeClass is a group of districts of about the same size.
type SizeClass struct {
	Name      string  `json:"name"`
	Districts float64 `json:"districts"`
	Students  float64 `json:"avg_students"`
}

// Prices are list prices in US dollars.
type Prices struct {
	Region      string  `json:"region"`
	AsOf        string  `json:"as_of"`
	WriteUnitsM float64 `json:"dynamodb_on_demand_per_million_write_units"`
	ReadUnitsM  float64 `json:"dynamodb_on_demand_per_million_read_units"`
	DynamoGBMo  float64 `json:"dynamodb_storage_per_gb_month"`
	LambdaGBs   float64 `json:"lambda_arm64_per_gb_second"`
	LambdaReqM  float64 `json:"lambda_per_million_requests"`
	S3GBMo      float64 `json:"s3_standard_per_gb_month"`
	S3PutK      float64 `json:"s3_put_per_thousand"`
	S3GetK      float64 `json:"s3_get_per_thousand"`
	SQSPerM     float64 `json:"sqs_per_million_requests"`
	SchedulerM  float64 `json:"scheduler_per_million_invocations"`
	SecretMonth float64 `json:"secrets_manager_per_secret_month"`
	SecretCallK float64 `json:"secrets_manager_per_10k_calls"`
}

// ClassResult is one size class's nightly figures.
type ClassResult struct {
	Class         SizeClass
	Records       float64 // per district
	OneRosterReqs float64 // per district
	CleverReqs    float64
	OneRosterMin  float64 // minutes of a full read at the rate limit
	CleverMin     float64
	Seconds       map[float64]float64 // invocation seconds per district, by changed share
	GBSeconds     map[float64]float64
}

// Result is the whole model.
type Result struct {
	In            Inputs
	Records       float64 // all districts
	Classes       []ClassResult
	WriteUnits    map[float64]float64 // nightly, by changed share
	ReadUnits     float64
	GBSeconds     map[float64]float64
	Concurrency   map[float64]float64 // average concurrent executions to finish in the window
	LargestHours  map[string]float64  // the largest district's full read at each provider's limit
	S3GBYear      float64             // stored after one year
	S3GBMonthAvg  float64             // average over the first year
	S3GBYear30    float64             // stored after one year if plans/ and state/ expired after 30 days
	NightDollars  map[float64]Cost
	PartitionSecs float64 // seconds a full load of the largest school index partition needs at the partition limit
	// SIS requests a night over all districts: full reads, and delta reads (only records
	// modified since the last sync) at 1% changed; and the hours they take if one rate
	// limit were shared by every district of a provider.
	SISFull, SISDelta             map[string]float64
	SISSharedHours                map[string]float64
	PeakConcurrencyIfSimultaneous float64
}

// Cost is a night's bill by service.
type Cost struct {
	DynamoDB, Lambda, S3, Secrets, Other, Total float64
}

// wcuPerItem is the write units of one item write: 1 per KB, rounded up.
func wcuPerItem(itemBytes float64) float64 { return math.Max(1, math.Ceil(itemBytes/1024)) }

// requests is the pages a full read of records takes at a page limit, one partial page per collection.
func requests(records, page, collections float64) float64 {
	return math.Ceil(records/page) + collections
}

// Compute runs the model.
func Compute(in Inputs) Result {
	r := Result{In: in, WriteUnits: map[float64]float64{}, GBSeconds: map[float64]float64{}, Concurrency: map[float64]float64{},
		NightDollars: map[float64]Cost{}, LargestHours: map[string]float64{},
		SISFull: map[string]float64{}, SISDelta: map[string]float64{}, SISSharedHours: map[string]float64{}}
	memGB := in.LambdaMemoryMB / 1024
	vcpu := math.Min(6, in.LambdaMemoryMB/1769) // Lambda gives one vCPU per 1,769 MB
	itemsPerSec := in.Workers * 25 / (in.BatchLatencyMS / 1000)
	wcu := wcuPerItem(in.ItemBytes) * (1 + in.SchoolIndexedShare)
	imports := 0.0
	for _, c := range in.Classes {
		cr := ClassResult{Class: c, Records: c.Students * in.RecordsPerStudent, Seconds: map[float64]float64{}, GBSeconds: map[float64]float64{}}
		cr.OneRosterReqs = requests(cr.Records, in.OneRosterPage, in.Collections)
		cr.CleverReqs = requests(cr.Records, in.CleverPage, in.Collections)
		cr.OneRosterMin = math.Max(cr.OneRosterReqs/in.OneRosterPerMin, cr.OneRosterReqs*in.SISLatencyMS/60000)
		cr.CleverMin = math.Max(cr.CleverReqs/in.CleverPerMin, cr.CleverReqs*in.SISLatencyMS/60000)
		r.Records += cr.Records * c.Districts
		imports += c.Districts
		r.SISFull["oneroster"] += cr.OneRosterReqs * c.Districts
		r.SISFull["clever"] += cr.CleverReqs * c.Districts
		r.SISDelta["oneroster"] += requests(cr.Records*0.01, in.OneRosterPage, in.Collections) * c.Districts
		r.SISDelta["clever"] += requests(cr.Records*0.01, in.CleverPage, in.Collections) * c.Districts
		for _, share := range in.ChangedShares {
			// A sync reads every page (the slower provider, OneRoster, at its rate limit),
			// then runs the pipeline on every record and writes the changed ones.
			fetch := cr.OneRosterMin * 60
			cpu := cr.Records * in.PipelineCPUUsPerRecord / 1e6 / vcpu
			write := cr.Records * share / itemsPerSec
			sec := fetch + cpu + write
			cr.Seconds[share], cr.GBSeconds[share] = sec, sec*memGB
			r.GBSeconds[share] += sec * memGB * c.Districts
			r.WriteUnits[share] += c.Districts * (in.FixedWrites + cr.Records*share*wcu)
		}
		r.Classes = append(r.Classes, cr)
	}
	r.ReadUnits = imports * in.FixedReads
	r.SISSharedHours["oneroster"] = r.SISFull["oneroster"] / in.OneRosterPerMin / 60
	r.SISSharedHours["clever"] = r.SISFull["clever"] / in.CleverPerMin / 60
	r.PeakConcurrencyIfSimultaneous = imports
	for _, share := range in.ChangedShares {
		r.Concurrency[share] = r.GBSeconds[share] / memGB / (in.WindowHours * 3600)
	}
	lr := in.Largest * in.RecordsPerStudent
	r.LargestHours["oneroster"] = requests(lr, in.OneRosterPage, in.Collections) / in.OneRosterPerMin / 60
	r.LargestHours["clever"] = requests(lr, in.CleverPage, in.Collections) / in.CleverPerMin / 60

	// S3: per night, every import that changes something writes its plan and a new
	// snapshot; every import writes a report; CSV districts leave one noncurrent drop version.
	keepDays := func(days float64) float64 {
		if days <= 0 || days > 365 {
			return 365
		}
		return days
	}
	dailyRep := imports * in.ReportBytes
	dailyDrop := r.Records * in.CSVDropShare * in.DropBytesPerRecord
	mid := 0.01 // the year's storage is modelled at 1% changed a night
	dailyPlan := r.Records * mid * in.PlanBytesPerOp
	dailySnap := r.Records * in.SnapshotBytesPerRecord
	r.S3GBYear = (dailyRep*keepDays(in.ReportDays) + dailyDrop*keepDays(in.NoncurrentDays) + dailyPlan*keepDays(in.PlanExpires) + dailySnap*keepDays(in.StateExpires)) / 1e9
	// Average over the year: linear growth until each prefix's expiry, flat after it.
	avg := func(daily, days float64) float64 {
		d := keepDays(days)
		return daily * (d*d/2 + d*(365-d)) / 365
	}
	r.S3GBYear30 = (dailyRep*keepDays(in.ReportDays) + dailyDrop*keepDays(in.NoncurrentDays) + (dailyPlan+dailySnap)*30) / 1e9
	r.S3GBMonthAvg = (avg(dailyRep, in.ReportDays) + avg(dailyDrop, in.NoncurrentDays) + avg(dailyPlan, in.PlanExpires) + avg(dailySnap, in.StateExpires)) / 1e9

	p := in.Prices
	for _, share := range in.ChangedShares {
		var c Cost
		c.DynamoDB = r.WriteUnits[share]/1e6*p.WriteUnitsM + r.ReadUnits/1e6*p.ReadUnitsM + r.Records*in.ItemBytes*(1+in.SchoolIndexedShare)/1e9*p.DynamoGBMo/30
		c.Lambda = r.GBSeconds[share]*p.LambdaGBs + imports/1e6*p.LambdaReqM
		puts := imports * 3 // report, plan, snapshot
		c.S3 = puts/1000*p.S3PutK + imports*2/1000*p.S3GetK + r.S3GBMonthAvg*p.S3GBMo/30
		// SQS: a notification's send, receive and delete, and a continuation; the schedule's
		// invocation. Secrets Manager: one SIS secret a district (a month's price over 30
		// nights), read once a sync.
		c.Other = imports*4/1e6*p.SQSPerM + imports/1e6*p.SchedulerM
		c.Secrets = in.Districts*p.SecretMonth/30 + imports/1e4*p.SecretCallK
		c.Total = c.DynamoDB + c.Lambda + c.S3 + c.Secrets + c.Other
		r.NightDollars[share] = c
	}
	// The school index: one partition per school; a full load of a large school (2,500
	// students) writes its roles, classes and enrollments there.
	r.PartitionSecs = 2500 * in.RecordsPerStudent * in.SchoolIndexedShare * wcuPerItem(in.ItemBytes) / in.PartitionWCU
	return r
}
