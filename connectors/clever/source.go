package clever

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/sis"
)

// Source is the connector on the sync frame (internal/sissync): a sis.Source whose rows are
// the stripped Clever records of each page (one row per record: Clever id, "", last_modified,
// the record's JSON), and a sis.Assembler that maps the staged pages with Map into the
// OneRoster 1.2 CSV package the import pipeline reads. Only stripped pages reach the frame,
// so only stripped pages are staged.
type Source struct {
	client *Client
	cols   []Collection
	mapOpt MapOptions
	now    func() time.Time
	count  *countingTransport
}

// NewSource returns the frame's source for one connection. opt.HTTPClient's transport is
// wrapped to count requests and bytes per page; cols are the collections to pull
// (AllCollections when nil).
func NewSource(opt Options, cols []Collection, mapOpt MapOptions) (*Source, error) {
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	ct := &countingTransport{next: hc.Transport}
	if ct.next == nil {
		ct.next = http.DefaultTransport
	}
	c2 := *hc
	c2.Transport = ct
	opt.HTTPClient = &c2
	cl, err := New(opt)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		cols = AllCollections
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	return &Source{client: cl, cols: cols, mapOpt: mapOpt, now: now, count: ct}, nil
}

// countingTransport counts requests, response bytes and the time spent waiting on the
// server (for the answer and while reading its body).
type countingTransport struct {
	next     http.RoundTripper
	mu       sync.Mutex
	requests int
	bytes    int64
	wait     time.Duration
}

// RoundTrip counts the request, and the response's bytes as they are read (a large page is
// sent chunked, without a Content-Length).
func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.mu.Lock()
	t.requests++
	t.wait += time.Since(t0)
	t.mu.Unlock()
	if resp != nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, t: t}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	t *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	t0 := time.Now()
	n, err := b.ReadCloser.Read(p)
	b.t.mu.Lock()
	b.t.bytes += int64(n)
	b.t.wait += time.Since(t0)
	b.t.mu.Unlock()
	return n, err
}

// counts is what the transport counted up to a point.
type counts struct {
	requests int
	bytes    int64
	wait     time.Duration
}

// take returns what was counted since since, and moves since to now.
func (t *countingTransport) take(since *counts) counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := counts{t.requests - since.requests, t.bytes - since.bytes, t.wait - since.wait}
	*since = counts{t.requests, t.bytes, t.wait}
	return d
}

// Layout implements sis.Source: the assembled package is OneRoster 1.2.
func (s *Source) Layout() string { return "1.2" }

// Collections implements sis.Source. Students are the district's people: a full pull with
// none is held.
func (s *Source) Collections() []sis.Collection {
	out := make([]sis.Collection, 0, len(s.cols))
	for _, c := range s.cols {
		out = append(out, sis.Collection{Name: string(c), Files: []string{"clever-" + string(c)}, People: c == Students})
	}
	return out
}

// Pull implements sis.Source with PullCollection. The Clever cursor travels in the frame's
// cursor (Next, as JSON). q is ignored: Clever has no delta query, every run is a full pull.
// A 401 returns ErrRevoked, which fails the run; a collection that cannot be completed
// returns a *sis.CollectionError with the reason.
func (s *Source) Pull(ctx context.Context, c sis.Collection, _ sis.Query, from sis.Cursor, page func(*sis.Page) error) error {
	col := Collection(c.Name)
	var cur Cursor
	if from.Next != "" {
		if err := json.Unmarshal([]byte(from.Next), &cur); err != nil {
			return fmt.Errorf("clever: the checkpoint of %s cannot be read: %w", col, err)
		}
	}
	res, err := s.pullFrame(ctx, col, cur, page)
	if err != nil {
		return err
	}
	if !res.Complete {
		return &sis.CollectionError{Collection: c.Name, Page: res.Pages + 1, Status: res.Status, Message: res.Reason}
	}
	return nil
}

// pullFrame pulls one collection from cur with PullCollection, passing each page to page as
// the frame's page, with the requests and bytes it took.
func (s *Source) pullFrame(ctx context.Context, col Collection, cur Cursor, page func(*sis.Page) error) (CollectionResult, error) {
	c := sis.Collection{Name: string(col)}
	file := "clever-" + c.Name
	var since counts
	s.count.take(&since)
	st := stageFunc(func(ctx context.Context, _ Collection, n int, body []byte, next Cursor) error {
		p, err := framePage(c.Name, file, n, body, next)
		if err != nil {
			return err
		}
		d := s.count.take(&since)
		p.Requests, p.Bytes, p.WaitMS = d.requests, d.bytes, d.wait.Milliseconds()
		if d.requests > 1 {
			p.Retries = d.requests - 1
		}
		return page(p)
	})
	res, _, err := s.client.PullCollection(ctx, col, cur, st)
	return res, err
}

type stageFunc func(ctx context.Context, c Collection, page int, body []byte, next Cursor) error

func (f stageFunc) Put(ctx context.Context, c Collection, page int, body []byte, next Cursor) error {
	return f(ctx, c, page, body, next)
}

// framePage turns a stripped page into the frame's page: one row per element.
func framePage(coll, file string, n int, body []byte, next Cursor) (*sis.Page, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("clever: %s page %d: %w", coll, n, err)
	}
	nb, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	p := &sis.Page{Collection: coll, Number: n, Total: -1, Received: len(env.Data),
		Next: sis.Cursor{Page: n, Next: string(nb)}, Done: next.Done}
	for i, raw := range env.Data {
		id, mod := fmt.Sprintf("?%d.%d", n, i), ""
		if rec, err := unwrap(raw); err == nil {
			var pid pageID
			if json.Unmarshal(rec, &pid) == nil && pid.ID != "" {
				id, mod = pid.ID, pid.LastModified
			}
		}
		p.Rows = append(p.Rows, sis.Row{File: file, Cells: []string{id, "", mod, string(raw)}})
	}
	return p, nil
}

// stagedPages rebuilds Clever list pages from the frame's staged pages, for Map.
type stagedPages map[string]sis.Staged

func (sp stagedPages) Get(ctx context.Context, c Collection, n int) ([]byte, error) {
	st, ok := sp[string(c)]
	if !ok {
		return nil, fmt.Errorf("clever: %s was not staged", c)
	}
	p, err := st.Page(ctx, n)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, r := range p.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(r.Cells) < 4 {
			return nil, fmt.Errorf("clever: staged page %d of %s holds a row that is not a Clever record", n, c)
		}
		b.WriteString(r.Cells[3])
	}
	b.WriteString(`],"links":[]}`)
	return b.Bytes(), nil
}

// Assemble implements sis.Assembler: Map over the staged pages, each kind written as its
// OneRoster 1.2 CSV file as soon as it is mapped (the kind in progress waits in a temp file,
// so that the package never holds more than one kind's records outside the writer). A kind
// Map announced as bulk but in which it rejected records is written as delta, so that a
// rejected record is kept, never deactivated.
func (s *Source) Assemble(ctx context.Context, staged []sis.Staged, w sis.FileWriter) ([]sis.Finding, error) {
	pull := &PullResult{}
	sp := stagedPages{}
	for _, st := range staged {
		sp[st.Collection] = st
		pull.Collections = append(pull.Collections, CollectionResult{Collection: Collection(st.Collection), Complete: st.Complete,
			Reason: st.Reason, Pages: st.Pages, Records: st.Received})
	}
	sink := &kindSink{w: w, stamp: s.now().UTC().Format("2006-01-02T15:04:05.000Z")}
	defer sink.discard()
	rep, err := Map(ctx, sp, pull, sink, s.mapOpt)
	if err == nil {
		err = sink.finish()
	}
	if err != nil {
		return nil, err
	}
	var out []sis.Finding
	for _, f := range rep.Findings {
		out = append(out, sis.Finding{Severity: string(f.Severity), Code: string(f.Code), Collection: string(f.Collection),
			Page: f.Page, SourcedID: f.CleverID, Field: f.Field, Message: f.Message})
	}
	return out, nil
}

// kindSink writes Map's records kind by kind: the kind in progress goes to a temp file as
// delta lines (status and stamp), and when the next kind starts it is copied to w with its
// final mode (a bulk line leaves status and dateLastModified blank).
type kindSink struct {
	w     sis.FileWriter
	stamp string

	kind     roster.Kind
	mode     roster.Mode
	rejected int
	tmp      *os.File
	buf      *bufio.Writer
	cw       *csv.Writer
}

func (k *kindSink) File(kind roster.Kind, mode roster.Mode) error {
	if err := k.finish(); err != nil {
		return err
	}
	k.kind, k.mode, k.rejected = kind, mode, 0
	if mode == roster.ModeAbsent {
		return nil
	}
	f, err := os.CreateTemp("", "clever-"+string(kind)+"-*.csv")
	if err != nil {
		return fmt.Errorf("clever: assembling %s: %w", kind, err)
	}
	k.tmp, k.buf = f, bufio.NewWriterSize(f, 1<<20)
	k.cw = csv.NewWriter(k.buf)
	return nil
}

func (k *kindSink) Record(rec roster.Record) error {
	if k.cw == nil || rec.RecordKind() != k.kind {
		return fmt.Errorf("clever: a %s record outside its kind", rec.RecordKind())
	}
	return k.cw.Write(cells(fileOf[k.kind], rec, roster.ModeDelta, k.stamp))
}

func (k *kindSink) Reject(roster.Kind, string) error { k.rejected++; return nil }

// finish copies the kind in progress to the package and removes its temp file.
func (k *kindSink) finish() error {
	if k.tmp == nil {
		return nil
	}
	defer k.discard()
	k.cw.Flush()
	if err := k.cw.Error(); err != nil {
		return err
	}
	if err := k.buf.Flush(); err != nil {
		return err
	}
	mode := k.mode
	if mode == roster.ModeBulk && k.rejected > 0 {
		mode = roster.ModeDelta
	}
	file := fileOf[k.kind]
	if err := k.w.File(file, string(mode)); err != nil {
		return err
	}
	if _, err := k.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := csv.NewReader(bufio.NewReaderSize(k.tmp, 1<<20))
	r.ReuseRecord = true
	for {
		line, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("clever: reading back %s: %w", file, err)
		}
		if mode == roster.ModeBulk && line[1] == string(roster.StatusActive) {
			line[1], line[2] = "", ""
		}
		if err := k.w.Row(line); err != nil {
			return err
		}
	}
}

// discard removes the temp file of the kind in progress, if any.
func (k *kindSink) discard() {
	if k.tmp != nil {
		k.tmp.Close()
		os.Remove(k.tmp.Name())
		k.tmp, k.buf, k.cw = nil, nil, nil
	}
}

var fileOf = map[roster.Kind]string{roster.KindOrg: "orgs.csv", roster.KindAcademicSession: "academicSessions.csv",
	roster.KindCourse: "courses.csv", roster.KindClass: "classes.csv", roster.KindUser: "users.csv",
	roster.KindRole: "roles.csv", roster.KindEnrollment: "enrollments.csv"}

// cells writes a record as a OneRoster 1.2 CSV line of file. A bulk line leaves status and
// dateLastModified blank; a delta line carries the status and stamp.
func cells(file string, rec roster.Record, mode roster.Mode, stamp string) []string {
	// Map names roles user#org#role and enrollments section#role#user; '#' is not a
	// sourcedId character of the CSV rules, '.' is (Clever ids are hex, so the two spellings
	// cannot collide).
	v := map[string]string{"sourcedId": strings.ReplaceAll(rec.ID(), "#", ".")}
	if mode == roster.ModeDelta {
		v["status"], v["dateLastModified"] = string(cmpStatus(rec.RecordStatus())), stamp
	}
	list := func(s []string) string { return strings.Join(s, ",") }
	switch r := rec.(type) {
	case *roster.Org:
		v["name"], v["type"], v["identifier"], v["parentSourcedId"] = r.Name, r.Type, r.Identifier, r.ParentSourcedID
	case *roster.AcademicSession:
		v["title"], v["type"], v["startDate"], v["endDate"], v["parentSourcedId"], v["schoolYear"] = r.Title, r.Type, r.StartDate, r.EndDate, r.ParentSourcedID, r.SchoolYear
	case *roster.Course:
		v["schoolYearSourcedId"], v["title"], v["courseCode"], v["grades"], v["orgSourcedId"] = r.SchoolYearSourcedID, r.Title, r.CourseCode, list(r.Grades), r.OrgSourcedID
	case *roster.Class:
		v["title"], v["grades"], v["courseSourcedId"], v["classCode"], v["classType"] = r.Title, list(r.Grades), r.CourseSourcedID, r.ClassCode, r.ClassType
		v["schoolSourcedId"], v["termSourcedIds"] = r.SchoolSourcedID, list(r.TermSourcedIDs)
	case *roster.User:
		// username is required by the CSV rules; the Clever id stands in (no personal data).
		v["enabledUser"], v["username"], v["givenName"], v["familyName"] = fmt.Sprint(r.EnabledUser), r.SourcedID, r.GivenName, r.FamilyName
		v["identifier"], v["email"], v["phone"], v["agentSourcedIds"] = r.Identifier, r.Email, r.Phone, list(r.AgentSourcedIDs)
		v["grades"], v["primaryOrgSourcedId"] = list(r.Grades), r.PrimaryOrgSourcedID
	case *roster.Role:
		v["userSourcedId"], v["roleType"], v["role"], v["beginDate"], v["endDate"], v["orgSourcedId"] = r.UserSourcedID, r.RoleType, r.Role, r.BeginDate, r.EndDate, r.OrgSourcedID
	case *roster.Enrollment:
		v["classSourcedId"], v["schoolSourcedId"], v["userSourcedId"], v["role"], v["primary"] = r.ClassSourcedID, r.SchoolSourcedID, r.UserSourcedID, r.Role, fmt.Sprint(r.Primary)
		v["beginDate"], v["endDate"] = r.BeginDate, r.EndDate
	}
	cols := sis.Columns("1.2", file)
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = v[c]
	}
	return out
}

func cmpStatus(s roster.Status) roster.Status {
	if s == "" {
		return roster.StatusActive
	}
	return s
}

var (
	_ sis.Source    = (*Source)(nil)
	_ sis.Assembler = (*Source)(nil)
)
