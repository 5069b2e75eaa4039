package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// atSchool returns the district's active records of kind that name school (as the table's
// school index holds them), in id order.
func (s *Store) atSchool(district, school string, kind roster.Kind) []record {
	var ids []string
	for k := range s.bySchool[district+"#"+school] {
		if r := s.records[k]; k.kind == kind && r.Active {
			ids = append(ids, k.id)
		}
	}
	slices.Sort(ids)
	out := make([]record, len(ids))
	for i, id := range ids {
		out[i] = s.records[recKey{district, kind, id}]
	}
	return out
}

func decodeAll[T any](rs []record) ([]T, error) {
	var out []T
	for _, r := range rs {
		var v T
		if err := json.Unmarshal([]byte(r.data), &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// SchoolRoster returns the school's active roles (at the school), classes and enrollments.
func (s *Store) SchoolRoster(_ context.Context, district, school string) (*pthv.SchoolRoster, error) {
	s.enter("SchoolRoster")
	defer s.mu.Unlock()
	out := &pthv.SchoolRoster{}
	var err error
	if out.Roles, err = decodeAll[roster.Role](s.atSchool(district, school, roster.KindRole)); err != nil {
		return nil, err
	}
	if out.Classes, err = decodeAll[roster.Class](s.atSchool(district, school, roster.KindClass)); err != nil {
		return nil, err
	}
	if out.Enrollments, err = decodeAll[roster.Enrollment](s.atSchool(district, school, roster.KindEnrollment)); err != nil {
		return nil, err
	}
	return out, nil
}

// SchoolStudents counts the school's active student roles.
func (s *Store) SchoolStudents(_ context.Context, district, school string) (int, error) {
	s.enter("SchoolStudents")
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.atSchool(district, school, roster.KindRole) {
		if r.Role == "student" {
			n++
		}
	}
	return n, nil
}

// Users returns the active users among ids (inactive and unknown ones are left out).
func (s *Store) Users(_ context.Context, district string, ids []string) (map[string]*roster.User, error) {
	s.enter("Users")
	defer s.mu.Unlock()
	out := make(map[string]*roster.User, len(ids))
	for _, id := range ids {
		r, ok := s.records[recKey{district, roster.KindUser, id}]
		if !ok || !r.Active {
			continue
		}
		u := &roster.User{}
		if err := json.Unmarshal([]byte(r.data), u); err != nil {
			return nil, fmt.Errorf("user %s: %w", id, err)
		}
		out[u.SourcedID] = u
	}
	return out, nil
}

// SessionYears returns the school years (1 July – 30 June, "2026-2027") of the active
// academic sessions among ids, by their start dates, sorted; unknown and inactive sessions
// are left out.
func (s *Store) SessionYears(_ context.Context, district string, ids []string) ([]string, error) {
	s.enter("SessionYears")
	defer s.mu.Unlock()
	var out []string
	for _, id := range ids {
		r, ok := s.records[recKey{district, roster.KindAcademicSession, id}]
		if !ok || !r.Active {
			continue
		}
		var as roster.AcademicSession
		if json.Unmarshal([]byte(r.data), &as) == nil {
			if t, err := time.Parse(time.DateOnly, as.StartDate); err == nil {
				out = append(out, pthv.SchoolYearOf(t).String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// PutCohort stores a revision of the cohort with its members: revision 1 only when there is
// no such cohort, revision n only over revision n-1; pthv.ErrConflict otherwise. As in the
// DynamoDB store, each revision's members are a set of their own named by rec.MembersSet.
func (s *Store) PutCohort(_ context.Context, rec *cohort.Record, members []cohort.MemberItem) error {
	s.enter("PutCohort")
	defer s.mu.Unlock()
	if rec.School == "" {
		// The DynamoDB store keys cohorts in the school index, which refuses an empty key.
		return fmt.Errorf("store cohort %s: a cohort has a school", rec.ID)
	}
	s.sets++
	rec.MembersSet = fmt.Sprintf("r%d-%08x", rec.Revision, s.sets)
	mj, err := json.Marshal(members)
	if err != nil {
		return err
	}
	s.members[rec.District+"#"+rec.ID+"#"+rec.MembersSet] = mj
	old, exists := s.cohorts[rec.District][rec.ID]
	if (rec.Revision > 1 && (!exists || old.rev != rec.Revision-1)) || (rec.Revision <= 1 && exists) {
		return fmt.Errorf("cohort %s revision %d: %w", rec.ID, rec.Revision, pthv.ErrConflict)
	}
	j, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	inner(s.cohorts, rec.District)[rec.ID] = storedCohort{j: j, rev: rec.Revision}
	s.items["PutCohort"] += 1 + len(members)
	return nil
}

func (s *Store) getCohort(district, id string) (*cohort.Record, error) {
	c, ok := s.cohorts[district][id]
	if !ok {
		return nil, fmt.Errorf("cohort %s: %w", id, pthv.ErrNotFound)
	}
	rec := &cohort.Record{}
	return rec, json.Unmarshal(c.j, rec)
}

// GetCohort reads a stored cohort, or pthv.ErrNotFound.
func (s *Store) GetCohort(_ context.Context, district, id string) (*cohort.Record, error) {
	s.enter("GetCohort")
	defer s.mu.Unlock()
	return s.getCohort(district, id)
}

// Members returns the members of the cohort's current revision, in stratum, then random order.
func (s *Store) Members(_ context.Context, district, id string) ([]cohort.MemberItem, error) {
	s.enter("Members")
	defer s.mu.Unlock()
	rec, err := s.getCohort(district, id)
	if err != nil {
		return nil, err
	}
	var out []cohort.MemberItem
	if b := s.members[district+"#"+id+"#"+rec.MembersSet]; b != nil {
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
	}
	cohort.SortMembers(out)
	return out, nil
}

// ListCohorts returns the district's cohorts, by id.
func (s *Store) ListCohorts(_ context.Context, district string) ([]*cohort.Record, error) {
	s.enter("ListCohorts")
	defer s.mu.Unlock()
	var out []*cohort.Record
	for id := range s.cohorts[district] {
		rec, err := s.getCohort(district, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b *cohort.Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutAggregate writes the aggregate item name of a year unless it holds the same content;
// it reports whether it wrote.
func (s *Store) PutAggregate(_ context.Context, year, name string, data []byte) (bool, error) {
	s.enter("PutAggregate")
	defer s.mu.Unlock()
	m := inner(s.aggs, year)
	if old, ok := m[name]; ok && bytes.Equal(old, data) {
		return false, nil
	}
	m[name] = slices.Clone(data)
	s.items["PutAggregate"]++
	return true, nil
}

// Aggregates returns a year's aggregate items whose name starts with prefix, by name.
func (s *Store) Aggregates(_ context.Context, year, prefix string) (map[string][]byte, error) {
	s.enter("Aggregates")
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for name, b := range s.aggs[year] {
		if strings.HasPrefix(name, prefix) {
			out[name] = slices.Clone(b)
		}
	}
	return out, nil
}

// EditMembers changes the stored members of a cohort's current revision in place, as someone
// editing the table by hand would: for tests that a stored cohort is verified against its
// inputs. The DynamoDB store has no such method.
func (s *Store) EditMembers(district, id string, edit func([]cohort.MemberItem)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.getCohort(district, id)
	if err != nil {
		return err
	}
	key := pthv.JoinItem(district, id, rec.MembersSet)
	var ms []cohort.MemberItem
	if err := json.Unmarshal(s.members[key], &ms); err != nil {
		return err
	}
	edit(ms)
	s.members[key], err = json.Marshal(ms)
	return err
}

// ForgetCohorts drops every stored cohort and member, so that a benchmark may draw the same
// cohorts again. The DynamoDB store has no such method.
func (s *Store) ForgetCohorts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.cohorts)
	clear(s.members)
}
