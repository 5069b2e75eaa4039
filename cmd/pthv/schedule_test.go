package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/schedules"
)

// TestSyncKeepsOneScheduleAConnection drives 'pthv sync add|show|remove' against the local
// stack and reads the schedules back from moto's EventBridge Scheduler API: one schedule a
// connection, with the connection's time, targeting the sync function through the sis
// module's role and dead-letter queue; a second add updates it; ids that would collide when
// joined get their own schedules; when Terraform has one, the CLI's goes and Terraform's is
// left alone (with a warning when its time differs); remove says Terraform's remains.
func TestSyncKeepsOneScheduleAConnection(t *testing.T) {
	withStack(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := scheduler.NewFromConfig(cfg)
	prefix := os.Getenv(deploy.EnvTable)
	names := deploy.NamesFor(prefix)
	// Every schedule of the deployment, by name.
	list := func() map[string]*schedules.Schedule {
		t.Helper()
		out, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{NamePrefix: aws.String(prefix + "-")})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*schedules.Schedule{}
		s := &schedules.Schedules{Client: sc}
		for _, it := range out.Schedules {
			if got[aws.ToString(it.Name)], err = s.Get(ctx, aws.ToString(it.Name)); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s3cret-Value-9\n"), 0o600)
	add := func(district, name string, extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"sync", "add", "--district", district, "--name", name, "--provider", "oneroster-1.2",
			"--base-url", "https://sis.example/ims/oneroster/rostering/v1p2", "--token-url", "https://sis.example/token",
			"--client-id", "cid", "--client-secret-file", secret}, extra...)
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("sync add %s/%s (exit %d): %s %s", district, name, code, out, errOut)
		}
		return out, errOut
	}
	for _, d := range []string{"demo-usd", "demo"} {
		if code, _, errOut := runCLI(t, "districts", "add", "--id", d, "--name", "Demo "+d, "--state", "CA"); code != 0 {
			t.Fatal(errOut)
		}
	}

	out, _ := add("demo-usd", "sis", "--schedule", "cron(15 3 * * ? *)", "--tz", "America/Chicago")
	mine := schedules.Name(prefix, "demo-usd", "sis")
	if !strings.Contains(out, "schedule "+mine+" created") || strings.Contains(out, "s3cret") {
		t.Fatalf("sync add: %s", out)
	}
	got := list()
	s := got[mine]
	if len(got) != 1 || s == nil {
		t.Fatalf("schedules after one add: %v", keys(got))
	}
	fn, _ := json.Marshal(s.Input)
	if s.Expression != "cron(15 3 * * ? *)" || s.TimeZone != "America/Chicago" || s.State != "ENABLED" ||
		s.Input != (schedules.Input{District: "demo-usd", Connection: "sis", ScheduledTime: "<aws.scheduler.scheduled-time>"}) ||
		!strings.HasSuffix(s.TargetARN, ":function:"+names.Function("sync")) || !strings.HasPrefix(s.TargetARN, "arn:aws:lambda:") ||
		!strings.HasSuffix(s.RoleARN, ":role/"+names.SyncSchedulerRole()) || !strings.HasSuffix(s.DLQARN, ":"+names.SyncSchedulerDLQ()) {
		t.Fatalf("the schedule as read back: %+v, input %s", s, fn)
	}
	raw, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(mine)})
	if err != nil || raw.FlexibleTimeWindow.Mode != types.FlexibleTimeWindowModeOff || aws.ToInt32(raw.Target.RetryPolicy.MaximumRetryAttempts) != 3 {
		t.Fatalf("window and retries: %+v %v", raw, err)
	}

	// Ids that join to the same string get schedules of their own.
	add("demo", "usd-sis")
	other := schedules.Name(prefix, "demo", "usd-sis")
	if got := list(); len(got) != 2 || got[other] == nil || got[other].Input.District != "demo" || got[other].Input.Connection != "usd-sis" {
		t.Fatalf("demo/usd-sis: %v", keys(got))
	}

	// Adding again updates the connection and its one schedule.
	out, _ = add("demo-usd", "sis", "--schedule", "cron(45 1 * * ? *)", "--tz", "America/New_York")
	if got := list(); len(got) != 2 || got[mine].Expression != "cron(45 1 * * ? *)" || got[mine].TimeZone != "America/New_York" || !strings.Contains(out, mine+" updated") {
		t.Fatalf("second add: %s %v", out, keys(got))
	}
	if code, out, errOut := runCLI(t, "sync", "show", "--district", "demo-usd"); code != 0 || !strings.Contains(out, mine+": cron(45 1 * * ? *) in America/New_York") || strings.Contains(errOut, "warning") {
		t.Fatalf("sync show (exit %d): %s %s", code, out, errOut)
	}

	// Terraform's sis_connections schedules the connection at another time: the CLI deletes
	// its own, leaves Terraform's as it is and warns.
	tf := schedules.TerraformName(prefix, "demo-usd", "sis")
	in, _ := json.Marshal(schedules.Input{District: "demo-usd", Connection: "sis", ScheduledTime: schedules.ScheduledTime})
	if _, err := sc.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(tf), ScheduleExpression: aws.String("cron(0 4 * * ? *)"),
		ScheduleExpressionTimezone: aws.String("America/Los_Angeles"), FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target: &types.Target{Arn: aws.String(s.TargetARN), RoleArn: aws.String(s.RoleARN), Input: aws.String(string(in))}}); err != nil {
		t.Fatal(err)
	}
	// Both at once (as Terraform's apply leaves it): show warns.
	if _, _, errOut := runCLI(t, "sync", "show", "--district", "demo-usd"); !strings.Contains(errOut, "two schedules run demo-usd/sis") {
		t.Fatalf("show with two schedules: %s", errOut)
	}
	out, errOut := add("demo-usd", "sis", "--schedule", "cron(45 1 * * ? *)", "--tz", "America/New_York")
	got = list()
	if got[mine] != nil || got[tf] == nil || got[tf].Expression != "cron(0 4 * * ? *)" || len(got) != 2 {
		t.Fatalf("with Terraform's schedule: %v", keys(got))
	}
	if !strings.Contains(out, mine+" deleted") || !strings.Contains(out, "Terraform's "+tf) ||
		!strings.Contains(errOut, "warning: schedule "+tf+" runs cron(0 4 * * ? *) in America/Los_Angeles; the connection says cron(45 1 * * ? *) in America/New_York") {
		t.Fatalf("sync add beside Terraform's schedule: %s %s", out, errOut)
	}
	if _, out, errOut := runCLI(t, "sync", "show", "--district", "demo-usd"); !strings.Contains(out, "schedule (Terraform)") || !strings.Contains(errOut, "runs cron(0 4 * * ? *)") {
		t.Fatalf("show beside Terraform's schedule: %s %s", out, errOut)
	}
	// Adding again never brings the CLI's back while Terraform's is there.
	add("demo-usd", "sis")
	if got := list(); got[mine] != nil {
		t.Fatal("the CLI made a second schedule beside Terraform's")
	}

	// remove: the CLI's goes; Terraform's remains, and it says so.
	if code, out, _ := runCLI(t, "sync", "remove", "--district", "demo", "--name", "usd-sis"); code != 0 || !strings.Contains(out, other+" deleted") {
		t.Fatalf("remove demo/usd-sis: %s", out)
	}
	if code, out, _ := runCLI(t, "sync", "remove", "--district", "demo-usd"); code != 0 || !strings.Contains(out, "Terraform's schedule "+tf+" remains") {
		t.Fatalf("remove demo-usd/sis: %s", out)
	}
	if got := list(); len(got) != 1 || got[tf] == nil {
		t.Fatalf("after remove: %v", keys(got))
	}

	// --no-schedule creates none, and takes back one an earlier add made.
	add("demo", "nightly")
	if got := list(); got[schedules.Name(prefix, "demo", "nightly")] == nil {
		t.Fatal("no schedule for demo/nightly")
	}
	out, _ = add("demo", "nightly", "--no-schedule")
	if got := list(); got[schedules.Name(prefix, "demo", "nightly")] != nil || !strings.Contains(out, "--no-schedule") {
		t.Fatalf("--no-schedule: %s %v", out, keys(got))
	}
	if _, _, errOut := runCLI(t, "sync", "show", "--district", "demo", "--name", "nightly"); !strings.Contains(errOut, "no schedule runs demo/nightly") {
		t.Fatalf("show without a schedule: %s", errOut)
	}
}

func keys(m map[string]*schedules.Schedule) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
