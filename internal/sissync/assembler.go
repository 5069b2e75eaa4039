package sissync

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"sort"

	"github.com/pthv/reach/internal/sis"
)

// people reports whether a collection holds the district's students: a full pull in which it
// is empty is held.
func people(cr *sis.CollectionRun) bool { return cr.People || cr.Name == "users" }

// fileBuffers collects an assembled package's files (sis.FileWriter).
type fileBuffers struct {
	layout string
	modes  map[string]string
	bufs   map[string]*bytes.Buffer
	order  []string
	cur    *csv.Writer
}

func (f *fileBuffers) File(name, mode string) error {
	if _, dup := f.bufs[name]; dup {
		return fmt.Errorf("assembled package: %s written twice", name)
	}
	if sis.Columns(f.layout, name) == nil {
		return fmt.Errorf("assembled package: %s is not a file of OneRoster %s", name, f.layout)
	}
	if f.cur != nil {
		f.cur.Flush()
	}
	b := &bytes.Buffer{}
	f.bufs[name], f.modes[name] = b, mode
	f.order = append(f.order, name)
	f.cur = csv.NewWriter(b)
	return f.cur.Write(sis.Columns(f.layout, name))
}

func (f *fileBuffers) Row(cells []string) error {
	if f.cur == nil {
		return fmt.Errorf("assembled package: a row before any file")
	}
	return f.cur.Write(clean(cells))
}

// assemblePackage writes the package of a source that assembles its own files from the
// staged pages (sis.Assembler).
func (s *Service) assemblePackage(ctx context.Context, a sis.Assembler, run *sis.Run, layout string) ([]byte, []sis.Finding, error) {
	var staged []sis.Staged
	for _, cr := range run.Collections {
		name := cr.Name
		staged = append(staged, sis.Staged{Collection: name, Complete: cr.Complete, Reason: cr.Verdict, Pages: cr.Proof.Pages, Received: cr.Proof.Received,
			Page: func(ctx context.Context, n int) (*sis.Page, error) { return s.loadPage(ctx, run, name, n) }})
	}
	fb := &fileBuffers{layout: layout, modes: map[string]string{}, bufs: map[string]*bytes.Buffer{}}
	findings, err := a.Assemble(ctx, staged, fb)
	if err != nil {
		return nil, nil, err
	}
	if fb.cur != nil {
		fb.cur.Flush()
		if err := fb.cur.Error(); err != nil {
			return nil, nil, err
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	mf, err := zw.Create("manifest.csv")
	if err != nil {
		return nil, nil, err
	}
	m := csv.NewWriter(mf)
	_ = m.Write([]string{"propertyName", "value"})
	_ = m.Write([]string{"manifest.version", "1.0"})
	_ = m.Write([]string{"oneroster.version", layout})
	for _, name := range catalogOf(layout) {
		v := "absent"
		if mode, ok := fb.modes[name+".csv"]; ok {
			v = mode
		}
		_ = m.Write([]string{"file." + name, v})
	}
	_ = m.Write([]string{"source.systemName", "PTHV Reach SIS sync " + run.ID})
	m.Flush()
	names := append([]string(nil), fb.order...)
	sort.Strings(names)
	for _, name := range names {
		if fb.modes[name] == "absent" {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(fb.bufs[name].Bytes()); err != nil {
			return nil, nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), findings, nil
}
