package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/sis"
)

// TestSyncAddCleverFlags checks 'pthv sync add --provider clever' flag validation, which runs
// before any AWS call: the token comes from --token-file only, OAuth settings are refused, the
// limit is at most 10,000, and the token is never echoed.
func TestSyncAddCleverFlags(t *testing.T) {
	t.Setenv(deploy.EnvTable, "") // no stack: accepted flags stop at the environment
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("tok-SECRET-123\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	cases := []struct {
		name string
		args []string
		want string // in stderr; "" = flags accepted (the command then fails for want of a stack)
	}{
		{"no token file", []string{"--district", "d1", "--provider", "clever"}, "--district and --token-file are required for --provider clever"},
		{"no district", []string{"--provider", "clever", "--token-file", token}, "--district and --token-file are required"},
		{"a client id", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--client-id", "x"}, "not OAuth settings"},
		{"a client secret file", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--client-secret-file", token}, "not OAuth settings"},
		{"a token url", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--token-url", "https://x/t"}, "not OAuth settings"},
		{"a scope", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--scope", "s"}, "not OAuth settings"},
		{"a limit above 10,000", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--page-size", "10001"}, "at most 10000"},
		{"an unreadable token file", []string{"--district", "d1", "--provider", "clever", "--token-file", filepath.Join(dir, "nope")}, "cannot read --token-file"},
		{"an empty token file", []string{"--district", "d1", "--provider", "clever", "--token-file", empty}, "--token-file is empty"},
		{"a token file for OneRoster", []string{"--district", "d1", "--provider", "oneroster-1.2", "--token-file", token, "--base-url", "https://x", "--client-id", "c"}, "--token-file is for --provider clever"},
		{"OneRoster still needs its client id", []string{"--district", "d1", "--provider", "oneroster-1.2", "--base-url", "https://x", "--client-secret-file", token}, "--client-id and --client-secret-file are required"},
		{"events for OneRoster", []string{"--district", "d1", "--provider", "oneroster-1.2", "--base-url", "https://x", "--client-id", "c", "--client-secret-file", token, "--events"}, "--events is for --provider clever"},
		{"valid clever flags", []string{"--district", "d1", "--provider", "clever", "--token-file", token}, ""},
		{"valid clever flags with events", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--events"}, ""},
		{"valid clever flags with a base URL", []string{"--district", "d1", "--provider", "clever", "--token-file", token, "--base-url", "http://127.0.0.1:1/v3.0", "--page-size", "10000"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"sync", "add"}, tc.args...)...)
			if strings.Contains(out+errOut, "tok-SECRET-123") {
				t.Fatal("the token was printed")
			}
			if tc.want == "" {
				if !strings.Contains(errOut, "environment variables not set") {
					t.Fatalf("valid flags did not get as far as the environment: exit %d: %s", code, errOut)
				}
				for _, flagMsg := range []string{"--token-file", "--provider clever", "--district", "--page-size"} {
					if strings.Contains(errOut, flagMsg) {
						t.Fatalf("valid flags refused: exit %d: %s", code, errOut)
					}
				}
				return
			}
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestSyncOutputIsOneFamily: sync list, sync runs and a run's report print as every other
// command does (cli.go): upper-case table headers, times as stamp writes them, and counts
// through plural ("1 error", never "1 errors").
func TestSyncOutputIsOneFamily(t *testing.T) {
	at := time.Date(2026, 9, 1, 14, 3, 7, 0, time.UTC)
	var b strings.Builder
	printConnections(&b, []*sis.Connection{{District: "d", ID: "sis", Provider: sis.ProviderOneRoster12, Watermark: at}})
	printRuns(&b, []*sis.Run{{ID: "run-1", Status: "applied", Mode: "full", Started: at, Requests: 1}})
	printRun(&b, &sis.Run{ID: "run-1", Status: "held", Mode: "full", Requests: 1, Since: at, Retries: 1, Errors: 1, Warnings: 2,
		Collections: []*sis.CollectionRun{{Name: "users"}}, ImportID: "imp-1", Counts: map[string]sis.Count{"users": {Added: 1}}})
	out := b.String()
	for _, want := range []string{"DISTRICT  CONNECTION", "RUN    STATUS", "COLLECTION  PAGES", "KIND   ADDED", "2026-09-01 14:03:07Z",
		"validation: 1 error, 2 warnings", "changes since 2026-09-01 14:03:07Z", "1 request, 1 retry, 0 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "T14:03:07Z") || strings.Contains(out, "1 errors") {
		t.Errorf("a time or a count written another way:\n%s", out)
	}
}

// TestSyncShowSaysEvents: 'pthv sync show' says whether a connection applies events, and
// from which snapshot.
func TestSyncShowSaysEvents(t *testing.T) {
	at := time.Date(2026, 12, 1, 2, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		c    sis.Connection
		want string
	}{
		{sis.Connection{}, "off"},
		{sis.Connection{Events: true}, "no snapshot yet"},
		{sis.Connection{Events: true, Snapshot: &sis.Snapshot{Run: "run-1", EventID: "e9", ReadAt: at}}, "snapshot run run-1, event id e9 read 2026-12-01 02:30:00Z"},
		{sis.Connection{Events: true, Snapshot: &sis.Snapshot{Run: "run-1", ReadAt: at}}, "event id none (the log was empty)"},
	} {
		if got := eventsOf(&tc.c); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}
