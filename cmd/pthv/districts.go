package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
)

func init() {
	register("districts add", "register a district so that its drops are imported", cmdDistrictsAdd)
	register("districts update", "change a registered district's name, state or hold share", cmdDistrictsUpdate)
	register("districts list", "list the registered districts", cmdDistrictsList)
}

var (
	stateRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func cmdDistrictsAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return districtsSet(ctx, "districts add", args, stdout, stderr)
}

func cmdDistrictsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return districtsSet(ctx, "districts update", args, stdout, stderr)
}

// districtsSet registers a district (add: refused when the id is registered already) or
// changes a registered one (update: only the flags given change).
func districtsSet(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	update := name == "districts update"
	fs := newFlags(name, stderr)
	id := fs.String("id", "", "district `ID`: the {districtId} of drops/{districtId}/ (letters, digits, . _ -) (required)")
	dname := fs.String("name", "", "district `NAME`")
	state := fs.String("state", "", "two-letter `STATE` code, e.g. CA")
	hold := floatFlag(fs, "hold-share", pthv.DefaultHoldShare, 0, 1, true, true, "hold an import that would deactivate more than this `SHARE` of active students")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	*state = strings.ToUpper(*state)
	switch {
	case !pthv.ValidDistrictID(*id):
		return usageErr("--id must be 1 to 64 letters, digits, '.', '_' or '-'")
	case (!update || given["name"]) && strings.TrimSpace(*dname) == "":
		return usageErr("--name is required")
	case (!update || given["state"]) && !stateRE.MatchString(*state):
		return usageErr("--state must be a two-letter state code such as CA")
	case (!update || given["state"]) && !importer.ValidState(*state):
		return usageErr("--state %s is not a US state, DC or territory code", *state)
	case update && !given["name"] && !given["state"] && !given["hold-share"]:
		return usageErr("give what changes: --name, --state or --hold-share")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	st := env.Store()
	if !update {
		err := st.CreateDistrict(ctx, pthv.District{ID: *id, Name: *dname, State: *state, HoldShare: *hold})
		if errors.Is(err, pthv.ErrConflict) {
			return &exitError{code: 1, msg: fmt.Sprintf("district %s is registered already (nothing changed); change it with 'pthv districts update --id %s'", *id, *id)}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "district %s (%s, %s) registered; drops go to s3://%s/drops/%s/rosters/\n", *id, *dname, *state, env.Names.DropsBucket, *id)
		return nil
	}
	d, err := st.District(ctx, *id)
	if errors.Is(err, pthv.ErrNotFound) {
		return &exitError{code: 1, msg: fmt.Sprintf("district %s is not registered; register it with 'pthv districts add'", *id)}
	}
	if err != nil {
		return err
	}
	if given["name"] {
		d.Name = *dname
	}
	if given["state"] {
		d.State = *state
	}
	if given["hold-share"] {
		d.HoldShare = *hold
	}
	if err := st.PutDistrict(ctx, *d); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "district %s updated: %s, %s, hold share %.0f%%\n", d.ID, d.Name, d.State, 100*d.HoldShare)
	if given["state"] {
		fmt.Fprintf(stdout, "its figures move to %s at the next recomputation ('pthv reach recompute --full')\n", d.State)
	}
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
