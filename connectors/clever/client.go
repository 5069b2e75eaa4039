package clever

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Clever's v3.0 API.
const DefaultBaseURL = "https://api.clever.com/v3.0"

// MaxLimit is the largest page size Clever accepts; a larger limit answers 413.
const MaxLimit = 10_000

// DefaultRequestsPerMinute is Clever's rate limit per token: a fixed window that resets
// every minute.
const DefaultRequestsPerMinute = 1200

// ErrRevoked is returned (wrapped) when Clever answers 401: the district-app token was
// revoked or the district unshared the app. The run fails and is not retried.
var ErrRevoked = errors.New("clever: 401 Unauthorized: the district-app token was revoked or the district unshared the app; the run fails and is not retried (ask the district to share the app again, then store the new token)")

// Options configure a Client. Only Token is required.
type Options struct {
	// BaseURL is the API root, DefaultBaseURL when empty. Next links must stay under it.
	BaseURL string
	// Token is the district-app bearer token. It is sent only in the Authorization
	// header and never logged.
	Token string
	// HTTPClient is the client to use; a client with a 60 s timeout when nil.
	HTTPClient *http.Client
	// Limit is the page size, 1 to MaxLimit; MaxLimit when 0.
	Limit int
	// RequestsPerMinute caps requests in each fixed one-minute window on this client;
	// DefaultRequestsPerMinute when 0, no cap when negative. The server's
	// X-RateLimit-Remaining and X-RateLimit-Reset are honoured as well.
	RequestsPerMinute int
	// MaxTries bounds the attempts at one page on 500, 502, 503, 504 and transport
	// errors; 5 when 0.
	MaxTries int
	// MaxRateWaits bounds the 429 answers accepted for one page; 20 when 0.
	MaxRateWaits int
	// MaxWait caps one wait for a rate-limit reset; 90 s when 0. A reset further away
	// fails the page instead of sleeping on.
	MaxWait time.Duration
	// Backoff is the first retry delay after a 5xx, doubled on each try with jitter and
	// capped at 30 s; 500 ms when 0.
	Backoff time.Duration
	// MaxPageBytes bounds a response body; 256 MiB when 0.
	MaxPageBytes int64
	// Logger receives one line per decision (retries, waits, failures); slog.Default
	// when nil. Lines carry collection, page, status and Clever ids, never the token or a
	// record's contents.
	Logger *slog.Logger
	// Now and Sleep replace the clock in tests; time.Now and a context-aware sleep when nil.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one district's Clever API with one token.
type Client struct {
	opt  Options
	base *url.URL
	hc   *http.Client
	log  *slog.Logger

	mu          sync.Mutex
	windowStart time.Time
	windowCount int
	blockedTill time.Time // from X-RateLimit-Remaining: 0
	started     time.Time // the server's Date on the first answer
}

// New checks opt and returns a Client.
func New(opt Options) (*Client, error) {
	if opt.Token == "" {
		return nil, errors.New("clever: a district-app token is required")
	}
	if opt.BaseURL == "" {
		opt.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(opt.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("clever: base URL must be an absolute http(s) URL without a query")
	}
	switch {
	case opt.Limit == 0:
		opt.Limit = MaxLimit
	case opt.Limit < 1 || opt.Limit > MaxLimit:
		return nil, fmt.Errorf("clever: limit must be 1 to %d (Clever answers 413 above), got %d", MaxLimit, opt.Limit)
	}
	if opt.RequestsPerMinute == 0 {
		opt.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if opt.MaxTries <= 0 {
		opt.MaxTries = 5
	}
	if opt.MaxRateWaits <= 0 {
		opt.MaxRateWaits = 20
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 90 * time.Second
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.MaxPageBytes <= 0 {
		opt.MaxPageBytes = 256 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	lg := opt.Logger
	if lg == nil {
		lg = slog.Default()
	}
	return &Client{opt: opt, base: base, hc: hc, log: lg.With("provider", "clever")}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Counters are what a client did on the wire.
type Counters struct {
	Requests    int           `json:"requests"`
	Retries     int           `json:"retries"`     // repeated after a 5xx or transport error
	RateLimited int           `json:"rateLimited"` // 429 answers
	Bytes       int64         `json:"bytes"`       // response bytes received, before stripping
	Waited      time.Duration `json:"waitedNs"`    // time spent waiting on rate limits and backoff
}

func (c *Counters) add(o Counters) {
	c.Requests += o.Requests
	c.Retries += o.Retries
	c.RateLimited += o.RateLimited
	c.Bytes += o.Bytes
	c.Waited += o.Waited
}

// httpError is a non-2xx answer that is not retried (or whose retries ran out).
type httpError struct {
	Status int
	Path   string
	Msg    string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("clever: %s answered %d %s: %s", e.Path, e.Status, http.StatusText(e.Status), e.Msg)
}

// get fetches uri (a path and query under the base host) with retries and rate limiting.
func (c *Client) get(ctx context.Context, uri string, logAttrs []any, cnt *Counters) ([]byte, error) {
	u := *c.base
	pq, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("clever: bad request URI: %w", err)
	}
	u.Path, u.RawPath, u.RawQuery = pq.Path, pq.RawPath, pq.RawQuery
	tries, waits := 0, 0
	for {
		if err := c.pace(ctx, cnt); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("clever: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+c.opt.Token)
		req.Header.Set("Accept", "application/json")
		cnt.Requests++
		tries++
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if tries >= c.opt.MaxTries {
				return nil, fmt.Errorf("clever: %s: no answer after %d tries: %s", pq.Path, tries, transportErr(err))
			}
			if err := c.backoff(ctx, tries, cnt, append(logAttrs, "status", 0)); err != nil {
				return nil, err
			}
			continue
		}
		body, rerr := c.readBody(resp)
		cnt.Bytes += int64(len(body))
		c.noteHeaders(resp)
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300 && rerr == nil:
			return body, nil
		case code >= 200 && code < 300:
			if tries >= c.opt.MaxTries || errors.Is(rerr, errTooLarge) {
				return nil, fmt.Errorf("clever: %s: %w", pq.Path, rerr)
			}
			if err := c.backoff(ctx, tries, cnt, append(logAttrs, "status", code)); err != nil {
				return nil, err
			}
		case code == http.StatusUnauthorized:
			c.log.Error("clever token refused", append(logAttrs, "status", code, "decision", "fail run")...)
			return nil, fmt.Errorf("%s: %w", pq.Path, ErrRevoked)
		case code == http.StatusTooManyRequests:
			cnt.RateLimited++
			tries-- // a 429 is not a failed try
			waits++
			if waits > c.opt.MaxRateWaits {
				return nil, &httpError{code, pq.Path, fmt.Sprintf("still rate limited after %d waits", waits-1)}
			}
			d := c.untilReset(resp)
			if d > c.opt.MaxWait {
				return nil, &httpError{code, pq.Path, fmt.Sprintf("the rate limit resets in %s, beyond the %s this run waits", d.Round(time.Second), c.opt.MaxWait)}
			}
			c.log.Info("clever rate limited", append(logAttrs, "status", code, "waitMs", d.Milliseconds(), "decision", "wait for reset")...)
			cnt.Waited += d
			if err := c.opt.Sleep(ctx, d); err != nil {
				return nil, err
			}
		case code == 500 || code == 502 || code == 503 || code == 504:
			if tries >= c.opt.MaxTries {
				return nil, &httpError{code, pq.Path, fmt.Sprintf("gave up after %d tries", tries)}
			}
			if err := c.backoff(ctx, tries, cnt, append(logAttrs, "status", code)); err != nil {
				return nil, err
			}
		case code == http.StatusRequestEntityTooLarge:
			return nil, &httpError{code, pq.Path, fmt.Sprintf("the page size (limit) is above what the server accepts (Clever's maximum is %d); not retried", MaxLimit)}
		case code == http.StatusNotFound:
			return nil, &httpError{code, pq.Path, "not found: the record or collection is unshared or deleted, or the base URL is wrong; not retried"}
		default:
			return nil, &httpError{code, pq.Path, "not retried"}
		}
	}
}

// resetMargin is added to a wait for X-RateLimit-Reset.
const resetMargin = 100 * time.Millisecond

var errTooLarge = errors.New("the response body is larger than the page limit")

func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.opt.MaxPageBytes+1))
	if err != nil {
		return b, fmt.Errorf("the response body was cut short: %s", transportErr(err))
	}
	if int64(len(b)) > c.opt.MaxPageBytes {
		return b, errTooLarge
	}
	return b, nil
}

// transportErr describes a transport error without the URL (which is ours, but keep logs
// short) .
func transportErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (c *Client) backoff(ctx context.Context, tries int, cnt *Counters, attrs []any) error {
	d := c.opt.Backoff << (tries - 1)
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	d = d/2 + rand.N(d/2+1) // jitter: half to the full delay
	cnt.Retries++
	cnt.Waited += d
	c.log.Warn("clever request failed; retrying", append(attrs, "try", tries, "waitMs", d.Milliseconds(), "decision", "retry")...)
	return c.opt.Sleep(ctx, d)
}

// pace waits, before a request, for the client's own fixed window and for a reset the
// server announced with X-RateLimit-Remaining: 0.
func (c *Client) pace(ctx context.Context, cnt *Counters) error {
	for {
		c.mu.Lock()
		now := c.opt.Now()
		var wait time.Duration
		if now.Before(c.blockedTill) {
			wait = c.blockedTill.Sub(now)
		} else if c.opt.RequestsPerMinute > 0 {
			if c.windowStart.IsZero() || now.Sub(c.windowStart) >= time.Minute {
				c.windowStart, c.windowCount = now, 0
			}
			if c.windowCount < c.opt.RequestsPerMinute {
				c.windowCount++
				c.mu.Unlock()
				return nil
			}
			wait = c.windowStart.Add(time.Minute).Sub(now)
		} else {
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		cnt.Waited += wait
		if err := c.opt.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// noteHeaders reads the rate-limit headers of any answer and the server's clock.
func (c *Client) noteHeaders(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			c.started = t
		} else {
			c.started = c.opt.Now()
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		// A reset further away than MaxWait is left to the 429 that follows, which fails
		// the page instead of sleeping on.
		if t, ok := resetTime(resp); ok && t.After(c.blockedTill) && t.Sub(c.opt.Now()) <= c.opt.MaxWait {
			c.blockedTill = t.Add(resetMargin)
		}
	}
}

func resetTime(resp *http.Response) (time.Time, bool) {
	v := strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset"))
	if v == "" {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// untilReset is how long a 429 asks us to wait: until X-RateLimit-Reset (Unix seconds),
// else Retry-After (seconds), else one second.
func (c *Client) untilReset(resp *http.Response) time.Duration {
	if t, ok := resetTime(resp); ok {
		// The header has whole seconds: wait a little past it so as not to arrive early.
		d := t.Sub(c.opt.Now())
		if d < 0 {
			d = 0
		}
		return d + resetMargin
	}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}
