package cohort

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// VerifyError says how a stored cohort differs from a recomputation.
type VerifyError struct {
	Diffs []string
}

func (e *VerifyError) Error() string {
	return "cohort does not match a recomputation: " + strings.Join(e.Diffs, "; ")
}

// Verify recomputes a stored cohort from its stored request (seed included), the school's
// families, the consent and the eligible educators (Select, then Pair), and returns nil when
// the population hash, the strata, the members (with their pairs) and the status match.
// Otherwise it returns a *VerifyError listing what differs: population changed, consent
// changed, pairing changed, ….
func Verify(stored *Cohort, families []Family, consent map[string]Consent, educators []Educator) error {
	return VerifyRefreshed(stored, families, consent, educators, nil)
}

// VerifyRefreshed is Verify for a refreshed revision: prev is the pairing it carried over
// from the revision before it (see Repair), nil for a first revision.
func VerifyRefreshed(stored *Cohort, families []Family, consent map[string]Consent, educators []Educator, prev *Carryover) error {
	if stored == nil {
		return errors.New("verify: no cohort")
	}
	now, err := Select(stored.Request, families, consent)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	byID := make(map[string]Family, len(families))
	for _, f := range families {
		byID[f.ID] = f
	}
	if err := Repair(now, byID, educators, prev); err != nil {
		return fmt.Errorf("verify: %w", err)
	}

	var diffs []string
	if now.PopulationHash != stored.PopulationHash {
		diffs = append(diffs, fmt.Sprintf("population changed: the school's families hash to %s, the cohort was drawn from %s (%d students now, %d then)",
			short(now.PopulationHash), short(stored.PopulationHash), now.SchoolStudents, stored.SchoolStudents))
	}
	if !slices.Equal(now.Strata, stored.Strata) {
		diffs = append(diffs, "strata differ: "+strataDiff(stored.Strata, now.Strata))
	}

	was := make(map[string]Member, len(stored.Members))
	for _, m := range stored.Members {
		was[m.FamilyID] = m
	}
	is := make(map[string]Member, len(now.Members))
	for _, m := range now.Members {
		is[m.FamilyID] = m
	}
	var declined, dropped, added, changed, repaired []string
	for _, m := range stored.Members {
		n, ok := is[m.FamilyID]
		switch {
		case !ok && consent[m.FamilyID] == ConsentDeclined:
			declined = append(declined, m.FamilyID)
		case !ok:
			dropped = append(dropped, m.FamilyID)
		case n.Stratum != m.Stratum || n.Order != m.Order || !slices.Equal(n.StudentIDs, m.StudentIDs) || n.OtherSchools != m.OtherSchools:
			changed = append(changed, m.FamilyID)
		case !slices.Equal(n.Pair, m.Pair) || n.OwnTeacher != m.OwnTeacher:
			repaired = append(repaired, m.FamilyID)
		}
	}
	for _, m := range now.Members {
		if _, ok := was[m.FamilyID]; !ok {
			added = append(added, m.FamilyID)
		}
	}
	if len(declined) > 0 {
		diffs = append(diffs, "consent changed: selected families now declined: "+list(declined))
	}
	if len(dropped) > 0 {
		diffs = append(diffs, "families no longer selected: "+list(dropped))
	}
	if len(added) > 0 {
		diffs = append(diffs, "families now selected that were not: "+list(added))
	}
	if len(changed) > 0 {
		diffs = append(diffs, "families whose order, stratum or students changed: "+list(changed))
	}
	if len(declined) == 0 && len(dropped) == 0 && len(added) == 0 && len(changed) == 0 && len(now.Members) == len(stored.Members) {
		for i := range now.Members {
			if now.Members[i].FamilyID != stored.Members[i].FamilyID {
				diffs = append(diffs, "members are in a different order")
				break
			}
		}
	}
	if len(repaired) > 0 || !slices.EqualFunc(now.Pairs, stored.Pairs, slices.Equal) || !slices.Equal(now.Reserve, stored.Reserve) {
		diffs = append(diffs, fmt.Sprintf("pairing changed (eligible educators differ?): %d families have another pair", len(repaired)))
	}
	if now.Status != stored.Status {
		diffs = append(diffs, fmt.Sprintf("status is %s, stored %s", now.Status, stored.Status))
	}
	if len(diffs) > 0 {
		return &VerifyError{Diffs: diffs}
	}
	return nil
}

func strataDiff(was, is []StratumStat) string {
	old := make(map[string]StratumStat, len(was))
	for _, s := range was {
		old[s.Grade] = s
	}
	var parts []string
	seen := make(map[string]bool)
	for _, s := range is {
		seen[s.Grade] = true
		o, ok := old[s.Grade]
		switch {
		case !ok:
			parts = append(parts, "grade "+s.Grade+" is new")
		case o != s:
			parts = append(parts, fmt.Sprintf("grade %s: %d families/%d students/%d declined/%d sampled now, %d/%d/%d/%d stored",
				s.Grade, s.Families, s.Students, s.Declined, s.SampledFamilies, o.Families, o.Students, o.Declined, o.SampledFamilies))
		}
	}
	for _, s := range was {
		if !seen[s.Grade] {
			parts = append(parts, "grade "+s.Grade+" is gone")
		}
	}
	return strings.Join(parts, ", ")
}

func list(ids []string) string {
	const most = 10
	if len(ids) > most {
		return strings.Join(ids[:most], ", ") + fmt.Sprintf(" and %d more", len(ids)-most)
	}
	return strings.Join(ids, ", ")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
