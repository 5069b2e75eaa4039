package devstack

import (
	"context"
	"encoding/json"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestAFunctionsProcessCanBeKilledByItsPID(t *testing.T) {
	h, _ := startTestHost(t, FunctionConfig{Name: "killfn"})
	if got := h.PIDs("killfn"); len(got) != 0 {
		t.Fatalf("PIDs before the first invocation: %v", got)
	}
	pid := pidOf(t, h, "killfn")
	if got := h.PIDs("killfn"); !slices.Equal(got, []int{pid}) {
		t.Fatalf("PIDs %v, the function runs as %d", got, pid)
	}
	// SIGKILL in the middle of an invocation, as a crash of the machine would end it.
	done := make(chan InvokeResult, 1)
	go func() {
		b, _ := json.Marshal(map[string]any{"action": "sleep", "ms": 10000})
		res, _ := h.Invoke(context.Background(), "killfn", b)
		done <- res
	}()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.FunctionError == "" {
			t.Fatalf("the killed invocation succeeded: %s", res.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the killed invocation never ended")
	}
	if !waitUntil(5*time.Second, func() bool { return !slices.Contains(h.PIDs("killfn"), pid) }) {
		t.Fatalf("the killed process %d is still listed: %v", pid, h.PIDs("killfn"))
	}
	if next := pidOf(t, h, "killfn"); next == pid || !slices.Equal(h.PIDs("killfn"), []int{next}) {
		t.Fatalf("after the kill: pid %d, PIDs %v", next, h.PIDs("killfn"))
	}
	if h.PIDs("nope") != nil {
		t.Error("PIDs of an unknown function")
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
