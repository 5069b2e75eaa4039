package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reachsvc"
)

func init() {
	register("reach dashboard", "print (or --open) a link to the staff dashboard, signed with your AWS credentials", cmdReachDashboard)
}

// maxLinkLife bounds --expires: the link is a bearer credential, meant for minutes.
const maxLinkLife = 12 * time.Hour

var assumedRoleRE = regexp.MustCompile(`^arn:aws[a-z-]*:sts::\d+:assumed-role/([^/]+)/`)

func cmdReachDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reach dashboard", stderr)
	base := fs.String("url", os.Getenv(dashboard.EnvURL), "the dashboard's address (default $"+dashboard.EnvURL+": terraform output dashboard_url, or 'pthv local env')")
	district := fs.String("district", "", "a district's own view (default: the district of your role, when it is a district role; otherwise the national view)")
	years := fs.String("years", "", "comma-separated school years (default: every published year)")
	expires := fs.Duration("expires", 15*time.Minute, "how long the link works (at most 12h, and no longer than your credentials)")
	open := fs.Bool("open", false, "open the link in the default browser")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *base == "":
		return usageErr("--url or %s is needed: the dashboard's address (terraform output dashboard_url, or 'pthv local env')", dashboard.EnvURL)
	case *expires < time.Minute || *expires > maxLinkLife:
		return usageErr("--expires must be between 1m and %v", maxLinkLife)
	case *district != "" && !pthv.ValidDistrictID(*district):
		return usageErr("--district %q is not a district id", *district)
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	who := dashboard.Staff{District: *district}
	// Who is asking: a district role gets its own view by default.
	prefix := os.Getenv(deploy.EnvRolePrefix)
	if prefix == "" {
		prefix = deploy.DefaultPrefix
	}
	if id, err := sts.NewFromConfig(env.AWS).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		if m := assumedRoleRE.FindStringSubmatch(aws.ToString(id.Arn)); m != nil {
			if own, ok := strings.CutPrefix(m[1], prefix+"-district-"); ok {
				if who.District != "" && who.District != own {
					fmt.Fprintf(stderr, "note: your role is district %s's; the view of %s will be refused\n", own, who.District)
				} else {
					who.District = own
				}
			}
		}
	}
	var ys []string
	if *years != "" {
		for _, y := range strings.Split(*years, ",") {
			if y = strings.TrimSpace(y); !validYear(y) {
				return usageErr("--years: %q is not a school year such as 2025-2026", y)
			}
			ys = append(ys, y)
		}
	} else if ys, err = publishedYears(ctx, *base); err != nil {
		return err
	}
	if len(ys) == 0 {
		return &exitError{code: 1, msg: "no reach figures are published yet (pthv reach recompute --full publishes them)"}
	}
	presigner := s3.NewPresignClient(s3.NewFromConfig(env.AWS, blob.Options(env.AWS)), s3.WithPresignExpires(*expires))
	var views []dashboard.View
	for _, y := range ys {
		key := reachsvc.PublishedKey(y)
		if who.District != "" {
			key = reachsvc.PublishedDistrictKey(who.District, y)
		}
		req, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(env.Names.ReportsBucket), Key: aws.String(key)})
		if err != nil {
			return fmt.Errorf("presign %s: %w", key, err)
		}
		views = append(views, dashboard.View{Year: y, Key: key, URL: req.URL})
	}
	who.Expires = time.Now().Add(*expires).Truncate(time.Second)
	link, err := dashboard.StaffLink(*base, who, views)
	if err != nil {
		return usageErr("%v", err)
	}
	scope := "national staff"
	if who.District != "" {
		scope = "district " + who.District
	}
	fmt.Fprintf(stderr, "staff dashboard for %s, %s; the link works until %s:\n", scope, strings.Join(ys, ", "), who.Expires.UTC().Format(time.RFC3339))
	fmt.Fprintln(stdout, link)
	if *open {
		return openBrowser(link)
	}
	return nil
}

// publishedYears reads the dashboard's public list of years.
func publishedYears(ctx context.Context, base string) ([]string, error) {
	u := strings.TrimSuffix(base, "/") + "/reach/years.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, usageErr("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the list of years: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("the list of years at %s: %s (is anything published? pthv reach recompute --full)", u, resp.Status)}
	}
	var yf reachsvc.YearsFile
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&yf); err != nil {
		return nil, fmt.Errorf("the list of years at %s: %w", u, err)
	}
	ys := slices.DeleteFunc(yf.Years, func(y string) bool { return !validYear(y) })
	return ys, nil
}

func openBrowser(link string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return &exitError{code: 1, msg: "no " + name + " to open a browser with: open the link above yourself"}
	}
	return exec.Command(path, link).Start()
}

// printDashboard prints the dashboard's local address from the stack's env file.
func printDashboard(w io.Writer, envFile string) {
	b, _ := os.ReadFile(envFile)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "export "+dashboard.EnvURL+"="); ok {
			u := strings.Trim(v, "'")
			fmt.Fprintf(w, "dashboard: %s/ (public); staff page: pthv reach dashboard\n", u)
		}
	}
}
