package clever

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/rostergen"
)

type page struct {
	Data []struct {
		Data map[string]any `json:"data"`
	} `json:"data"`
	Links []struct{ Rel, URI string } `json:"links"`
}

func serve(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	d, err := Generate(rostergen.Options{Students: 80, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(d, "tok")
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return s, h
}

func get(t *testing.T, h *httptest.Server, uri, token string) (*http.Response, *page) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.URL+uri, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p page
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
	}
	return resp, &p
}

func next(p *page) string {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return l.URI
		}
	}
	return ""
}

func TestServesClever(t *testing.T) {
	s, h := serve(t)
	t.Run("pages follow starting_after in ascending id order to the end", func(t *testing.T) {
		var got []string
		uri := "/v3.0/users?role=student&limit=7"
		for uri != "" {
			resp, p := get(t, h, uri, "tok")
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", uri, resp.StatusCode)
			}
			for _, d := range p.Data {
				got = append(got, d.Data["id"].(string))
				if _, ok := d.Data["roles"].(map[string]any)["student"]; !ok {
					t.Fatal("a user without the student role under role=student")
				}
			}
			uri = next(p)
		}
		if !slices.IsSorted(got) || len(got) != 80 || len(slices.Compact(slices.Clone(got))) != 80 {
			t.Fatalf("%d ids, sorted %v", len(got), slices.IsSorted(got))
		}
	})
	t.Run("the default page size is 100 and above 10,000 is 413", func(t *testing.T) {
		_, p := get(t, h, "/v3.0/users", "tok")
		if len(p.Data) != 100 {
			t.Errorf("%d records without limit", len(p.Data))
		}
		if resp, _ := get(t, h, "/v3.0/users?limit=10001", "tok"); resp.StatusCode != 413 {
			t.Errorf("limit 10001: %d", resp.StatusCode)
		}
		if resp, _ := get(t, h, "/v3.0/users?limit=10000", "tok"); resp.StatusCode != 200 {
			t.Errorf("limit 10000: %d", resp.StatusCode)
		}
	})
	t.Run("a wrong token is 401, an unknown role 400, an unknown path 404", func(t *testing.T) {
		for _, c := range []struct {
			uri, tok string
			want     int
		}{{"/v3.0/schools", "nope", 401}, {"/v3.0/schools", "", 401}, {"/v3.0/users?role=parent", "tok", 400}, {"/v3.0/contacts", "tok", 404}} {
			if resp, _ := get(t, h, c.uri, c.tok); resp.StatusCode != c.want {
				t.Errorf("%s: %d, want %d", c.uri, resp.StatusCode, c.want)
			}
		}
	})
	t.Run("students carry demographics, contacts relationships, sections students and teachers", func(t *testing.T) {
		_, p := get(t, h, "/v3.0/users?role=student&limit=1", "tok")
		st := p.Data[0].Data["roles"].(map[string]any)["student"].(map[string]any)
		for _, k := range []string{"dob", "gender", "race", "hispanic_ethnicity", "ell_status", "location", "iep_status", "frl_status", "credentials"} {
			if _, ok := st[k]; !ok {
				t.Errorf("no %s", k)
			}
		}
		_, p = get(t, h, "/v3.0/users?role=contact&limit=1", "tok")
		if rels := p.Data[0].Data["roles"].(map[string]any)["contact"].(map[string]any)["student_relationships"].([]any); len(rels) == 0 {
			t.Error("a contact without relationships")
		}
		_, p = get(t, h, "/v3.0/sections?limit=1", "tok")
		if len(p.Data[0].Data["students"].([]any)) == 0 || p.Data[0].Data["teacher"] == nil {
			t.Error("a section without students or teacher")
		}
	})
	t.Run("the fixed window answers 429 with X-RateLimit-Reset at the window's end", func(t *testing.T) {
		now := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		s.SetFaults(Faults{RateLimit: 2})
		defer s.SetFaults(Faults{})
		for i := range 3 {
			resp, _ := get(t, h, "/v3.0/districts", "tok")
			want := 200
			if i == 2 {
				want = 429
			}
			if resp.StatusCode != want || resp.Header.Get("X-RateLimit-Reset") != "1796119260" {
				t.Errorf("request %d: %d reset %s", i+1, resp.StatusCode, resp.Header.Get("X-RateLimit-Reset"))
			}
		}
		now = now.Add(30 * time.Second)
		if resp, _ := get(t, h, "/v3.0/districts", "tok"); resp.StatusCode != 200 {
			t.Errorf("after the reset: %d", resp.StatusCode)
		}
	})
	t.Run("a change adds a student with the highest id and removes one from its sections", func(t *testing.T) {
		ch := s.Change()
		ids := s.IDs("users:student")
		if ids[len(ids)-1] != ch.Added || slices.Contains(ids, ch.Removed) {
			t.Errorf("change %+v", ch)
		}
		for _, sec := range s.IDs("sections") {
			if strings.Contains(string(s.Object("sections", sec)), ch.Removed) {
				t.Error("the removed student is still in a section")
			}
		}
		_, p := get(t, h, "/v3.0/events?limit=100", "tok")
		types := []string{}
		for _, e := range p.Data {
			types = append(types, e.Data["type"].(string))
		}
		if !slices.Contains(types, "users.created") || !slices.Contains(types, "users.deleted") || !slices.Contains(types, "users.updated") {
			t.Errorf("events %v", types)
		}
	})
}
