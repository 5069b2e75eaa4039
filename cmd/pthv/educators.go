package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/pthv"
)

func init() {
	register("educators opt-in", "opt an educator in to home visits for a school year", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdOptIn(ctx, args, stdout, stderr, true)
	})
	register("educators opt-out", "opt an educator out of home visits for a school year", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdOptIn(ctx, args, stdout, stderr, false)
	})
	register("educators list", "list the educators who opted in or out for a school year", cmdEducatorsList)
}

// validYear checks a school year such as 2025-2026.
func validYear(y string) bool {
	_, err := pthv.ParseSchoolYear(y)
	return err == nil
}

func cmdOptIn(ctx context.Context, args []string, stdout, stderr io.Writer, in bool) error {
	name := "educators opt-out"
	if in {
		name = "educators opt-in"
	}
	fs := newFlags(name, stderr)
	district := districtFlag(fs, "")
	educator := fs.String("educator", "", "the educator's `SOURCEDID` (required)")
	year := yearFlag(fs, "")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case !pthv.ValidDistrictID(*district):
		return usageErr("--district is required")
	case *educator == "":
		return usageErr("--educator is required")
	case !validYear(*year):
		return usageErr("--year must be a school year such as 2025-2026")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	c, err := pipeline.Importer(env, nil).SetOptIn(ctx, *district, *educator, *year, in)
	if err != nil {
		return refusal(err)
	}
	verb := "out of"
	if in {
		verb = "in to"
	}
	if c.Unchanged > 0 {
		fmt.Fprintf(stdout, "educator %s was already opted %s home visits for %s in district %s (nothing changed)\n", *educator, verb, *year, *district)
		return nil
	}
	fmt.Fprintf(stdout, "educator %s opted %s home visits for %s in district %s\n", *educator, verb, *year, *district)
	return nil
}

func cmdEducatorsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("educators list", stderr)
	district := districtFlag(fs, "")
	year := yearFlag(fs, "")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if !pthv.ValidDistrictID(*district) || !validYear(*year) {
		return usageErr("--district and --year (e.g. 2025-2026) are required")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	opts, err := env.Store().OptInDecisions(ctx, *district, *year)
	if err != nil {
		return err
	}
	tb := newTable(stdout, "educator", "decision", "decided", "source")
	for _, id := range slices.Sorted(maps.Keys(opts)) {
		state := "opted out"
		if opts[id].In {
			state = "opted in"
		}
		tb.row(id, state, stamp(opts[id].At), opts[id].Source)
	}
	return tb.flush()
}
