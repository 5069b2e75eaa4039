package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
)

func init() {
	register("reach", "reach figures for a school year from the API: national, by state, district or site", cmdReach)
	register("reach years", "the school years with reach figures", cmdReachYears)
	register("reach recompute", "ask the reach function to recompute (--full: everything, as the nightly run)", cmdReachRecompute)
}

// apiGet calls the reach API with a SigV4-signed GET, as API Gateway's IAM authorisation
// requires, and decodes the JSON answer into out. An error answer becomes an exit-1 error
// with the API's message.
func apiGet(ctx context.Context, env *app.Env, path string, q url.Values, out any) error {
	base := os.Getenv(deploy.EnvReachAPIURL)
	if base == "" {
		return usageErr("%s is not set: the reach API's URL (terraform output, or 'pthv local env')", deploy.EnvReachAPIURL)
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	creds, err := env.AWS.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "execute-api", env.AWS.Region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   api.Error `json:"error"`
			Message string    `json:"message"` // API Gateway's own errors
		}
		_ = json.Unmarshal(body, &e)
		msg := e.Error.Message
		if msg == "" {
			msg = e.Message
		}
		code := 1
		if resp.StatusCode == http.StatusBadRequest {
			code = 2 // the API found the usage wrong (a bad parameter)
		}
		return &exitError{code: code, msg: fmt.Sprintf("reach API: %d %s", resp.StatusCode, msg)}
	}
	return json.Unmarshal(body, out)
}

func cmdReach(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reach", stderr)
	year := yearFlag(fs, "")
	state := fs.String("state", "", "only this `STATE` (two-letter code)")
	by := choiceFlag(fs, "by", "", []string{"state", "district", "site"}, "group rows `BY`")
	district := districtFlag(fs, "one district's figures (GET /v1/districts/{id}/reach): its `ID`")
	format := formatFlag(fs, true)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case !validYear(*year):
		return usageErr("--year must be a school year such as 2025-2026")
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	q := url.Values{"year": {*year}}
	if *district != "" {
		var r api.DistrictResponse
		if err := apiGet(ctx, env, "/v1/districts/"+url.PathEscape(*district)+"/reach", q, &r); err != nil {
			return err
		}
		if *format == "json" {
			return writeJSON(stdout, r)
		}
		return writeRows(stdout, *format, nil, r.Sites, []reach.DistrictRow{r.District})
	}
	if *state != "" {
		q.Set("state", *state)
	}
	if *by != "" {
		q.Set("groupBy", *by)
	}
	var r api.ReachResponse
	if err := apiGet(ctx, env, "/v1/reach", q, &r); err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(stdout, r)
	}
	if *format == "text" {
		t := r.Totals
		where := "national"
		if t.State != "" {
			where = "state " + t.State
		}
		fmt.Fprintf(stdout, "PTHV reach, %s, %s\n", r.Year, where)
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		row := func(label string, v reach.Count, extra string) {
			fmt.Fprintf(tw, "  %s\t%s\t  %s\n", label, cnt(v), extra)
		}
		n := reach.CountOf
		row("sites", n(t.Sites), "schools with at least one completed home visit")
		if t.State == "" {
			row("states", n(t.States), "")
		}
		row("home visits", t.Visits, fmt.Sprintf("%s first, %s second", cnt(t.VisitsFirst), cnt(t.VisitsSecond)))
		row("educators trained", n(t.EducatorsTrained), fmt.Sprintf("%d trained to date", t.EducatorsTrainedCumulative))
		row("families visited", t.FamiliesVisited, "")
		row("students reached", t.StudentsReached, fmt.Sprintf("of %s students at the sites", cnt(t.Students)))
		row("educators visiting", n(t.EducatorsVisiting), "")
		row("schools at 10% or more", n(t.SchoolsAtThreshold), "PTHV's research threshold")
		tw.Flush()
		if len(r.States)+len(r.Districts)+len(r.Sites) > 0 {
			fmt.Fprintln(stdout)
		}
	}
	return writeRows(stdout, *format, r.States, r.Sites, r.Districts)
}

func cnt(c reach.Count) string {
	if n, ok := c.Value(); ok {
		return strconv.Itoa(n)
	}
	return "<10"
}

// writeRows prints grouped rows: in a table every group given (states, districts, sites),
// in CSV the most detailed one. Suppressed counts print as "<10".
func writeRows(w io.Writer, format string, states []reach.TotalsRow, sites []reach.SiteRow, districts []reach.DistrictRow) error {
	var tables [][][]string
	suppressed := len(districts)+len(sites) > 0
	if len(states) > 0 {
		rows := [][]string{{"state", "sites", "visits", "first", "second", "families", "students reached", "educators trained", "schools >=10%"}}
		for _, t := range states {
			rows = append(rows, []string{t.State, strconv.Itoa(t.Sites), cnt(t.Visits), cnt(t.VisitsFirst), cnt(t.VisitsSecond),
				cnt(t.FamiliesVisited), cnt(t.StudentsReached), strconv.Itoa(t.EducatorsTrained), strconv.Itoa(t.SchoolsAtThreshold)})
			suppressed = suppressed || t.Suppressed()
		}
		tables = append(tables, rows)
	}
	if len(districts) > 0 {
		rows := [][]string{{"district", "state", "sites", "visits", "first", "second", "families", "students reached", "educators trained", "schools >=10%"}}
		for _, d := range districts {
			rows = append(rows, []string{d.District, d.State, strconv.Itoa(d.Sites), cnt(d.Visits), cnt(d.VisitsFirst), cnt(d.VisitsSecond),
				cnt(d.FamiliesVisited), cnt(d.StudentsReached), strconv.Itoa(d.EducatorsTrained), strconv.Itoa(d.SchoolsAtThreshold)})
		}
		tables = append(tables, rows)
	}
	if len(sites) > 0 {
		rows := [][]string{{"school", "name", "district", "state", "visits", "first", "second", "families", "students reached", "students", "share"}}
		for _, s := range sites {
			share := "suppressed"
			if s.Share != nil {
				share = fmt.Sprintf("%.1f%%", 100**s.Share)
			}
			rows = append(rows, []string{s.School, s.Name, s.District, s.State, cnt(s.Visits), cnt(s.VisitsFirst), cnt(s.VisitsSecond),
				cnt(s.FamiliesVisited), cnt(s.StudentsReached), cnt(s.Students), share})
		}
		tables = append(tables, rows)
	}
	if len(tables) == 0 {
		return nil
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.WriteAll(tables[len(tables)-1])
		return cw.Error()
	}
	for i, rows := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for k := range rows[0] { // headers as every table of the CLI has them (newTable)
			rows[0][k] = strings.ToUpper(rows[0][k])
		}
		for _, r := range rows {
			for j, c := range r {
				if j > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, c)
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if suppressed {
		fmt.Fprintln(w, "(<10: suppressed; a second cell is suppressed where one could be worked out from a total)")
	}
	return nil
}

func cmdReachYears(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reach years", stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	var r api.YearsResponse
	if err := apiGet(ctx, env, "/v1/reach/years", nil, &r); err != nil {
		return err
	}
	for _, y := range r.Years {
		fmt.Fprintln(stdout, y)
	}
	return nil
}

func cmdReachRecompute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reach recompute", stderr)
	full := fs.Bool("full", false, "recompute every district and year, as the nightly schedule does")
	district := districtFlag(fs, "recompute this district `ID` ...")
	year := yearFlag(fs, "... for this school `YEAR`")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	ev := reachsvc.Event{Full: *full}
	switch {
	case *full && *district != "":
		return usageErr("give --full or --district with --year, not both")
	case !*full && (!pthv.ValidDistrictID(*district) || !validYear(*year)):
		return usageErr("give --full, or --district and --year")
	case !*full:
		ev.Touched = []reachsvc.DistrictYear{{District: *district, Year: *year}}
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	name := env.ReachFunction
	if name == "" {
		name = deploy.NamesFor(deploy.DefaultPrefix).Function("reach")
	}
	payload, _ := json.Marshal(ev)
	out, err := lambda.NewFromConfig(env.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", name, err)
	}
	if out.FunctionError != nil {
		return fmt.Errorf("the reach function failed: %s", out.Payload)
	}
	var res reachsvc.Result
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return err
	}
	printRecompute(stdout, res)
	return nil
}

// printRecompute says what a recomputation did: the years it rolled up, and which of them
// had a published view that changed (only those are written again).
func printRecompute(w io.Writer, res reachsvc.Result) {
	years := "no year"
	if len(res.Years) > 0 {
		years = strings.Join(res.Years, ", ")
	}
	published := "nothing: no published figure changed"
	if len(res.Published) > 0 {
		published = strings.Join(res.Published, ", ")
	}
	fmt.Fprintf(w, "recomputed %s (%s): %s read, %s written; published: %s\n",
		plural(res.DistrictYears, "district-year"), years, plural(res.ItemsRead, "item"), plural(res.ItemsWritten, "aggregate item"), published)
}
