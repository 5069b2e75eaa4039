// Package schedules keeps one EventBridge Scheduler schedule per SIS connection: the one
// `pthv sync add` creates, or the one Terraform's `sis_connections` creates, never both. A
// schedule invokes the sync function with the connection and the scheduled time (which names
// the run, so a second delivery finds it), through the sis module's scheduler role, with its
// dead-letter queue.
//
// Names: the CLI's schedule is {prefix}-sis-{district}-{connection}-{hash8} (hash8 of
// "district/connection", so "demo-usd/sis" and "demo/usd-sis" never share one); Terraform's
// is {prefix}-sync-{district}-{connection} (infra/modules/sis). The two never coincide, so
// the CLI never writes under Terraform's name.
package schedules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/sis"
)

// MaxName is the longest schedule name EventBridge Scheduler accepts.
const MaxName = 64

// Name is the CLI's schedule name of a connection.
func Name(prefix, district, connection string) string {
	sum := sha256.Sum256([]byte(district + "/" + connection))
	h := hex.EncodeToString(sum[:4])
	base := prefix + "-sis-" + district + "-" + connection
	if n := MaxName - len(h) - 1; len(base) > n {
		base = base[:n]
	}
	return base + "-" + h
}

// TerraformName is the name infra/modules/sis gives the connection's schedule:
// substr("{prefix}-sync-{district}-{connection}", 0, 64).
func TerraformName(prefix, district, connection string) string {
	n := prefix + "-sync-" + district + "-" + connection
	if len(n) > MaxName {
		n = n[:MaxName]
	}
	return n
}

// Input is what a schedule sends the sync function.
type Input struct {
	District      string `json:"districtId"`
	Connection    string `json:"connectionId"`
	ScheduledTime string `json:"scheduledTime"`
}

// ScheduledTime is the placeholder EventBridge Scheduler fills with the scheduled time.
const ScheduledTime = "<aws.scheduler.scheduled-time>"

// Schedule is one schedule as read back.
type Schedule struct {
	Name       string
	Expression string
	TimeZone   string
	State      string
	TargetARN  string
	RoleARN    string
	DLQARN     string
	Input      Input
}

// Target is where a schedule sends the run and how.
type Target struct {
	FunctionARN string
	RoleARN     string
	DLQARN      string
}

// Client is the part of the EventBridge Scheduler API the package calls.
type Client interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// Schedules manages the deployment's connection schedules.
type Schedules struct {
	Client Client
	Prefix string
	// SyncFunction is the sync function's name (deploy.Names.Function("sync") unless set).
	SyncFunction string
	// Target is filled by TargetFor on first use when empty.
	Target Target
	// Account returns the account id and partition the deployment runs in (STS by default).
	Account func(ctx context.Context) (account, partition string, err error)
	Region  string
}

// New returns the schedules of the deployment with the given prefix, in cfg's account and region.
func New(cfg aws.Config, prefix, syncFunction string) *Schedules {
	stsc := sts.NewFromConfig(cfg)
	return &Schedules{Client: scheduler.NewFromConfig(cfg), Prefix: prefix, SyncFunction: syncFunction, Region: cfg.Region,
		Account: func(ctx context.Context) (string, string, error) {
			out, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return "", "", fmt.Errorf("the account of the deployment: %w", err)
			}
			partition := "aws"
			if p := strings.Split(aws.ToString(out.Arn), ":"); len(p) > 1 && p[1] != "" {
				partition = p[1]
			}
			return aws.ToString(out.Account), partition, nil
		}}
}

// target returns where schedules send runs: the sync function, through the sis module's
// scheduler role, with its dead-letter queue.
func (s *Schedules) target(ctx context.Context) (Target, error) {
	if s.Target.FunctionARN != "" {
		return s.Target, nil
	}
	account, partition, err := s.Account(ctx)
	if err != nil {
		return Target{}, err
	}
	n := deploy.NamesFor(s.Prefix)
	fn := s.SyncFunction
	if fn == "" {
		fn = n.Function("sync")
	}
	s.Target = Target{
		FunctionARN: fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", partition, s.Region, account, fn),
		RoleARN:     fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, n.SyncSchedulerRole()),
		DLQARN:      fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, s.Region, account, n.SyncSchedulerDLQ()),
	}
	return s.Target, nil
}

// Get reads a schedule; nil when there is none.
func (s *Schedules) Get(ctx context.Context, name string) (*Schedule, error) {
	out, err := s.Client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule %s: %w", name, err)
	}
	sc := &Schedule{Name: name, Expression: aws.ToString(out.ScheduleExpression), TimeZone: aws.ToString(out.ScheduleExpressionTimezone), State: string(out.State)}
	if t := out.Target; t != nil {
		sc.TargetARN, sc.RoleARN = aws.ToString(t.Arn), aws.ToString(t.RoleArn)
		if t.DeadLetterConfig != nil {
			sc.DLQARN = aws.ToString(t.DeadLetterConfig.Arn)
		}
		_ = json.Unmarshal([]byte(aws.ToString(t.Input)), &sc.Input)
	}
	return sc, nil
}

// Pair is a connection's schedules: the CLI's and Terraform's (nil when absent).
type Pair struct {
	CLIName, TerraformName string
	CLI, Terraform         *Schedule
}

// Of reads both of a connection's schedules.
func (s *Schedules) Of(ctx context.Context, district, connection string) (Pair, error) {
	p := Pair{CLIName: Name(s.Prefix, district, connection), TerraformName: TerraformName(s.Prefix, district, connection)}
	if p.CLIName == p.TerraformName {
		return p, fmt.Errorf("schedule name %s is Terraform's: the CLI does not write it", p.CLIName)
	}
	var err error
	if p.CLI, err = s.Get(ctx, p.CLIName); err != nil {
		return p, err
	}
	p.Terraform, err = s.Get(ctx, p.TerraformName)
	return p, err
}

// Put creates the CLI's schedule of the connection, or updates it to the connection's
// expression, time zone and target.
func (s *Schedules) Put(ctx context.Context, c *sis.Connection, exists bool) error {
	t, err := s.target(ctx)
	if err != nil {
		return err
	}
	name := Name(s.Prefix, c.District, c.ID)
	if name == TerraformName(s.Prefix, c.District, c.ID) {
		return fmt.Errorf("schedule name %s is Terraform's: the CLI does not write it", name)
	}
	in, _ := json.Marshal(Input{District: c.District, Connection: c.ID, ScheduledTime: ScheduledTime})
	target := &types.Target{Arn: aws.String(t.FunctionARN), RoleArn: aws.String(t.RoleARN), Input: aws.String(string(in)),
		RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)},
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(t.DLQARN)}}
	desc := aws.String("PTHV Reach: nightly SIS sync of " + c.District + "/" + c.ID + " (pthv sync add)")
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	if exists {
		_, err = s.Client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String(name), Description: desc,
			ScheduleExpression: aws.String(c.Schedule), ScheduleExpressionTimezone: aws.String(c.TimeZone),
			FlexibleTimeWindow: window, Target: target, State: types.ScheduleStateEnabled})
	} else {
		_, err = s.Client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), Description: desc,
			ScheduleExpression: aws.String(c.Schedule), ScheduleExpressionTimezone: aws.String(c.TimeZone),
			FlexibleTimeWindow: window, Target: target, State: types.ScheduleStateEnabled})
		var conflict *types.ConflictException
		if errors.As(err, &conflict) {
			// The SDK retries a create whose answer was lost; the retry meets the schedule the
			// create made. A schedule on file as asked is that, not a conflict.
			if sc, gerr := s.Get(ctx, name); gerr == nil && sc != nil && len(Disagreements(sc, c, t)) == 0 && sc.RoleARN == t.RoleARN && sc.DLQARN == t.DLQARN {
				return nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("write schedule %s: %w", name, err)
	}
	return nil
}

// Delete deletes the CLI's schedule of the connection (nothing when there is none).
func (s *Schedules) Delete(ctx context.Context, district, connection string) error {
	name := Name(s.Prefix, district, connection)
	_, err := s.Client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

// Disagreements says where a schedule does not run the connection as it says: its
// expression, time zone, the connection it names, its target (want: "" to skip the target).
func Disagreements(sc *Schedule, c *sis.Connection, want Target) []string {
	var out []string
	if sc.Expression != c.Schedule || sc.TimeZone != c.TimeZone {
		out = append(out, fmt.Sprintf("schedule %s runs %s in %s; the connection says %s in %s", sc.Name, sc.Expression, sc.TimeZone, c.Schedule, c.TimeZone))
	}
	if sc.Input.District != c.District || sc.Input.Connection != c.ID {
		out = append(out, fmt.Sprintf("schedule %s starts connection %s/%s, not %s/%s", sc.Name, sc.Input.District, sc.Input.Connection, c.District, c.ID))
	}
	if sc.State != "" && sc.State != string(types.ScheduleStateEnabled) {
		out = append(out, fmt.Sprintf("schedule %s is %s", sc.Name, strings.ToLower(sc.State)))
	}
	if want.FunctionARN != "" && sc.TargetARN != want.FunctionARN {
		out = append(out, fmt.Sprintf("schedule %s invokes %s, not the sync function %s", sc.Name, sc.TargetARN, want.FunctionARN))
	}
	return out
}

// TargetFor returns where the deployment's schedules send runs (for Disagreements).
func (s *Schedules) TargetFor(ctx context.Context) (Target, error) { return s.target(ctx) }
