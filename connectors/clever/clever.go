// Package clever pulls a district's roster from the Clever API v3.0 and maps it to the
// roster records every connector produces (internal/roster).
//
// The connector has two halves, so that the sync frame can stage pages between them:
//
//   - Client.PullAll / Client.PullCollection fetch /districts, /schools, /terms, /courses,
//     /sections and /users?role=contact|student|teacher|staff page by page (bearer token,
//     limit ≤ 10,000, Clever's rel=next links with starting_after), pass every body through
//     Strip (no demographics, credentials or ext are ever kept), hand each page to a Stage
//     with the Cursor that continues after it, and return a completeness verdict per
//     collection with counters (pages, records, requests, retries, 429s, bytes).
//   - Map reads the staged pages back and passes roster records to a Sink (the importer's
//     Planner) in roster.Kinds order, validating strictly, with findings that name
//     collection, page and Clever id. A kind is announced as bulk only when every
//     collection that feeds it completed; otherwise as delta, so that nothing is ever
//     deactivated because it is missing from an incomplete pull.
//
// Connector.Pull does both in memory. Errors that stop a run: ErrRevoked (a 401: the token
// was revoked or the district unshared the app), the context, a failing Stage or Sink.
// Everything else about a collection (a 4xx, retries exhausted, an HTML body, a next link
// that repeats or leaves the base URL, records out of order) makes that collection
// incomplete, with the reason in its CollectionResult.
//
// Logs carry collection, page, HTTP status and Clever ids; never the token, names, emails
// or phone numbers.
package clever

import (
	"context"
)

// Connector pulls one district from Clever and maps it into roster records.
type Connector struct {
	// Client talks to Clever with the district's token.
	Client *Client
	// Collections to pull, in order; AllCollections when nil.
	Collections []Collection
	// Map configures the mapping.
	Map MapOptions
}

// Pull pulls every collection into memory (stripped pages only), then maps them to sink.
// The report carries the pull's per-collection verdicts and counters, the mode each kind
// was announced with, and the findings. On an error that stops the run (ErrRevoked, ctx)
// Pull returns a report with the pull result so far and no records are passed to sink.
func (c *Connector) Pull(ctx context.Context, sink Sink) (*Report, error) {
	cols := c.Collections
	if cols == nil {
		cols = AllCollections
	}
	stage := NewMemStage()
	pull, err := c.Client.PullAll(ctx, cols, stage, nil)
	if err != nil {
		return newReport(pull, c.Map.MaxFindingsPerRule), err
	}
	// Map reads each page once: let the pages go as it does.
	return Map(ctx, takePages{stage}, pull, sink, c.Map)
}

// takePages hands each page over once and forgets it.
type takePages struct{ m *MemStage }

func (t takePages) Get(ctx context.Context, c Collection, page int) ([]byte, error) {
	b, err := t.m.Get(ctx, c, page)
	if err == nil {
		t.m.mu.Lock()
		t.m.pages[c][page-1] = nil
		t.m.mu.Unlock()
	}
	return b, err
}
