package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/visits"
)

func init() {
	register("gen visits", "generate a visit log for cohorts' families and their educator pairs", cmdGenVisits)
}

func cmdGenVisits(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen visits COHORT...", stderr)
	district := districtFlag(fs, "")
	out := fs.String("out", "", "output CSV `FILE` (- for standard output) (required)")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	share := floatFlag(fs, "visited", 0.8, 0, 1, true, false, "`SHARE` of each cohort's paired families visited")
	second := floatFlag(fs, "second", 0.5, 0, 1, false, false, "`SHARE` of visited families who get a second visit")
	cancelled := floatFlag(fs, "cancelled", 0.05, 0, 1, false, true, "`SHARE` of visits logged as cancelled")
	seed := fs.Uint64("seed", 1, "random seed")
	cohorts, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case !pthv.ValidDistrictID(*district):
		return usageErr("--district is required")
	case *out == "":
		return usageErr("--out is required")
	case len(cohorts) == 0:
		return usageErr("name one or more cohort ids")
	}
	if err := refuseExisting(*out, *force); err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	rng := rand.New(rand.NewPCG(*seed, 0x515))
	now := time.Now().UTC()
	n := 0
	// The file is written once every cohort has been read: a cohort that cannot be read
	// leaves no file behind.
	err = writeWhole(*out, *force, 0o644, stdout, func(f io.Writer) error {
		w := csv.NewWriter(f)
		w.Write(visits.Columns)
		for _, id := range cohorts {
			resp, err := invokeCohort(ctx, env, cohortsvc.Invocation{Action: cohortsvc.ActionShow, District: *district, CohortID: id})
			if err != nil {
				return err
			}
			c := resp.Cohort
			// Visits fall between the start of the cohort's school year (1 September) and today.
			startYear, _ := strconv.Atoi(c.Year[:4])
			from := time.Date(startYear, 9, 1, 0, 0, 0, 0, time.UTC)
			span := max(int(now.Sub(from).Hours()/24), 2)
			for _, m := range resp.Members {
				if len(m.Pair) < 2 || rng.Float64() >= *share {
					continue
				}
				day := rng.IntN(span / 2)
				status := func() string {
					if rng.Float64() < *cancelled {
						return "cancelled"
					}
					return "completed"
				}
				row := func(num, day int) {
					n++
					setting := "home"
					if rng.IntN(5) == 0 {
						setting = "neutral"
					}
					w.Write([]string{fmt.Sprintf("vis-%s-%s-%d", c.School, strings.TrimPrefix(m.FamilyID, "fam-"), num), m.FamilyID, "", c.School,
						from.AddDate(0, 0, day).Format(time.DateOnly), strconv.Itoa(num), strings.Join(m.Pair, ";"), setting,
						strconv.Itoa(30 + 15*rng.IntN(4)), status()})
				}
				row(1, day)
				if rng.Float64() < *second {
					row(2, day+1+rng.IntN(span-day-1))
				}
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(summaryTo(*out, stdout, stderr), "wrote %s for %s to %s\n", plural(n, "visit"), plural(len(cohorts), "cohort"), describeOut(*out))
	return nil
}
