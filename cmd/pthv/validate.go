package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
)

func init() {
	register("validate", "check a OneRoster export (zip or folder) and report what would import", cmdValidate)
}

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate PATH", stderr)
	format := formatFlag(fs, false)
	perRule := intFlag(fs, "show", 10, 1, math.MaxInt, "text format: findings listed per rule and file (`N` ≥ 1)")
	maxTotal := int64Flag(fs, "max-uncompressed", orcsv.DefaultMaxTotalBytes, "largest total uncompressed size of a zip, in `BYTES` (≥ 1)")
	maxRatio := int64Flag(fs, "max-ratio", orcsv.DefaultMaxRatio, "largest compression ratio `N` of a zip entry over 1 MiB (≥ 1)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("give exactly one PATH: a zip file or a folder of OneRoster CSV files")
	}
	rep, err := orcsv.ReadPath(ctx, pos[0], nil, orcsv.Options{
		Limits: orcsv.Limits{MaxTotalBytes: *maxTotal, MaxRatio: *maxRatio},
	})
	if err != nil {
		return pathErr(err)
	}
	if *format == "json" {
		enc := json.NewEncoder(orcsv.PrintableWriter(stdout))
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout, *perRule)
	}
	if err != nil {
		return err
	}
	if rep.Errors > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// pathErr turns a failure to open a path into a usage error (exit 2) with a plain message.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return usageErr("cannot read %s: %v", pe.Path, pe.Err)
	}
	return usageErr("%v", err)
}
