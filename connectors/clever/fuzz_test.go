package clever

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/roster"
)

var fuzzSeeds = []string{
	`{"data":[{"data":{"id":"a","name":{"first":"A","last":"B"},"roles":{"student":{"dob":"1/2/2014","grade":"3","school":"s","location":{"zip":"9"}}}}}],"links":[{"rel":"next","uri":"/v3.0/users?starting_after=a"}]}`,
	`{"data":[{"data":{"id":"s","name":"S","district":"d"}},{"id":"t"}],"links":[]}`,
	`{"data":[{"data":{"id":"c","school":"s","students":["a","a"],"teachers":["t"],"teacher":"t","grade":"Kindergarten"}}]}`,
	`{"data":[{"data":{"id":"g","name":{"first":"G","last":"H"},"roles":{"contact":{"student_relationships":[{"student":"a","relationship":"Parent"}]}}}}]}`,
	`<html></html>`, `{"data":{}}`, `{"data":[1,"x",null,{"data":null}]}`, `{"ext":{"ext":[{"dob":1}]}}`, `[]`, `"\u2028"`,
}

// walk reports whether any object key in v is a stripped key.
func hasStripped(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strippedSet[k] || hasStripped(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasStripped(e) {
				return true
			}
		}
	}
	return false
}

func FuzzStrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Strip(in)
		if err != nil {
			if json.Valid(in) {
				t.Fatalf("Strip refused valid JSON: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Strip(%q) = %q, not JSON", in, out)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if hasStripped(v) {
			t.Fatalf("Strip(%q) = %q keeps a stripped key", in, out)
		}
		again, err := Strip(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Strip is not idempotent: %q then %q (%v)", out, again, err)
		}
	})
}

func FuzzMap(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, page []byte, which uint8) {
		cols := []Collection{Schools, Terms, Courses, Sections, Contacts, Students, Teachers, Staff}
		col := cols[int(which)%len(cols)]
		stage := NewMemStage()
		ctx := context.Background()
		_ = stage.Put(ctx, Districts, 1, pageOf(`{"id":"d","name":"D"}`), Cursor{})
		_ = stage.Put(ctx, col, 1, page, Cursor{})
		pull := &PullResult{Collections: []CollectionResult{
			{Collection: Districts, Complete: true, Pages: 1, Records: 1}, {Collection: col, Complete: true, Pages: 1, Records: 1}}}
		sink := newSink()
		rep, err := Map(ctx, stage, pull, sink, MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range rep.Findings {
			if fd.Collection == "" || fd.Message == "" {
				t.Fatalf("finding without collection or message: %+v", fd)
			}
		}
		for _, k := range roster.Kinds {
			for id, r := range sink.records[k] {
				if id == "" || r.ID() != id || sink.rejected[k][id] {
					t.Fatalf("%s record %q both passed and rejected, or without id", k, id)
				}
			}
		}
		if _, err := decodeEnvelope(page); err != nil && rep.Modes[col.Kinds()[0]] == roster.ModeBulk {
			t.Fatalf("an unreadable page was announced as bulk")
		}
	})
}

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{"/v3.0/users?role=student&starting_after=b", "https://api.clever.com/v3.0/users?role=student&starting_after=b",
		"https://evil.example/v3.0/users?role=student&starting_after=b", "//evil.example/v3.0/users?starting_after=b",
		"/v3.0/../users?role=student&starting_after=b", "/v3.0/users?role=teacher&starting_after=b", "/v3.0/users?role=student&starting_after=a"} {
		f.Add(s)
	}
	c, err := New(Options{Token: "t", BaseURL: "https://api.clever.com/v3.0"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, link string) {
		cur := Cursor{LastID: "b", PrevAfter: "a", Pages: 1}
		nu, err := c.checkNext(Students, cur, link)
		if err != nil {
			return
		}
		u, perr := url.Parse(nu.uri)
		if perr != nil || u.Host != "" || u.Path != "/v3.0/users" || u.Query().Get("role") != "student" || nu.after != "b" {
			t.Fatalf("accepted %q as %q", link, nu.uri)
		}
		if lu, _ := url.Parse(link); lu.Host != "" && lu.Host != "api.clever.com" {
			t.Fatalf("accepted a link to %s", lu.Host)
		}
		if strings.Contains(nu.uri, "..") && !slices.Contains([]string{"b"}, nu.after) {
			t.Fatalf("accepted %q", nu.uri)
		}
	})
}
