package sissync

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"

	"github.com/pthv/reach/internal/sis"
)

// people reports whether a collection holds the district's students: a full pull in which it
// is empty is held.
func people(cr *sis.CollectionRun) bool { return cr.People || cr.Name == "users" }

// zipFiles writes an assembled package's files straight into the zip as they come
// (sis.FileWriter): only the compressed package is held, and the manifest, whose modes are
// known only once every file is written, goes in last.
type zipFiles struct {
	layout string
	zw     *zip.Writer
	modes  map[string]string
	cur    *csv.Writer
}

func (f *zipFiles) File(name, mode string) error {
	if _, dup := f.modes[name]; dup {
		return fmt.Errorf("assembled package: %s written twice", name)
	}
	if sis.Columns(f.layout, name) == nil {
		return fmt.Errorf("assembled package: %s is not a file of OneRoster %s", name, f.layout)
	}
	if err := f.flush(); err != nil {
		return err
	}
	f.modes[name] = mode
	if mode == "absent" {
		return nil
	}
	w, err := f.zw.Create(name)
	if err != nil {
		return err
	}
	f.cur = csv.NewWriter(w)
	return f.cur.Write(sis.Columns(f.layout, name))
}

func (f *zipFiles) Row(cells []string) error {
	if f.cur == nil {
		return fmt.Errorf("assembled package: a row outside a file")
	}
	return f.cur.Write(clean(cells))
}

func (f *zipFiles) flush() error {
	if f.cur == nil {
		return nil
	}
	f.cur.Flush()
	err := f.cur.Error()
	f.cur = nil
	return err
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
	var buf bytes.Buffer
	zf := &zipFiles{layout: layout, zw: zip.NewWriter(&buf), modes: map[string]string{}}
	findings, err := a.Assemble(ctx, staged, zf)
	if err != nil {
		return nil, nil, err
	}
	if err := zf.flush(); err != nil {
		return nil, nil, err
	}
	mf, err := zf.zw.Create("manifest.csv")
	if err != nil {
		return nil, nil, err
	}
	m := csv.NewWriter(mf)
	_ = m.Write([]string{"propertyName", "value"})
	_ = m.Write([]string{"manifest.version", "1.0"})
	_ = m.Write([]string{"oneroster.version", layout})
	for _, name := range catalogOf(layout) {
		v := "absent"
		if mode, ok := zf.modes[name+".csv"]; ok {
			v = mode
		}
		_ = m.Write([]string{"file." + name, v})
	}
	_ = m.Write([]string{"source.systemName", "PTHV Reach SIS sync " + run.ID})
	m.Flush()
	if err := m.Error(); err != nil {
		return nil, nil, err
	}
	if err := zf.zw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), findings, nil
}
