package csv

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits protect the reader from hostile or broken archives.
type Limits struct {
	// MaxTotalBytes caps the total uncompressed size of the files read from a zip, as
	// declared by the zip and as actually read. Default 4 GiB.
	MaxTotalBytes int64
	// MaxRatio caps an entry's uncompressed/compressed size ratio (for entries over 1 MiB).
	// Default 200; OneRoster CSV compresses about 5–20 times.
	MaxRatio int64
}

// Default limits.
const (
	DefaultMaxTotalBytes int64 = 4 << 30
	DefaultMaxRatio      int64 = 200
)

func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// ratioFloor is the size below which the compression ratio is not checked: small files
// of repeated text legitimately compress very well.
const ratioFloor = 1 << 20

// Package is an opened OneRoster package: a zip or a folder of CSV files. Problems found
// while opening it (unsafe entries, size limits) are findings, not errors, so that district
// IT gets them in the report.
type Package struct {
	name     string
	files    map[string]*pkgFile
	findings []Finding
	lim      Limits
	read     int64 // uncompressed bytes read so far
	closer   io.Closer
}

type pkgFile struct {
	name string
	open func() (io.ReadCloser, error)
	size int64
}

// Close releases the underlying file, if any.
func (p *Package) Close() error {
	if p.closer != nil {
		return p.closer.Close()
	}
	return nil
}

// Name is the package's display name (its path as given).
func (p *Package) Name() string { return p.name }

// Files lists the data file names found at the package root, sorted.
func (p *Package) Files() []string {
	var names []string
	for n := range p.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (p *Package) addf(code Code, file, format string, args ...any) {
	p.findings = append(p.findings, Finding{Code: code, File: file, Message: fmt.Sprintf(format, args...)})
}

// OpenPath opens a zip file or a folder. It returns an error only when the path itself
// cannot be read (it does not exist, or permission is denied); a file that is not a valid
// zip opens as a package whose findings say so.
func OpenPath(p string, lim Limits) (*Package, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return openDir(p, lim)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	pkg := OpenZip(f, st.Size(), p, lim)
	pkg.closer = f
	return pkg, nil
}

// OpenZip opens a zip held in r. name is used in messages only.
func OpenZip(r io.ReaderAt, size int64, name string, lim Limits) *Package {
	pkg := &Package{name: name, files: map[string]*pkgFile{}, lim: lim.withDefaults()}
	if size == 0 {
		pkg.addf(CodePackageEmpty, "", "the file is empty (0 bytes): it is not a zip of OneRoster CSV files")
		return pkg
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		pkg.addf(CodePackageUnreadable, "", "the file is not a readable zip (%s); send the export as a zip of CSV files, or point at the folder that holds them", zipErr(err))
		return pkg
	}
	type entry struct {
		dir, base string
		f         *zip.File
	}
	var entries []entry
	for _, f := range zr.File {
		name := f.Name
		if unsafePath(name) {
			// Report the entry without echoing the whole path: it is attacker-controlled.
			pkg.addf(CodePackageUnsafePath, "", "zip entry %d has an absolute path or a '..' component; the package is refused", len(entries)+1)
			continue
		}
		name = strings.ReplaceAll(name, `\`, "/")
		if strings.HasSuffix(name, "/") || ignoredEntry(name) {
			continue
		}
		dir, base := path.Split(name)
		entries = append(entries, entry{strings.TrimSuffix(dir, "/"), base, f})
	}
	if len(pkg.findings) > 0 {
		return pkg
	}
	if len(entries) == 0 {
		pkg.addf(CodePackageEmpty, "", "the zip holds no files")
		return pkg
	}
	root := ""
	if !slices.ContainsFunc(entries, func(e entry) bool { return e.dir == "" }) {
		// Everything sits below the root: accept one common folder.
		first := entries[0].dir
		if !slices.ContainsFunc(entries, func(e entry) bool { return e.dir != first }) {
			root = first
			pkg.addf(CodePackageSubfolder, "", "the files are in the folder %q inside the zip, not at its root; they are read from there", safeName(first))
		}
	}
	var declared int64
	for _, e := range entries {
		if e.dir != root {
			pkg.addf(CodePackageUnknownFile, "", "a file in a sub-folder of the zip is ignored: OneRoster files sit at the root")
			continue
		}
		if _, dup := pkg.files[e.base]; dup {
			pkg.addf(CodePackageDuplicate, e.base, "the zip holds %s twice", e.base)
			continue
		}
		f := e.f
		us := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > uint64(1<<62) {
			us = 1 << 62
		}
		declared += us
		if us > ratioFloor && us > int64(f.CompressedSize64)*pkg.lim.MaxRatio {
			pkg.addf(CodePackageRatio, e.base, "the entry would expand more than %d times (%d bytes from %d); the package is refused as a possible zip bomb",
				pkg.lim.MaxRatio, us, f.CompressedSize64)
			continue
		}
		pkg.files[e.base] = &pkgFile{name: e.base, size: us, open: func() (io.ReadCloser, error) {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			lr := &limitedReader{rc: rc, pkg: pkg, left: us}
			if us > readAheadChunk {
				return newReadAhead(lr), nil
			}
			return lr, nil
		}}
	}
	if declared > pkg.lim.MaxTotalBytes {
		pkg.addf(CodePackageTooLarge, "", "the files would uncompress to %d bytes, more than the limit of %d", declared, pkg.lim.MaxTotalBytes)
	}
	return pkg
}

func openDir(dir string, lim Limits) (*Package, error) {
	pkg := &Package{name: dir, files: map[string]*pkgFile{}, lim: lim.withDefaults()}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var subdirs []string
	for _, e := range ents {
		if e.IsDir() {
			subdirs = append(subdirs, e.Name())
			continue
		}
		if ignoredEntry(e.Name()) {
			continue
		}
		full := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		pkg.files[e.Name()] = &pkgFile{name: e.Name(), size: info.Size(), open: func() (io.ReadCloser, error) { return os.Open(full) }}
	}
	if len(pkg.files) == 0 && len(subdirs) == 1 {
		inner, err := openDir(filepath.Join(dir, subdirs[0]), lim)
		if err == nil && len(inner.files) > 0 {
			inner.name = dir
			inner.findings = append([]Finding{{Code: CodePackageSubfolder,
				Message: fmt.Sprintf("the files are in the folder %q, not at the top; they are read from there", safeName(subdirs[0]))}}, inner.findings...)
			return inner, nil
		}
	}
	if len(pkg.files) == 0 {
		pkg.addf(CodePackageEmpty, "", "the folder holds no files")
	}
	return pkg, nil
}

// ignoredEntry reports files that archivers add and nobody means to send.
func ignoredEntry(name string) bool {
	base := path.Base(name)
	return strings.HasPrefix(name, "__MACOSX/") || base == ".DS_Store" || base == "Thumbs.db" || strings.HasPrefix(base, "._")
}

func unsafePath(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return true
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// safeName shortens a folder name for a message and drops anything but plain characters.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func zipErr(err error) string {
	switch {
	case errors.Is(err, zip.ErrFormat):
		return "not a zip archive"
	case errors.Is(err, zip.ErrAlgorithm):
		return "unsupported compression method"
	}
	return "unreadable"
}

// errTooLarge is returned by a limited reader when an entry expands past what it declared
// or the package past its total limit.
type errTooLarge struct{ msg string }

func (e *errTooLarge) Error() string { return e.msg }

// limitedReader enforces the declared entry size and the package's total limit on the
// bytes actually decompressed: a zip's headers may lie.
type limitedReader struct {
	rc   io.ReadCloser
	pkg  *Package
	left int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	n, err := l.rc.Read(b)
	l.left -= int64(n)
	l.pkg.read += int64(n)
	if l.left < 0 {
		return n, &errTooLarge{"the entry holds more data than its zip header declares"}
	}
	if l.pkg.read > l.pkg.lim.MaxTotalBytes {
		return n, &errTooLarge{fmt.Sprintf("the package uncompresses to more than the limit of %d bytes", l.pkg.lim.MaxTotalBytes)}
	}
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }
