package importer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Planner is the reader's Sink: it compares each record with the current roster and keeps
// only the writes the import needs. Unchanged records cost a hash and a map lookup. The
// planned writes are kept in memory (NewPlanner) or spilled to gzipped temp files
// (NewSpillingPlanner), which keeps a large first import's memory to its current roster.
type Planner struct {
	cur      pthv.State
	modes    map[roster.Kind]roster.Mode
	ops      opSink
	counts   map[roster.Kind]*pthv.Counts // unchanged and rejected; the rest are counted at the end
	finished bool
	plan     Plan
	err      error
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

// NewPlanner plans against the given current state (which it marks as it reads, in
// pthv.Current.Seen, until FinishWith), keeping
// every planned write in memory (Plan.Ops).
func NewPlanner(cur pthv.State) *Planner {
	return newPlanner(cur, newMemOps())
}

// NewSpillingPlanner plans as NewPlanner does, but writes each planned op to a gzipped temp
// file under dir ("" = the system default) as it is planned; the plan's ops are read back
// with Plan.Each, and Plan.Close removes the files. Beside the current roster, it holds only
// what the safety hold reads.
func NewSpillingPlanner(cur pthv.State, dir string) (*Planner, error) {
	sp, err := newSpillOps(dir)
	if err != nil {
		return nil, err
	}
	return newPlanner(cur, sp), nil
}

func newPlanner(cur pthv.State, ops opSink) *Planner {
	if cur == nil {
		cur = pthv.State{}
	}
	p := &Planner{cur: cur, modes: map[roster.Kind]roster.Mode{}, ops: ops, counts: map[roster.Kind]*pthv.Counts{}}
	for _, k := range roster.Kinds {
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
	cur, exists := p.cur[kind][id]
	if exists && !cur.Seen {
		// Marked in the state itself: a set of the ids read would take as much memory again.
		cur.Seen = true
		p.cur[kind][id] = cur
	}
	role, user, school := "", "", ""
	switch r := rec.(type) {
	case *roster.Role:
		role, user, school = r.Role, r.UserSourcedID, r.OrgSourcedID
	case *roster.Org:
		role = r.Type // kept so that the hold can count schools
	case *roster.Class:
		school = r.SchoolSourcedID
	case *roster.Enrollment:
		school = r.SchoolSourcedID
	}
	if rec.RecordStatus() == roster.StatusToBeDeleted {
		if exists && cur.Active {
			return p.add(planned{Op: pthv.Op{Op: pthv.OpDeactivate, Kind: kind, ID: id, Role: cur.Role, User: cur.User}, cat: catDeactivated})
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
	return p.add(planned{Op: pthv.Op{Op: pthv.OpPut, Kind: kind, ID: id, Hash: hash, Data: data, Role: role, User: user, School: school}, cat: cat})
}

func (p *Planner) add(op planned) error {
	if err := p.ops.add(op); err != nil {
		p.err = cmp.Or(p.err, err)
		return err
	}
	return nil
}

// synthesised reports whether a role op is one OneRoster 1.1's reader made from a user row
// (its id has a "#"): it is withdrawn with its user.
func synthesised(op *pthv.Op) bool {
	return op.Kind == roster.KindRole && op.Op == pthv.OpPut && strings.Contains(op.ID, "#")
}

func (c *category) count(n *pthv.Counts) {
	switch *c {
	case catAdded:
		n.Added++
	case catChanged:
		n.Changed++
	case catRevived:
		n.Revived++
	case catDeactivated:
		n.Deactivated++
	}
}

// Reject implements the reader's Sink: the row is not imported and the current record, if
// any, stays as it is (it is not "missing" from a bulk file). A row rejected after it was
// read (a reference the reader resolved later) withdraws its op, and a user's synthesised
// roles with it.
func (p *Planner) Reject(kind roster.Kind, id string) error {
	if _, ok := p.counts[kind]; !ok {
		return fmt.Errorf("reject of unknown kind %q", kind)
	}
	if c, ok := p.cur[kind][id]; ok && !c.Seen {
		c.Seen = true
		p.cur[kind][id] = c
	}
	p.counts[kind].Rejected++
	p.ops.withdraw(kind, id)
	if kind == roster.KindUser {
		p.ops.withdrawSynth(id)
	}
	return nil
}

// Plan is the outcome of planning one import.
type Plan struct {
	// Ops are the planned writes of an in-memory planner (NewPlanner); nil from a spilling
	// planner, whose ops Each reads back.
	Ops    []pthv.Op
	Counts map[roster.Kind]pthv.Counts
	Safety pthv.Safety
	n      int
	src    opSink
}

// Len is the number of planned writes.
func (p Plan) Len() int { return p.n }

// Each calls fn with every planned write in order (kind by kind, in read order, each kind's
// missing records last).
func (p Plan) Each(fn func(*pthv.Op) error) error {
	if p.src == nil {
		for i := range p.Ops {
			if err := fn(&p.Ops[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range roster.Kinds {
		if err := p.src.each(k, func(op *planned) error { return fn(&op.Op) }); err != nil {
			return err
		}
	}
	return nil
}

// Close removes a spilling planner's temp files (the plan's ops cannot be read after).
func (p Plan) Close() error {
	if p.src == nil {
		return nil
	}
	return p.src.close()
}

// Close removes a spilling planner's temp files (as Plan.Close does).
func (p *Planner) Close() error { return p.ops.close() }

// Finish is FinishWith with threshold as the students' share and the other kinds' defaults.
func (p *Planner) Finish(threshold float64) Plan {
	return p.FinishWith(map[string]float64{HoldStudents: threshold})
}

// Err is the first error of a spilling planner's temp files; a plan made despite one is
// incomplete.
func (p *Planner) Err() error { return p.err }

// FinishWith completes the plan: records missing from a bulk file are deactivated, and the
// share of each kind of HoldKinds that would be deactivated is compared with its share
// (missing or nil: DefaultHoldShares). Ops come kind by kind in read order, puts before
// deactivations.
func (p *Planner) FinishWith(shares map[string]float64) Plan {
	if !p.finished {
		p.finished = true
		for _, k := range roster.Kinds {
			if p.modes[k] != roster.ModeBulk {
				continue
			}
			// Deterministic order: the store's order is not; sort the missing ids.
			var missing []string
			for id, c := range p.cur[k] {
				if c.Active && !c.Seen {
					missing = append(missing, id)
				}
			}
			slices.Sort(missing)
			for _, id := range missing {
				c := p.cur[k][id]
				if p.add(planned{Op: pthv.Op{Op: pthv.OpDeactivate, Kind: k, ID: id, Role: c.Role, User: c.User}, cat: catDeactivated}) != nil {
					break
				}
			}
		}
		// The marks are taken back: the state is the caller's, as it was given.
		for _, m := range p.cur {
			for id, c := range m {
				if c.Seen {
					c.Seen = false
					m[id] = c
				}
			}
		}
		p.plan = Plan{Counts: map[roster.Kind]pthv.Counts{}, src: p.ops}
		_, inMemory := p.ops.(*memOps)
		for _, k := range roster.Kinds {
			n := *p.counts[k]
			err := p.ops.each(k, func(op *planned) error {
				op.cat.count(&n)
				p.plan.n++
				if inMemory {
					p.plan.Ops = append(p.plan.Ops, op.Op)
				}
				return nil
			})
			if err != nil {
				p.err = cmp.Or(p.err, err)
			}
			p.plan.Counts[k] = n
		}
		if inMemory {
			p.plan.src = nil
		}
	}
	plan := p.plan
	plan.Safety = p.safety(plan, withDefaultShares(shares))
	return plan
}
