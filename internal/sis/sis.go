// Package sis holds what every SIS connector and the sync frame (internal/sissync) share: the
// small Source interface a connector implements, the rows it yields, and the completeness
// proof of a pulled collection.
//
// A connector turns a remote API into Rows: one row per CSV line of a OneRoster CSV package
// (Layout "1.1" or "1.2"), with the cells in the columns of Columns(layout, file). It decodes
// leniently (unknown fields ignored, booleans as strings, vendor spellings) and validates
// nothing: the frame writes the rows into a OneRoster CSV package and the import pipeline
// validates it with the same rules and finding codes as a CSV drop. A finding's file and line
// are then turned back into the collection, page and sourcedId the row came from.
//
// The package imports nothing outside the standard library and internal/roster.
package sis

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"time"
)

// Source is one SIS connection as a connector serves it. Implementations: the OneRoster REST
// client (connectors/oneroster/rest) and the Clever client (connectors/clever).
//
// Error contract: Pull returns a *CollectionError for a failure that says something about
// the collection (a 403 for a scope the district did not grant, a 404, a 400 the server keeps
// answering, tries or time exhausted); the frame marks that collection incomplete and goes
// on with the others. Any other error (context cancelled) stops the run.
type Source interface {
	// Layout is the OneRoster CSV layout of the rows: "1.1" or "1.2".
	Layout() string
	// Collections lists what to pull, in the order the frame pulls and writes them.
	Collections() []Collection
	// Pull reads one collection from the cursor (the zero Cursor is its start) and passes
	// each page, in order, to page; page's error stops the pull and is returned. A delta
	// query (q.Since non-zero) asks for records modified after q.Since only.
	Pull(ctx context.Context, c Collection, q Query, from Cursor, page func(*Page) error) error
}

// Collection is one collection of a source. Files are the CSV files its rows go to (a
// OneRoster 1.2 users collection also yields roles.csv rows).
type Collection struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
	// People marks a collection of the district's students (a source's users collection
	// always is): a full pull in which it is empty is held, and its records left out.
	People bool `json:"people,omitempty"`
}

// Query narrows a pull.
type Query struct {
	// Since asks for records whose dateLastModified is after it (a delta); zero = everything.
	Since time.Time
}

// Cursor is where a pull of a collection continues: the next offset (or the server's next
// link) and the page number. It is saved with the run's checkpoint.
type Cursor struct {
	Offset int    `json:"offset"`
	Next   string `json:"next,omitempty"`
	Page   int    `json:"page"`
}

// Page is one response of a collection.
type Page struct {
	Collection string `json:"collection"`
	Number     int    `json:"page"` // 1-based
	Offset     int    `json:"offset"`
	// Total is the server's count of the collection (X-Total-Count), -1 when not sent.
	Total int `json:"total"`
	// Revision is a server's data revision header (ClassLink's x-perm-rev), "" when not sent.
	Revision string `json:"revision,omitempty"`
	// Received is the number of records the page held (Rows may hold more: roles).
	Received int   `json:"received"`
	Rows     []Row `json:"rows"`
	// Next is where the pull continues after this page; Done when there is no next page.
	Next Cursor `json:"next"`
	Done bool   `json:"done"`
	// Stats of the requests made for this page (retries included).
	Requests int   `json:"requests"`
	Retries  int   `json:"retries"`
	Bytes    int64 `json:"bytes"`
	// WaitMS is the time spent waiting on the server (and on backoff) for the page.
	WaitMS int64 `json:"waitMs"`
	// Notes are messages about the page (no personal data): a field list the server
	// refused, a Link header that was followed.
	Notes []string `json:"notes,omitempty"`
}

// Row is one CSV line to be: the file and the cells, in Columns(layout, File) order. ID is
// the record's sourcedId (the first cell).
type Row struct {
	File  string   `json:"f"`
	Cells []string `json:"c"`
}

// ID returns the row's sourcedId.
func (r Row) ID() string {
	if len(r.Cells) == 0 {
		return ""
	}
	return r.Cells[0]
}

// CollectionError is a failure of one collection: the frame treats the collection as
// unknown (never empty) and says why.
type CollectionError struct {
	Collection string
	Page       int
	Status     int // HTTP status, 0 when none
	Message    string
}

func (e *CollectionError) Error() string {
	s := fmt.Sprintf("%s page %d: %s", e.Collection, e.Page, e.Message)
	if e.Status != 0 && !strings.HasPrefix(e.Message, fmt.Sprint(e.Status)) {
		s = fmt.Sprintf("%s page %d: HTTP %d: %s", e.Collection, e.Page, e.Status, e.Message)
	}
	return s
}

// Columns returns the CSV columns of a file in a layout: the header the frame writes.
func Columns(layout, file string) []string {
	switch file {
	case "orgs.csv":
		return []string{"sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"}
	case "academicSessions.csv":
		return []string{"sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"}
	case "courses.csv":
		return []string{"sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"}
	case "classes.csv":
		return []string{"sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"}
	case "users.csv":
		if layout == "1.1" {
			return []string{"sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password"}
		}
		return []string{"sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName", "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns"}
	case "roles.csv":
		return []string{"sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"}
	case "enrollments.csv":
		return []string{"sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"}
	}
	return nil
}

// ColumnIndex returns the index of column name in Columns(layout, file), or -1.
func ColumnIndex(layout, file, name string) int {
	for i, c := range Columns(layout, file) {
		if c == name {
			return i
		}
	}
	return -1
}

// RoleID is the sourcedId given to a role that a source nests in its user without an id
// (OneRoster 1.2 REST users' roles[]): the user, the org and the role, joined with dots, a
// character sourcedIds allow and OneRoster CSV role ids rarely contain.
func RoleID(user, org, role string) string {
	return user + "..r." + org + "." + strings.ToLower(role)
}

// Proof is the completeness proof of one collection's pull.
type Proof struct {
	Collection string `json:"collection"`
	Pages      int    `json:"pages"`
	Received   int    `json:"received"` // records received, duplicates included
	Unique     int    `json:"unique"`
	Duplicates int    `json:"duplicates"`
	// Total is the server's total (-1 when it sent none); TotalChanged is set when it changed
	// between pages, RevisionChanged when the data revision header did.
	Total           int  `json:"total"`
	TotalChanged    bool `json:"totalChanged,omitempty"`
	RevisionChanged bool `json:"revisionChanged,omitempty"`
	// Ended is set when the pull reached its end (an empty page, the total, or no next link).
	Ended bool `json:"ended"`
	// Error is why the pull stopped early (the CollectionError's message), "" when it did not.
	Error    string `json:"error,omitempty"`
	Requests int    `json:"requests"`
	Retries  int    `json:"retries"`
	Bytes    int64  `json:"bytes"`
	WaitMS   int64  `json:"waitMs"`
}

// Complete reports whether the collection is known completely, and if not, why.
func (p *Proof) Complete() (bool, string) {
	switch {
	case p.Error != "":
		return false, p.Error
	case !p.Ended:
		return false, "the pull did not reach the end of the collection"
	case p.TotalChanged:
		return false, "the server's total changed during the pull (data changed mid-pull)"
	case p.RevisionChanged:
		return false, "the server's data revision changed during the pull"
	case p.Total >= 0 && p.Unique > p.Total:
		return false, fmt.Sprintf("%d distinct records received, more than the server's total of %d", p.Unique, p.Total)
	case p.Total >= 0 && p.Unique < p.Total:
		return false, fmt.Sprintf("%d distinct records received, fewer than the server's total of %d (records shifted between pages)", p.Unique, p.Total)
	case p.Total < 0 && p.Duplicates > 0:
		return false, fmt.Sprintf("%d duplicate records and no total to check against: the order was unstable, so records may also have been skipped", p.Duplicates)
	}
	if p.Total < 0 {
		return true, "complete: ended on an empty page (the server sends no total)"
	}
	return true, fmt.Sprintf("complete: %d of %d", p.Unique, p.Total)
}

// Tally builds a Proof page by page and drops duplicate records (by sourcedId, within the
// collection's main file). It keeps a 64-bit hash per record, not the ids.
type Tally struct {
	Proof
	main     string
	seen     map[uint64]struct{}
	seed     maphash.Seed
	revision string
}

// NewTally starts the proof of collection c, whose records are the rows of file main.
func NewTally(c Collection) *Tally {
	main := ""
	if len(c.Files) > 0 {
		main = c.Files[0]
	}
	return &Tally{Proof: Proof{Collection: c.Name, Total: -1}, main: main, seen: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
}

// Add counts a page and removes from it the rows of records already seen (and the rows
// that follow them in other files, such as a duplicate user's roles).
func (t *Tally) Add(p *Page) {
	t.Pages++
	t.Received += p.Received
	t.Requests += p.Requests
	t.Retries += p.Retries
	t.Bytes += p.Bytes
	t.WaitMS += p.WaitMS
	if p.Total >= 0 {
		if t.Total >= 0 && p.Total != t.Total {
			t.TotalChanged = true
		}
		t.Total = p.Total
	}
	if p.Revision != "" {
		if t.revision != "" && t.revision != p.Revision {
			t.RevisionChanged = true
		}
		t.revision = p.Revision
	}
	kept := p.Rows[:0]
	drop := false
	for _, r := range p.Rows {
		if r.File == t.main {
			h := maphash.String(t.seed, r.ID())
			_, dup := t.seen[h]
			drop = dup
			if dup {
				t.Duplicates++
				continue
			}
			t.seen[h] = struct{}{}
			t.Unique++
		} else if drop {
			continue
		}
		kept = append(kept, r)
	}
	p.Rows = kept
	if p.Done {
		t.Ended = true
	}
}

// Assembler is implemented by a source whose rows are its own records rather than CSV lines,
// because its records only become a roster together (Clever: a section's students and
// teachers become enrollments, a contact's student relationships become guardians). Such a
// source pulls everything on every run (the frame never asks it for a delta). Once every
// collection is pulled and staged, the frame passes the staged collections to Assemble,
// which writes the package's files through w; the frame writes the manifest from the modes
// w was given and hands the package to the import pipeline as usual.
type Assembler interface {
	Assemble(ctx context.Context, staged []Staged, w FileWriter) ([]Finding, error)
}

// Staged is one pulled collection as the frame staged it.
type Staged struct {
	Collection string
	// Complete is the frame's verdict (sis.Proof.Complete), Reason why not.
	Complete bool
	Reason   string
	Pages    int
	Received int
	// Page reads staged page n (1-based).
	Page func(ctx context.Context, n int) (*Page, error)
}

// FileWriter receives an assembled package: File starts a CSV file (once per file; mode
// bulk, delta or absent) and Row adds a line to it, its cells in Columns(layout, file)
// order.
type FileWriter interface {
	File(name, mode string) error
	Row(cells []string) error
}
