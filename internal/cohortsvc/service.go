// Package cohortsvc runs cohort selection against the stored roster: it reads one school's
// roster, consent, opt-ins and trainings, runs internal/cohort (select, pair, verify), stores
// the cohort with its members, and writes the coordinator CSV. The Lambda function
// functions/cohort is its wiring; it imports no AWS package.
package cohortsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Store is what the service needs of the database.
type Store interface {
	District(ctx context.Context, id string) (*pthv.District, error)
	// pthv.SchoolRoster returns the school's active roles, classes and enrollments.
	SchoolRoster(ctx context.Context, district, school string) (*pthv.SchoolRoster, error)
	// Users returns the active users among ids (inactive and unknown ones are left out).
	Users(ctx context.Context, district string, ids []string) (map[string]*roster.User, error)
	OptIns(ctx context.Context, district, year string) (map[string]bool, error)
	LoadTrainings(ctx context.Context, district string) (map[string]string, error)
	// Consent returns the year's answers by subject.
	Consent(ctx context.Context, district, year string) (map[string]pthv.ConsentEntry, error)
	// PutCohort stores a revision of the cohort with its members; it fails with
	// pthv.ErrConflict unless rec.Revision follows the stored revision (1: no cohort yet).
	PutCohort(ctx context.Context, rec *cohort.Record, members []cohort.MemberItem) error
	GetCohort(ctx context.Context, district, id string) (*cohort.Record, error)
	Members(ctx context.Context, district, id string) ([]cohort.MemberItem, error)
	ListCohorts(ctx context.Context, district string) ([]*cohort.Record, error)
	// SessionYears returns the school years, like "2026-2027", of the active academic
	// sessions among ids (a school's class terms): the years its roster describes.
	SessionYears(ctx context.Context, district string, ids []string) ([]string, error)
}

// Blobs is what the service needs of S3.
type Blobs interface {
	Put(ctx context.Context, bucket, key, contentType string, body []byte) error
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Service selects, refreshes, shows and verifies cohorts.
type Service struct {
	Store         Store
	Blobs         Blobs
	ReportsBucket string
	Log           *slog.Logger
	Now           func() time.Time
	// Seed picks a new cohort's seed when the request has none (default cohort.NewSeed).
	Seed func() uint64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// newID returns a cohort id: "coh-", the UTC time to the millisecond, and 8 random hex digits.
func (s *Service) newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "coh-" + s.now().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// Select draws a new cohort for the request's school and year and stores it.
//
// A school has one current cohort a year. Drawing again until a cohort "looks right" would
// defeat the random draw, so a second draw is refused unless it names the cohort it replaces
// (replaces); both stay on record and 'list' shows which replaced which. New consent or new
// educators are applied to the current cohort with Refresh instead.
func (s *Service) Select(ctx context.Context, req cohort.Request, replaces string) (*cohort.Record, error) {
	req = req.WithDefaults()
	if err := req.Validate(); err != nil {
		return nil, requestError(err)
	}
	current, err := s.current(ctx, req.District, req.School, req.Year)
	if err != nil {
		return nil, err
	}
	switch {
	case current == nil && replaces != "":
		return nil, pthv.Errorf(pthv.CodeNotFound, "school %s has no current cohort for %s to replace", req.School, req.Year)
	case current != nil && replaces == "":
		return nil, pthv.Errorf(pthv.CodeExists, "school %s already has cohort %s for %s (drawn %s); apply new consent or educators with 'pthv cohort refresh %s', or draw anew with --replace %s (both stay on record)",
			req.School, current.ID, req.Year, current.Created.Format(time.DateOnly), current.ID, current.ID)
	case current != nil && replaces != current.ID:
		return nil, pthv.Errorf(pthv.CodeExists, "the current cohort of school %s for %s is %s, not %s", req.School, req.Year, current.ID, replaces)
	}
	if req.Seed == 0 {
		req.Seed = cohort.NewSeed()
		if s.Seed != nil {
			req.Seed = s.Seed()
		}
	}
	if _, err := s.Store.District(ctx, req.District); errors.Is(err, pthv.ErrNotFound) {
		return nil, pthv.Errorf(pthv.CodeNotFound, "district %s is not registered", req.District)
	} else if err != nil {
		return nil, err
	}
	pop, err := s.loadPopulation(ctx, req.District, req.School)
	if err != nil {
		return nil, err
	}
	if len(pop.families) == 0 {
		return nil, pthv.Errorf(pthv.CodeNoStudents, "school %s has no active students in the roster of district %s", req.School, req.District)
	}
	years, err := s.Store.SessionYears(ctx, req.District, pop.terms)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(years, req.Year) {
		// Families, students and sections come from the roster: a cohort for a year it does
		// not describe would be drawn from the wrong roster, and its visits rejected later.
		have := "no school year"
		if len(years) > 0 {
			have = strings.Join(years, ", ")
		}
		return nil, pthv.Errorf(pthv.CodeYearNotInRoster, "the roster of school %s describes %s, not %s: upload the roster of %s before drawing its cohort",
			req.School, have, req.Year, req.Year)
	}
	rec := &cohort.Record{ID: s.newID(), District: req.District, School: req.School, Year: req.Year, Created: s.now(), Replaces: replaces}
	rec.PopulationKey, rec.CSVKey = cohortKeys(rec)
	b, err := json.Marshal(pop.families)
	if err != nil {
		return nil, err
	}
	if err := s.Blobs.Put(ctx, s.ReportsBucket, rec.PopulationKey, "application/json", b); err != nil {
		return nil, fmt.Errorf("store population: %w", err)
	}
	if err := s.draw(ctx, rec, req, pop.families, pop, nil); err != nil {
		return nil, err
	}
	return rec, nil
}

// Refresh applies the consent and the eligible educators of now to a stored cohort: the
// population and the random order are the stored ones, so a family that declined is
// replaced by the next family of its stratum and nobody else moves.
func (s *Service) Refresh(ctx context.Context, district, id string) (*cohort.Record, error) {
	rec, err := s.get(ctx, district, id)
	if err != nil {
		return nil, err
	}
	families, err := s.storedPopulation(ctx, rec)
	if err != nil {
		return nil, err
	}
	pop, err := s.loadPopulation(ctx, district, rec.School)
	if err != nil {
		return nil, err
	}
	_, before, err := s.Show(ctx, district, id)
	if err != nil {
		return nil, err
	}
	prev := &cohort.Cohort{Pairs: rec.Cohort.Pairs}
	for _, m := range before {
		prev.Members = append(prev.Members, m.Member)
	}
	now := map[string]bool{}
	for _, f := range pop.families {
		now[f.ID] = true
	}
	rec.Left = nil
	for _, f := range families {
		if !now[f.ID] {
			rec.Left = append(rec.Left, f.ID)
		}
	}
	rec.Carried = cohort.CarryoverOf(prev)
	if err := s.draw(ctx, rec, rec.Cohort.Request, families, pop, before); err != nil {
		return nil, err
	}
	return rec, nil
}

// changes compares the members before a refresh with rec's new members.
func changes(before []cohort.MemberItem, rec *cohort.Record, after []cohort.MemberItem) *cohort.Changes {
	ch := &cohort.Changes{}
	is := map[string]cohort.MemberItem{}
	for _, m := range after {
		is[m.FamilyID] = m
	}
	was := map[string]bool{}
	for _, m := range before {
		was[m.FamilyID] = true
		n, ok := is[m.FamilyID]
		switch {
		case !ok && slices.Contains(rec.Declined, m.FamilyID):
			ch.Declined = append(ch.Declined, m.FamilyID)
		case !ok && slices.Contains(rec.Left, m.FamilyID):
			ch.Unenrolled = append(ch.Unenrolled, m.FamilyID)
		case !ok:
			ch.Dropped = append(ch.Dropped, m.FamilyID)
		case len(m.Pair) == 2 && !slices.Equal(m.Pair, n.Pair):
			ch.Moved = append(ch.Moved, m.FamilyID)
		}
	}
	for _, m := range after {
		if !was[m.FamilyID] {
			ch.CameIn = append(ch.CameIn, m.FamilyID)
		}
	}
	return ch
}

// excluding returns consent with the families of left marked declined: families that are
// no longer the school's are left out of a refreshed cohort as declined ones are.
func excluding(consent map[string]cohort.Consent, left []string) map[string]cohort.Consent {
	if len(left) == 0 {
		return consent
	}
	out := make(map[string]cohort.Consent, len(consent)+len(left))
	for k, v := range consent {
		out[k] = v
	}
	for _, f := range left {
		out[f] = cohort.ConsentDeclined
	}
	return out
}

// draw selects and pairs from families with today's consent and eligible educators, then
// writes the coordinator CSV, the members and the cohort item (in that order, so that a
// stored revision always has its CSV).
func (s *Service) draw(ctx context.Context, rec *cohort.Record, req cohort.Request, families []cohort.Family, pop *population, before []cohort.MemberItem) error {
	entries, err := s.Store.Consent(ctx, rec.District, rec.Year)
	if err != nil {
		return err
	}
	consent := familyConsent(families, entries)
	eds, err := s.eligible(ctx, rec.District, rec.Year, pop.educators)
	if err != nil {
		return err
	}
	c, err := cohort.Select(req, families, excluding(consent, rec.Left))
	if err != nil {
		return requestError(err)
	}
	byID := make(map[string]cohort.Family, len(families))
	for _, f := range families {
		byID[f.ID] = f
	}
	if err := cohort.Repair(c, byID, eds, rec.Carried); err != nil {
		return err
	}
	rec.Revision++
	rec.Updated = s.now()
	rec.Declined = nil
	for _, f := range families {
		if consent[f.ID] == cohort.ConsentDeclined {
			rec.Declined = append(rec.Declined, f.ID)
		}
	}
	rec.Educators = nil
	for _, e := range eds {
		rec.Educators = append(rec.Educators, cohort.EducatorInput(e))
	}
	members := make([]cohort.MemberItem, len(c.Members))
	for i, m := range c.Members {
		members[i] = cohort.MemberItem{Member: m, Consent: consent[m.FamilyID]}
	}
	rec.Summary = summarize(c, len(families), rec.Declined, members)
	if before != nil {
		rec.Changes = changes(before, rec, members)
	}
	csv, err := coordinatorCSV(c, byID, consent, pop)
	if err != nil {
		return err
	}
	if err := s.Blobs.Put(ctx, s.ReportsBucket, rec.CSVKey, "text/csv; charset=utf-8", csv); err != nil {
		return fmt.Errorf("store coordinator CSV: %w", err)
	}
	c.Members = nil
	rec.Cohort = *c
	if err := s.Store.PutCohort(ctx, rec, members); err != nil {
		return err
	}
	s.log().Info("cohort stored", "districtId", rec.District, "schoolId", rec.School, "year", rec.Year,
		"cohortId", rec.ID, "revision", rec.Revision, "mode", req.Mode, "families", rec.Summary.Families,
		"studentsCovered", rec.Summary.StudentsCovered, "schoolStudents", rec.Summary.SchoolStudents,
		"pairs", rec.Summary.Pairs, "status", rec.Summary.Status)
	return nil
}

func summarize(c *cohort.Cohort, schoolFamilies int, declined []string, members []cohort.MemberItem) cohort.Summary {
	sum := cohort.Summary{Mode: c.Request.Mode, Families: len(c.Members), SchoolFamilies: schoolFamilies,
		StudentsCovered: c.StudentsCovered, SchoolStudents: c.SchoolStudents, Pairs: len(c.Pairs),
		Declined: len(declined), Status: c.Status, Reason: c.Reason}
	if c.Request.Mode == cohort.ModeCrossSection {
		sum.Coverage = c.Request.Coverage
	}
	if c.SchoolStudents > 0 {
		sum.Share = float64(c.StudentsCovered) / float64(c.SchoolStudents)
	}
	for _, m := range members {
		if len(m.Pair) == 0 {
			sum.Unpaired++
		}
		if m.OtherSchools {
			sum.OtherSchools++
		}
	}
	return sum
}

// Show returns a stored cohort with its members.
func (s *Service) Show(ctx context.Context, district, id string) (*cohort.Record, []cohort.MemberItem, error) {
	rec, err := s.get(ctx, district, id)
	if err != nil {
		return nil, nil, err
	}
	members, err := s.Store.Members(ctx, district, id)
	if err != nil {
		return nil, nil, err
	}
	return rec, members, nil
}

// List returns the district's cohorts, optionally only one school's or one year's, newest
// first.
func (s *Service) List(ctx context.Context, district, school, year string) ([]*cohort.Record, error) {
	all, err := s.Store.ListCohorts(ctx, district)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if (school == "" || r.School == school) && (year == "" || r.Year == year) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *cohort.Record) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// current returns the school's current cohort for the year (the newest one no other cohort
// replaced), or nil.
func (s *Service) current(ctx context.Context, district, school, year string) (*cohort.Record, error) {
	all, err := s.List(ctx, district, school, year)
	if err != nil {
		return nil, err
	}
	replaced := map[string]bool{}
	for _, r := range all {
		replaced[r.Replaces] = true
	}
	for _, r := range all { // newest first
		if !replaced[r.ID] {
			return r, nil
		}
	}
	return nil, nil
}

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	CohortID string `json:"cohortId"`
	Revision int    `json:"revision"`
	// Match is true when recomputing the cohort from its stored inputs (population, seed,
	// declined families, eligible educators) gives exactly the stored strata, members and
	// pairs, and the stored population still hashes to the stored population hash.
	Match bool     `json:"match"`
	Diffs []string `json:"diffs,omitempty"`
	// RosterChanged tells whether the school's families today differ from the population
	// the cohort was drawn from (information, not a failure: rosters change).
	RosterChanged     bool   `json:"rosterChanged"`
	PopulationHash    string `json:"populationHash"`
	CurrentRosterHash string `json:"currentRosterHash"`
}

// Verify recomputes a stored cohort from its stored inputs and compares.
func (s *Service) Verify(ctx context.Context, district, id string) (*VerifyResult, error) {
	rec, members, err := s.Show(ctx, district, id)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{CohortID: rec.ID, Revision: rec.Revision, PopulationHash: rec.Cohort.PopulationHash}
	families, err := s.storedPopulation(ctx, rec)
	var ve *VerifyPopulationError
	switch {
	case errors.As(err, &ve):
		res.Diffs = append(res.Diffs, ve.Error())
	case err != nil:
		return nil, err
	}
	if families != nil {
		stored := rec.Cohort
		for _, m := range members {
			stored.Members = append(stored.Members, m.Member)
		}
		consent := map[string]cohort.Consent{}
		for _, f := range rec.Declined {
			consent[f] = cohort.ConsentDeclined
		}
		consent = excluding(consent, rec.Left)
		var eds []cohort.Educator
		for _, e := range rec.Educators {
			eds = append(eds, cohort.Educator(e))
		}
		var vErr *cohort.VerifyError
		if err := cohort.VerifyRefreshed(&stored, families, consent, eds, rec.Carried); errors.As(err, &vErr) {
			res.Diffs = append(res.Diffs, vErr.Diffs...)
		} else if err != nil {
			res.Diffs = append(res.Diffs, err.Error())
		}
	}
	res.Match = len(res.Diffs) == 0
	pop, err := s.loadPopulation(ctx, district, rec.School)
	if err != nil {
		return nil, err
	}
	res.CurrentRosterHash = cohort.PopulationHash(pop.families)
	res.RosterChanged = res.CurrentRosterHash != rec.Cohort.PopulationHash
	s.log().Info("cohort verified", "districtId", district, "cohortId", id, "match", res.Match, "rosterChanged", res.RosterChanged)
	return res, nil
}

// VerifyPopulationError says the stored population does not hash to the stored hash.
type VerifyPopulationError struct{ Got, Want string }

func (e *VerifyPopulationError) Error() string {
	return fmt.Sprintf("stored population hashes to %s, the cohort records %s: the population file was changed", e.Got, e.Want)
}

func (s *Service) storedPopulation(ctx context.Context, rec *cohort.Record) ([]cohort.Family, error) {
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, rec.PopulationKey)
	if err != nil {
		return nil, fmt.Errorf("read the cohort's population %s: %w", rec.PopulationKey, err)
	}
	var families []cohort.Family
	if err := json.Unmarshal(b, &families); err != nil {
		return nil, fmt.Errorf("read the cohort's population %s: %w", rec.PopulationKey, err)
	}
	if h := cohort.PopulationHash(families); h != rec.Cohort.PopulationHash {
		return families, &VerifyPopulationError{Got: h, Want: rec.Cohort.PopulationHash}
	}
	return families, nil
}

func (s *Service) get(ctx context.Context, district, id string) (*cohort.Record, error) {
	rec, err := s.Store.GetCohort(ctx, district, id)
	if errors.Is(err, pthv.ErrNotFound) {
		return nil, pthv.Errorf(pthv.CodeNotFound, "cohort %s not found in district %s", id, district)
	}
	return rec, err
}

// requestError turns the domain's request errors into coded errors.
func requestError(err error) error {
	var te *cohort.TargetingError
	if errors.As(err, &te) {
		return &pthv.Error{Code: pthv.CodeTargeting, Message: te.Error()}
	}
	return &pthv.Error{Code: pthv.CodeInvalid, Message: err.Error()}
}

// cohortKeys are where a cohort's population and coordinator CSV are written, under the
// district's prefix. Every segment from data is checked or encoded (pthv.KeySegment): a
// school sourcedId may hold '/' and '.'.
func cohortKeys(rec *cohort.Record) (population, csv string) {
	return pthv.Key("reports", rec.District, "cohorts", rec.School, rec.Year, rec.ID+".population.json"),
		pthv.Key("reports", rec.District, "cohorts", rec.School, rec.Year, rec.ID+".csv")
}
