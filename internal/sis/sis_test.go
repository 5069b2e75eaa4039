package sis

import (
	"strings"
	"testing"
)

func page(total int, done bool, ids ...string) *Page {
	p := &Page{Total: total, Received: len(ids), Done: done}
	for _, id := range ids {
		p.Rows = append(p.Rows, Row{File: "users.csv", Cells: []string{id}}, Row{File: "roles.csv", Cells: []string{id + "..r.s.student"}})
	}
	return p
}

func TestProof(t *testing.T) {
	users := Collection{Name: "users", Files: []string{"users.csv", "roles.csv"}}
	cases := []struct {
		name  string
		pages []*Page
		ok    bool
		why   string
	}{
		{"all of the total, over short pages", []*Page{page(3, false, "a"), page(3, false, "b"), page(3, true, "c")}, true, "3 of 3"},
		{"no total: ends on an empty page", []*Page{page(-1, false, "a", "b"), page(-1, true)}, true, "empty page"},
		{"fewer than the total", []*Page{page(3, false, "a"), page(3, true, "b")}, false, "fewer"},
		{"more than the total", []*Page{page(1, false, "a"), page(1, true, "b")}, false, "more"},
		{"a total that changes", []*Page{page(2, false, "a"), page(3, true, "b", "c")}, false, "changed"},
		{"duplicates with a total that agrees are dropped", []*Page{page(2, false, "a", "b"), page(2, true, "b")}, true, "2 of 2"},
		{"duplicates without a total", []*Page{page(-1, false, "a", "b"), page(-1, false, "b"), page(-1, true)}, false, "duplicate"},
		{"a pull that did not end", []*Page{page(5, false, "a")}, false, "did not reach"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTally(users)
			rows := 0
			for _, p := range tc.pages {
				tl.Add(p)
				rows += len(p.Rows)
			}
			ok, why := tl.Complete()
			if ok != tc.ok || !strings.Contains(why, tc.why) {
				t.Fatalf("complete=%v (%s), want %v (%q)", ok, why, tc.ok, tc.why)
			}
			if rows != 2*tl.Unique {
				t.Errorf("%d rows kept for %d distinct users: a duplicate's roles were not dropped with it", rows, tl.Unique)
			}
		})
	}
}

func TestEventsAreForClever(t *testing.T) {
	c := &Connection{District: "d1", Provider: ProviderOneRoster12, BaseURL: "https://sis.example/v1p2", TokenURL: "https://sis.example/token",
		ClientID: "c", SecretID: "s", Events: true}
	c.Defaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "events are for --provider clever") {
		t.Fatalf("a OneRoster connection with events: %v", err)
	}
	c = &Connection{District: "d1", Provider: ProviderClever, SecretID: "s", Events: true}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("a clever connection with events: %v", err)
	}
}

// TestConnectionIDsFollowTheDistrictIDRule: a connection id is a segment of S3 keys
// (reports/{district}/sync/{connection}/…), DynamoDB keys and schedule names, so it follows the
// district-id rule: no dot segment, no leading '-', no '#'.
func TestConnectionIDsFollowTheDistrictIDRule(t *testing.T) {
	for _, id := range []string{"..", ".", "...", "-rf", "a#b", "a/b", "sis.", "a..b"} {
		c := &Connection{District: "d1", ID: id, Provider: ProviderClever, SecretID: "s"}
		c.Defaults()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "connection id") {
			t.Errorf("connection id %q: %v", id, err)
		}
	}
	c := &Connection{District: "d1", ID: "clever.main-2", Provider: ProviderClever, SecretID: "s"}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Errorf("a valid connection id is refused: %v", err)
	}
}
