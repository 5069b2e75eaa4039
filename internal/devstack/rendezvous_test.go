package devstack

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// rendezvous is an HTTP server that test functions call from inside an invocation
// (testfn's "get" action), so that a test knows what the invocations are doing:
//
//	GET /barrier  blocks until n calls are inside at once, then lets them all out (200);
//	              504 when that has not happened within rendezvousTimeout
//	GET /gate?id  reports that invocation id is inside, and blocks until release (200);
//	              504 after rendezvousTimeout
type rendezvous struct {
	*httptest.Server
	n        int
	mu       sync.Mutex
	inside   int
	full     chan struct{} // closed once n calls are inside /barrier at once
	arrived  chan string   // ids of the calls that reached /gate
	released chan struct{}
	once     sync.Once
}

// rendezvousTimeout bounds every wait at the rendezvous, so that a call that never comes
// fails the test instead of hanging it.
const rendezvousTimeout = 20 * time.Second

func newRendezvous(t *testing.T, n int) *rendezvous {
	t.Helper()
	rv := &rendezvous{n: n, full: make(chan struct{}), arrived: make(chan string, 16), released: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /barrier", func(w http.ResponseWriter, r *http.Request) {
		rv.mu.Lock()
		rv.inside++
		if rv.inside == rv.n {
			close(rv.full)
		}
		inside := rv.inside
		rv.mu.Unlock()
		select {
		case <-rv.full:
		case <-time.After(rendezvousTimeout):
			http.Error(w, fmt.Sprintf("barrier: %d of %d calls inside at once after %s", inside, rv.n, rendezvousTimeout), http.StatusGatewayTimeout)
		}
	})
	mux.HandleFunc("GET /gate", func(w http.ResponseWriter, r *http.Request) {
		rv.arrived <- r.URL.Query().Get("id")
		select {
		case <-rv.released:
		case <-r.Context().Done(): // the process was stopped
		case <-time.After(rendezvousTimeout):
			http.Error(w, "gate: not released", http.StatusGatewayTimeout)
		}
	})
	rv.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		rv.release()
		rv.Server.Close()
	})
	return rv
}

// payload is testfn's "get" action for path on the rendezvous.
func (rv *rendezvous) payload(path string) []byte {
	return fmt.Appendf(nil, `{"action":"get","url":%q}`, rv.URL+path)
}

// await waits until the invocation id has reached the gate, and fails the test when it
// does not within rendezvousTimeout.
func (rv *rendezvous) await(t *testing.T, id string) {
	t.Helper()
	select {
	case got := <-rv.arrived:
		if got != id {
			t.Fatalf("invocation %q reached the gate, want %q", got, id)
		}
	case <-time.After(rendezvousTimeout):
		t.Fatalf("invocation %q never reached the gate: it did not run", id)
	}
}

func (rv *rendezvous) release() { rv.once.Do(func() { close(rv.released) }) }
