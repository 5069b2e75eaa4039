// Package csv reads OneRoster 1.1 and 1.2 CSV packages (a zip or a folder) as a stream,
// validates them against the rules in the README's rule table, and yields normalised
// roster records to a Sink.
//
// Memory is bounded by the number of records, not their size: each file is read line by
// line, and only a 64-bit hash, a line number and a few flags are kept per sourcedId, so
// that references across files, duplicates and dependent rows can be checked.
//
// Being strict where a wrong guess would corrupt data and tolerant where the sender's
// intent is unambiguous, the reader rejects rows (or files, or the package) with errors,
// and imports rows with warnings as they were meant. Every finding has a stable Code; no
// finding carries a value from a row except sourcedIds.
package csv

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"github.com/pthv/reach/internal/roster"
)

// Sink consumes the records of a package as they are read. Records arrive in read order
// (orgs, academic sessions, courses, classes, users, roles, enrollments). A record that
// passes its own checks is passed to Record at once; a row that fails is passed to Reject
// with its sourcedId (when it has a valid one), and so is a record passed earlier whose
// check needed later rows of the same file (a guardian named in a student's agentSourcedIds
// turns out to be missing). Every Reject of a kind comes before any record of a later file.
//
// A rejected row means "this export says nothing usable about the record": a consumer must
// leave the existing record as it is, and must not treat it as missing from a bulk file.
//
// A consumer must apply nothing until Read returns, and must discard everything when the
// Report is Fatal. An error from any method stops the read; Read returns it.
type Sink interface {
	// File announces a kind and its mode, once, before the first record of that kind.
	File(kind roster.Kind, mode roster.Mode) error
	// Record receives one accepted record. The record is the consumer's to keep.
	Record(rec roster.Record) error
	// Reject names a row that is not imported, withdrawing it if it was passed to Record.
	// Rejecting a user of a OneRoster 1.1 package also withdraws the roles synthesised
	// from its row.
	Reject(kind roster.Kind, id string) error
}

// Resolver answers whether a record exists in the district's current roster, so that
// delta rows may refer to records sent in earlier loads. It may be nil.
type Resolver interface {
	Known(kind roster.Kind, id string) bool
}

// Options configure a read.
type Options struct {
	Limits Limits
	// MaxFindingsPerRule caps how many findings of one rule in one file are listed; the
	// rest are counted. 0 means 1000; negative means no cap.
	MaxFindingsPerRule int
	// Resolver resolves references to records not in the package. Optional.
	Resolver Resolver
}

// ReadPath opens path (a zip or a folder) and reads it. It returns an error only when the
// path cannot be opened at all or the sink fails; every problem of the export itself is a
// finding in the report.
func ReadPath(ctx context.Context, path string, sink Sink, opt Options) (*Report, error) {
	pkg, err := OpenPath(path, opt.Limits)
	if err != nil {
		return nil, err
	}
	defer pkg.Close()
	return Read(ctx, pkg, sink, opt)
}

type entState uint8

const (
	stAccepted entState = iota + 1
	stRejected
)

// ent is what the reader keeps per sourcedId: 8 bytes.
type ent struct {
	line  uint32
	state entState
	flags uint8
}

type pendingRef struct {
	from   uint64
	fromID string
	line   int
	col    string
	target string
}

type reader struct {
	ctx     context.Context
	pkg     *Package
	sink    Sink
	opt     Options
	rep     *Report
	version string
	modes   map[string]roster.Mode // by file name
	failed  [7]bool                // by kind index: the file had a file-level error
	kmode   [7]roster.Mode
	ids     [7]*idTable
	seed    maphash.Seed

	// per file
	spec      *fileSpec
	kind      int   // index of spec.kind
	cidx      []int // physical column of each spec column, -1 when missing
	mode      roster.Mode
	sum       *FileSummary
	hdr       []string // name of each physical column (spec name, or "" when ignored)
	idx       map[string]int
	pending   []pendingRef
	announced map[roster.Kind]bool
}

// Read validates pkg and passes its records to sink (which may be nil to validate only).
func Read(ctx context.Context, pkg *Package, sink Sink, opt Options) (*Report, error) {
	if opt.MaxFindingsPerRule == 0 {
		opt.MaxFindingsPerRule = 1000
	}
	rd := &reader{ctx: ctx, pkg: pkg, sink: sink, opt: opt, rep: newReport(pkg.name, opt.MaxFindingsPerRule),
		modes: map[string]roster.Mode{}, seed: maphash.MakeSeed(),
		announced: map[roster.Kind]bool{}}
	for i := range rd.ids {
		rd.ids[i] = newIDTable(0)
		rd.kmode[i] = roster.ModeAbsent
	}
	order := map[string]int{"manifest.csv": 0}
	for _, f := range pkg.findings {
		rd.rep.add(f)
	}
	if !rd.rep.hasFatal() {
		if err := rd.run(order); err != nil {
			return nil, err
		}
	}
	rd.rep.finish(order)
	return rd.rep, nil
}

func (rd *reader) add(f Finding) { rd.rep.add(f) }

func (rd *reader) run(order map[string]int) error {
	if !rd.readManifest() {
		return nil
	}
	for i, spec := range readOrder(rd.version) {
		order[spec.file] = i + 1
	}
	files := map[string]bool{}
	specs := readOrder(rd.version)
	for si, spec := range specs {
		files[spec.file] = true
		rd.releaseUnreferenced(specs[si:])
		mode := rd.modes[spec.file]
		if mode != roster.ModeBulk && mode != roster.ModeDelta {
			continue
		}
		if _, ok := rd.pkg.files[spec.file]; !ok {
			rd.failed[kindIndex[spec.kind]] = true
			continue // reported by the manifest check
		}
		if err := rd.readFile(spec, mode); err != nil {
			return err
		}
		if spec.kind == roster.KindRole {
			rd.checkUsersHaveRoles()
		}
	}
	// Files that are part of OneRoster but not imported.
	for _, base := range catalogue(rd.version) {
		name := base + ".csv"
		mode := rd.modes[name]
		if files[name] || (mode != roster.ModeBulk && mode != roster.ModeDelta) {
			continue
		}
		if _, ok := rd.pkg.files[name]; !ok {
			continue
		}
		order[name] = len(order)
		rd.rep.Summary = append(rd.rep.Summary, FileSummary{File: name, Mode: string(mode)})
		rd.add(Finding{Code: CodeFileNotImported, File: name,
			Message: fmt.Sprintf("%s is not imported: PTHV Reach keeps only rosters (no demographics, credentials, gradebook or resources)", name)})
	}
	return nil
}

// readManifest parses manifest.csv and checks it against the files present. It returns
// false when the version cannot be known, so that nothing else can be read.
func (rd *reader) readManifest() bool {
	const mf = "manifest.csv"
	f, ok := rd.pkg.files[mf]
	if !ok {
		rd.add(Finding{Code: CodeManifestMissing, File: mf,
			Message: "manifest.csv is missing: it tells which OneRoster version and which files the export holds"})
		return false
	}
	rc, err := f.open()
	if err != nil {
		rd.add(Finding{Code: CodeFileUnreadable, File: mf, Message: "manifest.csv cannot be read: " + readErr(err)})
		return false
	}
	defer rc.Close()
	sc := newScanner(rc)
	props := map[string]string{}
	propLine := map[string]int{}
	header := true
	for {
		fields, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rd.add(Finding{Code: CodeFileUnreadable, File: mf, Line: sc.line, Message: "manifest.csv cannot be read: " + readErr(err)})
			return false
		}
		if header {
			header = false
			if len(fields) < 2 || string(fields[0]) != "propertyName" || string(fields[1]) != "value" {
				rd.add(Finding{Code: CodeManifestHeader, File: mf, Line: sc.line,
					Message: "the first row of manifest.csv must be the header propertyName,value"})
				return false
			}
			continue
		}
		if len(fields) == 1 && len(fields[0]) == 0 {
			continue // blank line
		}
		if len(sc.prob) > 0 || len(fields) != 2 {
			rd.add(Finding{Code: CodeManifestRow, File: mf, Line: sc.line,
				Message: "a manifest row must have exactly two cells: propertyName,value"})
			continue
		}
		k, v := string(fields[0]), strings.TrimSpace(string(fields[1]))
		if l, dup := propLine[k]; dup {
			rd.add(Finding{Code: CodeManifestRow, File: mf, Line: sc.line,
				Message: fmt.Sprintf("the property %s is repeated (first on line %d)", safeProp(k), l)})
			continue
		}
		props[k], propLine[k] = v, sc.line
	}
	if sc.hadBOM {
		rd.add(Finding{Code: CodeBOM, File: mf, Line: 1})
	}
	switch v := props["manifest.version"]; v {
	case "1.0":
	default:
		rd.add(Finding{Code: CodeManifestFormat, File: mf, Line: propLine["manifest.version"],
			Message: "manifest.version should be 1.0"})
	}
	rd.version = props["oneroster.version"]
	switch rd.version {
	case "1.1", "1.2":
	case "1.2.1", "v1p2":
		rd.version = "1.2"
	case "1.1.1", "v1p1":
		rd.version = "1.1"
	default:
		msg := "oneroster.version is missing: it must be 1.1 or 1.2"
		if _, ok := props["oneroster.version"]; ok {
			msg = "oneroster.version must be 1.1 or 1.2"
		}
		rd.add(Finding{Code: CodeManifestVersion, File: mf, Line: propLine["oneroster.version"], Message: msg})
		rd.version = ""
		return false
	}
	rd.rep.Version = rd.version
	known := map[string]bool{}
	for _, base := range catalogue(rd.version) {
		known[base+".csv"] = true
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return propLine[a] - propLine[b] })
	for _, k := range keys {
		v, line := props[k], propLine[k]
		switch {
		case k == "manifest.version" || k == "oneroster.version" || strings.HasPrefix(k, "source."):
		case strings.HasPrefix(k, "file."):
			name := strings.TrimPrefix(k, "file.") + ".csv"
			if !known[name] {
				rd.add(Finding{Code: CodeManifestUnknownProp, File: mf, Line: line,
					Message: fmt.Sprintf("%s is not a OneRoster %s file; the row is ignored", safeProp(k), rd.version)})
				continue
			}
			switch m := roster.Mode(v); m {
			case roster.ModeBulk, roster.ModeDelta, roster.ModeAbsent:
				rd.modes[name] = m
			case "":
				rd.modes[name] = roster.ModeAbsent
				rd.add(Finding{Code: CodeManifestModeBlank, File: mf, Line: line,
					Message: fmt.Sprintf("%s has no value; it is read as absent", k)})
			default:
				rd.add(Finding{Code: CodeManifestMode, File: mf, Line: line,
					Message: fmt.Sprintf("%s must be absent, bulk or delta", k)})
				rd.modes[name] = roster.ModeAbsent
				if k := kindOfFile(name); k != "" {
					rd.failed[kindIndex[k]] = true
				}
			}
		default:
			rd.add(Finding{Code: CodeManifestUnknownProp, File: mf, Line: line,
				Message: fmt.Sprintf("the property %s is not defined by OneRoster; it is ignored", safeProp(k))})
		}
	}
	for name, mode := range rd.modes {
		_, present := rd.pkg.files[name]
		if (mode == roster.ModeBulk || mode == roster.ModeDelta) && !present {
			rd.add(Finding{Code: CodeManifestFileMissing, File: name, Line: propLine["file."+strings.TrimSuffix(name, ".csv")],
				Message: fmt.Sprintf("manifest.csv says %s is %s, but the package does not contain it", name, mode)})
		}
		if mode == roster.ModeAbsent && present {
			rd.add(Finding{Code: CodeManifestFileAbsent, File: name,
				Message: fmt.Sprintf("manifest.csv marks %s absent, so the file in the package is ignored", name)})
		}
	}
	for _, name := range rd.pkg.Files() {
		if name == mf {
			continue
		}
		if !known[name] {
			msg := fmt.Sprintf("%s is not a OneRoster %s file and is ignored", safeName(name), rd.version)
			for k := range known {
				if strings.EqualFold(k, name) {
					msg += fmt.Sprintf(" (file names are case-sensitive: did you mean %s?)", k)
				}
			}
			rd.add(Finding{Code: CodePackageUnknownFile, File: safeName(name), Message: msg})
			continue
		}
		if _, listed := rd.modes[name]; !listed {
			rd.add(Finding{Code: CodeManifestFileUnlisted, File: name,
				Message: fmt.Sprintf("manifest.csv has no file.%s row, so %s is ignored", strings.TrimSuffix(name, ".csv"), name)})
		}
	}
	anyBulk := false
	for _, spec := range readOrder(rd.version) {
		if m, ok := rd.modes[spec.file]; ok {
			rd.kmode[kindIndex[spec.kind]] = m
		}
		if rd.modes[spec.file] == roster.ModeBulk {
			anyBulk = true
		}
	}
	if um := rd.modes["users.csv"]; anyBulk && um != roster.ModeBulk && um != roster.ModeDelta {
		rd.add(Finding{Code: CodePackageUsersMissing, File: "users.csv",
			Message: "the export has no users.csv: a roster needs its students, guardians and teachers"})
	}
	return true
}

func kindOfFile(name string) roster.Kind {
	for k, f := range fileOfKind {
		if f == name {
			return k
		}
	}
	return ""
}

func safeProp(k string) string {
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return safeName(k)
}

func readErr(err error) string {
	var tl *errTooLarge
	if errors.As(err, &tl) {
		return tl.msg
	}
	return "the data is corrupt or truncated"
}

// readFile reads one data file.
func (rd *reader) readFile(spec *fileSpec, mode roster.Mode) error {
	rd.spec, rd.kind, rd.mode, rd.pending = spec, kindIndex[spec.kind], mode, rd.pending[:0]
	rd.rep.Summary = append(rd.rep.Summary, FileSummary{File: spec.file, Mode: string(mode), Imported: true})
	rd.sum = &rd.rep.Summary[len(rd.rep.Summary)-1]
	f := rd.pkg.files[spec.file]
	rc, err := f.open()
	if err != nil {
		rd.failFile(Finding{Code: CodeFileUnreadable, File: spec.file, Message: spec.file + " cannot be read: " + readErr(err)})
		return nil
	}
	defer rc.Close()
	sc := newScanner(rc)
	fields, err := sc.next()
	if err != nil {
		if err == io.EOF {
			rd.failFile(Finding{Code: CodeFileNoHeader, File: spec.file,
				Message: spec.file + " is empty: it needs at least a header row"})
		} else {
			rd.failFile(Finding{Code: CodeFileUnreadable, File: spec.file, Message: spec.file + " cannot be read: " + readErr(err)})
		}
		return nil
	}
	if sc.hadBOM {
		rd.add(Finding{Code: CodeBOM, File: spec.file, Line: 1})
	}
	// Size the sourcedId index from the file size and the length of its first rows, so
	// that it does not grow step by step through a large file. The guess is capped at
	// maxPresize entries: a file whose first rows are short and later ones long (or whose
	// first row is longer than the read buffer) would otherwise size it by its bytes, not
	// its rows; past the cap the table grows with the rows it holds.
	if hint := f.size / sc.rowBytes(); rd.ids[rd.kind].len() == 0 && hint > 64 {
		rd.ids[rd.kind] = newIDTable(int(min(hint, maxPresize)))
	}
	if !rd.readHeader(fields, sc) {
		rd.failed[rd.kind] = true
		rd.sum.Failed = true
		return nil
	}
	if err := rd.announce(spec.kind, mode); err != nil {
		return err
	}
	if spec.kind == roster.KindUser && rd.version == "1.1" {
		if err := rd.announce(roster.KindRole, mode); err != nil {
			return err
		}
	}
	row := &rowCtx{rd: rd, sc: sc}
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := rd.ctx.Err(); err != nil {
				return err
			}
		}
		fields, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rd.failFile(Finding{Code: CodeFileUnreadable, File: spec.file, Line: sc.line + 1,
				Message: fmt.Sprintf("%s cannot be read past line %d: %s", spec.file, sc.line, readErr(err))})
			return nil
		}
		if len(fields) == 1 && len(fields[0]) == 0 && len(sc.prob) == 0 {
			continue // a blank line
		}
		if err := row.process(fields); err != nil {
			return err
		}
	}
	if sc.sawCRLF && sc.sawLF {
		rd.add(Finding{Code: CodeLineEndings, File: spec.file,
			Message: spec.file + " mixes CRLF and LF line endings; both are read"})
	}
	if sc.noEOL && sc.line > 1 {
		rd.add(Finding{Code: CodeNoFinalLineBreak, File: spec.file, Line: sc.line,
			Message: fmt.Sprintf("%s ends without a line break after line %d: a file cut short in transfer ends like this; check that the export is complete", spec.file, sc.line)})
	}
	if rd.sum.Rows == 0 {
		if mode == roster.ModeBulk {
			rd.failFile(Finding{Code: CodeFileEmptyBulk, File: spec.file,
				Message: fmt.Sprintf("%s is bulk but has no rows: importing it would remove every %s; mark it absent in manifest.csv if there is nothing to send", spec.file, spec.kind)})
		} else {
			rd.add(Finding{Code: CodeFileEmptyDelta, File: spec.file,
				Message: fmt.Sprintf("%s is delta but has no rows; mark it absent in manifest.csv if there is nothing to send", spec.file)})
		}
	}
	return rd.resolvePending()
}

func (rd *reader) announce(kind roster.Kind, mode roster.Mode) error {
	if rd.sink == nil || rd.announced[kind] {
		return nil
	}
	rd.announced[kind] = true
	return rd.sink.File(kind, mode)
}

func (rd *reader) failFile(f Finding) {
	rd.add(f)
	rd.failed[rd.kind] = true
	rd.sum.Failed = true
}
