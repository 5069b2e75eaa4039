package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
)

func init() {
	register("sync add", "add (or change) a district's SIS connection; its secret goes to Secrets Manager", cmdSyncAdd)
	register("sync list", "list SIS connections", cmdSyncList)
	register("sync show", "show one SIS connection (never its secret)", cmdSyncShow)
	register("sync run", "start a sync run now (--wait: follow it to its import)", cmdSyncRun)
	register("sync runs", "list a connection's runs, newest first", cmdSyncRuns)
	register("sync remove", "remove a SIS connection and its secret", cmdSyncRemove)
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func cmdSyncAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sync add", stderr)
	c := &sis.Connection{}
	fs.StringVar(&c.District, "district", "", "district id (required)")
	fs.StringVar(&c.ID, "name", "sis", "connection id within the district")
	fs.StringVar(&c.Provider, "provider", "", "oneroster-1.1, oneroster-1.2 or clever (required)")
	fs.StringVar(&c.BaseURL, "base-url", "", "the server's OneRoster base URL, stored whole, e.g. https://sis.example/campus/api/ims/oneroster/rostering/v1p2 (required; clever: default "+sis.CleverBaseURL+")")
	fs.StringVar(&c.Auth, "auth", "", "oauth2 (default), or oauth1 (OneRoster 1.1 signing)")
	fs.StringVar(&c.TokenURL, "token-url", "", "OAuth 2.0 token endpoint (required for oauth2)")
	fs.StringVar(&c.ClientID, "client-id", "", "client id, or OAuth 1.0a consumer key (required)")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret (required; never printed)")
	tokenFile := fs.String("token-file", "", "clever: file holding the district-app bearer token (required; never printed)")
	fs.StringVar(&c.ClientAuth, "client-auth", "", "OAuth 2.0 client authentication: basic (default) or body")
	var scopes, params multi
	fs.Var(&scopes, "scope", "OAuth 2.0 scope (repeatable; default: the version's roster-core.readonly)")
	noScope := fs.Bool("no-scope", false, "send no scope (servers that refuse any)")
	fs.Var(&params, "token-param", "extra token request parameter k=v (repeatable)")
	fs.StringVar(&c.SignatureMethod, "signature-method", "", "OAuth 1.0a: HMAC-SHA256 (default) or HMAC-SHA1")
	fs.StringVar(&c.Schedule, "schedule", "", "EventBridge Scheduler expression (default 'cron(30 2 * * ? *)')")
	fs.StringVar(&c.TimeZone, "tz", "", "the schedule's time zone (default America/Los_Angeles)")
	noSchedule := fs.Bool("no-schedule", false, "create no EventBridge schedule (and delete the one an earlier 'sync add' created): runs start with 'pthv sync run'")
	fs.IntVar(&c.PageSize, "page-size", 0, "records asked for per page (default 1000)")
	fs.IntVar(&c.Concurrency, "concurrency", 0, "requests in flight, 1 to 5 (default 1)")
	fs.IntVar(&c.RatePerMinute, "rate", 0, "requests a minute at most (default 100)")
	fs.IntVar(&c.FullEveryDays, "full-every-days", 0, "a full pull at least this often (default 7)")
	fs.BoolVar(&c.Events, "events", false, "clever: nightly runs apply Clever's events since the last applied pull (the district turns the Events API on); the weekly full pull remains the truth")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	if c.Provider == sis.ProviderClever {
		switch {
		case c.District == "" || *tokenFile == "":
			return usageErr("--district and --token-file are required for --provider clever")
		case c.ClientID != "" || *secretFile != "" || c.TokenURL != "" || c.Auth != "" || c.ClientAuth != "" || len(scopes) > 0 || *noScope || len(params) > 0 || c.SignatureMethod != "":
			return usageErr("--provider clever takes a --token-file, not OAuth settings (--client-id, --client-secret-file, --token-url, --auth, --client-auth, --scope, --token-param, --signature-method)")
		case c.PageSize > 10000:
			return usageErr("--page-size is at most 10000 for clever (Clever answers 413 above)")
		}
		secretFile = tokenFile
	} else {
		if *tokenFile != "" {
			return usageErr("--token-file is for --provider clever; OneRoster takes --client-id and --client-secret-file")
		}
		if c.Events {
			return usageErr("--events is for --provider clever: OneRoster has no event log (its nightly runs are dateLastModified deltas)")
		}
		if c.District == "" || c.Provider == "" || c.BaseURL == "" || c.ClientID == "" || *secretFile == "" {
			return usageErr("--district, --provider, --base-url, --client-id and --client-secret-file are required")
		}
		if c.ClientAuth == "" {
			c.ClientAuth = "basic"
		}
	}
	if len(scopes) > 0 {
		c.Scopes = scopes
	} else if *noScope {
		c.Scopes = []string{}
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageErr("--token-param takes k=v")
		}
		if c.TokenParams == nil {
			c.TokenParams = map[string]string{}
		}
		c.TokenParams[k] = v
	}
	secretFlag := "--client-secret-file"
	if c.Provider == sis.ProviderClever {
		secretFlag = "--token-file"
	}
	b, err := os.ReadFile(*secretFile)
	if err != nil {
		return usageErr("cannot read %s: %v", secretFlag, errors.Unwrap(err))
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if c.Provider == sis.ProviderClever {
		secret = strings.TrimSpace(secret)
	}
	if secret == "" {
		return usageErr("%s is empty", secretFlag)
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	if c.Auth == "oauth1" {
		c.TokenURL = ""
	}
	c.Defaults()
	c.SecretID = deploy.NamesFor(prefix(env)).SyncSecret(c.District, c.ID)
	if err := c.Validate(); err != nil {
		return usageErr("%v", err)
	}
	st := env.Store()
	if _, err := st.District(ctx, c.District); errors.Is(err, pthv.ErrNotFound) {
		return &exitError{code: 1, msg: "district " + c.District + " is not registered: 'pthv districts add' first"}
	} else if err != nil {
		return err
	}
	now := time.Now().UTC()
	verb := "added"
	if old, err := st.Connection(ctx, c.District, c.ID); err == nil {
		verb = "changed"
		c.Created, c.Approved, c.Watermark, c.LastFull, c.LastApplied, c.LastRun = old.Created, old.Approved, old.Watermark, old.LastFull, old.LastApplied, old.LastRun
		if c.Events {
			c.Snapshot = old.Snapshot
		}
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return err
	} else {
		c.Created = now
	}
	c.Updated = now
	if err := pipeline.Secrets(env).Put(ctx, c.SecretID, secret, "PTHV Reach SIS client secret of "+c.District+"/"+c.ID); err != nil {
		return err
	}
	put := st.PutConnection
	if verb == "added" {
		put = st.CreateConnection // never over a connection another 'sync add' stored meanwhile
	}
	if err := put(ctx, c); errors.Is(err, pthv.ErrConflict) {
		return &exitError{code: 1, msg: fmt.Sprintf("connection %s/%s was added by someone else meanwhile: its settings were not changed, but its secret %s now holds the one given here; check it with 'pthv sync show' and run 'pthv sync add' again to change it", c.District, c.ID, c.SecretID)}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "connection %s/%s %s: %s at %s (%s), every %s in %s\n", c.District, c.ID, verb, c.Provider, c.BaseURL, c.Auth, c.Schedule, c.TimeZone)
	if c.Events {
		fmt.Fprintf(stdout, "events on: nightly runs apply Clever's events to the last applied pull; a full pull every %d days\n", c.FullEveryDays)
	}
	if c.Provider == sis.ProviderClever {
		fmt.Fprintf(stdout, "district-app token stored in Secrets Manager as %s\n", c.SecretID)
	} else {
		fmt.Fprintf(stdout, "client secret stored in Secrets Manager as %s\n", c.SecretID)
	}
	if c.Approved != c.SettingsHash() {
		fmt.Fprintln(stdout, "its next run is held for approval with its full diff ('pthv imports approve')")
	}
	return addSchedule(ctx, schedulesOf(env), c, *noSchedule, stdout, stderr)
}

// prefix is the deployment's resource prefix, read from the table name Terraform sets.
func prefix(env *app.Env) string {
	if env.Names.Table != "" {
		return env.Names.Table
	}
	return deploy.DefaultPrefix
}

func connFlags(name string, stderr io.Writer, args []string, extra func(fsSet interface {
	BoolVar(*bool, string, bool, string)
})) (district, conn string, err error) {
	fs := newFlags(name, stderr)
	d := fs.String("district", "", "district id (required)")
	c := fs.String("name", "sis", "connection id")
	if extra != nil {
		extra(fs)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return "", "", err
	}
	if *d == "" {
		return "", "", usageErr("--district is required")
	}
	if len(pos) > 0 {
		return "", "", usageErr("unexpected argument %q", pos[0])
	}
	return *d, *c, nil
}

// openConn is the prologue of the commands on one connection: their flags, the environment
// and the connection (exit 1 when there is none).
func openConn(ctx context.Context, name string, stderr io.Writer, args []string, extra func(fsSet interface {
	BoolVar(*bool, string, bool, string)
})) (*app.Env, *sis.Connection, error) {
	district, conn, err := connFlags(name, stderr, args, extra)
	if err != nil {
		return nil, nil, err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return nil, nil, usageErr("%v", err)
	}
	c, err := env.Store().Connection(ctx, district, conn)
	if errors.Is(err, pthv.ErrNotFound) {
		return nil, nil, &exitError{code: 1, msg: fmt.Sprintf("no connection %s/%s: 'pthv sync add' first", district, conn)}
	} else if err != nil {
		return nil, nil, err
	}
	return env, c, nil
}

func cmdSyncList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sync list", stderr)
	d := fs.String("district", "", "only this district's connections")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	conns, err := env.Store().Connections(ctx, *d)
	if err != nil {
		return err
	}
	return printConnections(stdout, conns)
}

// printConnections is sync list's table (the CLI's one family: upper-case headers, times
// as stamp writes them).
func printConnections(w io.Writer, conns []*sis.Connection) error {
	tb := newTable(w, "district", "connection", "provider", "base URL", "schedule", "time zone", "last run", "watermark")
	for _, c := range conns {
		tb.row(c.District, c.ID, c.Provider, c.BaseURL, c.Schedule, c.TimeZone, orDash(c.LastRun), stamp(c.Watermark))
	}
	return tb.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdSyncShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env, c, err := openConn(ctx, "sync show", stderr, args, nil)
	if err != nil {
		return err
	}
	var scopes string
	if c.Scopes == nil {
		scopes = "the version's roster-core.readonly"
	} else if len(c.Scopes) == 0 {
		scopes = "none"
	} else {
		scopes = strings.Join(c.Scopes, " ")
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"connection", c.District + "/" + c.ID}, {"provider", c.Provider}, {"base URL", c.BaseURL}, {"auth", c.Auth},
		{"token URL", orDash(c.TokenURL)}, {"client id", c.ClientID}, {"client auth", orDash(c.ClientAuth)}, {"scopes", scopes},
		{"secret", c.SecretID + " (Secrets Manager; never shown)"}, {"page size", fmt.Sprint(c.PageSize)},
		{"schedule", c.Schedule + " " + c.TimeZone}, {"concurrency", fmt.Sprint(c.Concurrency)},
		{"rate cap", fmt.Sprintf("%d requests/minute", c.RatePerMinute)},
		{"full pull", fmt.Sprintf("every %d days; deltas overlap %d minutes", c.FullEveryDays, c.OverlapMinutes)},
		{"settings approved", fmt.Sprint(c.Approved != "" && c.Approved == c.SettingsHash())},
		{"watermark", stamp(c.Watermark)}, {"last full pull", stamp(c.LastFull)}, {"last run", orDash(c.LastRun)},
		{"events", eventsOf(c)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	showSchedules(ctx, schedulesOf(env), c, tw, stderr)
	return tw.Flush()
}

// eventsOf says whether a connection applies events, and from which snapshot.
func eventsOf(c *sis.Connection) string {
	switch {
	case !c.Events:
		return "off"
	case c.Snapshot == nil:
		return "on; no snapshot yet (the next applied complete full pull is one)"
	}
	id := c.Snapshot.EventID
	if id == "" {
		id = "none (the log was empty)"
	}
	return fmt.Sprintf("on; snapshot run %s, event id %s read %s", c.Snapshot.Run, id, stamp(c.Snapshot.ReadAt))
}

func cmdSyncRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env, c, err := openConn(ctx, "sync remove", stderr, args, nil)
	if err != nil {
		return err
	}
	st, district, name := env.Store(), c.District, c.ID
	if err := removeSchedule(ctx, schedulesOf(env), district, name, stdout); err != nil {
		return err
	}
	if err := pipeline.Secrets(env).Delete(ctx, c.SecretID); err != nil {
		return err
	}
	if err := st.DeleteConnection(ctx, district, name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "connection %s/%s removed; its secret is deleted after Secrets Manager's 7-day recovery window; its runs stay on record\n", district, name)
	return nil
}

func cmdSyncRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	district, name, err := connFlags("sync runs", stderr, args, nil)
	if err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	runs, err := env.Store().Runs(ctx, district, name, 30) // a removed connection's runs stay on record
	if err != nil {
		return err
	}
	return printRuns(stdout, runs)
}

// printRuns is sync runs' table.
func printRuns(w io.Writer, runs []*sis.Run) error {
	tb := newTable(w, "run", "status", "mode", "started", "requests", "retries", "bytes", "import")
	for _, r := range runs {
		tb.row(r.ID, r.Status, r.Mode, stamp(r.Started), r.Requests, r.Retries, r.Bytes, orDash(r.ImportID))
	}
	return tb.flush()
}

func cmdSyncRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var wait, full bool
	env, c, err := openConn(ctx, "sync run", stderr, args, func(fs interface {
		BoolVar(*bool, string, bool, string)
	}) {
		fs.BoolVar(&wait, "wait", false, "wait for the run and its import; print the per-collection pull and the import summary")
		fs.BoolVar(&full, "full", false, "a full pull, whatever the watermark")
	})
	if err != nil {
		return err
	}
	st, district, name := env.Store(), c.District, c.ID
	fn := os.Getenv(deploy.EnvSyncFunction)
	if fn == "" {
		fn = deploy.NamesFor(prefix(env)).Function("sync")
	}
	id := sissync.NewRunID(time.Now())
	inv := &pipeline.LambdaSync{Client: lambda.NewFromConfig(env.AWS), Function: fn}
	if err := inv.ContinueRun(ctx, sissync.Request{District: district, Connection: name, Run: id, Full: full, Trigger: "cli"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sync run %s of %s/%s started\n", id, district, name)
	if !wait {
		return nil
	}
	var run *sis.Run
	for {
		run, err = st.Run(ctx, district, name, id)
		if err == nil && run.Status != sis.RunPulling && run.Status != sis.RunImporting {
			break
		}
		if err == nil && run.Status == sis.RunImporting && run.ImportID != "" {
			if imp, err := st.GetImport(ctx, district, run.ImportID); err == nil && imp.Status != pthv.StatusApplying && imp.Status != pthv.StatusPlanning {
				run.ImportState = string(imp.Status)
				if imp.Status == pthv.StatusApplied {
					run.Status = sis.RunApplied
				}
				break
			}
		}
		if err != nil && !errors.Is(err, pthv.ErrNotFound) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	printRun(stdout, run)
	if run.Status != sis.RunApplied {
		return &exitError{code: 1}
	}
	return nil
}

// printRun prints a run's pull per collection and its import.
func printRun(w io.Writer, r *sis.Run) {
	fmt.Fprintf(w, "run %s: %s (%s pull: %s)\n", r.ID, r.Status, r.Mode, r.ModeReason)
	if r.Events != nil {
		fmt.Fprintf(w, "events: %d applied to snapshot %s (last %s; %d of types the roster does not use)\n", r.Events.Events, r.Snapshot, orDash(r.Events.Last), r.Events.Ignored)
	}
	if !r.Since.IsZero() {
		fmt.Fprintf(w, "changes since %s\n", stamp(r.Since))
	}
	tb := newTable(w, "collection", "pages", "records", "duplicates", "total", "requests", "retries", "verdict")
	for _, c := range r.Collections {
		total := "-"
		if c.Proof.Total >= 0 {
			total = fmt.Sprint(c.Proof.Total)
		}
		verdict := c.Verdict
		if verdict == "" {
			_, verdict = c.Proof.Complete()
		}
		tb.row(c.Name, c.Proof.Pages, c.Proof.Unique, c.Proof.Duplicates, total, c.Proof.Requests, c.Proof.Retries, verdict)
	}
	tb.flush()
	fmt.Fprintf(w, "%s, %s, %s; waiting on the server %.1fs, converting %.1fs, importing %.1fs\n",
		plural(int(r.Requests), "request"), plural(int(r.Retries), "retry"), plural(int(r.Bytes), "byte"), float64(r.WaitMS)/1000, float64(r.ConvertMS)/1000, float64(r.ImportMS)/1000)
	if r.ImportID != "" {
		fmt.Fprintf(w, "import %s: %s\n", r.ImportID, r.ImportState)
		tb := newTable(w, "kind", "added", "changed", "revived", "unchanged", "deactivated", "rejected")
		for _, k := range slices.Sorted(maps.Keys(r.Counts)) {
			c := r.Counts[k]
			tb.row(k, c.Added, c.Changed, c.Revived, c.Unchanged, c.Deactivated, c.Rejected)
		}
		tb.flush()
	}
	if r.Errors+r.Warnings > 0 {
		fmt.Fprintf(w, "validation: %s, %s\n", plural(r.Errors, "error"), plural(r.Warnings, "warning"))
		for i, f := range r.Findings {
			if i == 10 {
				fmt.Fprintf(w, "  … %d more in the run report\n", len(r.Findings)-10)
				break
			}
			fmt.Fprintf(w, "  %s %s: %s page %d, %s [%s]: %s\n", f.Severity, f.Code, f.Collection, f.Page, f.SourcedID, f.Field, f.Message)
		}
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", r.Reason)
	}
}
