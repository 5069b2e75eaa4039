package sis

import (
	"context"
	"errors"
	"time"
)

// Evented is implemented by an Assembler source that can also read its changes as an
// ordered event log (Clever's Events API, opt-in per district). On a connection with Events
// on, the frame reads the newest event id before each full pull (LatestEvent); an applied run
// whose collections all completed becomes the connection's Snapshot with that id. A nightly
// events run then pulls the events after the id (PullEvents), applies them in order to the
// snapshot's staged pages (ApplyEvents) and hands the result to the same verdicts, assembly
// and import pipeline as a full pull; the weekly full pull remains the truth.
//
// Error contract: LatestEvent and PullEvents return ErrEventsGone when the source no longer
// keeps the id (Clever answers 404), a *CollectionError when the log cannot be read to its
// end, and any other error (a revoked token, the context) to stop the run. ApplyEvents
// returns an error wrapping ErrSnapshotUnreadable when a snapshot page cannot be read or is
// not the source's.
type Evented interface {
	// LatestEvent returns the id of the newest event, "" when the log is empty.
	LatestEvent(ctx context.Context) (string, error)
	// PullEvents reads the events after id ("" for all the source keeps), in order, passing
	// each page (one row per event) to page; page's error stops the pull and is returned.
	PullEvents(ctx context.Context, after string, page func(*Page) error) error
	// ApplyEvents applies the staged events, in order, to the snapshot's staged collections
	// and passes the resulting pages to out, collection by collection in the snapshot's
	// order, pages in order (a collection with no records yields one empty page).
	ApplyEvents(ctx context.Context, snapshot []Staged, events Staged, out func(*Page) error) (*EventsApplied, error)
}

// EventsApplied is what ApplyEvents did.
type EventsApplied struct {
	// Events counts the events applied; Last is the id of the last one ("" when none).
	Events int    `json:"events"`
	Last   string `json:"last,omitempty"`
	// ByType counts them by type (users.updated, sections.deleted, …).
	ByType map[string]int `json:"byType,omitempty"`
	// Ignored counts events of types that change nothing the roster keeps.
	Ignored int `json:"ignored,omitempty"`
}

// Snapshot is a connection's last applied complete pull as an events run starts from: the
// run whose staged pages hold it, and the newest event id read before it (with when).
type Snapshot struct {
	Run     string    `json:"run"`
	EventID string    `json:"eventId"`
	ReadAt  time.Time `json:"readAt"`
}

// MaxEvents is the most events an events run applies; more, and a full pull runs instead.
const MaxEvents = 50_000

// EventsMaxAge is how long an event id stays usable (Clever keeps events 30 days).
const EventsMaxAge = 30 * 24 * time.Hour

// Errors of Evented.
var (
	ErrEventsGone         = errors.New("the source no longer keeps the event id (404)")
	ErrSnapshotUnreadable = errors.New("the snapshot's pages cannot be read")
)
