package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/pthv"
)

func init() {
	register("districts add", "register a district so that its drops are imported", cmdDistrictsAdd)
	register("districts list", "list the registered districts", cmdDistrictsList)
}

var (
	stateRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func cmdDistrictsAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("districts add", stderr)
	id := fs.String("id", "", "district id: the {districtId} of drops/{districtId}/ (letters, digits, . _ -)")
	name := fs.String("name", "", "district name")
	state := fs.String("state", "", "two-letter state code, e.g. CA")
	hold := fs.Float64("hold-share", pthv.DefaultHoldShare, "hold an import that would deactivate more than this share of active students")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	*state = strings.ToUpper(*state)
	switch {
	case !pthv.ValidDistrictID(*id):
		return usageErr("--id must be 1 to 64 letters, digits, '.', '_' or '-'")
	case strings.TrimSpace(*name) == "":
		return usageErr("--name is required")
	case !stateRE.MatchString(*state):
		return usageErr("--state must be a two-letter state code such as CA")
	case *hold <= 0 || *hold >= 1:
		return usageErr("--hold-share must be between 0 and 1")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := env.Store().PutDistrict(ctx, pthv.District{ID: *id, Name: *name, State: *state, HoldShare: *hold}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "district %s (%s, %s) registered; drops go to s3://%s/drops/%s/rosters/\n", *id, *name, *state, env.Names.DropsBucket, *id)
	return nil
}

func cmdDistrictsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("districts list", stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	ds, err := env.Store().ListDistricts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tname\tstate\thold share\tlast drop")
	for _, d := range ds {
		last := "-"
		if !d.Watermark.IsZero() {
			last = d.Watermark.Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f%%\t%s\n", d.ID, d.Name, d.State, 100*d.HoldShare, last)
	}
	return tw.Flush()
}
