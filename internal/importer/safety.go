package importer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// The kinds the safety hold counts. People are counted once per kind however many records
// of theirs an import turns off: a student whose user record is deactivated while a role is
// kept is one deactivated student.
const (
	HoldStudents    = "students"    // users with an active student role
	HoldStaff       = "staff"       // users with an active teacher or staff role (pthv.EducatorRoles)
	HoldGuardians   = "guardians"   // users with an active guardian, parent or relative role
	HoldEnrollments = "enrollments" // enrollment records
	HoldClasses     = "classes"     // class records
	HoldSchools     = "schools"     // org records of type school
)

// HoldKinds are the kinds the safety hold counts, in report order.
var HoldKinds = []string{HoldStudents, HoldStaff, HoldGuardians, HoldEnrollments, HoldClasses, HoldSchools}

// DefaultHoldShares is the share of each kind an import may deactivate before it is held.
// Classes and enrollments turn over at every term, so they get more room.
var DefaultHoldShares = map[string]float64{
	HoldStudents: 0.10, HoldStaff: 0.10, HoldGuardians: 0.10, HoldEnrollments: 0.25, HoldClasses: 0.25, HoldSchools: 0.10,
}

// TruncationFloor is the smallest number of active records of a kind from which a bulk file
// of that kind that ends without a line break is held as possibly cut short.
const TruncationFloor = 100

// RowDropFloor is the smallest number of active records of a kind from which a bulk file
// whose row count falls by more than the kind's share is held.
const RowDropFloor = 20

// guardianRoles are the roles of people a family is reached through.
var guardianRoles = []string{"guardian", "parent", "relative"}

// holdKindOfRole is the person kind a role value counts as ("" for none).
func holdKindOfRole(role string) string {
	switch {
	case role == "student":
		return HoldStudents
	case slices.Contains(pthv.EducatorRoles, role):
		return HoldStaff
	case slices.Contains(guardianRoles, role):
		return HoldGuardians
	}
	return ""
}

func withDefaultShares(shares map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range DefaultHoldShares {
		out[k] = v
	}
	for k, v := range shares {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// holdShares returns the district's share for each kind: its own setting, else (students)
// its HoldShare, else the default.
func holdShares(d *pthv.District) map[string]float64 {
	out := map[string]float64{}
	for k, v := range DefaultHoldShares {
		out[k] = v
	}
	if d == nil {
		return out
	}
	if d.HoldShare > 0 {
		out[HoldStudents] = d.HoldShare
	}
	for k, v := range d.Shares {
		if _, ok := out[k]; ok && v > 0 {
			out[k] = v
		}
	}
	return out
}

// safety counts, for every kind of HoldKinds, what the plan would deactivate of what is
// active now, and holds the import when a share is above its threshold. It reads the plan's
// ops once, keeping only what it counts.
func (p *Planner) safety(plan Plan, shares map[string]float64) pthv.Safety {
	roles, users := p.cur[roster.KindRole], p.cur[roster.KindUser]
	// Who is active in each person kind now, through which roles.
	active := map[string]map[string]bool{}
	for _, k := range HoldKinds {
		active[k] = map[string]bool{}
	}
	for _, c := range roles {
		k := holdKindOfRole(c.Role)
		if !c.Active || k == "" {
			continue
		}
		if u, ok := users[c.User]; ok && !u.Active {
			continue
		}
		active[k][c.User] = true
	}
	userOff := map[string]bool{}
	roleOff := map[string]bool{} // role records the plan turns off
	kept := map[string]map[string]bool{}
	for _, k := range HoldKinds {
		kept[k] = map[string]bool{}
	}
	off := map[roster.Kind]int{}
	err := plan.Each(func(op *pthv.Op) error {
		switch {
		case op.Op == pthv.OpDeactivate && op.Kind == roster.KindUser:
			userOff[op.ID] = true
		case op.Op == pthv.OpDeactivate:
			if op.Kind == roster.KindRole {
				roleOff[op.ID] = true
			}
			if op.Kind == roster.KindOrg && !isSchool(p.cur[roster.KindOrg][op.ID]) {
				return nil
			}
			off[op.Kind]++
		case op.Kind == roster.KindRole:
			if k := holdKindOfRole(op.Role); k != "" {
				kept[k][op.User] = true
			}
		}
		return nil
	})
	if err != nil {
		p.err = cmp.Or(p.err, err)
	}
	// A person keeps a kind while one of their roles of it is neither turned off nor rewritten.
	still := map[string]map[string]bool{}
	for _, k := range HoldKinds {
		still[k] = map[string]bool{}
	}
	for id, c := range roles {
		if k := holdKindOfRole(c.Role); c.Active && k != "" && !roleOff[id] {
			still[k][c.User] = true
		}
	}
	var s pthv.Safety
	add := func(kind string, activeN, deactivated int) {
		ks := pthv.KindSafety{Kind: kind, Active: activeN, Deactivated: deactivated, Threshold: shares[kind]}
		if activeN > 0 {
			ks.Share = float64(deactivated) / float64(activeN)
		}
		ks.Held = ks.Share > ks.Threshold
		s.Kinds = append(s.Kinds, ks)
		if ks.Held {
			s.Held = true
			s.Reasons = append(s.Reasons, fmt.Sprintf("the import would deactivate %d of %d active %s (%.1f%%, more than %.0f%%)",
				deactivated, activeN, holdNoun(kind), 100*ks.Share, 100*ks.Threshold))
		}
	}
	for _, k := range []string{HoldStudents, HoldStaff, HoldGuardians} {
		n := 0
		for u := range active[k] {
			if userOff[u] || (!kept[k][u] && !still[k][u]) {
				n++
			}
		}
		add(k, len(active[k]), n)
	}
	count := func(kind roster.Kind, pred func(pthv.Current) bool) int {
		n := 0
		for _, c := range p.cur[kind] {
			if c.Active && pred(c) {
				n++
			}
		}
		return n
	}
	all := func(pthv.Current) bool { return true }
	add(HoldEnrollments, count(roster.KindEnrollment, all), off[roster.KindEnrollment])
	add(HoldClasses, count(roster.KindClass, all), off[roster.KindClass])
	add(HoldSchools, count(roster.KindOrg, isSchool), off[roster.KindOrg])
	st := s.Kinds[0]
	s.ActiveStudents, s.DeactivatedStudents, s.Share, s.Threshold = st.Active, st.Deactivated, st.Share, st.Threshold
	return s
}

// isSchool reports whether an org record is a school. Orgs stored before their type was kept
// (Role "") count as schools.
func isSchool(c pthv.Current) bool { return c.Role == "" || c.Role == "school" }

func holdNoun(kind string) string {
	if kind == HoldStaff {
		return "teachers and staff"
	}
	return kind
}

// fileKinds maps the bulk files the row-count and truncation checks look at to the records
// they hold.
var fileKinds = map[string]roster.Kind{
	"orgs.csv": roster.KindOrg, "courses.csv": roster.KindCourse, "classes.csv": roster.KindClass,
	"users.csv": roster.KindUser, "roles.csv": roster.KindRole, "enrollments.csv": roster.KindEnrollment,
}

// fileShare is the share by which a file's row count may fall: the share of the kinds its
// records are.
func fileShare(kind roster.Kind, shares map[string]float64) float64 {
	switch kind {
	case roster.KindOrg:
		return shares[HoldSchools]
	case roster.KindCourse, roster.KindClass:
		return shares[HoldClasses]
	case roster.KindEnrollment:
		return shares[HoldEnrollments]
	}
	return min(shares[HoldStudents], shares[HoldStaff], shares[HoldGuardians])
}

// FileCheck is what the truncation checks need to know of one file of the export.
type FileCheck struct {
	File string
	Bulk bool
	Rows int
	// NoFinalLineBreak: the file's last row does not end with a line break.
	NoFinalLineBreak bool
}

// checkFiles holds the plan when a bulk file looks cut short: it ends without a line break
// while the district has TruncationFloor or more active records of its kind, or its row
// count is below the district's active records of its kind by more than the kind's share.
func (p *Planner) checkFiles(s *pthv.Safety, files []FileCheck, shares map[string]float64) {
	for _, f := range files {
		kind, ok := fileKinds[strings.ToLower(f.File)]
		if !ok || !f.Bulk {
			continue
		}
		n := 0
		for _, c := range p.cur[kind] {
			if c.Active {
				n++
			}
		}
		if f.NoFinalLineBreak && n >= TruncationFloor {
			s.Held = true
			s.Reasons = append(s.Reasons, fmt.Sprintf("%s ends without a line break after its last row, as a transfer cut short leaves it, while the district has %d active %s records", f.File, n, kind))
		}
		share := fileShare(kind, shares)
		if n >= RowDropFloor && float64(f.Rows) < (1-share)*float64(n) {
			s.Held = true
			s.Reasons = append(s.Reasons, fmt.Sprintf("%s has %d rows while the district has %d active %s records: %.1f%% fewer, more than %.0f%%",
				f.File, f.Rows, n, kind, 100*(1-float64(f.Rows)/float64(n)), 100*share))
		}
	}
}

// tripped lists the kinds whose share tripped the hold.
func tripped(s pthv.Safety) []string {
	var out []string
	for _, k := range s.Kinds {
		if k.Held {
			out = append(out, k.Kind)
		}
	}
	return out
}

// fileChecks reads what the truncation checks need from a validation report.
func fileChecks(rep *orcsv.Report) []FileCheck {
	var out []FileCheck
	for _, f := range rep.Summary {
		fc := FileCheck{File: f.File, Bulk: f.Mode == string(roster.ModeBulk), Rows: f.Rows}
		for _, c := range rep.Counts {
			if c.File == f.File && c.Code == orcsv.CodeNoFinalLineBreak {
				fc.NoFinalLineBreak = true
			}
		}
		out = append(out, fc)
	}
	return out
}
