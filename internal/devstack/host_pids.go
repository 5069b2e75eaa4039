package devstack

import (
	"slices"
	"sync"
)

// pidSet is the set of a function's running bootstrap processes.
type pidSet struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (s *pidSet) add(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pids == nil {
		s.pids = map[int]bool{}
	}
	s.pids[pid] = true
}

func (s *pidSet) remove(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pids, pid)
}

func (s *pidSet) list() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.pids))
	for p := range s.pids {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// PIDs returns the process ids of the function's running bootstrap processes (one per warm
// execution environment), so that a test can kill one as a crash would: the host then
// reports the invocation as failed and starts a new process for the next one. It returns
// nil for a name the host does not run.
func (h *Host) PIDs(name string) []int {
	fn, ok := h.fns[name]
	if !ok {
		return nil
	}
	return fn.pids.list()
}
