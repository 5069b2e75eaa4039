package schedules

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/sis"
)

func TestSyncScheduleNames(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	a, b := Name("pthv-reach", "demo-usd", "sis"), Name("pthv-reach", "demo", "usd-sis")
	if a == b {
		t.Fatalf("demo-usd/sis and demo/usd-sis share the schedule %s", a)
	}
	if !strings.HasPrefix(a, "pthv-reach-sis-demo-usd-sis-") || len(a) != len("pthv-reach-sis-demo-usd-sis-")+8 {
		t.Errorf("name %s is not {prefix}-sis-{district}-{connection}-{hash8}", a)
	}
	if Name("pthv-reach", "demo-usd", "sis") != a {
		t.Error("the name is not stable")
	}
	long := strings.Repeat("d", 64)
	cases := [][3]string{{"pthv-reach", "demo-usd", "sis"}, {"pthv-reach", "demo", "usd-sis"},
		{strings.Repeat("p", 40), long, strings.Repeat("c", 64)}, {strings.Repeat("p", 40), long, strings.Repeat("c", 63)},
		{"p-1", "A.b_c", "x"}}
	seen := map[string]bool{}
	for _, c := range cases {
		n, tf := Name(c[0], c[1], c[2]), TerraformName(c[0], c[1], c[2])
		if !valid.MatchString(n) || !valid.MatchString(tf) {
			t.Errorf("%v: names %q, %q are not valid schedule names", c, n, tf)
		}
		if n == tf {
			t.Errorf("%v: the CLI's name is Terraform's (%s)", c, n)
		}
		if seen[n] {
			t.Errorf("%v: %s named twice", c, n)
		}
		seen[n] = true
	}
	// Long ids are cut, and the hash still tells them apart.
	if x, y := Name(strings.Repeat("p", 40), long, strings.Repeat("c", 64)), Name(strings.Repeat("p", 40), long, strings.Repeat("c", 63)); x == y || len(x) != 64 {
		t.Errorf("long ids: %s and %s", x, y)
	}
	if got := TerraformName("pthv-reach", "demo-usd", "sis"); got != "pthv-reach-sync-demo-usd-sis" {
		t.Errorf("Terraform's name %s", got)
	}
}

// The names the package assumes are the ones infra/modules/sis gives.
func TestTheNamesAreTerraforms(t *testing.T) {
	b, err := os.ReadFile("../../infra/modules/sis/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	tf := string(b)
	n := deploy.NamesFor("${var.name_prefix}")
	for _, want := range []string{
		`schedule_name = substr("${var.name_prefix}-sync-${replace(k, "/", "-")}", 0, 64)`, // TerraformName
		`name               = "` + n.SyncSchedulerRole() + `"`,
		`name                      = "` + n.SyncSchedulerDLQ() + `"`,
		`scheduledTime = "` + ScheduledTime + `"`,
		`districtId    = each.value.district`, `connectionId  = each.value.connection`,
	} {
		if !strings.Contains(tf, want) {
			t.Errorf("infra/modules/sis/main.tf has no %s", want)
		}
	}
}

// lostAnswer is a Client whose CreateSchedule creates the schedule and then answers as the
// SDK's retry of it would: ConflictException (the first answer was lost).
type lostAnswer struct {
	made map[string]*scheduler.CreateScheduleInput
}

func (l *lostAnswer) CreateSchedule(_ context.Context, in *scheduler.CreateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	if _, ok := l.made[*in.Name]; !ok {
		l.made[*in.Name] = in
	}
	return nil, &types.ConflictException{Message: aws.String("schedule " + *in.Name + " already exists")}
}

func (l *lostAnswer) UpdateSchedule(context.Context, *scheduler.UpdateScheduleInput, ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	return &scheduler.UpdateScheduleOutput{}, nil
}

func (l *lostAnswer) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	m, ok := l.made[*in.Name]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no schedule")}
	}
	return &scheduler.GetScheduleOutput{Name: m.Name, ScheduleExpression: m.ScheduleExpression, ScheduleExpressionTimezone: m.ScheduleExpressionTimezone,
		State: m.State, Target: m.Target}, nil
}

func (l *lostAnswer) DeleteSchedule(context.Context, *scheduler.DeleteScheduleInput, ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	return &scheduler.DeleteScheduleOutput{}, nil
}

// TestACreateWhoseAnswerWasLostIsNoConflict: sync add's schedule create that succeeded, but
// whose answer the SDK retried into a ConflictException, is success when the schedule on
// file is the one asked; a schedule of other settings under the name is still a conflict.
func TestACreateWhoseAnswerWasLostIsNoConflict(t *testing.T) {
	client := &lostAnswer{made: map[string]*scheduler.CreateScheduleInput{}}
	s := &Schedules{Client: client, Prefix: "pthv-reach", Target: Target{FunctionARN: "arn:aws:lambda:us-west-2:1:function:f", RoleARN: "arn:aws:iam::1:role/r", DLQARN: "arn:aws:sqs:us-west-2:1:q"}}
	c := &sis.Connection{District: "demo-usd", ID: "sis", Schedule: "cron(30 2 * * ? *)", TimeZone: "America/Los_Angeles"}
	if err := s.Put(context.Background(), c, false); err != nil {
		t.Fatalf("a create whose answer was lost: %v", err)
	}
	other := *c
	other.Schedule = "cron(0 4 * * ? *)"
	if err := s.Put(context.Background(), &other, false); err == nil {
		t.Error("a create over a schedule of other settings succeeded")
	}
}
