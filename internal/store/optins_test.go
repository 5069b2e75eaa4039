package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func TestAnOlderOptInDecisionNeverReplacesANewerOne(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)
	out := pthv.OptIn{Educator: "tch-1", SchoolYear: "2025-2026", In: false, At: t0, Source: "cli"}
	if ws, err := s.SetOptIns(ctx, "d1", []pthv.OptIn{out}); err != nil || ws.Items != 1 {
		t.Fatalf("first decision: %+v %v", ws, err)
	}
	older := pthv.OptIn{Educator: "tch-1", SchoolYear: "2025-2026", In: true, At: t0.Add(-time.Hour), Source: "csv:imp-1"}
	same := out
	same.In = true
	if ws, err := s.SetOptIns(ctx, "d1", []pthv.OptIn{older}); err != nil || ws.Items != 0 {
		t.Fatalf("an older decision was written: %+v %v", ws, err)
	}
	if ws, err := s.SetOptIns(ctx, "d1", []pthv.OptIn{same}); err != nil || ws.Items != 0 {
		t.Fatalf("a decision as old as the one on record was written: %+v %v", ws, err)
	}
	got, err := s.OptInDecisions(ctx, "d1", "2025-2026")
	if err != nil || got["tch-1"].In || !got["tch-1"].At.Equal(t0) || got["tch-1"].Source != "cli" {
		t.Fatalf("on record: %+v %v", got, err)
	}
	newer := pthv.OptIn{Educator: "tch-1", SchoolYear: "2025-2026", In: true, At: t0.Add(time.Hour), Source: "csv:imp-2"}
	if ws, err := s.SetOptIns(ctx, "d1", []pthv.OptIn{newer}); err != nil || ws.Items != 1 {
		t.Fatalf("a newer decision: %+v %v", ws, err)
	}
	if in, _ := s.OptIns(ctx, "d1", "2025-2026"); !in["tch-1"] {
		t.Fatalf("opt-ins %v", in)
	}
}

func TestCreateDistrictRefusesARegisteredID(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.CreateDistrict(ctx, pthv.District{ID: "d1", Name: "One", State: "CA"}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateDistrict(ctx, pthv.District{ID: "d1", Name: "Other", State: "OR"})
	if !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("a second registration: %v", err)
	}
	if d, _ := s.District(ctx, "d1"); d.Name != "One" || d.State != "CA" {
		t.Fatalf("the existing district was overwritten: %+v", d)
	}
}

func TestSessionYearsReadsTheSessionsItIsGiven(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var ops []pthv.Op
	for _, as := range []roster.AcademicSession{
		{SourcedID: "sy-2027", Type: "schoolYear", StartDate: "2026-08-15"},
		{SourcedID: "term-1", Type: "term", StartDate: "2026-08-15"},
		{SourcedID: "term-old", Type: "term", StartDate: "2024-08-15"},
	} {
		b, _ := json.Marshal(as)
		ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindAcademicSession, ID: as.SourcedID, Hash: "h" + as.SourcedID, Data: b})
	}
	if _, err := s.Apply(ctx, "d1", "imp-1", ops); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionYears(ctx, "d1", []string{"term-1", "term-old", "term-missing"})
	if err != nil || strings.Join(got, ",") != "2024-2025,2026-2027" {
		t.Fatalf("got %v %v", got, err)
	}
}
