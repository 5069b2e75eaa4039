package rest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/sis"
)

// FuzzDecodePage feeds arbitrary bodies to the envelope and record decoders: they never
// panic, and every row they yield has exactly its file's columns.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"users":[{"sourcedId":"u1","status":"active","enabledUser":true,"roles":[{"roleType":"primary","role":"student","org":{"sourcedId":"s1"}}],"agents":[{"sourcedId":"g1"}],"grades":["01"]}]}`), "users", "1.2")
	f.Add([]byte(`{"users":[{"sourcedId":"u1","status":"inactive","enabledUser":"false","role":"teacher","orgs":"s1,s2"}],"totalCount":"3"}`), "users", "1.1")
	f.Add([]byte(`{"courses":[{"sourcedId":"c","schoolYear":{"sourcedId":"y"},"grades":"01,02","org":"s"}]}`), "courses", "1.2")
	f.Add([]byte(`{"academicSessions":[{"sourcedId":"t","schoolYear":2026,"parent":null}]}`), "academicSessions", "1.2")
	f.Add([]byte(`{"enrollments":[{"sourcedId":"e","primary":1,"class":{"sourcedId":"c"},"user":{},"school":[]}]}`), "enrollments", "1.1")
	f.Add([]byte(`{"classes":null}`), "classes", "1.2")
	f.Add([]byte(`<html>`), "orgs", "1.2")
	f.Fuzz(func(t *testing.T, body []byte, coll, version string) {
		if version != "1.1" {
			version = "1.2"
		}
		switch coll {
		case "orgs", "academicSessions", "courses", "classes", "users", "enrollments":
		default:
			coll = "users"
		}
		env, err := decodeEnvelope(body, coll)
		if err != nil {
			return
		}
		for _, raw := range env.records {
			rs, err := rows(version, coll, raw)
			if err != nil {
				continue
			}
			for _, r := range rs {
				if cols := sis.Columns(version, r.File); len(r.Cells) != len(cols) || len(cols) == 0 {
					t.Fatalf("%s row with %d cells for %d columns", r.File, len(r.Cells), len(cols))
				}
				if st := r.Cells[1]; strings.EqualFold(st, "inactive") {
					t.Fatal("inactive passed through")
				}
			}
		}
		_ = describe(body)
	})
}

// FuzzLinkAndRetryAfter: Link and Retry-After headers never panic and never yield a
// negative wait.
func FuzzLinkAndRetryAfter(f *testing.F) {
	f.Add(`<https://x/users?offset=2&limit=1>; rel="next", <https://x/users?offset=0>; rel="first"`, "120")
	f.Add(`<a,b>; rel=next`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(`garbage`, "-1")
	base, _ := url.Parse("https://sis.example/ims/oneroster/v1p1/users?limit=1")
	f.Fuzz(func(t *testing.T, link, ra string) {
		_ = nextLink([]string{link}, base)
		if d := retryAfter(ra, time.Now()); d < -1 {
			t.Fatalf("wait %v", d)
		}
	})
}
