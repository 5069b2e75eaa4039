package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/queue"
	"github.com/pthv/reach/internal/roster"
)

func init() {
	register("imports list", "list a district's imports, newest first", cmdImportsList)
	register("imports show", "show one import: status, counts, safety check, timings", cmdImportsShow)
	register("imports approve", "apply a held import", cmdImportsApprove)
}

func importFlags(name string, stderr io.Writer, args []string, needID bool) (district, id string, err error) {
	if needID {
		name += " IMPORT"
	}
	fs := newFlags(name, stderr)
	d := districtFlag(fs, "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return "", "", err
	}
	if *d == "" {
		return "", "", usageErr("--district is required")
	}
	if needID {
		if len(pos) != 1 {
			return "", "", usageErr("give exactly one import id")
		}
		return *d, pos[0], nil
	}
	if len(pos) != 0 {
		return "", "", usageErr("unexpected argument %q", pos[0])
	}
	return *d, "", nil
}

func cmdImportsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	district, _, err := importFlags("imports list", stderr, args, false)
	if err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	imps, err := env.Store().ListImports(ctx, district, 50)
	if err != nil {
		return err
	}
	tb := newTable(stdout, "import", "status", "outcome", "started", "writes", "errors", "warnings", "source")
	for _, imp := range imps {
		tb.row(imp.ID, imp.Status, cmp.Or(imp.Outcome, "-"), stamp(imp.Started), imp.Writes.Items+imp.Writes.Updates,
			imp.Validation.Errors, imp.Validation.Warnings, imp.Source.Key)
	}
	return tb.flush()
}

func cmdImportsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	district, id, err := importFlags("imports show", stderr, args, true)
	if err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	imp, err := env.Store().GetImport(ctx, district, id)
	if errors.Is(err, pthv.ErrNotFound) {
		return &exitError{code: 1, msg: fmt.Sprintf("no import %s for district %s", id, district)}
	}
	if err != nil {
		return err
	}
	return printImport(stdout, imp, env.Names.ReportsBucket)
}

// printImport writes an import's summary for people.
func printImport(w io.Writer, imp *pthv.Import, reportsBucket string) error {
	switch imp.Outcome {
	case pthv.OutcomeAllRejected:
		fmt.Fprintf(w, "import %s of district %s: %s, but EVERY ROW WAS REJECTED: nothing of the file landed\n", imp.ID, imp.District, imp.Status)
	case pthv.OutcomePartial:
		fmt.Fprintf(w, "import %s of district %s: %s, some rows rejected\n", imp.ID, imp.District, imp.Status)
	default:
		fmt.Fprintf(w, "import %s of district %s: %s\n", imp.ID, imp.District, imp.Status)
	}
	if imp.Reason != "" {
		fmt.Fprintf(w, "  %s\n", imp.Reason)
	}
	fmt.Fprintf(w, "  source   s3://%s/%s (version %s)\n", imp.Source.Bucket, imp.Source.Key, imp.Source.VersionID)
	if imp.Validation.Version != "" {
		fmt.Fprintf(w, "  export   OneRoster %s, %s, %s\n", imp.Validation.Version, plural(imp.Validation.Errors, "error"), plural(imp.Validation.Warnings, "warning"))
	}
	if len(imp.Counts) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  \tADDED\tCHANGED\tREVIVED\tUNCHANGED\tDEACTIVATED\tREJECTED\t")
		kinds := roster.Kinds
		switch imp.Kind {
		case "trainings":
			kinds = []roster.Kind{pthv.KindTraining, pthv.KindOptIn}
		case "consent":
			kinds = []roster.Kind{pthv.KindConsent}
		case "visits":
			kinds = []roster.Kind{pthv.KindVisit}
		}
		for _, k := range kinds {
			c := imp.Counts[k]
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k, c.Added, c.Changed, c.Revived, c.Unchanged, c.Deactivated, c.Rejected)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if s := imp.Safety; s.ActiveStudents > 0 {
		fmt.Fprintf(w, "  safety   %d of %d active students deactivated (%.1f%%; hold above %.0f%%)\n",
			s.DeactivatedStudents, s.ActiveStudents, 100*s.Share, 100*s.Threshold)
	}
	fs := slices.Concat(imp.TrainingFindings, imp.ConsentFindings, imp.VisitFindings)
	for i, f := range fs {
		if i == 10 {
			fmt.Fprintf(w, "  … and %d more findings in the report\n", len(fs)-10)
			break
		}
		fmt.Fprintf(w, "  %s:%d: %s %s [%s] %s\n", f.File, f.Line, f.Severity, f.Column, f.Code, f.Message)
	}
	ws := imp.Writes
	if imp.Kind == "trainings" || imp.Kind == "consent" || imp.Kind == "visits" {
		fmt.Fprintf(w, "  writes   %d items\n", ws.Items)
		if imp.ReportKey != "" {
			fmt.Fprintf(w, "  report   s3://%s/%s\n", reportsBucket, imp.ReportKey)
		}
		return nil
	}
	fmt.Fprintf(w, "  writes   %d items in %d BatchWriteItem calls (%d full, %d retries), %d deactivations; %d of %d planned writes applied over %d run(s)\n",
		ws.Items, ws.Batches, ws.FullBatches, ws.Retries, ws.Updates, imp.Cursor, imp.Ops, imp.Runs)
	if len(imp.TimingsMS) > 0 {
		fmt.Fprintf(w, "  timings  download %dms, load roster %dms, read and plan %dms, apply %dms\n",
			imp.TimingsMS["download"], imp.TimingsMS["loadRoster"], imp.TimingsMS["readAndPlan"], imp.TimingsMS["apply"])
	}
	if imp.ReportKey != "" {
		fmt.Fprintf(w, "  report   s3://%s/%s\n", reportsBucket, imp.ReportKey)
	}
	return nil
}

func cmdImportsApprove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	district, id, err := importFlags("imports approve", stderr, args, true)
	if err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	if env.QueueURL == "" {
		return usageErr("INGEST_QUEUE_URL is not set: approval asks the ingest function to apply the import through its queue")
	}
	// Blobs and the reports bucket: approval first checks that the held import's plan has not expired.
	svc := &importer.Service{Store: env.Store(), Blobs: blob.New(env.AWS), ReportsBucket: env.Names.ReportsBucket,
		Queue: &queue.SQS{Client: sqs.NewFromConfig(env.AWS), QueueURL: env.QueueURL}}
	switch err := svc.Approve(ctx, district, id); {
	case errors.Is(err, pthv.ErrNotFound):
		return &exitError{code: 1, msg: fmt.Sprintf("no import %s for district %s", id, district)}
	case errors.Is(err, pthv.ErrConflict):
		return &exitError{code: 1, msg: err.Error()}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "import %s approved; the ingest function applies it now (see 'pthv imports show %s --district %s')\n", id, id, district)
	return nil
}
