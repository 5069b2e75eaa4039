package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/schedules"
	"github.com/pthv/reach/internal/sis"
)

// One EventBridge Scheduler schedule a connection: 'pthv sync add' creates (or updates) the
// CLI's, unless Terraform's sis_connections has one for the connection, which the CLI leaves
// as it is (and then deletes its own). See internal/schedules.

func schedulesOf(env *app.Env) *schedules.Schedules {
	fn := os.Getenv(deploy.EnvSyncFunction)
	if fn == "" {
		fn = deploy.NamesFor(prefix(env)).Function("sync")
	}
	return schedules.New(env.AWS, prefix(env), fn)
}

// addSchedule gives the connection its one schedule after 'sync add' saved it.
func addSchedule(ctx context.Context, sch *schedules.Schedules, c *sis.Connection, none bool, stdout, stderr io.Writer) error {
	p, err := sch.Of(ctx, c.District, c.ID)
	if err != nil {
		return fmt.Errorf("%w (the connection is saved; run 'pthv sync add' again, or with --no-schedule)", err)
	}
	dropOwn := func(why string) error {
		if p.CLI == nil {
			return nil
		}
		if err := sch.Delete(ctx, c.District, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s deleted: %s\n", p.CLIName, why)
		return nil
	}
	switch {
	case p.Terraform != nil:
		if err := dropOwn("Terraform's " + p.TerraformName + " schedules this connection (one schedule a connection)"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule: Terraform's %s (%s in %s), left as it is\n", p.TerraformName, p.Terraform.Expression, p.Terraform.TimeZone)
		for _, w := range schedules.Disagreements(p.Terraform, c, schedules.Target{}) {
			fmt.Fprintf(stderr, "warning: %s; change the connection's entry in Terraform's sis_connections to match\n", w)
		}
	case none:
		if err := dropOwn("--no-schedule"); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "no schedule (--no-schedule): runs start with 'pthv sync run'")
	default:
		if err := sch.Put(ctx, c, p.CLI != nil); err != nil {
			return fmt.Errorf("%w (the connection is saved; run 'pthv sync add' again, or with --no-schedule)", err)
		}
		verb := "created"
		if p.CLI != nil {
			verb = "updated"
		}
		fmt.Fprintf(stdout, "schedule %s %s: %s in %s, invoking %s\n", p.CLIName, verb, c.Schedule, c.TimeZone, sch.Target.FunctionARN)
	}
	return nil
}

// showSchedules prints the connection's schedules and warns where they disagree with it.
func showSchedules(ctx context.Context, sch *schedules.Schedules, c *sis.Connection, stdout, stderr io.Writer) {
	p, err := sch.Of(ctx, c.District, c.ID)
	if err != nil {
		fmt.Fprintf(stderr, "warning: the connection's schedules cannot be read: %v\n", err)
		return
	}
	want, err := sch.TargetFor(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	var found []*schedules.Schedule
	for _, s := range []struct {
		sc    *schedules.Schedule
		owner string
	}{{p.CLI, "pthv sync add"}, {p.Terraform, "Terraform"}} {
		if s.sc == nil {
			continue
		}
		found = append(found, s.sc)
		fmt.Fprintf(stdout, "schedule (%s)\t%s: %s in %s, %s\n", s.owner, s.sc.Name, s.sc.Expression, s.sc.TimeZone, s.sc.State)
		for _, w := range schedules.Disagreements(s.sc, c, want) {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
	}
	switch len(found) {
	case 0:
		fmt.Fprintln(stdout, "schedule (EventBridge)\tnone")
		fmt.Fprintf(stderr, "warning: no schedule runs %s/%s: 'pthv sync add' again creates it (runs start only with 'pthv sync run' meanwhile)\n", c.District, c.ID)
	case 2:
		fmt.Fprintf(stderr, "warning: two schedules run %s/%s (%s and Terraform's %s): 'pthv sync add' again deletes its own\n", c.District, c.ID, p.CLIName, p.TerraformName)
	}
}

// removeSchedule deletes the CLI's schedule of a connection being removed, and says when
// Terraform's remains.
func removeSchedule(ctx context.Context, sch *schedules.Schedules, district, name string, stdout io.Writer) error {
	p, err := sch.Of(ctx, district, name)
	if err != nil {
		return fmt.Errorf("%w (nothing was removed)", err)
	}
	if p.CLI != nil {
		if err := sch.Delete(ctx, district, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s deleted\n", p.CLIName)
	}
	if p.Terraform != nil {
		fmt.Fprintf(stdout, "Terraform's schedule %s remains: remove \"%s/%s\" from sis_connections, or its nightly runs fail (no such connection)\n", p.TerraformName, district, name)
	}
	return nil
}
