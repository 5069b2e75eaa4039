package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/importer"
)

func init() {
	register("districts add", "register a district so that its drops are imported", cmdDistrictsAdd)
	register("districts list", "list the registered districts", cmdDistrictsList)
}

var (
	districtIDRE = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
	stateRE      = regexp.MustCompile(`^[A-Z]{2}$`)
)

func cmdDistrictsAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("districts add", stderr)
	id := fs.String("id", "", "district id: the {districtId} of drops/{districtId}/ (letters, digits, . _ -)")
	name := fs.String("name", "", "district name")
	state := fs.String("state", "", "two-letter state code, e.g. CA")
	hold := floatFlag(fs, "hold-share", importer.DefaultHoldShare, 0, 1, true, true, "hold an import that would deactivate more than this `SHARE` of active students")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	*state = strings.ToUpper(*state)
	switch {
	case !districtIDRE.MatchString(*id):
		return usageErr("--id must be 1 to 64 letters, digits, '.', '_' or '-'")
	case strings.TrimSpace(*name) == "":
		return usageErr("--name is required")
	case !stateRE.MatchString(*state):
		return usageErr("--state must be a two-letter state code such as CA")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := env.Store().PutDistrict(ctx, importer.District{ID: *id, Name: *name, State: *state, HoldShare: *hold}); err != nil {
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
	tb := newTable(stdout, "id", "name", "state", "hold share", "last drop")
	for _, d := range ds {
		tb.row(d.ID, d.Name, d.State, fmt.Sprintf("%.0f%%", 100*d.HoldShare), stamp(d.Watermark))
	}
	return tb.flush()
}
