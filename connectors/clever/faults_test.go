package clever

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/roster"
	standin "github.com/pthv/reach/internal/standin/clever"
)

func result(t *testing.T, rep *Report, c Collection) CollectionResult {
	t.Helper()
	cr, ok := rep.Pull.Result(c)
	if !ok {
		t.Fatalf("%s not pulled", c)
	}
	return cr
}

// baseline pulls the district without faults: the counts the faulty pulls are compared with.
func baseline(t *testing.T, students, limit int) (*Report, *memSink) {
	t.Helper()
	e := newEnv(t, students)
	rep, sink, err := pull(t, e.client(t, Options{Limit: limit}, false), nil)
	if err != nil || !rep.Complete {
		t.Fatalf("baseline: %v %+v", err, rep.Findings)
	}
	return rep, sink
}

func TestPaging(t *testing.T) {
	base, baseSink := baseline(t, 150, 40)

	t.Run("a server that clamps the page size is followed to the end by its next links", func(t *testing.T) {
		e := newEnv(t, 150)
		e.srv.SetFaults(standin.Faults{PageClamp: 7})
		rep, sink, err := pull(t, e.client(t, Options{Limit: 40}, false), nil)
		if err != nil || !rep.Complete {
			t.Fatalf("%v %+v", err, rep.Findings)
		}
		st := result(t, rep, Students)
		if st.Records != result(t, base, Students).Records || st.Pages != (st.Records+6)/7 {
			t.Errorf("students: %d records in %d pages; want %d in %d", st.Records, st.Pages, result(t, base, Students).Records, (st.Records+6)/7)
		}
		for _, k := range roster.Kinds {
			if len(sink.records[k]) != len(baseSink.records[k]) {
				t.Errorf("%s: %d records, want %d", k, len(sink.records[k]), len(baseSink.records[k]))
			}
		}
	})

	t.Run("paging stops at an empty page even when it carries a next link", func(t *testing.T) {
		e := newEnv(t, 150)
		e.srv.SetFaults(standin.Faults{AlwaysNext: true})
		rep, _, err := pull(t, e.client(t, Options{Limit: 40}, false), []Collection{Districts, Schools, Students})
		if err != nil {
			t.Fatal(err)
		}
		st := result(t, rep, Students)
		if !st.Complete || st.Records != result(t, base, Students).Records || st.Requests != st.Pages || st.Pages != result(t, base, Students).Pages+1 {
			t.Errorf("students: %+v; want complete, one more (empty) page than %d", st, result(t, base, Students).Pages)
		}
	})

	t.Run("a limit above 10,000 is refused before any request", func(t *testing.T) {
		if _, err := New(Options{Token: "x", Limit: MaxLimit + 1}); err == nil || !strings.Contains(err.Error(), "413") {
			t.Errorf("New(limit 10001) = %v; want an error that names the 413", err)
		}
	})

	t.Run("a 413 for a limit the server finds too big fails the collection without a retry", func(t *testing.T) {
		e := newEnv(t, 150)
		e.srv.SetFaults(standin.Faults{MaxLimit: 30})
		rep, _, err := pull(t, e.client(t, Options{Limit: 40}, false), []Collection{Districts, Students})
		if err != nil {
			t.Fatal(err)
		}
		st := result(t, rep, Students)
		if st.Complete || st.Requests != 1 || !strings.Contains(st.Reason, "413") || !strings.Contains(st.Reason, "limit") {
			t.Errorf("students: %+v", st)
		}
	})
}

func TestNextLinks(t *testing.T) {
	cases := []struct {
		name   string
		faults standin.Faults
		reason string
	}{
		{"a next link that repeats the cursor fails the collection instead of looping",
			standin.Faults{RepeatNext: &standin.Fail{Collection: "users", Role: "student", Page: 2}}, "does not advance"},
		{"a next link to another host is never followed",
			standin.Faults{ForeignNext: &standin.Fail{Collection: "users", Role: "student", Page: 1}}, "another host"},
		{"records out of id order fail the collection: starting_after would skip or repeat records",
			standin.Faults{UnstableOrder: true}, "ascending id order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 150)
			e.srv.SetFaults(c.faults)
			rep, sink, err := pull(t, e.client(t, Options{Limit: 40}, false), nil)
			if err != nil {
				t.Fatal(err)
			}
			st := result(t, rep, Students)
			if st.Complete || !strings.Contains(st.Reason, c.reason) {
				t.Fatalf("students: %+v; want incomplete with %q", st, c.reason)
			}
			if st.Requests > 3 {
				t.Errorf("%d requests to students: the client kept going", st.Requests)
			}
			total, _ := e.srv.Requests()
			if total != rep.Pull.Requests {
				t.Errorf("the server answered %d requests, the client counted %d", total, rep.Pull.Requests)
			}
			if rep.Complete || rep.Count(Students, CodeIncomplete) != 1 {
				t.Errorf("report complete=%v, %d incomplete findings for students", rep.Complete, rep.Count(Students, CodeIncomplete))
			}
			for _, k := range []roster.Kind{roster.KindUser, roster.KindRole, roster.KindEnrollment} {
				if sink.modes[k] != roster.ModeDelta {
					t.Errorf("%s announced %s; an incomplete students collection must never be bulk", k, sink.modes[k])
				}
			}
			if result(t, rep, Schools).Complete && sink.modes[roster.KindOrg] != roster.ModeBulk {
				t.Errorf("orgs announced %s; their collections completed", sink.modes[roster.KindOrg])
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Run("a 429 waits until X-RateLimit-Reset and continues on the same page", func(t *testing.T) {
		e := newEnv(t, 150)
		e.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "users", Role: "student", Page: 2, Status: 429, Times: 2}}})
		start := time.Now()
		rep, _, err := pull(t, e.client(t, Options{Limit: 40}, false), []Collection{Districts, Schools, Students})
		if err != nil {
			t.Fatal(err)
		}
		st := result(t, rep, Students)
		if !st.Complete || st.RateLimited != 2 || st.Retries != 0 || st.Requests != st.Pages+2 {
			t.Fatalf("students: %+v", st)
		}
		if len(e.waits) != 2 {
			t.Fatalf("waits %v; want two", e.waits)
		}
		// The stand-in sets the reset one second ahead, in whole Unix seconds.
		limit := time.Until(start.Add(2*time.Second+resetMargin)) + time.Since(start)
		for _, w := range e.waits {
			if w <= 0 || w > limit {
				t.Errorf("waited %s for a reset at most 1 s ahead", w)
			}
		}
	})

	t.Run("a 500 on page N is retried with backoff and the pull completes", func(t *testing.T) {
		for _, status := range []int{500, 502, 503} {
			e := newEnv(t, 150)
			e.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "sections", Page: 2, Status: status, Times: 2}}})
			rep, _, err := pull(t, e.client(t, Options{Limit: 40, Backoff: time.Second}, false), []Collection{Districts, Schools, Sections})
			if err != nil {
				t.Fatal(err)
			}
			sec := result(t, rep, Sections)
			if !sec.Complete || sec.Retries != 2 {
				t.Errorf("%d: sections %+v", status, sec)
			}
			if len(e.waits) != 2 || e.waits[0] < 500*time.Millisecond || e.waits[0] > time.Second || e.waits[1] < time.Second || e.waits[1] > 2*time.Second {
				t.Errorf("%d: backoff waits %v; want 0.5–1 s then 1–2 s", status, e.waits)
			}
		}
	})

	t.Run("a page that keeps answering 500 fails its collection after the bounded tries", func(t *testing.T) {
		e := newEnv(t, 150)
		e.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "sections", Page: 2, Status: 500}}})
		rep, _, err := pull(t, e.client(t, Options{Limit: 40, MaxTries: 4}, false), []Collection{Districts, Schools, Sections, Students})
		if err != nil {
			t.Fatal(err)
		}
		sec := result(t, rep, Sections)
		if sec.Complete || sec.Requests != 1+4 || !strings.Contains(sec.Reason, "gave up after 4 tries") {
			t.Errorf("sections: %+v", sec)
		}
		if !result(t, rep, Students).Complete {
			t.Error("the next collection was not pulled")
		}
	})

	for _, status := range []int{400, 403, 404, 501} {
		t.Run(fmt.Sprintf("a %d is not retried", status), func(t *testing.T) {
			e := newEnv(t, 150)
			e.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "terms", Page: 1, Status: status}}})
			rep, _, err := pull(t, e.client(t, Options{Limit: 40}, false), []Collection{Districts, Terms})
			if err != nil {
				t.Fatal(err)
			}
			tr := result(t, rep, Terms)
			if tr.Complete || tr.Requests != 1 || tr.Retries != 0 || !strings.Contains(tr.Reason, fmt.Sprint(status)) {
				t.Errorf("terms: %+v", tr)
			}
		})
	}
}

func TestRevokedToken(t *testing.T) {
	e := newEnv(t, 150)
	e.srv.SetFaults(standin.Faults{Revoked: true, RevokeAfter: 4})
	rep, sink, err := pull(t, e.client(t, Options{Limit: 40}, false), nil)
	if !errors.Is(err, ErrRevoked) {
		t.Fatalf("err = %v; want ErrRevoked", err)
	}
	if !strings.Contains(err.Error(), "revoked or the district unshared the app") {
		t.Errorf("message %q does not say why", err)
	}
	if sink.calls != 0 {
		t.Errorf("%d sink calls after a 401; a failed run passes nothing on", sink.calls)
	}
	total, _ := e.srv.Requests()
	if total != 5 || rep.Pull.Requests != 5 {
		t.Errorf("server answered %d, client counted %d requests; want 4 and one 401, no retry", total, rep.Pull.Requests)
	}
	if strings.Contains(e.logs.String(), testToken) {
		t.Error("the token is in the logs")
	}
}

func TestHTMLBody(t *testing.T) {
	e := newEnv(t, 50)
	e.srv.SetFaults(standin.Faults{HTML: true})
	rep, sink, err := pull(t, e.client(t, Options{}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range rep.Pull.Collections {
		if cr.Complete || !strings.Contains(cr.Reason, "HTML page") || !strings.Contains(cr.Reason, "district-app bearer token") {
			t.Errorf("%s: %+v", cr.Collection, cr)
		}
	}
	for k, m := range sink.modes {
		if m == roster.ModeBulk {
			t.Errorf("%s announced bulk", k)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Run("the client keeps to its own fixed window of requests per minute", func(t *testing.T) {
		e := newEnv(t, 60)
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		c := e.client(t, Options{Limit: 20, RequestsPerMinute: 3}, false)
		c.opt.Now = func() time.Time { return now }
		c.opt.Sleep = func(_ context.Context, d time.Duration) error {
			e.waits = append(e.waits, d)
			now = now.Add(d)
			return nil
		}
		rep, _, err := pull(t, c, []Collection{Districts, Schools, Students})
		if err != nil || !rep.Pull.AllComplete() {
			t.Fatalf("%v %+v", err, rep.Pull)
		}
		n := rep.Pull.Requests
		if want := (n - 1) / 3; len(e.waits) != want {
			t.Errorf("%d requests waited %d times; want %d (3 a minute)", n, len(e.waits), want)
		}
		for _, w := range e.waits {
			if w != time.Minute {
				t.Errorf("waited %s; want the rest of the minute", w)
			}
		}
	})

	t.Run("against the stand-in's fixed window the pull waits for each reset and completes", func(t *testing.T) {
		e := newEnv(t, 60)
		e.srv.SetFaults(standin.Faults{RateLimit: 4, RateWindow: time.Second})
		rep, sink, err := pull(t, e.client(t, Options{Limit: 20, RequestsPerMinute: -1}, true), nil)
		if err != nil || !rep.Complete {
			t.Fatalf("%v %+v", err, rep.Findings)
		}
		if rep.Pull.RateLimited != 0 {
			// X-RateLimit-Remaining: 0 makes the client wait before it is refused.
			t.Logf("%d requests were refused with 429 before the client waited", rep.Pull.RateLimited)
		}
		if rep.Pull.Waited == 0 {
			t.Errorf("%d requests at 4 a second never waited", rep.Pull.Requests)
		}
		if len(sink.records[roster.KindUser]) == 0 {
			t.Error("no users")
		}
	})
}

func TestChangeMidPull(t *testing.T) {
	base, baseSink := baseline(t, 150, 40)
	e := newEnv(t, 150)
	e.srv.SetFaults(standin.Faults{ChangeAfter: &standin.Fail{Collection: "users", Role: "student", Page: 1}})
	rep, sink, err := pull(t, e.client(t, Options{Limit: 40}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := e.srv.LastChange()
	if ch.Added == "" {
		t.Fatal("no change was made")
	}
	st := result(t, rep, Students)
	if !st.Complete || st.Records != result(t, base, Students).Records+1 || st.Duplicates != 0 {
		t.Fatalf("students %+v; want complete with the added student and no duplicates", st)
	}
	if st.ChangedDuringPull < 1 || rep.Count(Students, CodeChanged) != 1 {
		t.Errorf("the change is not noted: %+v", st)
	}
	users := sink.users()
	if users[ch.Added] == nil {
		t.Error("the student added after the cursor passed is missing: ids only grow, so cursor paging must see them")
	}
	if users[ch.Removed] == nil {
		t.Error("the student removed after their page was served is missing from this pull")
	}
	if len(users) != len(baseSink.users())+1 {
		t.Errorf("%d users, want %d", len(users), len(baseSink.users())+1)
	}
}

func TestNoStudentsIsNeverBulk(t *testing.T) {
	e := newEnv(t, 60)
	e.srv.Remove("student")
	rep, sink, err := pull(t, e.client(t, Options{}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !result(t, rep, Students).Complete || rep.Count(Students, CodeNoStudents) != 1 || rep.Complete {
		t.Fatalf("report %+v", rep.Findings)
	}
	for _, k := range []roster.Kind{roster.KindUser, roster.KindRole, roster.KindEnrollment} {
		if sink.modes[k] != roster.ModeDelta {
			t.Errorf("%s announced %s; an empty students collection must not read as everyone left", k, sink.modes[k])
		}
	}
	_ = http.StatusOK
}
