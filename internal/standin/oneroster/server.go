// Package oneroster is a OneRoster REST stand-in (1.1 and 1.2 collections, OAuth 2.0 client
// credentials and OAuth 1.0a two-legged signing) over a generated district, with faults that
// can be switched on to reproduce what real servers do: clamped pages, no totals, unstable
// order, 429 with Retry-After, 500 on a page, a token that expires mid-pull, data that
// changes mid-pull, 403 on a collection, a server that refuses fields=.
//
// It is written from the specifications summarised in ../shared/sis/RULES.md (paths,
// envelopes, query parameters, filter grammar, headers, error bodies, auth), not from the
// client in connectors/oneroster/rest, so that the two can disagree. Tests and the local
// stack run it over real HTTP.
package oneroster

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is the stand-in's server side of a connection.
type Config struct {
	// Prefix goes before /ims/...: vendors put one there (e.g. "/campus/api").
	Prefix       string
	ClientID     string
	ClientSecret string
	// TokenTTL is the life of an access token (default 1h).
	TokenTTL time.Duration
	// RejectScopes answers invalid_scope to any scope (Synergy); RequireScope to none (Aeries).
	RejectScopes bool
	RequireScope bool
	// DefaultLimit is the page size without limit= (default 100, as the specification says).
	DefaultLimit int
	Now          func() time.Time
}

// Faults switch on misbehaviour. The zero value is a well-behaved server.
type Faults struct {
	// PageClamp silently caps every page at this many records.
	PageClamp int `json:"pageClamp,omitempty"`
	// NoTotals sends neither X-Total-Count nor Link headers; BodyTotals puts the total in the
	// body ("totalCount") instead of the header.
	NoTotals   bool `json:"noTotals,omitempty"`
	BodyTotals bool `json:"bodyTotals,omitempty"`
	// UnstableOrder ignores sort= and answers in an order that changes with every request.
	UnstableOrder bool `json:"unstableOrder,omitempty"`
	// RateLimitEvery answers every Nth data request with 429 and Retry-After (RetryAfter:
	// seconds, or "date" for an HTTP date one second ahead; default "1").
	RateLimitEvery int    `json:"rateLimitEvery,omitempty"`
	RetryAfter     string `json:"retryAfter,omitempty"`
	// FailCollection/FailPage answer 500 to that page (1-based, by offset/limit) FailTimes
	// times (0 = always).
	FailCollection string `json:"failCollection,omitempty"`
	FailPage       int    `json:"failPage,omitempty"`
	FailTimes      int    `json:"failTimes,omitempty"`
	// ExpireTokensAfter makes every token expire after this many data requests (mid-pull).
	ExpireTokensAfter int `json:"expireTokensAfter,omitempty"`
	// ChangeCollection gains one record after ChangeAfter requests of it (a change mid-pull).
	ChangeCollection string `json:"changeCollection,omitempty"`
	ChangeAfter      int    `json:"changeAfter,omitempty"`
	// Forbidden collections answer 403 (a scope the district did not grant).
	Forbidden []string `json:"forbidden,omitempty"`
	// RejectFields answers 400 to any fields= (and sort=) parameter.
	RejectFields bool `json:"rejectFields,omitempty"`
	// StickyCookie requires the session cookie the server set on its first answer.
	StickyCookie bool `json:"stickyCookie,omitempty"`
	// VendorErrors sends error bodies in a vendor's flat shape instead of the specification's.
	VendorErrors bool `json:"vendorErrors,omitempty"`
	// LegacyInactive writes 1.1 deletions as status "inactive".
	LegacyInactive bool `json:"legacyInactive,omitempty"`
}

// Stats count what the stand-in served.
type Stats struct {
	Requests      int            `json:"requests"`      // data requests (any answer)
	TokenRequests int            `json:"tokenRequests"` // token endpoint requests
	ByCollection  map[string]int `json:"byCollection"`
	FirstPages    map[string]int `json:"firstPages"` // requests with offset 0, per collection
	Status        map[int]int    `json:"status"`
	Bytes         int64          `json:"bytes"`
	Filters       []string       `json:"filters,omitempty"` // the last few filter= values
	Fields        []string       `json:"fields,omitempty"`  // the last few fields= values
}

// Server serves one district.
type Server struct {
	cfg    Config
	d      *District
	base   string // path of the collections
	mu     sync.Mutex
	faults Faults
	stats  Stats
	tokens map[string]token
	nonces map[string]bool
	failed int
	seq    int
}

type token struct {
	expires  time.Time
	requests int
}

// New returns a stand-in serving d under cfg.Prefix.
func New(d *District, cfg Config) *Server {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.DefaultLimit <= 0 {
		cfg.DefaultLimit = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := strings.TrimRight(cfg.Prefix, "/") + "/ims/oneroster/rostering/v1p2"
	if d.version == "1.1" {
		base = strings.TrimRight(cfg.Prefix, "/") + "/ims/oneroster/v1p1"
	}
	return &Server{cfg: cfg, d: d, base: base, tokens: map[string]token{}, nonces: map[string]bool{}, stats: newStats()}
}

func newStats() Stats {
	return Stats{ByCollection: map[string]int{}, FirstPages: map[string]int{}, Status: map[int]int{}}
}

// BasePath is the path the collections live under (the connection's base URL path).
func (s *Server) BasePath() string { return s.base }

// TokenPath is the OAuth 2.0 token endpoint's path.
func (s *Server) TokenPath() string { return strings.TrimRight(s.cfg.Prefix, "/") + "/oauth/token" }

// District returns the data served, for tests that change it.
func (s *Server) District() *District { return s.d }

// SetFaults replaces the faults and resets the fault counters.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.failed = f, 0
}

// Stats returns the counts so far; ResetStats clears them.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.ByCollection, out.FirstPages, out.Status = cloneMap(s.stats.ByCollection), cloneMap(s.stats.FirstPages), cloneMap(s.stats.Status)
	return out
}

// ResetStats clears the counts.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

func cloneMap[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ServeHTTP implements http.Handler. Besides the collections and the token endpoint it
// answers PUT /_standin/faults (a Faults JSON body) and GET /_standin/stats, for the local
// stack and the demo.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_standin/faults" && r.Method == http.MethodPut:
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, "bad faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_standin/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	case r.URL.Path == s.TokenPath():
		s.token(w, r)
	case strings.HasPrefix(r.URL.Path, s.base+"/"):
		s.collection(w, r, strings.TrimPrefix(r.URL.Path, s.base+"/"))
	default:
		s.fail(w, http.StatusNotFound, "unknownobject", "no such endpoint")
	}
}

// fail writes an imsx_StatusInfo error body (or a vendor's flat variant).
func (s *Server) fail(w http.ResponseWriter, status int, minor, desc string) {
	s.mu.Lock()
	vendor := s.faults.VendorErrors
	s.stats.Status[status]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var body any
	if vendor {
		body = map[string]any{"imsx_StatusInfo": map[string]any{"imsx_codeMajor": "failure", "imsx_severity": "error",
			"imsx_codeMinor": minor, "imsx_description": desc}}
	} else {
		body = map[string]any{"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": desc,
			"imsx_CodeMinor": map[string]any{"imsx_codeMinorField": []any{map[string]any{
				"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}}}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// token is the OAuth 2.0 client credentials endpoint (RFC 6749 4.4).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	oauthErr := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		oauthErr(http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.cfg.ClientID || secret != s.cfg.ClientSecret || id == "" {
		oauthErr(http.StatusUnauthorized, "invalid_client")
		return
	}
	scope := r.PostForm.Get("scope")
	switch {
	case scope != "" && s.cfg.RejectScopes, scope == "" && s.cfg.RequireScope:
		oauthErr(http.StatusBadRequest, "invalid_scope")
		return
	}
	for _, sc := range strings.Fields(scope) {
		if !strings.HasPrefix(sc, "https://purl.imsglobal.org/spec/or/") || strings.Contains(sc, "demographics") {
			oauthErr(http.StatusBadRequest, "invalid_scope")
			return
		}
	}
	tok := fmt.Sprintf("tok-%016x", rand.Uint64())
	s.mu.Lock()
	s.tokens[tok] = token{expires: s.cfg.Now().Add(s.cfg.TokenTTL)}
	sticky := s.faults.StickyCookie
	s.mu.Unlock()
	if sticky {
		http.SetCookie(w, &http.Cookie{Name: "AWSALB", Value: "node-7", Path: "/"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": int(s.cfg.TokenTTL / time.Second), "scope": scope})
}

// authorized checks a bearer token or an OAuth 1.0a signature.
func (s *Server) authorized(r *http.Request) (bool, string) {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "Bearer ") {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.tokens[strings.TrimPrefix(h, "Bearer ")]
		if !ok {
			return false, "unknown access token"
		}
		t.requests++
		s.tokens[strings.TrimPrefix(h, "Bearer ")] = t
		if s.cfg.Now().After(t.expires) || (s.faults.ExpireTokensAfter > 0 && t.requests > s.faults.ExpireTokensAfter) {
			return false, "the access token has expired"
		}
		return true, ""
	}
	if strings.HasPrefix(h, "OAuth ") {
		return s.verifyOAuth1(r, strings.TrimPrefix(h, "OAuth "))
	}
	return false, "no credentials"
}

// collection answers GET {base}/{collection}.
func (s *Server) collection(w http.ResponseWriter, r *http.Request, name string) {
	coll := map[string]string{"orgs": "orgs", "schools": "orgs", "academicSessions": "academicSessions", "terms": "academicSessions",
		"courses": "courses", "classes": "classes", "users": "users", "students": "users", "teachers": "users", "enrollments": "enrollments"}[name]
	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByCollection[name]++
	s.seq++
	seq, n := s.seq, s.stats.ByCollection[name]
	f := s.faults
	s.mu.Unlock()
	if coll == "" {
		s.fail(w, http.StatusNotFound, "unknownobject", "unknown collection")
		return
	}
	if ok, why := s.authorized(r); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		s.fail(w, http.StatusUnauthorized, "unauthorisedrequest", why)
		return
	}
	if f.StickyCookie {
		if c, err := r.Cookie("AWSALB"); err != nil || c.Value != "node-7" {
			http.SetCookie(w, &http.Cookie{Name: "AWSALB", Value: "node-7", Path: "/"})
			if r.Header.Get("Authorization") != "" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
				s.fail(w, http.StatusUnauthorized, "unauthorisedrequest", "session not on this node")
				return
			}
		}
	}
	if slices.Contains(f.Forbidden, name) || slices.Contains(f.Forbidden, coll) {
		s.fail(w, http.StatusForbidden, "forbidden", "the token's scope does not cover this collection")
		return
	}
	if f.RateLimitEvery > 0 && seq%f.RateLimitEvery == 0 {
		ra := f.RetryAfter
		if ra == "" {
			ra = "1"
		}
		if ra == "date" {
			ra = s.cfg.Now().Add(1500 * time.Millisecond).UTC().Format(http.TimeFormat)
		}
		w.Header().Set("Retry-After", ra)
		s.fail(w, http.StatusTooManyRequests, "server_busy", "retry at a later time")
		return
	}
	q := r.URL.Query()
	limit, offset := s.cfg.DefaultLimit, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			s.fail(w, http.StatusBadRequest, "invalid_selection_field", "limit must be a positive integer")
			return
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			s.fail(w, http.StatusBadRequest, "invalid_selection_field", "offset must be a non-negative integer")
			return
		}
	}
	if offset == 0 {
		s.mu.Lock()
		s.stats.FirstPages[name]++
		s.mu.Unlock()
	}
	if f.PageClamp > 0 && limit > f.PageClamp {
		limit = f.PageClamp
	}
	if f.FailPage > 0 && (f.FailCollection == "" || f.FailCollection == name || f.FailCollection == coll) && offset/max(limit, 1)+1 == f.FailPage {
		s.mu.Lock()
		fail := f.FailTimes == 0 || s.failed < f.FailTimes
		if fail {
			s.failed++
		}
		s.mu.Unlock()
		if fail {
			s.fail(w, http.StatusInternalServerError, "internal_server_error", "internal server error")
			return
		}
	}
	if (f.RejectFields) && (q.Has("fields") || q.Has("sort")) {
		s.fail(w, http.StatusBadRequest, "invalid_selection_field", "fields and sort are not supported")
		return
	}
	var fields []string
	if v := q.Get("fields"); v != "" {
		for _, fl := range strings.Split(v, ",") {
			fl = strings.TrimSpace(fl)
			if !validField(coll, fl) {
				s.fail(w, http.StatusBadRequest, "invalid_selection_field", "unknown field in fields=")
				return
			}
			fields = append(fields, fl)
		}
		s.note(&s.stats.Fields, v)
	}
	var filt *filter
	if v := q.Get("filter"); v != "" {
		if filt, err = parseFilter(v, coll); err != nil {
			s.fail(w, http.StatusBadRequest, "invalid_filter_field", err.Error())
			return
		}
		s.note(&s.stats.Filters, v)
	}
	if sortBy := q.Get("sort"); sortBy != "" && sortBy != "sourcedId" {
		s.fail(w, http.StatusBadRequest, "invalid_sort_field", "only sourcedId can be sorted on")
		return
	}
	desc := q.Get("orderBy") == "desc"

	if f.ChangeAfter > 0 && (f.ChangeCollection == name || f.ChangeCollection == coll) && n == f.ChangeAfter+1 {
		s.d.mu.Lock()
		c := s.d.colls[coll]
		if len(c.items) > 0 {
			s.d.addCopyLocked(coll, c.items[len(c.items)/2].id, fmt.Sprintf("%s-mid-pull-%d", c.items[len(c.items)/2].id, seq), s.cfg.Now())
		}
		s.d.mu.Unlock()
	}

	s.d.mu.RLock()
	c := s.d.colls[coll]
	all := c.items
	if filt != nil || name != coll {
		all = nil
		for _, it := range c.items {
			if (filt == nil || filt.match(s, coll, c, it)) && s.subset(name, c, it) {
				all = append(all, it)
			}
		}
	}
	order := all
	if f.UnstableOrder {
		order = slices.Clone(all)
		rng := rand.New(rand.NewPCG(uint64(seq), 7))
		// Natural order that drifts: neighbouring records swap between requests.
		for i := 0; i+1 < len(order); i += 2 {
			if rng.IntN(2) == 0 {
				order[i], order[i+1] = order[i+1], order[i]
			}
		}
	} else if desc {
		order = slices.Clone(all)
		slices.Reverse(order)
	}
	total := len(order)
	var page []map[string]any
	for i := offset; i < min(offset+limit, total); i++ {
		o := s.render(coll, c, order[i])
		if fields != nil {
			sel := map[string]any{}
			for _, k := range fields {
				if v, ok := o[k]; ok {
					sel[k] = v
				}
			}
			o = sel
		}
		page = append(page, o)
	}
	s.d.mu.RUnlock()
	if page == nil {
		page = []map[string]any{}
	}
	key := coll
	body := map[string]any{key: page}
	if !f.NoTotals {
		if f.BodyTotals {
			body["totalCount"] = total
		} else {
			w.Header().Set("X-Total-Count", strconv.Itoa(total))
			s.links(w, r, offset, limit, total)
		}
	}
	b, _ := json.Marshal(body)
	s.mu.Lock()
	s.stats.Status[http.StatusOK]++
	s.stats.Bytes += int64(len(b))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// subset keeps /schools, /terms, /students and /teachers to their kinds.
func (s *Server) subset(name string, c *collection, it *item) bool {
	switch name {
	case "schools":
		return it.fields(c.hdr)["type"] == "school"
	case "terms":
		t := it.fields(c.hdr)["type"]
		return t == "term" || t == "semester"
	case "students", "teachers":
		f := it.fields(c.hdr)
		want := strings.TrimSuffix(name, "s")
		if f["role"] == want {
			return true
		}
		for _, line := range it.roles {
			if strings.Contains(line, ","+want+",") {
				return true
			}
		}
		return false
	}
	return true
}

func (s *Server) note(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
	if len(*list) > 20 {
		*list = (*list)[len(*list)-20:]
	}
}

// links writes an RFC 8288 Link header with next, prev, first and last.
func (s *Server) links(w http.ResponseWriter, r *http.Request, offset, limit, total int) {
	at := func(off int, rel string) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(off))
		q.Set("limit", strconv.Itoa(limit))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, r.URL.Path, q.Encode(), rel)
	}
	var parts []string
	if offset+limit < total {
		parts = append(parts, at(offset+limit, "next"))
	}
	if offset > 0 {
		parts = append(parts, at(max(0, offset-limit), "prev"))
	}
	parts = append(parts, at(0, "first"), at(max(0, (total-1)/limit*limit), "last"))
	w.Header().Set("Link", strings.Join(parts, ", "))
}
