package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
)

func init() {
	register("cohort select", "draw a cohort of families for a school and year (all, or a random cross-section)", cmdCohortSelect)
	register("cohort refresh", "apply new consent and educators to a cohort (declined families are replaced)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdCohortByID(ctx, "cohort refresh", cohortsvc.ActionRefresh, args, stdout, stderr)
	})
	register("cohort show", "show a cohort: summary, strata, pairs, families", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdCohortByID(ctx, "cohort show", cohortsvc.ActionShow, args, stdout, stderr)
	})
	register("cohort verify", "recompute a cohort from its stored inputs; exit 1 when it does not match", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdCohortByID(ctx, "cohort verify", cohortsvc.ActionVerify, args, stdout, stderr)
	})
	register("cohort list", "list a district's cohorts", cmdCohortList)
	register("consent set", "record a family's consent to home visits for a school year", cmdConsentSet)
}

// invokeCohort calls the cohort function through the Lambda Invoke API (the local stack's
// Lambda host, or AWS). A refusal comes back as an exit-1 error with the function's message.
func invokeCohort(ctx context.Context, env *app.Env, inv cohortsvc.Invocation) (*cohortsvc.Response, error) {
	name := os.Getenv(deploy.EnvCohortFunction)
	if name == "" {
		name = deploy.NamesFor(deploy.DefaultPrefix).Function("cohort")
	}
	payload, err := json.Marshal(inv)
	if err != nil {
		return nil, err
	}
	out, err := lambda.NewFromConfig(env.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", name, err)
	}
	if out.FunctionError != nil {
		var fe struct{ ErrorMessage, ErrorType string }
		_ = json.Unmarshal(out.Payload, &fe)
		return nil, fmt.Errorf("the cohort function failed (%s): %s", aws.ToString(out.FunctionError), fe.ErrorMessage)
	}
	var resp cohortsvc.Response
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return nil, fmt.Errorf("the cohort function answered %q: %w", out.Payload, err)
	}
	if resp.Error != nil {
		code := 1
		if resp.Error.Code == pthv.CodeInvalid {
			code = 2 // the function found the usage wrong
		}
		return nil, &exitError{code: code, msg: fmt.Sprintf("refused (%s): %s", resp.Error.Code, resp.Error.Message)}
	}
	return &resp, nil
}

func cmdCohortSelect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cohort select", stderr)
	district := districtFlag(fs, "")
	school := fs.String("school", "", "the school's `SOURCEDID` (required)")
	year := yearFlag(fs, "")
	mode := choiceFlag(fs, "mode", cohort.ModeCrossSection, []string{cohort.ModeCrossSection, cohort.ModeAll}, "`MODE`: a random cross-section, or all (every family that has not declined)")
	coverage := floatFlag(fs, "coverage", cohort.DefaultCoverage, 0, 1, true, false, "`SHARE` of the school's students a cross-section covers")
	seed := fs.Uint64("seed", 0, "random `SEED` (default: a new one, stored with the cohort)")
	maxPer := intFlag(fs, "max-per-pair", 0, 0, math.MaxInt, "most families `N` one educator pair visits (0: no cap)")
	replace := fs.String("replace", "", "draw anew, replacing this current `COHORT` of the school and year (both stay on record)")
	format := formatFlag(fs, false)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case !pthv.ValidDistrictID(*district):
		return usageErr("--district is required")
	case *school == "":
		return usageErr("--school is required")
	case !validYear(*year):
		return usageErr("--year must be a school year such as 2025-2026")
	}
	req := cohort.Request{District: *district, School: *school, Year: *year, Mode: *mode, Coverage: *coverage, Seed: *seed, MaxFamiliesPerPair: *maxPer}
	if err := req.Validate(); err != nil { // no defaults: the flags already hold them
		return usageErr("%v", err)
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	raw, _ := json.Marshal(req)
	resp, err := invokeCohort(ctx, env, cohortsvc.Invocation{Action: cohortsvc.ActionSelect, Request: raw, Replaces: *replace})
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(stdout, resp)
	}
	printCohort(stdout, resp.Cohort, env.Names.ReportsBucket)
	return nil
}

func cmdCohortByID(ctx context.Context, name, action string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(name+" COHORT", stderr)
	district := districtFlag(fs, "")
	format := formatFlag(fs, false)
	var csvOut *string
	var force *bool
	if action == cohortsvc.ActionShow {
		csvOut = fs.String("csv", "", "also write the coordinator CSV (names and contacts: handle as personal data) to `FILE` (- for standard output)")
		force = fs.Bool("force", false, "with --csv: overwrite FILE if it exists")
	}
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case !pthv.ValidDistrictID(*district):
		return usageErr("--district is required")
	case len(rest) != 1:
		return usageErr("give one cohort id")
	}
	toStdout := csvOut != nil && *csvOut == "-"
	if csvOut != nil && *csvOut != "" {
		if err := refuseExisting(*csvOut, *force); err != nil {
			return err
		}
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	resp, err := invokeCohort(ctx, env, cohortsvc.Invocation{Action: action, District: *district, CohortID: rest[0]})
	if err != nil {
		return err
	}
	if csvOut != nil && *csvOut != "" {
		b, err := blob.New(env.AWS).Get(ctx, env.Names.ReportsBucket, resp.Cohort.CSVKey)
		if err != nil {
			return fmt.Errorf("read the coordinator CSV: %w", err)
		}
		if err := writeWhole(*csvOut, *force, 0o600, stdout, func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		}); err != nil {
			return err
		}
		if toStdout {
			// Standard output holds the CSV alone; the summary goes to stderr.
			stdout = stderr
		}
	}
	if *format == "json" {
		if err := writeJSON(stdout, resp); err != nil {
			return err
		}
	} else if resp.Verify != nil {
		v := resp.Verify
		if v.Match {
			fmt.Fprintf(stdout, "cohort %s revision %d: matches a recomputation from its stored inputs (population %s)\n", v.CohortID, v.Revision, v.PopulationHash[:12])
		} else {
			fmt.Fprintf(stdout, "cohort %s revision %d: DOES NOT MATCH a recomputation:\n", v.CohortID, v.Revision)
			for _, d := range v.Diffs {
				fmt.Fprintf(stdout, "  - %s\n", d)
			}
		}
		if v.RosterChanged {
			fmt.Fprintf(stdout, "note: the school's roster has changed since the cohort was drawn (families now hash to %s)\n", v.CurrentRosterHash[:12])
		}
	} else {
		printCohort(stdout, resp.Cohort, env.Names.ReportsBucket)
		if len(resp.Members) > 0 {
			printMembers(stdout, resp.Members)
		}
		if csvOut != nil && *csvOut != "" && !toStdout {
			fmt.Fprintf(stdout, "coordinator CSV saved to %s (personal data: keep it to the school's coordinator)\n", *csvOut)
		}
	}
	if resp.Verify != nil && !resp.Verify.Match {
		return &exitError{code: 1, msg: "cohort does not match its recomputation"}
	}
	return nil
}

func cmdCohortList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cohort list", stderr)
	district := districtFlag(fs, "")
	school := fs.String("school", "", "only this school (`SOURCEDID`)")
	year := yearFlag(fs, "only this school `YEAR`")
	format := formatFlag(fs, false)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if !pthv.ValidDistrictID(*district) {
		return usageErr("--district is required")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	resp, err := invokeCohort(ctx, env, cohortsvc.Invocation{Action: cohortsvc.ActionList, District: *district, School: *school, Year: *year})
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(stdout, resp.Cohorts)
	}
	tb := newTable(stdout, "cohort", "school", "year", "rev", "mode", "families", "students", "share", "pairs", "status", "created", "replaces")
	for _, c := range resp.Cohorts {
		s := c.Summary
		tb.row(c.ID, c.School, c.Year, c.Revision, s.Mode, s.Families, fmt.Sprintf("%d/%d", s.StudentsCovered, s.SchoolStudents),
			fmt.Sprintf("%.1f%%", 100*s.Share), s.Pairs, s.Status, stamp(c.Created), cmp.Or(c.Replaces, "-"))
	}
	return tb.flush()
}

func printCohort(w io.Writer, c *cohort.Record, reports string) {
	s := c.Summary
	req := c.Cohort.Request
	how := req.Mode
	if req.Mode == cohort.ModeCrossSection {
		how = fmt.Sprintf("cross-section, coverage %.0f%%", 100*req.Coverage)
	}
	fmt.Fprintf(w, "cohort %s (revision %d): school %s, %s, %s, seed %d\n", c.ID, c.Revision, c.School, c.Year, how, req.Seed)
	if c.Replaces != "" {
		fmt.Fprintf(w, "  replaces       %s\n", c.Replaces)
	}
	fmt.Fprintf(w, "  families       %d of %d (%d declined, %d with children at another school)\n", s.Families, s.SchoolFamilies, s.Declined, s.OtherSchools)
	fmt.Fprintf(w, "  students       %d of %d: %.1f%% of the school\n", s.StudentsCovered, s.SchoolStudents, 100*s.Share)
	fmt.Fprintf(w, "  educator pairs %d (%d eligible educators", s.Pairs, len(c.Educators))
	if len(c.Cohort.Reserve) > 0 {
		fmt.Fprintf(w, ", 1 in reserve")
	}
	fmt.Fprintf(w, "), %d families unpaired\n", s.Unpaired)
	fmt.Fprintf(w, "  status         %s", s.Status)
	if s.Reason != "" {
		fmt.Fprintf(w, ": %s", s.Reason)
	}
	fmt.Fprintf(w, "\n  population     %s\n", c.Cohort.PopulationHash[:12])
	if ch := c.Changes; ch != nil {
		line := func(label string, ids []string) {
			if len(ids) > 0 {
				fmt.Fprintf(w, "  %-14s %s\n", label, strings.Join(ids, ", "))
			}
		}
		line("declined", ch.Declined)
		line("not enrolled", ch.Unenrolled)
		line("left out", ch.Dropped)
		line("came in", ch.CameIn)
		line("new pair", ch.Moved)
		if len(ch.Declined)+len(ch.Unenrolled)+len(ch.Dropped)+len(ch.CameIn)+len(ch.Moved) == 0 {
			fmt.Fprintf(w, "  refresh        nothing changed\n")
		} else {
			fmt.Fprintf(w, "  every other family keeps its place and its educator pair\n")
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  GRADE\tFAMILIES\tSTUDENTS\tTARGET\tSAMPLED FAMILIES\tSAMPLED STUDENTS\tDECLINED\t")
	for _, st := range c.Cohort.Strata {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", st.Grade, st.Families, st.Students, st.Target, st.SampledFamilies, st.SampledStudents, st.Declined)
	}
	tw.Flush()
	fmt.Fprintf(w, "  coordinator CSV: s3://%s/%s\n", reports, c.CSVKey)
}

func printMembers(w io.Writer, ms []cohort.MemberItem) {
	tb := newTable(w, "family", "grade", "order", "students", "pair", "consent", "other school")
	for _, m := range ms {
		other := ""
		if m.OtherSchools {
			other = "yes"
		}
		tb.row(m.FamilyID, m.Stratum, m.Order+1, strings.Join(m.StudentIDs, ","), strings.Join(m.Pair, "+"), m.Consent, other)
	}
	tb.flush()
}

func cmdConsentSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("consent set", stderr)
	district := districtFlag(fs, "")
	year := yearFlag(fs, "")
	family := fs.String("family", "", "the family's `ID` (fam-…, as in the coordinator CSV)")
	student := fs.String("student", "", "or a student's `SOURCEDID`: the answer is the student's family's")
	value := choiceFlag(fs, "consent", "", consent.Values, "the family's `ANSWER` (unknown withdraws an earlier answer) (required)")
	date := fs.String("date", "", "the `DAY` the family answered, YYYY-MM-DD (default today)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	rec := consent.Record{SchoolYear: *year, FamilyID: *family, StudentID: *student, Consent: *value, Date: *date}
	switch {
	case !pthv.ValidDistrictID(*district):
		return usageErr("--district is required")
	case !validYear(*year):
		return usageErr("--year must be a school year such as 2025-2026")
	case (*family == "") == (*student == ""):
		return usageErr("give exactly one of --family and --student")
	}
	// The CSV reader's rules apply to the command line too.
	res, err := consent.Read(strings.NewReader(strings.Join(consent.Columns, ",")+"\n"+
		strings.Join([]string{rec.SchoolYear, rec.FamilyID, rec.StudentID, rec.Consent, rec.Date}, ",")+"\n"), "command line", time.Now())
	if err != nil {
		return err
	}
	if len(res.Records) != 1 {
		var msgs []string
		for _, f := range res.Findings {
			if f.Severity == "error" {
				msgs = append(msgs, fmt.Sprintf("--%s: %s", flagFor(f.Column), f.Message))
			}
		}
		return usageErr("%s", strings.Join(msgs, "; "))
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	c, err := pipeline.Importer(env, nil).SetConsent(ctx, *district, res.Records[0])
	if err != nil {
		return refusal(err)
	}
	who := "family " + *family
	if *student != "" {
		who = "the family of student " + *student
	}
	if c.Unchanged > 0 {
		fmt.Fprintf(stdout, "consent of %s for %s: unchanged (the same answer, or a newer one, is on record)\n", who, *year)
		return nil
	}
	fmt.Fprintf(stdout, "consent of %s for %s: %s; run 'pthv cohort refresh' to apply it to a drawn cohort\n", who, *year, *value)
	return nil
}

func flagFor(column string) string {
	switch column {
	case "schoolYear":
		return "year"
	case "familyId":
		return "family"
	case "studentSourcedId":
		return "student"
	}
	return column
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
