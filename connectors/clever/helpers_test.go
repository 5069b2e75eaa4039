package clever

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	standin "github.com/pthv/reach/internal/standin/clever"
)

const testToken = "tok-" + "district-app-secret-7f3a"

type env struct {
	srv  *standin.Server
	http *httptest.Server
	logs *bytes.Buffer
	// waits records every Sleep the client asked for.
	mu    sync.Mutex
	waits []time.Duration
}

// newEnv serves a fresh copy of a district (the stand-in's data may be changed by faults).
func newEnv(t testing.TB, students int) *env {
	t.Helper()
	d, err := standin.Generate(rostergen.Options{Students: students, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: standin.NewServer(d, testToken), logs: &bytes.Buffer{}}
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	return e
}

// client returns a client of the stand-in whose sleeps are recorded and skipped (fast
// tests), unless realSleep.
func (e *env) client(t testing.TB, opt Options, realSleep bool) *Client {
	t.Helper()
	if opt.BaseURL == "" {
		opt.BaseURL = e.http.URL + "/v3.0"
	}
	if opt.Token == "" {
		opt.Token = testToken
	}
	opt.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{w: e.logs, mu: &e.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if !realSleep {
		opt.Sleep = func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.waits = append(e.waits, d)
			e.mu.Unlock()
			return ctx.Err()
		}
	}
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// memSink keeps what Map passes to it.
type memSink struct {
	modes    map[roster.Kind]roster.Mode
	order    []roster.Kind
	records  map[roster.Kind]map[string]roster.Record
	rejected map[roster.Kind]map[string]bool
	calls    int
}

func newSink() *memSink {
	return &memSink{modes: map[roster.Kind]roster.Mode{}, records: map[roster.Kind]map[string]roster.Record{},
		rejected: map[roster.Kind]map[string]bool{}}
}

func (s *memSink) File(k roster.Kind, m roster.Mode) error {
	s.calls++
	s.modes[k] = m
	s.order = append(s.order, k)
	s.records[k] = map[string]roster.Record{}
	s.rejected[k] = map[string]bool{}
	return nil
}

func (s *memSink) Record(r roster.Record) error {
	s.calls++
	if _, dup := s.records[r.RecordKind()][r.ID()]; dup {
		panic("record passed twice: " + string(r.RecordKind()) + " " + r.ID())
	}
	s.records[r.RecordKind()][r.ID()] = r
	return nil
}

func (s *memSink) Reject(k roster.Kind, id string) error {
	s.calls++
	s.rejected[k][id] = true
	return nil
}

func (s *memSink) users() map[string]*roster.User {
	out := map[string]*roster.User{}
	for id, r := range s.records[roster.KindUser] {
		out[id] = r.(*roster.User)
	}
	return out
}

func pull(t testing.TB, c *Client, cols []Collection) (*Report, *memSink, error) {
	t.Helper()
	sink := newSink()
	rep, err := (&Connector{Client: c, Collections: cols}).Pull(context.Background(), sink)
	return rep, sink, err
}
