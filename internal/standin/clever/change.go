package clever

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Changed names what the last change did, for tests: the ids added, removed and renamed.
type Changed struct {
	Added, Removed, Renamed string
}

// LastChange returns what the mid-pull change did (zero before any).
func (s *Server) LastChange() Changed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Change applies the same change as Faults.ChangeAfter, now.
func (s *Server) Change() Changed {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change()
	return s.last
}

// change adds a student (with an id above every other, as Clever's ids grow with time),
// removes the first student from the district and their sections, and renames another;
// each change is also an event.
func (s *Server) change() {
	d := s.data
	now := s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	var studs []*record
	for _, u := range d.cols["users"] {
		if slices.Contains(u.roles, "student") {
			studs = append(studs, u)
		}
	}
	if len(studs) < 2 {
		return
	}
	// Added.
	d.nextNew++
	id := fmt.Sprintf("ffffffffffff%012x", d.nextNew)
	school := d.cols["schools"][0].id
	nu := &record{id: id, roles: []string{"student"}, obj: map[string]any{"id": id, "district": d.DistrictID,
		"created": now, "last_modified": now, "email": nil, "name": map[string]any{"first": "Nova", "last": "Newcomer"},
		"roles": map[string]any{"student": map[string]any{"sis_id": "new-" + id[12:], "student_number": "9" + id[18:],
			"grade": "3", "school": school, "schools": []string{school}, "dob": "1/1/2017", "gender": "X"}}}}
	nu.encode()
	d.cols["users"] = append(d.cols["users"], nu)
	d.byID[id] = nu
	s.event("users.created", nu, now)
	// Removed: the lowest id, already served by any pull under way.
	gone := studs[0]
	d.cols["users"] = slices.DeleteFunc(d.cols["users"], func(r *record) bool { return r == gone })
	delete(d.byID, gone.id)
	for _, sec := range d.cols["sections"] {
		if !bytes.Contains(sec.body, []byte(`"`+gone.id+`"`)) {
			continue
		}
		sec.obj = sec.object()
		st, _ := sec.obj["students"].([]any)
		if i := slices.Index(st, any(gone.id)); i >= 0 {
			sec.obj["students"] = slices.Delete(st, i, i+1)
			sec.obj["last_modified"] = now
			sec.encode()
			s.event("sections.updated", sec, now)
		}
	}
	s.unlink(gone.id) // its contacts' relationships (the sections were evented above)
	s.event("users.deleted", gone, now)
	// Renamed.
	ren := studs[len(studs)/2]
	ren.obj = ren.object()
	nm, _ := ren.obj["name"].(map[string]any)
	nm["last"] = fmt.Sprint(nm["last"]) + "-Renamed"
	ren.obj["last_modified"] = now
	ren.encode()
	s.event("users.updated", ren, now)
	d.count()
	s.last = Changed{Added: id, Removed: gone.id, Renamed: ren.id}
}

// EventsKept is how long the stand-in keeps events, as Clever does: a starting_after id
// older than that answers 404.
const EventsKept = 30 * 24 * time.Hour

// event appends an event whose object is r as it is now.
func (s *Server) event(typ string, r *record, now string) {
	s.seq++
	e := &record{id: fmt.Sprintf("%024x", s.seq), obj: map[string]any{"type": typ, "created": now,
		"data": map[string]any{"object": json.RawMessage(r.body)}}}
	e.obj["id"] = e.id
	e.encode()
	e.at = s.now()
	s.events = append(s.events, e)
}

// pruneEvents forgets the events older than EventsKept.
func (s *Server) pruneEvents() {
	cut := s.now().Add(-EventsKept)
	s.events = slices.DeleteFunc(s.events, func(r *record) bool { return r.at.Before(cut) })
}

// EventIDs returns the ids of the events kept, oldest first.
func (s *Server) EventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneEvents()
	out := make([]string, len(s.events))
	for i, e := range s.events {
		out[i] = e.id
	}
	return out
}

func (s *Server) stamp() string { return s.now().UTC().Format("2006-01-02T15:04:05.000Z") }

// SetClock replaces the server's clock (for tests of the rate-limit window).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Remove takes every user of the given role out of the district (a summer pause that
// empties a collection, or an unshared school), for tests of empty pulls.
func (s *Server) Remove(role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.cols["users"] = slices.DeleteFunc(s.data.cols["users"], func(r *record) bool {
		return slices.Contains(r.roles, role) && len(r.roles) == 1
	})
	s.data.count()
}

// Edit changes one record's object with fn and re-encodes it (an edit in the district, or a
// malformed or unusual record for a test), and logs a {col}.updated event with the new
// object. col is districts, schools, terms, courses, sections or users. A user whose roles
// fn changes is listed under its new roles.
func (s *Server) Edit(col, id string, fn func(obj map[string]any)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.data.cols[col] {
		if r.id == id {
			r.obj = r.object()
			fn(r.obj)
			if col == "users" {
				if rs, ok := r.obj["roles"].(map[string]any); ok {
					r.roles = r.roles[:0]
					for _, role := range []string{"student", "teacher", "staff", "contact"} {
						if rs[role] != nil {
							r.roles = append(r.roles, role)
						}
					}
				}
			}
			r.encode()
			s.event(col+".updated", r, s.stamp())
			s.data.count()
			return true
		}
	}
	return false
}

// IDs returns the ids of a collection ("users" with a role filter as "users:student").
func (s *Server) IDs(col string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, role, _ := strings.Cut(col, ":")
	var out []string
	for _, r := range s.data.cols[name] {
		if role == "" || slices.Contains(r.roles, role) {
			out = append(out, r.id)
		}
	}
	return out
}

// Object returns a copy of one record's JSON.
func (s *Server) Object(col, id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.data.cols[col] {
		if r.id == id {
			return slices.Clone(r.body)
		}
	}
	return nil
}

// Delete removes one record from a collection (a user from the district, as when a student
// moves away) and, for a user, what hangs off it: its place in sections (students[],
// teachers[], teacher) and in contacts' student_relationships. It logs one event, the
// {col}.deleted of the record: a consumer of the log must remove what hangs off the record
// itself (the harder case; a source may also log the sections it changed).
func (s *Server) Delete(col, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone *record
	s.data.cols[col] = slices.DeleteFunc(s.data.cols[col], func(r *record) bool {
		if r.id == id {
			gone = r
		}
		return r.id == id
	})
	if gone == nil {
		return false
	}
	delete(s.data.byID, id)
	if col == "users" {
		s.unlink(id)
	}
	s.event(col+".deleted", gone, s.stamp())
	s.data.count()
	return true
}

// unlink removes user id from every section (students[], teachers[], teacher) and every
// contact's student_relationships, without logging events.
func (s *Server) unlink(id string) {
	quoted := []byte(`"` + id + `"`)
	for _, c := range []string{"sections", "users"} {
		for _, r := range s.data.cols[c] {
			if !bytes.Contains(r.body, quoted) {
				continue
			}
			r.obj = r.object()
			if c == "sections" {
				for _, k := range []string{"students", "teachers"} {
					list, _ := r.obj[k].([]any)
					r.obj[k] = slices.DeleteFunc(list, func(v any) bool { return v == id })
				}
				if r.obj["teacher"] == id {
					r.obj["teacher"] = nil
				}
			} else if rs, _ := r.obj["roles"].(map[string]any); rs != nil && rs["contact"] != nil {
				ct, _ := rs["contact"].(map[string]any)
				if rels, ok := ct["student_relationships"].([]any); ok {
					ct["student_relationships"] = slices.DeleteFunc(rels, func(v any) bool {
						m, _ := v.(map[string]any)
						return m["student"] == id
					})
				}
			}
			r.encode()
		}
	}
}
