package clever

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/pthv/reach/internal/roster"
)

// Events is the pseudo-collection of Clever's Events API (/events), which a district opts
// into; it is not part of AllCollections.
const Events Collection = "events"

// EventsOptions configure ApplyEvents.
type EventsOptions struct {
	// District is the Clever id of the token's district (the district org of the last full
	// pull): guardian roles are placed at it, and records of other districts are refused.
	District string
	Map      MapOptions
}

// EventsReport is what ApplyEvents did.
type EventsReport struct {
	*Report
	// Pull is the events collection's verdict; when it is not complete, Last is the last
	// event applied and the next run continues from it.
	Pull CollectionResult `json:"events"`
	// Last is the id of the last event read: the next run's since.
	Last string `json:"last"`
	// ByType counts the events read by type (users.updated, sections.deleted, …).
	ByType map[string]int `json:"byType"`
	// Deferred counts students created or updated by an event, whose records wait for the
	// next full pull: a student's event does not carry their guardians, and an upsert
	// without them would cut the family links.
	Deferred int `json:"deferred"`
}

type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// ApplyEvents reads /events after since (an event id; Clever keeps 30 days of them) to the
// end and passes the changes to sink as delta records, in roster.Kinds order: created and
// updated sections (with their enrollments), teachers, staff and contacts are upserts;
// deleted users and sections are deactivations (status tobedeleted) with their roles and
// enrollments; other event types are counted in ByType and left to the full pull. Students
// created or updated by an event are left to the
// next full pull (EventsReport.Deferred). Every kind is announced as delta: nothing is
// deactivated for being absent from events. Removals of a student from a section, and
// anything else an event cannot say completely, are seen by the weekly full pull, which
// remains the truth.
func (c *Client) ApplyEvents(ctx context.Context, since string, sink Sink, opt EventsOptions) (*EventsReport, error) {
	stage := NewMemStage()
	q := url.Values{}
	q.Set("limit", strconv.Itoa(c.opt.Limit))
	if since != "" {
		q.Set("starting_after", since)
	}
	cur := Cursor{Next: c.base.Path + "/events?" + q.Encode(), LastID: since, PrevAfter: since}
	if since == "" {
		cur.PrevAfter = ""
	}
	cr, _, err := c.PullCollection(ctx, Events, cur, stage)
	if err != nil {
		return nil, err
	}
	pull := &PullResult{Started: c.serverStart(), Collections: []CollectionResult{cr}, Counters: cr.Counters}
	m := &mapper{ctx: ctx, pages: stage, pull: pull, sink: sink, rep: newReport(pull, opt.Map.MaxFindingsPerRule),
		valid: map[Collection]map[string]bool{}, secGrade: map[string]string{},
		agents: map[string][]string{}, children: map[string][]string{}, broken: map[Collection]bool{},
		cache: map[Collection]any{}, events: true, deleted: map[string]bool{}, district: opt.District}
	if !cr.Complete {
		m.rep.add(Finding{Code: CodeIncomplete, Collection: Events, Message: cr.Reason})
	}
	out := &EventsReport{Pull: cr, Last: since, ByType: map[string]int{}}
	// Decode the events, keeping the last state of each record.
	latest := map[Collection]map[string]int{}
	put := func(col Collection, page int, id string, v any) {
		if latest[col] == nil {
			latest[col] = map[string]int{}
		}
		switch x := v.(type) {
		case *user:
			items, _ := m.cache[col].([]item[user])
			if i, ok := latest[col][id]; ok {
				items[i] = item[user]{page, id, *x}
			} else {
				latest[col][id] = len(items)
				items = append(items, item[user]{page, id, *x})
			}
			m.cache[col] = items
		case *section:
			items, _ := m.cache[col].([]item[section])
			if i, ok := latest[col][id]; ok {
				items[i] = item[section]{page, id, *x}
			} else {
				latest[col][id] = len(items)
				items = append(items, item[section]{page, id, *x})
			}
			m.cache[col] = items
		}
	}
	for page := 1; page <= cr.Pages; page++ {
		body, err := stage.Get(ctx, Events, page)
		if err != nil {
			return nil, err
		}
		var p struct {
			Data []struct {
				Data event `json:"data"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			m.rep.add(Finding{Code: CodeEnvelope, Collection: Events, Page: page, Message: "an events page is not readable: " + jsonErr(err)})
			break
		}
		for _, w := range p.Data {
			e := w.Data
			if e.ID == "" {
				continue
			}
			out.Last = e.ID
			out.ByType[e.Type]++
			kind, action, _ := strings.Cut(e.Type, ".")
			deleted := action == "deleted"
			switch kind {
			case "users":
				var u user
				if json.Unmarshal(e.Data.Object, &u) != nil || !idPattern.MatchString(u.ID) {
					m.rep.add(Finding{Code: CodeRecord, Collection: Events, Page: page, CleverID: e.ID, Message: "a users event without a readable user"})
					continue
				}
				m.deleted[u.ID] = deleted
				r := u.Roles
				for _, x := range []struct {
					has bool
					col Collection
				}{{r.Student != nil, Students}, {r.Teacher != nil, Teachers}, {r.Staff != nil, Staff}, {r.Contact != nil, Contacts}} {
					if x.has {
						put(x.col, page, u.ID, &u)
					}
				}
			case "sections":
				var s section
				if json.Unmarshal(e.Data.Object, &s) != nil || !idPattern.MatchString(s.ID) {
					m.rep.add(Finding{Code: CodeRecord, Collection: Events, Page: page, CleverID: e.ID, Message: "a sections event without a readable section"})
					continue
				}
				m.deleted[s.ID] = deleted
				put(Sections, page, s.ID, &s)
			}
		}
	}
	for _, k := range roster.Kinds {
		m.rep.Modes[k] = roster.ModeDelta
	}
	if _, err := m.run(); err != nil {
		return nil, err
	}
	out.Report, out.Deferred = m.rep, m.deferred
	m.rep.Complete = false // events are never a complete roster
	return out, nil
}

// tombstone reports (in events mode) whether id was deleted, and passes its deactivation.
func (m *mapper) tombstone(rec roster.Record) (bool, error) {
	if !m.events || !m.deleted[rec.ID()] {
		return false, nil
	}
	return true, m.record(rec)
}
