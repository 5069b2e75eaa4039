// Package deploy describes the AWS resources the code expects: table, buckets, queues and the
// S3→SQS notification, with their names and the environment variables that carry them. It is
// the one source of truth for the local stack (internal/devstack provisions it on moto) and for
// the contract tests that compare it with the Terraform in infra/.
package deploy

import "fmt"

// Environment variables the functions and the CLI read. Terraform sets the same ones.
const (
	EnvTable          = "TABLE_NAME"
	EnvDropsBucket    = "DROPS_BUCKET"
	EnvReportsBucket  = "REPORTS_BUCKET"
	EnvIngestQueueURL = "INGEST_QUEUE_URL"
	EnvLogLevel       = "LOG_LEVEL"
	// EnvCohortFunction names the cohort function for the CLI (pthv cohort …).
	EnvCohortFunction = "COHORT_FUNCTION"
	// EnvReachFunction names the reach function the ingest function asks to recompute the
	// district-years an import changed.
	EnvReachFunction = "REACH_FUNCTION"
	// EnvRolePrefix is the prefix of the callers' IAM roles the API recognises:
	// {prefix}-national and {prefix}-district-{districtId}.
	EnvRolePrefix = "ROLE_PREFIX"
	// EnvReachAPIURL is where the CLI finds the reach API (pthv reach).
	EnvReachAPIURL = "REACH_API_URL"
	// EnvSyncFunction names the sync function: the CLI invokes it (pthv sync run) and it
	// invokes itself to continue a run that outlasts one invocation.
	EnvSyncFunction = "SYNC_FUNCTION"
)

// The table's global secondary index of roster records by school: roles (by org), classes
// and enrollments (by school) carry SchoolIndexKey = "{districtId}#{schoolId}".
const (
	SchoolIndex    = "school"
	SchoolIndexKey = "sch"
)

// Names are the physical names of one deployment's resources.
type Names struct {
	Prefix        string
	Table         string
	DropsBucket   string
	ReportsBucket string
	IngestQueue   string
	IngestDLQ     string
}

// DefaultPrefix names the resources of a deployment when no other prefix is given.
const DefaultPrefix = "pthv-reach"

// NamesFor derives every resource name from a prefix such as "pthv-reach" or "pthv-reach-test-3f2a".
// The prefix must be lower case letters, digits and hyphens (valid for S3, SQS and DynamoDB).
func NamesFor(prefix string) Names {
	return Names{
		Prefix:        prefix,
		Table:         prefix,
		DropsBucket:   prefix + "-drops",
		ReportsBucket: prefix + "-reports",
		IngestQueue:   prefix + "-ingest",
		IngestDLQ:     prefix + "-ingest-dlq",
	}
}

// Table is a DynamoDB table with string keys, billed on demand.
type Table struct {
	Name     string
	HashKey  string
	RangeKey string
	GSIs     []GSI
}

// GSI is a global secondary index with string keys projecting all attributes.
type GSI struct {
	Name     string
	HashKey  string
	RangeKey string
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name      string
	Versioned bool
}

// Queue is an SQS queue; DLQ names its dead-letter queue ("" for none).
type Queue struct {
	Name              string
	DLQ               string
	MaxReceiveCount   int
	VisibilityTimeout int // seconds
}

// Notification sends S3 object-created events under Prefix in Bucket to Queue.
type Notification struct {
	Bucket string
	Prefix string
	Queue  string
	Events []string
}

// Function is a Lambda function built from functions/{Base}.
type Function struct {
	Base string // the folder under functions/, e.g. "reach"
	// ReservedConcurrency caps concurrent executions (0 = no reservation). The reach
	// function runs one at a time, so that two recomputations of one district-year never
	// interleave (a slower, older one could otherwise overwrite a newer aggregate).
	ReservedConcurrency int
	TimeoutSeconds      int
	MemoryMB            int
}

// IngestMaxConcurrency is how many ingest invocations the SQS event source mapping runs at
// once by default: Terraform's ingest_max_concurrency (infra/variables.tf and the functions
// module; a test holds them together), which the local stack plays too.
const IngestMaxConcurrency = 2

// Functions are the deployment's functions, one per folder under functions/ (the local
// Lambda host runs them, so they are not part of Spec, which moto provisions).
var Functions = []Function{
	{Base: "api", TimeoutSeconds: 10, MemoryMB: 512},
	{Base: "cohort", TimeoutSeconds: 60, MemoryMB: 1024},
	{Base: "ingest", TimeoutSeconds: 900, MemoryMB: 3008},
	{Base: "reach", ReservedConcurrency: 1, TimeoutSeconds: 900, MemoryMB: 1024},
	{Base: "sync", TimeoutSeconds: 900, MemoryMB: 512},
}

// Spec is everything one deployment holds.
type Spec struct {
	Names         Names
	Tables        []Table
	Buckets       []Bucket
	Queues        []Queue
	Notifications []Notification
}

// IngestVisibilityTimeout is the ingest queue's visibility timeout: longer than the ingest
// function's 15-minute limit, as AWS requires for an event source mapping.
const IngestVisibilityTimeout = 960

// Resources returns the resources of a deployment with the given names.
func Resources(n Names) Spec {
	return Spec{
		Names: n,
		Tables: []Table{{
			Name: n.Table, HashKey: "pk", RangeKey: "sk",
			GSIs: []GSI{{Name: SchoolIndex, HashKey: SchoolIndexKey, RangeKey: "sk"}},
		}},
		Buckets: []Bucket{
			{Name: n.DropsBucket, Versioned: true},
			{Name: n.ReportsBucket},
		},
		Queues: []Queue{
			{Name: n.IngestDLQ, VisibilityTimeout: 30},
			{Name: n.IngestQueue, DLQ: n.IngestDLQ, MaxReceiveCount: 5, VisibilityTimeout: IngestVisibilityTimeout},
		},
		Notifications: []Notification{{
			Bucket: n.DropsBucket, Prefix: "drops/", Queue: n.IngestQueue, Events: []string{"s3:ObjectCreated:*"},
		}},
	}
}

// NationalRole is the IAM role of national staff; DistrictRole the role of one district's
// users. The API scopes callers by them.
func (n Names) NationalRole() string          { return n.Prefix + "-national" }
func (n Names) DistrictRole(id string) string { return n.Prefix + "-district-" + id }

// SyncSecret is the Secrets Manager name of a SIS connection's client secret; the sync
// function may read only names under {prefix}/sis/.
func (n Names) SyncSecret(district, connection string) string {
	return n.Prefix + "/sis/" + district + "/" + connection
}

// SyncSchedulerRole is the role EventBridge Scheduler assumes to invoke the sync function,
// and SyncSchedulerDLQ the queue a schedule's undeliverable runs go to (infra/modules/sis);
// the schedules 'pthv sync add' creates use both.
func (n Names) SyncSchedulerRole() string { return n.Prefix + "-sync-scheduler" }
func (n Names) SyncSchedulerDLQ() string  { return n.Prefix + "-sync-scheduler-dlq" }

// Function is the deployed name of the function built from functions/{base}.
func (n Names) Function(base string) string { return n.Prefix + "-" + base }

// Env returns the environment variables a function needs to find the resources.
func (n Names) Env(queueURL string) map[string]string {
	return map[string]string{
		EnvTable:          n.Table,
		EnvDropsBucket:    n.DropsBucket,
		EnvReportsBucket:  n.ReportsBucket,
		EnvIngestQueueURL: queueURL,
		EnvReachFunction:  n.Function("reach"),
		EnvSyncFunction:   n.Function("sync"),
		EnvRolePrefix:     n.Prefix,
	}
}

func (n Names) String() string {
	return fmt.Sprintf("table %s, buckets %s and %s, queue %s", n.Table, n.DropsBucket, n.ReportsBucket, n.IngestQueue)
}
