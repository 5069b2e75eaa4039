package clever

import (
	"context"
	"fmt"
	"sync"

	"github.com/pthv/reach/internal/roster"
)

// Collection names one Clever list endpoint the connector pulls.
type Collection string

// The collections, in the order Pull fetches them.
const (
	Districts Collection = "districts"
	Schools   Collection = "schools"
	Terms     Collection = "terms"
	Courses   Collection = "courses"
	Sections  Collection = "sections"
	Contacts  Collection = "contacts" // /users?role=contact
	Students  Collection = "students" // /users?role=student
	Teachers  Collection = "teachers" // /users?role=teacher
	Staff     Collection = "staff"    // /users?role=staff
)

// Events is the pseudo-collection of Clever's Events API (/events), which a district opts
// into; it is not part of AllCollections.
const Events Collection = "events"

// AllCollections is every collection in pull order. Staff may be left out of
// Options.Collections where no educator who is not a teacher visits.
var AllCollections = []Collection{Districts, Schools, Terms, Courses, Sections, Contacts, Students, Teachers, Staff}

// Path returns the collection's path under the base URL and its role filter ("" for none).
func (c Collection) Path() (path, role string) {
	switch c {
	case Contacts:
		return "/users", "contact"
	case Students:
		return "/users", "student"
	case Teachers:
		return "/users", "teacher"
	case Staff:
		return "/users", "staff"
	}
	return "/" + string(c), ""
}

func (c Collection) valid() bool {
	if c == Events {
		return true
	}
	for _, k := range AllCollections {
		if k == c {
			return true
		}
	}
	return false
}

// Kinds returns the roster kinds the collection's records become or vouch for. A kind's
// records are a complete snapshot (bulk) only when every collection that feeds it
// completed: enrollments come from sections but are checked against the users, so an
// incomplete user collection keeps them delta too.
func (c Collection) Kinds() []roster.Kind {
	switch c {
	case Districts, Schools:
		return []roster.Kind{roster.KindOrg}
	case Terms:
		return []roster.Kind{roster.KindAcademicSession}
	case Courses:
		return []roster.Kind{roster.KindCourse}
	case Sections:
		return []roster.Kind{roster.KindClass, roster.KindEnrollment}
	}
	return []roster.Kind{roster.KindUser, roster.KindRole, roster.KindEnrollment}
}

// Cursor is where a collection's pull stands: a checkpoint the frame may store between
// invocations and pass back to PullCollection to continue. The zero Cursor starts at the
// first page.
type Cursor struct {
	// Next is the request URI (path and query, as Clever's rel=next link gives it) of the
	// next page; "" before the first page.
	Next string `json:"next,omitempty"`
	// Pages counts the pages received so far (the next page is Pages+1).
	Pages int `json:"pages"`
	// Records counts the records received so far, duplicates included.
	Records int `json:"records"`
	// LastID is the highest Clever id received so far, for the order and advance checks.
	LastID string `json:"lastId,omitempty"`
	// PrevAfter is the starting_after of the last page requested.
	PrevAfter string `json:"prevAfter,omitempty"`
	// Done is set once the collection has been enumerated to its end.
	Done bool `json:"done,omitempty"`
}

// Stage keeps pulled pages (already passed through Strip) so that a pull can be continued
// and inspected. Put is called once per page, in order; next is the cursor that continues
// after the page, so an implementation can checkpoint the two together. An error stops the
// pull.
type Stage interface {
	Put(ctx context.Context, c Collection, page int, body []byte, next Cursor) error
}

// Pages reads staged pages back for mapping; page numbers start at 1.
type Pages interface {
	Get(ctx context.Context, c Collection, page int) ([]byte, error)
}

// MemStage is a Stage and Pages in memory, for Pull, tests and the CLI's validation. Safe
// for concurrent use.
type MemStage struct {
	mu    sync.Mutex
	pages map[Collection][][]byte
}

// NewMemStage returns an empty MemStage.
func NewMemStage() *MemStage { return &MemStage{pages: map[Collection][][]byte{}} }

// Put implements Stage. Pages must arrive in order; a page number seen before replaces it.
func (m *MemStage) Put(_ context.Context, c Collection, page int, body []byte, _ Cursor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pages[c]
	switch {
	case page >= 1 && page <= len(p):
		p[page-1] = body
	case page == len(p)+1:
		p = append(p, body)
	default:
		return fmt.Errorf("clever: page %d of %s staged out of order", page, c)
	}
	m.pages[c] = p
	return nil
}

// Get implements Pages.
func (m *MemStage) Get(_ context.Context, c Collection, page int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pages[c]
	if page < 1 || page > len(p) {
		return nil, fmt.Errorf("clever: page %d of %s is not staged", page, c)
	}
	return p[page-1], nil
}

// Bytes returns the total size of the staged pages.
func (m *MemStage) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, p := range m.pages {
		for _, b := range p {
			n += int64(len(b))
		}
	}
	return n
}
