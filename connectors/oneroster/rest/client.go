// Package rest pulls a district's roster from a OneRoster REST server (1.1 or 1.2) and yields
// it as rows of a OneRoster CSV package (internal/sis), for the sync frame (internal/sissync)
// to validate and import through the one import pipeline.
//
// What it does against the failure modes real syncs meet (../shared/sis/RULES.md):
//   - Paging never stops on a short page: the offset advances by the records received, and a
//     collection ends on an empty page, when the offset reaches X-Total-Count (or a total in
//     the body), or follows Link rel="next" when the server sends one; none is required.
//   - sort=sourcedId and fields= are asked for (so demographics never cross the wire); a 400
//     to them is answered by asking once more without them.
//   - OAuth 2.0 client credentials (Basic or body client authentication, configurable and
//     possibly empty scopes, extra parameters; the token is refreshed before expires_in runs
//     out, and a 401 refreshes it once and retries the page) or OAuth 1.0a two-legged HMAC
//     signing (HMAC-SHA256 or HMAC-SHA1, every query parameter in the base string, RFC 3986
//     encoding, a nonce per request). One cookie jar per client (sticky sessions).
//   - 429 and 5xx are retried with exponential backoff and full jitter, honouring Retry-After
//     (seconds or an HTTP date), at most MaxTries per page and within the run's deadline;
//     400, 403 and 404 are not retried: they fail that collection (sis.CollectionError).
//   - Requests in flight and requests per minute are capped.
//   - Responses are decoded leniently; validation is the import pipeline's.
package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/sis"
)

// Config is one connection's client settings.
type Config struct {
	// Version is "1.1" or "1.2".
	Version string
	// BaseURL is stored whole, vendor prefix included: collections are BaseURL + "/users".
	BaseURL string
	// PageSize is the limit asked for (default 1000; servers may clamp it).
	PageSize    int
	Credentials Credentials
	// Concurrency caps requests in flight (default 1); RatePerMinute caps requests started per
	// minute (0 = no cap).
	Concurrency   int
	RatePerMinute int
	// MaxTries bounds the tries of one page (default 6).
	MaxTries int
	// MaxBackoff caps one backoff wait (default 60s); a Retry-After longer than the time left
	// before the context's deadline fails the page instead.
	MaxBackoff time.Duration
	// NoFields and NoSort leave out fields= and sort= (servers that refuse them).
	NoFields bool
	NoSort   bool
	// HTTP is the transport (default: a client with a 60s timeout); a cookie jar is added.
	HTTP *http.Client
	Log  *slog.Logger
	// Now, Sleep and Jitter are for tests.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(max time.Duration) time.Duration
}

// Client is a OneRoster REST source. It is safe for concurrent pulls of different collections.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	auth authorizer
	sem  chan struct{}
	mu   sync.Mutex
	slot time.Time // when the next request may start under the rate cap
	log  *slog.Logger
}

// New checks cfg and returns a client with its own cookie jar.
func New(cfg Config) (*Client, error) {
	if cfg.Version != "1.1" && cfg.Version != "1.2" {
		return nil, fmt.Errorf("OneRoster version must be 1.1 or 1.2, not %q", cfg.Version)
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("base URL must be an absolute http(s) URL")
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("base URL must not carry a query or fragment")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 6
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if cfg.HTTP != nil {
		c := *cfg.HTTP
		hc = &c
	}
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	c := &Client{cfg: cfg, base: base, http: hc, sem: make(chan struct{}, cfg.Concurrency), log: cfg.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	cr := cfg.Credentials
	if cr.ClientID == "" || cr.ClientSecret == "" {
		return nil, fmt.Errorf("the connection needs a client id and secret")
	}
	switch cr.Kind {
	case AuthOAuth1:
		if cfg.Version != "1.1" {
			return nil, fmt.Errorf("OAuth 1.0a signing is OneRoster 1.1's; 1.2 uses OAuth 2.0")
		}
		if m := strings.ToUpper(cr.SignatureMethod); m != "" && m != "HMAC-SHA256" && m != "HMAC-SHA1" {
			return nil, fmt.Errorf("signature method must be HMAC-SHA256 or HMAC-SHA1")
		}
		c.auth = &oauth1{cred: cr, now: cfg.Now, nonce: newNonce}
	case AuthOAuth2, "":
		if u, err := url.Parse(cr.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("OAuth 2.0 needs an absolute token URL")
		}
		if cr.ClientAuth != "" && cr.ClientAuth != "basic" && cr.ClientAuth != "body" {
			return nil, fmt.Errorf("client authentication must be basic or body")
		}
		scopes := cr.Scopes
		if scopes == nil {
			scopes = []string{DefaultScope(cfg.Version)}
		}
		for _, s := range scopes {
			if strings.Contains(s, "demographics") {
				return nil, fmt.Errorf("the demographics scope is never asked for")
			}
		}
		c.auth = &oauth2{cred: cr, scopes: scopes, http: hc, now: cfg.Now}
	default:
		return nil, fmt.Errorf("auth kind must be oauth2 or oauth1")
	}
	return c, nil
}

// Layout implements sis.Source: rows are in the CSV layout of the server's version.
func (c *Client) Layout() string { return c.cfg.Version }

// Collections implements sis.Source: the collections the import pipeline reads, in read order.
func (c *Client) Collections() []sis.Collection {
	users := []string{"users.csv"}
	if c.cfg.Version == "1.2" {
		users = append(users, "roles.csv")
	}
	return []sis.Collection{
		{Name: "orgs", Files: []string{"orgs.csv"}},
		{Name: "academicSessions", Files: []string{"academicSessions.csv"}},
		{Name: "courses", Files: []string{"courses.csv"}},
		{Name: "classes", Files: []string{"classes.csv"}},
		{Name: "users", Files: users},
		{Name: "enrollments", Files: []string{"enrollments.csv"}},
	}
}

// fields are what the service keeps of each collection: nothing else is asked for.
func (c *Client) fields(coll string) string {
	common := "sourcedId,status,dateLastModified,"
	switch coll {
	case "orgs":
		return common + "name,type,identifier,parent"
	case "academicSessions":
		return common + "title,type,startDate,endDate,parent,schoolYear"
	case "courses":
		return common + "schoolYear,title,courseCode,grades,org"
	case "classes":
		return common + "title,grades,course,classCode,classType,school,terms"
	case "users":
		if c.cfg.Version == "1.1" {
			return common + "enabledUser,orgs,role,username,givenName,familyName,identifier,email,sms,phone,agents,grades"
		}
		return common + "enabledUser,username,givenName,familyName,identifier,email,sms,phone,agents,grades,primaryOrg,roles"
	case "enrollments":
		return common + "class,school,user,role,primary,beginDate,endDate"
	}
	return ""
}

// Pull implements sis.Source.
func (c *Client) Pull(ctx context.Context, coll sis.Collection, q sis.Query, from sis.Cursor, page func(*sis.Page) error) error {
	cur := from
	noFields, noSort := c.cfg.NoFields, c.cfg.NoSort
	for {
		u := c.pageURL(coll.Name, cur, q, noFields, noSort)
		p := &sis.Page{Collection: coll.Name, Number: cur.Page + 1, Offset: cur.Offset, Total: -1}
		res, err := c.get(ctx, coll.Name, p, u)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusBadRequest && (!noFields || !noSort) {
			noFields, noSort = true, true
			p.Notes = append(p.Notes, "the server refused fields= or sort= (HTTP 400"+se.desc+"); asked again without them")
			c.log.Warn("server refused fields or sort; retrying without", "collection", coll.Name, "page", p.Number)
			if res, err = c.get(ctx, coll.Name, p, c.pageURL(coll.Name, cur, q, true, true)); err == nil {
				res.notes = append(res.notes, p.Notes...)
			}
		}
		if err != nil {
			return c.collectionErr(coll.Name, p.Number, err)
		}
		env, err := decodeEnvelope(res.body, coll.Name)
		if err != nil {
			return &sis.CollectionError{Collection: coll.Name, Page: p.Number, Status: res.status, Message: err.Error()}
		}
		if t := res.header.Get("X-Total-Count"); t != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(t)); err == nil && n >= 0 {
				p.Total = n
			}
		} else if env.total >= 0 {
			p.Total = env.total
		}
		p.Revision = res.header.Get("X-Perm-Rev")
		p.Notes = append(p.Notes, res.notes...)
		p.Received = len(env.records)
		for _, raw := range env.records {
			rs, err := rows(c.cfg.Version, coll.Name, raw)
			if err != nil {
				cols := sis.Columns(c.cfg.Version, coll.Files[0])
				rs = []sis.Row{{File: coll.Files[0], Cells: make([]string, len(cols))}}
				p.Notes = append(p.Notes, err.Error())
			}
			p.Rows = append(p.Rows, rs...)
		}
		next := sis.Cursor{Offset: cur.Offset + len(env.records), Page: p.Number}
		if link := nextLink(res.header.Values("Link"), u); link != "" {
			if c.sameOrigin(link) {
				next.Next = link
			} else {
				p.Notes = append(p.Notes, "a Link rel=next to another origin was not followed")
			}
		}
		p.Next = next
		p.Done = len(env.records) == 0 || (p.Total >= 0 && next.Offset >= p.Total)
		if err := page(p); err != nil {
			return err
		}
		if p.Done {
			return nil
		}
		cur = next
	}
}

func (c *Client) collectionErr(coll string, page int, err error) error {
	var se *statusError
	var ae *authError
	switch {
	case errors.As(err, &se):
		msg := "the server answered HTTP " + strconv.Itoa(se.status) + se.desc
		switch se.status {
		case http.StatusForbidden:
			msg = "403 forbidden: the connection may not read " + coll + " (a scope the district did not grant?)" + se.desc
		case http.StatusNotFound:
			msg = "404 not found: the server has no " + coll + " collection at this base URL" + se.desc
		case http.StatusUnauthorized:
			msg = "401 unauthorized after a fresh token (or a signature the server refused)" + se.desc
		}
		if se.exhausted {
			msg = se.reason + "; last answer HTTP " + strconv.Itoa(se.status) + se.desc
		}
		return &sis.CollectionError{Collection: coll, Page: page, Status: se.status, Message: msg}
	case errors.As(err, &ae):
		return fmt.Errorf("authentication failed: %s (HTTP %d)", ae.msg, ae.status)
	case isCtxErr(err):
		return err
	}
	return &sis.CollectionError{Collection: coll, Page: page, Message: err.Error()}
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) pageURL(coll string, cur sis.Cursor, q sis.Query, noFields, noSort bool) *url.URL {
	if cur.Next != "" {
		if u, err := url.Parse(cur.Next); err == nil {
			return u
		}
	}
	params := [][2]string{{"limit", strconv.Itoa(c.cfg.PageSize)}, {"offset", strconv.Itoa(cur.Offset)}}
	if !noSort {
		params = append(params, [2]string{"sort", "sourcedId"}, [2]string{"orderBy", "asc"})
	}
	if !noFields {
		params = append(params, [2]string{"fields", c.fields(coll)})
	}
	if !q.Since.IsZero() {
		params = append(params, [2]string{"filter", "dateLastModified>'" + q.Since.UTC().Format("2006-01-02T15:04:05.000Z") + "'"})
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = Encode(p[0]) + "=" + Encode(p[1])
	}
	u := *c.base
	u.Path = c.base.Path + "/" + coll
	u.RawPath = ""
	u.RawQuery = strings.Join(parts, "&")
	return &u
}

func (c *Client) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	return err == nil && strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// nextLink returns the rel="next" target of RFC 8288 Link headers, resolved against the
// request URL, or "".
func nextLink(values []string, req *url.URL) string {
	for _, v := range values {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 {
				continue
			}
			target, params := part[1:end], part[end+1:]
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						if u, err := req.Parse(target); err == nil {
							return u.String()
						}
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header at the commas between link-values (not inside <…>).
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
	notes  []string
}

// statusError is an HTTP answer that is not a success.
type statusError struct {
	status    int
	desc      string
	exhausted bool
	reason    string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d%s", e.status, e.desc) }

// get fetches u with retries, counting requests, retries, bytes and waiting time into p.
func (c *Client) get(ctx context.Context, coll string, p *sis.Page, u *url.URL) (*response, error) {
	start := c.cfg.Now()
	defer func() { p.WaitMS += c.cfg.Now().Sub(start).Milliseconds() }()
	refreshed := false
	var last *statusError
	for try := 1; ; try++ {
		if try > c.cfg.MaxTries {
			last.exhausted, last.reason = true, fmt.Sprintf("gave up after %d tries", c.cfg.MaxTries)
			return nil, last
		}
		if try > 1 {
			p.Retries++
		}
		res, retryAfter, err := c.once(ctx, p, u)
		if err == nil {
			return res, nil
		}
		var se *statusError
		if !errors.As(err, &se) {
			if isCtxErr(err) || errors.As(err, new(*authError)) {
				return nil, err
			}
			// A network error: retried like a 5xx.
			se = &statusError{desc: " (" + err.Error() + ")"}
		}
		last = se
		switch {
		case se.status == http.StatusUnauthorized && !refreshed && c.auth.refresh():
			refreshed = true
			c.log.Info("401: token refreshed, page retried", "collection", coll, "page", p.Number)
			continue
		case se.status == http.StatusTooManyRequests || se.status >= 500 || se.status == 0:
		default:
			return nil, se
		}
		wait := c.backoff(try)
		if retryAfter >= 0 {
			wait = retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && c.cfg.Now().Add(wait).After(dl) {
			se.exhausted, se.reason = true, "the run's time budget ends before the server's Retry-After or the next backoff"
			return nil, se
		}
		c.log.Info("page retried", "collection", coll, "page", p.Number, "status", se.status, "try", try, "waitMs", wait.Milliseconds())
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is full jitter over an exponential ceiling: 0.5s, 1s, 2s … capped at MaxBackoff.
func (c *Client) backoff(try int) time.Duration {
	ceil := min(c.cfg.MaxBackoff, 500*time.Millisecond<<min(try-1, 16))
	return ceil/2 + c.cfg.Jitter(ceil/2)
}

// once makes one request. retryAfter is -1 unless the answer carried Retry-After.
func (c *Client) once(ctx context.Context, p *sis.Page, u *url.URL) (*response, time.Duration, error) {
	if err := c.waitSlot(ctx); err != nil {
		return nil, -1, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, -1, ctx.Err()
	}
	defer func() { <-c.sem }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("Accept", "application/json")
	if err := c.auth.authorize(ctx, req); err != nil {
		return nil, -1, err
	}
	p.Requests++
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, -1, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	p.Bytes += int64(len(body))
	if err != nil {
		return nil, -1, err
	}
	if resp.StatusCode == http.StatusOK {
		return &response{status: resp.StatusCode, header: resp.Header, body: body}, -1, nil
	}
	return nil, retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()), &statusError{status: resp.StatusCode, desc: describe(body)}
}

// retryAfter reads Retry-After as seconds or an HTTP date; -1 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return -1
}

// waitSlot waits for the rate cap's next slot.
func (c *Client) waitSlot(ctx context.Context) error {
	if c.cfg.RatePerMinute <= 0 {
		return nil
	}
	interval := time.Minute / time.Duration(c.cfg.RatePerMinute)
	c.mu.Lock()
	now := c.cfg.Now()
	at := c.slot
	if at.Before(now) {
		at = now
	}
	c.slot = at.Add(interval)
	c.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return c.cfg.Sleep(ctx, d)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TokenRequests is how many token requests the client made (OAuth 2.0), for the run's stats.
func (c *Client) TokenRequests() int {
	if o, ok := c.auth.(*oauth2); ok {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.requests
	}
	return 0
}

var _ sis.Source = (*Client)(nil)
