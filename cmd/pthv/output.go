package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Every file a command writes (generated data, a coordinator CSV) follows one rule: "-" is
// standard output; an existing file is never overwritten without --force (exit 2); and the
// file is written whole once it is complete, so that a command that fails midway leaves
// nothing behind (and an old file as it was).

// refuseExisting refuses (exit 2) an output path that exists, unless force: commands call
// it before any work, so that nothing is done for a file they would not write.
func refuseExisting(path string, force bool) error {
	if path == "-" || force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageErr("%s exists: give --force to overwrite it", path)
	}
	return nil
}

// writeWhole runs write into a buffer file and puts the result at path once write has
// returned without error: to standard output for "-", otherwise by a temporary file in
// path's folder that is linked to path (which fails if path has appeared meanwhile,
// unless force) or, with force, renamed over it. mode is the file's permission.
func writeWhole(path string, force bool, mode os.FileMode, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		_, err := stdout.Write(b.Bytes())
		return err
	}
	if err := refuseExisting(path, force); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr("%v", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return usageErr("cannot write %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err != nil {
		return err
	}
	return place(tmp.Name(), path, force)
}

// place puts the complete file or folder tmp at path: renamed over it with force, linked
// (files) or renamed onto a missing or empty folder (folders) without.
func place(tmp, path string, force bool) error {
	if force {
		return os.Rename(tmp, path)
	}
	fi, err := os.Lstat(tmp)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err = os.Rename(tmp, path) // fails onto a folder that is not empty
	} else {
		err = os.Link(tmp, path) // fails onto anything that exists
	}
	if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
		return usageErr("%s exists: give --force to overwrite it", path)
	}
	return err
}

// summaryTo returns where a command prints its summary: stderr when its data went to
// standard output ("-"), so that standard output holds the data alone.
func summaryTo(path string, stdout, stderr io.Writer) io.Writer {
	if path == "-" {
		return stderr
	}
	return stdout
}

// describeOut names an output path in a summary.
func describeOut(path string) string {
	if path == "-" {
		return "standard output"
	}
	return path
}
