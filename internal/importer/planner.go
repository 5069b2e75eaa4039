package importer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Planner is the reader's Sink: it compares each record with the current roster and keeps
// only the writes the import needs. Unchanged records cost a hash and a map lookup.
type Planner struct {
	cur      pthv.State
	seen     map[roster.Kind]map[string]bool
	modes    map[roster.Kind]roster.Mode
	ops      map[roster.Kind][]planned
	at       map[roster.Kind]map[string]int // op index by id, to withdraw a rejected row
	synth    map[string][]int               // OneRoster 1.1: user → indexes of its synthesised role ops
	counts   map[roster.Kind]*pthv.Counts
	finished bool
}

type planned struct {
	pthv.Op
	cat category
}

type category uint8

const (
	catNone category = iota
	catAdded
	catChanged
	catRevived
	catDeactivated
)

// NewPlanner plans against the given current state (which it marks as it reads).
func NewPlanner(cur pthv.State) *Planner {
	if cur == nil {
		cur = pthv.State{}
	}
	p := &Planner{cur: cur, seen: map[roster.Kind]map[string]bool{}, modes: map[roster.Kind]roster.Mode{},
		ops: map[roster.Kind][]planned{}, at: map[roster.Kind]map[string]int{}, synth: map[string][]int{},
		counts: map[roster.Kind]*pthv.Counts{}}
	for _, k := range roster.Kinds {
		p.seen[k] = map[string]bool{}
		p.at[k] = map[string]int{}
		p.counts[k] = &pthv.Counts{}
	}
	return p
}

// File implements the reader's Sink.
func (p *Planner) File(kind roster.Kind, mode roster.Mode) error {
	p.modes[kind] = mode
	return nil
}

// Record implements the reader's Sink.
func (p *Planner) Record(rec roster.Record) error {
	kind, id := rec.RecordKind(), rec.ID()
	if _, ok := p.counts[kind]; !ok {
		return fmt.Errorf("record of unknown kind %q", kind)
	}
	p.seen[kind][id] = true
	cur, exists := p.cur[kind][id]
	role, user, school := "", "", ""
	switch r := rec.(type) {
	case *roster.Role:
		role, user, school = r.Role, r.UserSourcedID, r.OrgSourcedID
	case *roster.Class:
		school = r.SchoolSourcedID
	case *roster.Enrollment:
		school = r.SchoolSourcedID
	}
	if rec.RecordStatus() == roster.StatusToBeDeleted {
		if exists && cur.Active {
			p.add(kind, planned{Op: pthv.Op{Op: pthv.OpDeactivate, Kind: kind, ID: id, Role: cur.Role, User: cur.User}, cat: catDeactivated})
		}
		return nil
	}
	data, hash, err := Encode(rec)
	if err != nil {
		return err
	}
	cat := catAdded
	switch {
	case exists && cur.Active && cur.Hash == hash:
		p.counts[kind].Unchanged++
		return nil
	case exists && !cur.Active:
		cat = catRevived
	case exists:
		cat = catChanged
	}
	i := p.add(kind, planned{Op: pthv.Op{Op: pthv.OpPut, Kind: kind, ID: id, Hash: hash, Data: data, Role: role, User: user, School: school}, cat: cat})
	if kind == roster.KindRole && strings.Contains(id, "#") {
		p.synth[user] = append(p.synth[user], i)
	}
	return nil
}

func (p *Planner) add(kind roster.Kind, op planned) int {
	p.ops[kind] = append(p.ops[kind], op)
	i := len(p.ops[kind]) - 1
	p.at[kind][op.ID] = i
	p.count(kind, op.cat, 1)
	return i
}

func (p *Planner) count(kind roster.Kind, cat category, d int) {
	c := p.counts[kind]
	switch cat {
	case catAdded:
		c.Added += d
	case catChanged:
		c.Changed += d
	case catRevived:
		c.Revived += d
	case catDeactivated:
		c.Deactivated += d
	}
}

// Reject implements the reader's Sink: the row is not imported and the current record, if
// any, stays as it is (it is not "missing" from a bulk file).
func (p *Planner) Reject(kind roster.Kind, id string) error {
	if _, ok := p.counts[kind]; !ok {
		return fmt.Errorf("reject of unknown kind %q", kind)
	}
	p.seen[kind][id] = true
	p.counts[kind].Rejected++
	p.withdraw(kind, id)
	if kind == roster.KindUser {
		for _, i := range p.synth[id] {
			op := &p.ops[roster.KindRole][i]
			p.seen[roster.KindRole][op.ID] = true
			p.withdraw(roster.KindRole, op.ID)
		}
		delete(p.synth, id)
	}
	return nil
}

func (p *Planner) withdraw(kind roster.Kind, id string) {
	i, ok := p.at[kind][id]
	if !ok {
		return
	}
	op := &p.ops[kind][i]
	if op.cat != catNone {
		p.count(kind, op.cat, -1)
		op.cat = catNone
	}
	delete(p.at[kind], id)
}

// Plan is the outcome of planning one import.
type Plan struct {
	Ops    []pthv.Op
	Counts map[roster.Kind]pthv.Counts
	Safety pthv.Safety
}

// Finish completes the plan: records missing from a bulk file are deactivated, and the
// share of the district's active students that would be deactivated is compared with
// threshold. Ops come kind by kind in read order, puts before deactivations.
func (p *Planner) Finish(threshold float64) Plan {
	if !p.finished {
		p.finished = true
		for _, k := range roster.Kinds {
			if p.modes[k] != roster.ModeBulk {
				continue
			}
			// Deterministic order: the store's order is not; sort the missing ids.
			var missing []string
			for id, c := range p.cur[k] {
				if c.Active && !p.seen[k][id] {
					missing = append(missing, id)
				}
			}
			slices.Sort(missing)
			for _, id := range missing {
				c := p.cur[k][id]
				p.add(k, planned{Op: pthv.Op{Op: pthv.OpDeactivate, Kind: k, ID: id, Role: c.Role, User: c.User}, cat: catDeactivated})
			}
		}
	}
	plan := Plan{Counts: map[roster.Kind]pthv.Counts{}}
	for _, k := range roster.Kinds {
		for _, op := range p.ops[k] {
			if op.cat != catNone {
				plan.Ops = append(plan.Ops, op.Op)
			}
		}
		plan.Counts[k] = *p.counts[k]
	}
	plan.Safety = p.safety(plan.Ops, threshold)
	return plan
}

// safety counts students by their student roles: a student is active while one of their
// student roles is, and is deactivated when the plan turns off a student role and writes none.
func (p *Planner) safety(ops []pthv.Op, threshold float64) pthv.Safety {
	active := map[string]bool{}
	for _, c := range p.cur[roster.KindRole] {
		if c.Active && c.Role == "student" {
			active[c.User] = true
		}
	}
	off, kept := map[string]bool{}, map[string]bool{}
	for _, op := range ops {
		if op.Kind != roster.KindRole || op.Role != "student" {
			continue
		}
		if op.Op == pthv.OpDeactivate {
			off[op.User] = true
		} else {
			kept[op.User] = true
		}
	}
	// A student whose other student roles are neither turned off nor rewritten stays active.
	stillActive := map[string]bool{}
	for id, c := range p.cur[roster.KindRole] {
		if c.Active && c.Role == "student" && off[c.User] && !p.turnedOff(id) {
			stillActive[c.User] = true
		}
	}
	n := 0
	for u := range off {
		if active[u] && !kept[u] && !stillActive[u] {
			n++
		}
	}
	s := pthv.Safety{ActiveStudents: len(active), DeactivatedStudents: n, Threshold: threshold}
	if s.ActiveStudents > 0 {
		s.Share = float64(n) / float64(s.ActiveStudents)
	}
	s.Held = s.Share > threshold
	return s
}

func (p *Planner) turnedOff(roleID string) bool {
	i, ok := p.at[roster.KindRole][roleID]
	return ok && p.ops[roster.KindRole][i].Op.Op == pthv.OpDeactivate && p.ops[roster.KindRole][i].cat != catNone
}
