package clever

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxLimit is the largest page size Clever serves; a larger limit answers 413.
const MaxLimit = 10_000

// DefaultLimit is the page size when a request names none.
const DefaultLimit = 100

// Fail makes one page of one collection answer Status for its first Times requests.
type Fail struct {
	Collection string // districts, schools, terms, courses, sections, users, events
	Role       string // for users: the role filter ("" for any)
	Page       int    // 1-based page of the collection within one pull, counted by starting_after
	Status     int
	Times      int // how many requests fail before the page is served; 0 means every one
}

// Faults are the switchable misbehaviours. The zero value serves Clever as specified.
type Faults struct {
	// PageClamp serves at most this many records per page whatever the limit (0: off).
	PageClamp int
	// UnstableOrder serves each page's records out of id order, with the next link after
	// the last record served, as a server paging an unstable sort would.
	UnstableOrder bool
	// Fails lists pages that answer an error status (429 carries X-RateLimit-Reset one
	// second ahead; 500, 502, 503 an error body).
	Fails []Fail
	// ChangeAfter applies a change to the district (a student added, one removed from the
	// district and their sections, one renamed) once the given page has been served.
	ChangeAfter *Fail
	// Revoked answers 401 to every request after the first RevokeAfter requests.
	Revoked     bool
	RevokeAfter int
	// RepeatNext makes the next link of the given page repeat the request's own cursor.
	RepeatNext *Fail
	// ForeignNext makes the next link of the given page point to another host.
	ForeignNext *Fail
	// HTML answers every request with an HTML page and status 200, as a wrong kind of
	// token can.
	HTML bool
	// RateLimit caps requests per token in a fixed window of RateWindow (one minute when
	// zero); 0 means no limit. Clever's is 1,200 a minute.
	RateLimit  int
	RateWindow time.Duration
	// MaxLimit is the largest limit served; MaxLimit when 0. Above it: 413.
	MaxLimit int
	// AlwaysNext sends a next link on every page with records, so that the last page is
	// followed by an empty one (as some servers do).
	AlwaysNext bool
}

// Server serves one district. Create it with NewServer; it is an http.Handler.
type Server struct {
	// Prefix is the path prefix of the API, "/v3.0".
	Prefix string
	// Token is the one district-app bearer token accepted.
	Token string

	mu       sync.Mutex
	data     *Data
	faults   Faults
	requests int
	byPath   map[string]int
	fails    map[int]int // index in faults.Fails → failures served
	changed  bool
	window   time.Time
	inWindow int
	events   []*record
	seq      int
	last     Changed
	now      func() time.Time
}

// NewServer returns a stand-in serving data, accepting token.
func NewServer(data *Data, token string) *Server {
	return &Server{Prefix: "/v3.0", Token: token, data: data, byPath: map[string]int{}, fails: map[int]int{}, now: time.Now}
}

// SetFaults replaces the faults and resets the fault counters.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.fails, s.changed, s.requests = f, map[int]int{}, false, 0
}

// Requests returns how many requests were answered, in all and by path.
func (s *Server) Requests() (int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.byPath))
	for k, v := range s.byPath {
		m[k] = v
	}
	return s.requests, m
}

// Data returns the served district (do not change it while serving).
func (s *Server) Data() *Data { return s.data }

type apiError struct {
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byPath[r.URL.Path]++
	f := s.faults
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, apiError{"method not allowed"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token || (f.Revoked && s.requests > f.RevokeAfter) {
		writeJSON(w, http.StatusUnauthorized, apiError{"unauthorized"})
		return
	}
	if f.RateLimit > 0 && !s.admit(w, f) {
		return
	}
	if f.HTML {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><h1>Clever | Log in</h1></body></html>"))
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.Prefix+"/")
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"not found"})
		return
	}
	q := r.URL.Query()
	limit := DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, apiError{"limit must be a positive integer"})
			return
		}
		limit = n
	}
	maxLimit := f.MaxLimit
	if maxLimit == 0 {
		maxLimit = MaxLimit
	}
	if limit > maxLimit {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("limit must be at most %d", maxLimit)})
		return
	}
	role := q.Get("role")
	var list []*record
	switch path {
	case "districts", "schools", "terms", "courses", "sections":
		list = s.data.cols[path]
	case "users":
		switch role {
		case "":
			list = s.data.cols["users"]
		case "student", "teacher", "staff", "contact", "district_admin":
			for _, u := range s.data.cols["users"] {
				if slices.Contains(u.roles, role) {
					list = append(list, u)
				}
			}
		default:
			writeJSON(w, http.StatusBadRequest, apiError{"invalid role"})
			return
		}
	case "events":
		s.pruneEvents()
		list = s.events
		if q.Get("ending_before") == "last" {
			// The newest events (Clever: /events?ending_before=last&limit=1 is the newest).
			writeEvents(w, list[max(0, len(list)-limit):])
			return
		}
		if after := q.Get("starting_after"); after != "" && !slices.ContainsFunc(list, func(r *record) bool { return r.id == after }) {
			writeJSON(w, http.StatusNotFound, apiError{"event " + after + " not found: events are kept " + fmt.Sprint(EventsKept)})
			return
		}
	default:
		writeJSON(w, http.StatusNotFound, apiError{"not found"})
		return
	}
	after := q.Get("starting_after")
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(list, after, func(r *record, id string) int { return strings.Compare(r.id, id) })
		if start < len(list) && list[start].id == after {
			start++
		}
	}
	// The page number of this request within a pull: one more than the pages before it.
	page := 1
	if limit > 0 {
		page = start/pageSize(limit, f) + 1
	}
	if after != "" && page == 1 {
		page = 2
	}
	for i, fl := range f.Fails {
		if fl.Collection == path && fl.Role == role && fl.Page == page && (fl.Times == 0 || s.fails[i] < fl.Times) {
			s.fails[i]++
			if fl.Status == http.StatusTooManyRequests {
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Second).Unix(), 10))
			}
			writeJSON(w, fl.Status, apiError{http.StatusText(fl.Status)})
			return
		}
	}
	n := pageSize(limit, f)
	end := min(start+n, len(list))
	items := slices.Clone(list[start:end])
	if f.UnstableOrder && len(items) > 1 {
		slices.Reverse(items)
	}
	base := s.Prefix + "/" + path
	links := []map[string]string{{"rel": "self", "uri": base + "?" + r.URL.RawQuery}}
	if len(items) > 0 && (end < len(list) || f.AlwaysNext) {
		nq := url.Values{}
		nq.Set("limit", strconv.Itoa(limit))
		if role != "" {
			nq.Set("role", role)
		}
		nq.Set("starting_after", items[len(items)-1].id)
		if match(f.RepeatNext, path, role, page) {
			nq.Set("starting_after", after)
		}
		uri := base + "?" + nq.Encode()
		if match(f.ForeignNext, path, role, page) {
			uri = "https://api.elsewhere.example" + uri
		}
		links = append(links, map[string]string{"rel": "next", "uri": uri})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, `{"data":[`...)
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"data":`...)
		buf = append(buf, it.body...)
		buf = append(buf, '}')
		if len(buf) > 1<<20 {
			_, _ = w.Write(buf)
			buf = buf[:0]
		}
	}
	lb, _ := json.Marshal(links)
	buf = append(buf, `],"links":`...)
	buf = append(buf, lb...)
	buf = append(buf, "}\n"...)
	_, _ = w.Write(buf)
	if match(f.ChangeAfter, path, role, page) && !s.changed {
		s.changed = true
		s.change()
	}
}

// writeEvents serves events as one page without a next link.
func writeEvents(w http.ResponseWriter, list []*record) {
	data := make([]map[string]json.RawMessage, len(list))
	for i, r := range list {
		data[i] = map[string]json.RawMessage{"data": r.body}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": []any{}})
}

func pageSize(limit int, f Faults) int {
	if f.PageClamp > 0 && f.PageClamp < limit {
		return f.PageClamp
	}
	return limit
}

func match(f *Fail, path, role string, page int) bool {
	return f != nil && f.Collection == path && f.Role == role && f.Page == page
}

// admit applies the fixed-window rate limit and sets the X-RateLimit headers.
func (s *Server) admit(w http.ResponseWriter, f Faults) bool {
	win := f.RateWindow
	if win <= 0 {
		win = time.Minute
	}
	now := s.now()
	start := now.Truncate(win)
	if !start.Equal(s.window) {
		s.window, s.inWindow = start, 0
	}
	reset := int64(math.Ceil(float64(start.Add(win).UnixNano()) / 1e9))
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(f.RateLimit))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	if s.inWindow >= f.RateLimit {
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeJSON(w, http.StatusTooManyRequests, apiError{"rate limit exceeded"})
		return false
	}
	s.inWindow++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(f.RateLimit-s.inWindow))
	return true
}
