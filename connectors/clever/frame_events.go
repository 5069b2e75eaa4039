package clever

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pthv/reach/internal/sis"
)

// LatestEvent implements sis.Evented: the id of the newest event
// (/events?ending_before=last&limit=1), "" when Clever keeps none. A 404 is ErrEventsGone
// (events are not shared with the app); a 401 is ErrRevoked.
func (s *Source) LatestEvent(ctx context.Context) (string, error) {
	var cnt Counters
	body, err := s.client.get(ctx, s.client.base.Path+"/events?ending_before=last&limit=1", []any{"collection", "events", "page", 0}, &cnt)
	var he *httpError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return "", fmt.Errorf("clever: /events: %w", sis.ErrEventsGone)
	case errors.As(err, &he):
		return "", &sis.CollectionError{Collection: string(Events), Status: he.Status, Message: he.Error()}
	case err != nil:
		return "", err
	}
	stripped, err := Strip(body)
	if err != nil {
		return "", &sis.CollectionError{Collection: string(Events), Message: "the newest event is not JSON: " + err.Error()}
	}
	ids, _, _, err := pageIDs(stripped)
	if err != nil {
		return "", &sis.CollectionError{Collection: string(Events), Message: err.Error()}
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[len(ids)-1].ID, nil
}

// PullEvents implements sis.Evented: /events?starting_after=after page by page, with the
// same paging checks as every collection (ascending ids, next links that advance and stay
// under the base URL), one row per stripped event.
func (s *Source) PullEvents(ctx context.Context, after string, page func(*sis.Page) error) error {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(s.client.opt.Limit))
	if after != "" {
		q.Set("starting_after", after)
	}
	cur := Cursor{Next: s.client.base.Path + "/events?" + q.Encode(), LastID: after, PrevAfter: after}
	res, err := s.pullFrame(ctx, Events, cur, page)
	switch {
	case err != nil:
		return err
	case res.Status == http.StatusNotFound:
		return fmt.Errorf("clever: /events?starting_after=%s: %w", after, sis.ErrEventsGone)
	case !res.Complete:
		return &sis.CollectionError{Collection: string(Events), Page: res.Pages + 1, Status: res.Status, Message: res.Reason}
	}
	return nil
}

// eventRow is one staged event.
type eventRow struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// effects is what the events do to the snapshot: per collection, the last state of each
// record an event touched (nil: deleted), and the users deleted, whose places in sections
// and contacts go with them.
type effects struct {
	set  map[Collection]map[string]json.RawMessage
	gone map[string]bool
}

func (e *effects) put(c Collection, id string, obj json.RawMessage) {
	if e.set[c] == nil {
		e.set[c] = map[string]json.RawMessage{}
	}
	e.set[c][id] = obj
}

// add applies one event to the effects. It returns false for an event type that changes
// nothing the roster keeps, and an error for an event that cannot be read.
func (e *effects) add(ev *eventRow) (bool, error) {
	kind, action, _ := strings.Cut(ev.Type, ".")
	deleted := action == "deleted"
	if action != "created" && action != "updated" && !deleted {
		return false, nil
	}
	obj := bytes.TrimSpace(ev.Data.Object)
	var id pageID
	if len(obj) == 0 || obj[0] != '{' || json.Unmarshal(obj, &id) != nil || !idPattern.MatchString(id.ID) {
		return false, fmt.Errorf("event %s (%s) carries no readable record", ev.ID, ev.Type)
	}
	// Rows hold the record wrapped as a list page's element is.
	wrapped := append(append([]byte(`{"data":`), obj...), '}')
	switch Collection(kind) {
	case Districts, Schools, Terms, Courses, Sections:
		if deleted {
			wrapped = nil
		}
		e.put(Collection(kind), id.ID, wrapped)
		return true, nil
	case "users":
		var u user
		if err := json.Unmarshal(obj, &u); err != nil {
			return false, fmt.Errorf("event %s (%s): the user is malformed: %s", ev.ID, ev.Type, jsonErr(err))
		}
		r := u.Roles
		for _, x := range []struct {
			col Collection
			has bool
		}{{Students, r.Student != nil}, {Teachers, r.Teacher != nil}, {Staff, r.Staff != nil}, {Contacts, r.Contact != nil}} {
			if x.has && !deleted {
				e.put(x.col, id.ID, wrapped)
			} else {
				e.put(x.col, id.ID, nil) // deleted, or no longer in the role
			}
		}
		if deleted {
			e.gone[id.ID] = true
		} else {
			delete(e.gone, id.ID)
		}
		return true, nil
	}
	return false, nil
}

// ApplyEvents implements sis.Evented: it reads the staged events in order, keeps the last
// state of each record they touch, and streams each snapshot collection page by page with
// those records replaced, inserted (in id order) or removed. A deleted user also leaves
// every section (students[], teachers[], teacher) and every contact's
// student_relationships; nothing else changes. Only stripped bytes are read and written.
func (s *Source) ApplyEvents(ctx context.Context, snapshot []sis.Staged, events sis.Staged, out func(*sis.Page) error) (*sis.EventsApplied, error) {
	return applyEvents(ctx, snapshot, events, out)
}

func applyEvents(ctx context.Context, snapshot []sis.Staged, events sis.Staged, out func(*sis.Page) error) (*sis.EventsApplied, error) {
	eff := &effects{set: map[Collection]map[string]json.RawMessage{}, gone: map[string]bool{}}
	res := &sis.EventsApplied{ByType: map[string]int{}}
	for n := 1; n <= events.Pages; n++ {
		p, err := events.Page(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Rows {
			var ev eventRow
			rec, err := rowRecord(r)
			if err == nil {
				err = json.Unmarshal(rec, &ev)
			}
			if err != nil || ev.ID == "" {
				return nil, &sis.CollectionError{Collection: string(Events), Page: n, Message: "an event is not readable"}
			}
			used, err := eff.add(&ev)
			if err != nil {
				return nil, &sis.CollectionError{Collection: string(Events), Page: n, Message: err.Error()}
			}
			res.Events++
			res.Last = ev.ID
			res.ByType[ev.Type]++
			if !used {
				res.Ignored++
			}
		}
	}
	for _, st := range snapshot {
		if err := applyCollection(ctx, st, eff, out); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// rowRecord returns the record of a staged row (the element as the page carried it).
func rowRecord(r sis.Row) (json.RawMessage, error) {
	if len(r.Cells) < 4 {
		return nil, errors.New("a staged row is not a Clever record")
	}
	return unwrap(json.RawMessage(r.Cells[3]))
}

// applyCollection streams one snapshot collection through the effects.
func applyCollection(ctx context.Context, st sis.Staged, eff *effects, out func(*sis.Page) error) error {
	col := Collection(st.Collection)
	set := eff.set[col]
	ups := make([]string, 0, len(set))
	for id, obj := range set {
		if obj != nil {
			ups = append(ups, id)
		}
	}
	slices.Sort(ups)
	next := 0 // ups[next] is the next upsert not yet written
	file := "clever-" + st.Collection
	row := func(id string, raw []byte) (sis.Row, error) {
		raw, err := scrub(col, raw, eff.gone)
		if err != nil {
			return sis.Row{}, err
		}
		mod := ""
		if rec, err := unwrap(raw); err == nil {
			var pid pageID
			if json.Unmarshal(rec, &pid) == nil {
				mod = pid.LastModified
			}
		}
		return sis.Row{File: file, Cells: []string{id, "", mod, string(raw)}}, nil
	}
	pages := max(st.Pages, 1)
	for n := 1; n <= pages; n++ {
		var in []sis.Row
		if st.Pages > 0 {
			p, err := st.Page(ctx, n)
			if err != nil {
				return fmt.Errorf("%w: %s page %d: %w", sis.ErrSnapshotUnreadable, st.Collection, n, err)
			}
			in = p.Rows
		}
		page := &sis.Page{Collection: st.Collection, Number: n, Total: -1, Next: sis.Cursor{Page: n}, Done: n == pages}
		emit := func(id string, raw []byte) error {
			r, err := row(id, raw)
			if err != nil {
				return err
			}
			page.Rows = append(page.Rows, r)
			return nil
		}
		for _, r := range in {
			id := r.ID()
			if len(r.Cells) < 4 {
				return fmt.Errorf("%w: %s page %d holds a row that is not a Clever record", sis.ErrSnapshotUnreadable, st.Collection, n)
			}
			for next < len(ups) && ups[next] < id {
				if err := emit(ups[next], set[ups[next]]); err != nil {
					return err
				}
				next++
			}
			obj, touched := set[id]
			switch {
			case !touched:
				if err := emit(id, []byte(r.Cells[3])); err != nil {
					return err
				}
			case obj != nil:
				if err := emit(id, obj); err != nil {
					return err
				}
				next++ // ups[next] == id
			}
		}
		if n == pages {
			for ; next < len(ups); next++ {
				if err := emit(ups[next], set[ups[next]]); err != nil {
					return err
				}
			}
		}
		page.Received = len(page.Rows)
		if err := out(page); err != nil {
			return err
		}
	}
	return nil
}

// scrub removes deleted users from a section's students, teachers and teacher, and from a
// contact's student relationships. Other records, and records that name no deleted user,
// are returned as they are.
func scrub(col Collection, raw []byte, gone map[string]bool) ([]byte, error) {
	if len(gone) == 0 || (col != Sections && col != Contacts) {
		return raw, nil
	}
	rec, err := unwrap(raw)
	if err != nil {
		return raw, nil // left to the mapper to report
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(rec, &obj) != nil {
		return raw, nil
	}
	changed := false
	if col == Sections {
		for _, k := range []string{"students", "teachers"} {
			var ids []string
			if json.Unmarshal(obj[k], &ids) != nil {
				continue
			}
			kept := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return gone[id] })
			if len(kept) != len(ids) {
				obj[k], _ = json.Marshal(kept)
				changed = true
			}
		}
		var t string
		if json.Unmarshal(obj["teacher"], &t) == nil && gone[t] {
			obj["teacher"] = json.RawMessage("null")
			changed = true
		}
	} else {
		var roles map[string]json.RawMessage
		var ct map[string]json.RawMessage
		var rels []json.RawMessage
		if json.Unmarshal(obj["roles"], &roles) != nil || json.Unmarshal(roles["contact"], &ct) != nil || json.Unmarshal(ct["student_relationships"], &rels) != nil {
			return raw, nil
		}
		kept := slices.DeleteFunc(slices.Clone(rels), func(r json.RawMessage) bool {
			var rel relationship
			return json.Unmarshal(r, &rel) == nil && gone[rel.Student]
		})
		if len(kept) != len(rels) {
			ct["student_relationships"], _ = json.Marshal(kept)
			roles["contact"], _ = json.Marshal(ct)
			obj["roles"], _ = json.Marshal(roles)
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"data":`), b...), '}'), nil
}

var _ sis.Evented = (*Source)(nil)
