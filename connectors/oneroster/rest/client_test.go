package rest_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pthv/reach/connectors/oneroster/rest"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/standin/oneroster"
)

// district returns a freshly generated district for version, which the test may change.
func district(t *testing.T, version string) *oneroster.District {
	t.Helper()
	d, err := oneroster.Generate(rostergen.Options{Students: 80, Seed: 3, Version: version}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type env struct {
	srv   *oneroster.Server
	http  *httptest.Server
	d     *oneroster.District
	slept []time.Duration
	mu    sync.Mutex
}

func start(t *testing.T, version string, cfg oneroster.Config) *env {
	t.Helper()
	e := &env{d: district(t, version)}
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = "client-1", "s3cr=t&+/ü"
	}
	e.srv = oneroster.New(e.d, cfg)
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	return e
}

func (e *env) config(version string) rest.Config {
	return rest.Config{Version: version, BaseURL: e.http.URL + e.srv.BasePath(), PageSize: 25,
		Credentials: rest.Credentials{ClientID: "client-1", ClientSecret: "s3cr=t&+/ü", TokenURL: e.http.URL + e.srv.TokenPath()},
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.slept = append(e.slept, d)
			e.mu.Unlock()
			return ctx.Err()
		}}
}

type result struct {
	proofs map[string]*sis.Proof
	rows   map[string][]sis.Row
	errs   map[string]error
	pages  map[string][]*sis.Page
}

func pullAll(t *testing.T, src sis.Source, q sis.Query) result {
	t.Helper()
	res := result{proofs: map[string]*sis.Proof{}, rows: map[string][]sis.Row{}, errs: map[string]error{}, pages: map[string][]*sis.Page{}}
	for _, c := range src.Collections() {
		tally := sis.NewTally(c)
		err := src.Pull(context.Background(), c, q, sis.Cursor{}, func(p *sis.Page) error {
			tally.Add(p)
			res.pages[c.Name] = append(res.pages[c.Name], p)
			for _, r := range p.Rows {
				res.rows[r.File] = append(res.rows[r.File], r)
			}
			return nil
		})
		var ce *sis.CollectionError
		if errors.As(err, &ce) {
			tally.Error = ce.Error()
			res.errs[c.Name] = err
		} else if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		p := tally.Proof
		res.proofs[c.Name] = &p
	}
	return res
}

func mustComplete(t *testing.T, res result, d *oneroster.District) {
	t.Helper()
	for name, p := range res.proofs {
		ok, why := p.Complete()
		if !ok {
			t.Errorf("%s: not complete: %s", name, why)
		}
		if want := d.Count(name); p.Unique != want {
			t.Errorf("%s: %d unique records, the server holds %d", name, p.Unique, want)
		}
	}
}

func TestFullPullOAuth2(t *testing.T) {
	for _, v := range []string{"1.2", "1.1"} {
		t.Run("OneRoster "+v+" pulls every collection completely with sort and fields", func(t *testing.T) {
			e := start(t, v, oneroster.Config{})
			c, err := rest.New(e.config(v))
			if err != nil {
				t.Fatal(err)
			}
			res := pullAll(t, c, sis.Query{})
			mustComplete(t, res, e.d)
			st := e.srv.Stats()
			if st.TokenRequests != 1 {
				t.Errorf("%d token requests, want 1", st.TokenRequests)
			}
			for _, f := range st.Fields {
				if strings.Contains(f, "demographics") || strings.Contains(f, "password") {
					t.Errorf("fields= asks for %s", f)
				}
			}
			if len(st.Fields) == 0 {
				t.Error("fields= was never sent")
			}
			if v == "1.2" && len(res.rows["roles.csv"]) == 0 {
				t.Error("1.2 users yielded no roles")
			}
			for _, r := range res.rows["users.csv"] {
				if got := r.Cells[sis.ColumnIndex(v, "users.csv", "password")]; got != "" {
					t.Fatal("a password reached the rows")
				}
				if got := r.Cells[sis.ColumnIndex(v, "users.csv", "enabledUser")]; got != "true" {
					t.Fatalf("enabledUser read as %q", got)
				}
			}
		})
	}
}

func TestPaging(t *testing.T) {
	cases := []struct {
		name     string
		faults   oneroster.Faults
		complete bool
		why      string
	}{
		{"a clamped page does not end the pull", oneroster.Faults{PageClamp: 7}, true, ""},
		{"no totals and no Link: the pull ends on an empty page", oneroster.Faults{NoTotals: true}, true, "empty page"},
		{"totals in the body are used", oneroster.Faults{BodyTotals: true}, true, "complete:"},
		{"unstable order with totals fails the proof", oneroster.Faults{UnstableOrder: true}, false, "fewer than the server's total"},
		{"unstable order without totals fails the proof", oneroster.Faults{UnstableOrder: true, NoTotals: true}, false, "duplicate"},
		{"a change mid-pull fails the proof", oneroster.Faults{ChangeCollection: "users", ChangeAfter: 2}, false, "total changed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, "1.2", oneroster.Config{})
			e.srv.SetFaults(tc.faults)
			c, err := rest.New(e.config("1.2"))
			if err != nil {
				t.Fatal(err)
			}
			res := pullAll(t, c, sis.Query{})
			p := res.proofs["users"]
			ok, why := p.Complete()
			if ok != tc.complete || !strings.Contains(why, tc.why) {
				t.Fatalf("users: complete=%v (%s), want %v containing %q; proof %+v", ok, why, tc.complete, tc.why, p)
			}
			if tc.complete {
				mustComplete(t, res, e.d)
			}
			if tc.faults.UnstableOrder && tc.faults.NoTotals && p.Duplicates == 0 {
				t.Error("no duplicates counted")
			}
		})
	}
}

func TestLinkNextIsFollowed(t *testing.T) {
	e := start(t, "1.2", oneroster.Config{})
	c, _ := rest.New(e.config("1.2"))
	res := pullAll(t, c, sis.Query{})
	mustComplete(t, res, e.d)
	pages := res.pages["users"]
	if len(pages) < 3 || pages[0].Next.Next == "" || !strings.Contains(pages[0].Next.Next, "offset=25") {
		t.Fatalf("the Link rel=next was not taken as the next page: %+v", pages[0].Next)
	}
	// Ended by the total: no extra empty page.
	if got, want := len(pages), (e.d.Count("users")+24)/25; got != want {
		t.Errorf("%d pages, want %d", got, want)
	}
}

func TestRetries(t *testing.T) {
	t.Run("429 with Retry-After seconds is waited out and the pull does not restart", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{RateLimitEvery: 3, RetryAfter: "2"})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		mustComplete(t, res, e.d)
		if e.srv.Stats().FirstPages["users"] != 1 && e.srv.Stats().FirstPages["users"] != 2 {
			t.Errorf("users' first page asked %d times", e.srv.Stats().FirstPages["users"])
		}
		retries := 0
		for _, p := range res.proofs {
			retries += p.Retries
		}
		if retries == 0 {
			t.Fatal("no retries counted")
		}
		n := 0
		for _, d := range e.slept {
			if d == 2*time.Second {
				n++
			}
		}
		if n != retries {
			t.Errorf("%d waits of Retry-After's 2s for %d retries: %v", n, retries, e.slept)
		}
	})
	t.Run("429 with Retry-After as an HTTP date", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{RateLimitEvery: 4, RetryAfter: "date"})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		mustComplete(t, res, e.d)
		for _, d := range e.slept {
			if d <= 0 || d > 2*time.Second {
				t.Errorf("waited %v for a date 1.5s ahead", d)
			}
		}
		if len(e.slept) == 0 {
			t.Error("never waited")
		}
	})
	t.Run("500 on page 2 twice is retried with backoff", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{FailCollection: "users", FailPage: 2, FailTimes: 2})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		mustComplete(t, res, e.d)
		if res.proofs["users"].Retries != 2 {
			t.Errorf("users: %d retries, want 2", res.proofs["users"].Retries)
		}
	})
	t.Run("500 on every try fails that collection after bounded tries", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{FailCollection: "users", FailPage: 2})
		cfg := e.config("1.2")
		cfg.MaxTries = 4
		c, _ := rest.New(cfg)
		res := pullAll(t, c, sis.Query{})
		var ce *sis.CollectionError
		if !errors.As(res.errs["users"], &ce) || ce.Page != 2 || ce.Status != 500 || !strings.Contains(ce.Message, "4 tries") {
			t.Fatalf("users: %v", res.errs["users"])
		}
		if ok, _ := res.proofs["users"].Complete(); ok {
			t.Error("a failed collection is complete")
		}
		if ok, _ := res.proofs["enrollments"].Complete(); !ok {
			t.Error("the other collections should still complete")
		}
	})
	t.Run("a Retry-After beyond the run's deadline fails the page instead of waiting", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{RateLimitEvery: 1, RetryAfter: "3600"})
		c, _ := rest.New(e.config("1.2"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := c.Pull(ctx, c.Collections()[0], sis.Query{}, sis.Cursor{}, func(*sis.Page) error { return nil })
		var ce *sis.CollectionError
		if !errors.As(err, &ce) || ce.Status != 429 || !strings.Contains(ce.Message, "time budget") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestStatusesThatAreNotRetried(t *testing.T) {
	t.Run("403 fails that collection only, with a clear message", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{Forbidden: []string{"enrollments"}})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		var ce *sis.CollectionError
		if !errors.As(res.errs["enrollments"], &ce) || ce.Status != 403 || !strings.Contains(ce.Message, "scope") {
			t.Fatalf("enrollments: %v", res.errs["enrollments"])
		}
		if e.srv.Stats().ByCollection["enrollments"] != 1 {
			t.Errorf("a 403 was retried: %d requests", e.srv.Stats().ByCollection["enrollments"])
		}
		if ok, _ := res.proofs["users"].Complete(); !ok {
			t.Error("users should complete")
		}
	})
	t.Run("400 to fields= is asked again once without fields and sort", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{RejectFields: true, VendorErrors: true})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		mustComplete(t, res, e.d)
		if n := e.srv.Stats().Status[400]; n != len(c.Collections()) {
			t.Errorf("%d answers of 400, want one per collection", n)
		}
		if !strings.Contains(strings.Join(res.pages["users"][0].Notes, " "), "invalid_selection_field") {
			t.Errorf("the vendor's error code is not in the note: %v", res.pages["users"][0].Notes)
		}
	})
	t.Run("404 for a wrong base URL", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		cfg := e.config("1.2")
		cfg.BaseURL = e.http.URL + "/wrong/ims/oneroster/rostering/v1p2"
		c, _ := rest.New(cfg)
		err := c.Pull(context.Background(), c.Collections()[0], sis.Query{}, sis.Cursor{}, func(*sis.Page) error { return nil })
		var ce *sis.CollectionError
		if !errors.As(err, &ce) || ce.Status != 404 || e.srv.Stats().Requests != 0 && e.srv.Stats().Status[404] != 1 {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOAuth2(t *testing.T) {
	t.Run("a token that expires mid-pull is refreshed once and the page retried", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{ExpireTokensAfter: 5})
		c, _ := rest.New(e.config("1.2"))
		res := pullAll(t, c, sis.Query{})
		mustComplete(t, res, e.d)
		if st := e.srv.Stats(); st.TokenRequests < 2 || st.Status[401] != st.TokenRequests-1 {
			t.Errorf("%d token requests for %d 401s", st.TokenRequests, st.Status[401])
		}
	})
	t.Run("a token is refreshed before expires_in runs out", func(t *testing.T) {
		now := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e := start(t, "1.2", oneroster.Config{TokenTTL: 600 * time.Second, Now: clock})
		cfg := e.config("1.2")
		cfg.Now = clock
		c, _ := rest.New(cfg)
		col := c.Collections()[4]
		err := c.Pull(context.Background(), col, sis.Query{}, sis.Cursor{}, func(p *sis.Page) error {
			mu.Lock()
			now = now.Add(100 * time.Second) // each page takes 100s: the 600s token lives 5
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := e.srv.Stats(); st.Status[401] != 0 || st.TokenRequests < 2 {
			t.Errorf("%d 401s and %d token requests: the token was not refreshed ahead", st.Status[401], st.TokenRequests)
		}
	})
	t.Run("client authentication in the body, and no scope for a server that refuses scopes", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{RejectScopes: true})
		cfg := e.config("1.2")
		cfg.Credentials.ClientAuth, cfg.Credentials.Scopes = "body", []string{}
		c, _ := rest.New(cfg)
		mustComplete(t, pullAll(t, c, sis.Query{}), e.d)
	})
	t.Run("a server that requires a scope refuses an empty one: the run fails with the reason", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{RequireScope: true})
		cfg := e.config("1.2")
		cfg.Credentials.Scopes = []string{}
		c, _ := rest.New(cfg)
		err := c.Pull(context.Background(), c.Collections()[0], sis.Query{}, sis.Cursor{}, func(*sis.Page) error { return nil })
		var ce *sis.CollectionError
		if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), "s3cr") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the demographics scope is never asked for", func(t *testing.T) {
		cfg := rest.Config{Version: "1.2", BaseURL: "https://sis.example/ims/oneroster/rostering/v1p2", Credentials: rest.Credentials{
			ClientID: "a", ClientSecret: "b", TokenURL: "https://sis.example/token",
			Scopes: []string{"https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly"}}}
		if _, err := rest.New(cfg); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("sticky sessions: the cookie set with the token is sent back", func(t *testing.T) {
		e := start(t, "1.2", oneroster.Config{})
		e.srv.SetFaults(oneroster.Faults{StickyCookie: true})
		c, _ := rest.New(e.config("1.2"))
		mustComplete(t, pullAll(t, c, sis.Query{}), e.d)
		if e.srv.Stats().Status[401] != 0 {
			t.Error("the session cookie was not kept")
		}
	})
}

func TestOAuth1(t *testing.T) {
	for _, m := range []string{"", "HMAC-SHA1"} {
		t.Run("1.1 signed with "+m+" including a filter with = and quotes", func(t *testing.T) {
			e := start(t, "1.1", oneroster.Config{})
			cfg := e.config("1.1")
			cfg.Credentials = rest.Credentials{Kind: rest.AuthOAuth1, ClientID: "client-1", ClientSecret: "s3cr=t&+/ü", SignatureMethod: m}
			c, err := rest.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			mustComplete(t, pullAll(t, c, sis.Query{}), e.d)
			// A delta: the filter value holds > and quotes; it must be in the signature.
			at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			ids := e.d.IDs("users")
			if err := e.d.Update("users", ids[3], "givenName", "Zoë", at); err != nil {
				t.Fatal(err)
			}
			if err := e.d.MarkDeleted("users", ids[5], at); err != nil {
				t.Fatal(err)
			}
			e.srv.SetFaults(oneroster.Faults{LegacyInactive: true})
			res := pullAll(t, c, sis.Query{Since: at.Add(-time.Hour)})
			if got := len(res.rows["users.csv"]); got != 2 {
				t.Fatalf("delta: %d users, want 2", got)
			}
			st := sis.ColumnIndex("1.1", "users.csv", "status")
			var deleted int
			for _, r := range res.rows["users.csv"] {
				if r.Cells[st] == "tobedeleted" {
					deleted++
				}
			}
			if deleted != 1 {
				t.Errorf("1.1 'inactive' was not read as tobedeleted")
			}
			if f := e.srv.Stats().Filters; len(f) == 0 || !strings.HasPrefix(f[0], "dateLastModified>'2026-11-19T23:00:00") {
				t.Errorf("filters sent: %v", f)
			}
		})
	}
	t.Run("a wrong secret is refused and not retried", func(t *testing.T) {
		e := start(t, "1.1", oneroster.Config{})
		cfg := e.config("1.1")
		cfg.Credentials = rest.Credentials{Kind: rest.AuthOAuth1, ClientID: "client-1", ClientSecret: "wrong"}
		c, _ := rest.New(cfg)
		err := c.Pull(context.Background(), c.Collections()[0], sis.Query{}, sis.Cursor{}, func(*sis.Page) error { return nil })
		var ce *sis.CollectionError
		if !errors.As(err, &ce) || ce.Status != 401 || e.srv.Stats().Requests != 1 {
			t.Fatalf("got %v after %d requests", err, e.srv.Stats().Requests)
		}
	})
}

func TestRateCap(t *testing.T) {
	e := start(t, "1.2", oneroster.Config{})
	cfg := e.config("1.2")
	cfg.RatePerMinute = 1200
	c, _ := rest.New(cfg)
	mustComplete(t, pullAll(t, c, sis.Query{}), e.d)
	var total time.Duration
	for _, d := range e.slept {
		total += d
	}
	reqs := e.srv.Stats().Requests
	// Requests started back to back must be spaced 50ms apart: all but the first waited
	// (up to the time the requests themselves took).
	if floor := time.Duration(reqs-1) * 50 * time.Millisecond; total < floor/2 {
		t.Errorf("waited %v for %d requests under 1200/min, floor %v", total, reqs, floor)
	}
}
