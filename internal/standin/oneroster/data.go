package oneroster

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/rostergen"
)

// item is one record of a collection: its CSV line kept as text (memory grows with the
// export's size, not with decoded objects), its status and its modification time.
type item struct {
	id       string
	cells    []string // nil until changed: then the cells override line
	line     string
	status   string
	modified time.Time
	roles    []string // 1.2 users: their roles.csv lines
}

func (it *item) fields(hdr []string) map[string]string {
	cells := it.cells
	if cells == nil {
		r := csv.NewReader(strings.NewReader(it.line))
		r.FieldsPerRecord = -1
		cells, _ = r.Read()
	}
	m := make(map[string]string, len(hdr))
	for i, h := range hdr {
		if i < len(cells) {
			m[h] = cells[i]
		}
	}
	return m
}

// collection holds records sorted by sourcedId.
type collection struct {
	hdr   []string
	items []*item
	byID  map[string]*item
}

// District is the data a stand-in serves: the files of a generated OneRoster CSV export,
// turned into REST collections.
type District struct {
	mu       sync.RWMutex
	version  string
	roleHdr  []string
	colls    map[string]*collection
	modified time.Time
}

// Generate builds the district of a rostergen export (its Version selects the REST shape:
// 1.2 users carry roles[], 1.1 users one role and orgs[]). Every record's dateLastModified
// is at.
func Generate(o rostergen.Options, at time.Time) (*District, error) {
	dir, err := os.MkdirTemp("", "standin-oneroster-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := rostergen.Write(dir, o); err != nil {
		return nil, err
	}
	v := o.Version
	if v == "" {
		v = "1.2"
	}
	return Load(dir, v, at)
}

// Load reads a folder of OneRoster CSV files (a bulk export) as version's REST collections.
func Load(dir, version string, at time.Time) (*District, error) {
	d := &District{version: version, colls: map[string]*collection{}, modified: at.UTC()}
	files := map[string]string{"orgs": "orgs.csv", "academicSessions": "academicSessions.csv", "courses": "courses.csv",
		"classes": "classes.csv", "users": "users.csv", "enrollments": "enrollments.csv"}
	for name, file := range files {
		c, err := readCSV(filepath.Join(dir, file), at)
		if err != nil {
			return nil, err
		}
		d.colls[name] = c
	}
	if version == "1.2" {
		roles, err := readCSV(filepath.Join(dir, "roles.csv"), at)
		if err != nil {
			return nil, err
		}
		d.roleHdr = roles.hdr
		ui := slices.Index(roles.hdr, "userSourcedId")
		users := d.colls["users"]
		for _, r := range roles.items {
			f := r.fields(roles.hdr)
			if u := users.byID[f[roles.hdr[ui]]]; u != nil {
				u.roles = append(u.roles, r.line)
			}
		}
	}
	return d, nil
}

func readCSV(path string, at time.Time) (*collection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(b)
	nl := strings.IndexByte(text, '\n')
	if nl < 0 {
		return nil, fmt.Errorf("%s: no header", path)
	}
	hdr := strings.Split(strings.TrimRight(text[:nl], "\r"), ",")
	c := &collection{hdr: hdr, byID: map[string]*item{}}
	r := csv.NewReader(strings.NewReader(text[nl+1:]))
	r.ReuseRecord = true
	off := nl + 1
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		end := r.InputOffset()
		line := strings.TrimRight(text[off+int(start):off+int(end)], "\r\n")
		it := &item{id: rec[0], line: line, status: "active", modified: at.UTC()}
		c.items = append(c.items, it)
		c.byID[it.id] = it
	}
	slices.SortFunc(c.items, func(a, b *item) int { return strings.Compare(a.id, b.id) })
	return c, nil
}

// Count returns the number of records of a collection (tobedeleted included).
func (d *District) Count(coll string) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if c := d.colls[coll]; c != nil {
		return len(c.items)
	}
	return 0
}

// IDs returns a collection's sourcedIds in order.
func (d *District) IDs(coll string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for _, it := range d.colls[coll].items {
		out = append(out, it.id)
	}
	return out
}

// Update changes one field (a CSV column name) of a record and marks it modified at.
func (d *District) Update(coll, id, field, value string, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.colls[coll]
	it := c.byID[id]
	if it == nil {
		return fmt.Errorf("%s %s does not exist", coll, id)
	}
	i := slices.Index(c.hdr, field)
	if i < 0 {
		return fmt.Errorf("%s has no field %s", coll, field)
	}
	f := it.fields(c.hdr)
	f[field] = value
	it.cells = make([]string, len(c.hdr))
	for j, h := range c.hdr {
		it.cells[j] = f[h]
	}
	it.modified = at.UTC()
	return nil
}

// MarkDeleted sets a record's status to tobedeleted (a soft delete, seen by deltas).
func (d *District) MarkDeleted(coll, id string, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.colls[coll].byID[id]
	if it == nil {
		return fmt.Errorf("%s %s does not exist", coll, id)
	}
	it.status, it.modified = "tobedeleted", at.UTC()
	return nil
}

// Remove deletes a record outright (a hard delete: deltas never see it).
func (d *District) Remove(coll, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.colls[coll]
	delete(c.byID, id)
	c.items = slices.DeleteFunc(c.items, func(it *item) bool { return it.id == id })
}

// AddCopy adds a record that copies an existing one under a new sourcedId.
func (d *District) AddCopy(coll, from, id string, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addCopyLocked(coll, from, id, at)
	return nil
}

func (d *District) addCopyLocked(coll, from, id string, at time.Time) {
	c := d.colls[coll]
	src := c.byID[from]
	if src == nil {
		return
	}
	f := src.fields(c.hdr)
	f["sourcedId"] = id
	cells := make([]string, len(c.hdr))
	for j, h := range c.hdr {
		cells[j] = f[h]
	}
	it := &item{id: id, cells: cells, status: "active", modified: at.UTC(), roles: src.roles}
	c.byID[id] = it
	i, _ := slices.BinarySearchFunc(c.items, id, func(a *item, id string) int { return strings.Compare(a.id, id) })
	c.items = slices.Insert(c.items, i, it)
}
