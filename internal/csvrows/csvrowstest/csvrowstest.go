// Package csvrowstest holds test helpers for the CSV readers built on csvrows.
package csvrowstest

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/csvrows"
)

// RowObjects turns a CSV file into the row objects its column schema describes: one a data
// row, from the header's names to the row's cells. A BOM is dropped.
func RowObjects(t testing.TB, in string) []map[string]string {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(in, "\ufeff")))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("fixture is not CSV: %v", err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		obj := map[string]string{}
		for i, c := range rows[0] {
			if i < len(row) {
				obj[c] = row[i]
			}
		}
		out = append(out, obj)
	}
	return out
}

// Big returns a file of header and then row again and again, larger than limit bytes,
// without holding it in memory.
func Big(header, row string, limit int) io.Reader {
	n := limit/len(row) + 1
	return io.MultiReader(strings.NewReader(header), io.LimitReader(&repeat{b: []byte(row)}, int64(n*len(row))))
}

type repeat struct {
	b []byte
	i int
}

func (r *repeat) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.b[r.i]
		r.i = (r.i + 1) % len(r.b)
	}
	return len(p), nil
}

// EmailLike returns the cells of a CSV file, read leniently and without surrounding space,
// that look like email addresses: 3 bytes or more with an '@'. No finding may repeat them.
func EmailLike(b []byte) []string {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord, cr.LazyQuotes = -1, true
	var out []string
	for {
		rec, err := cr.Read()
		if err != nil && rec == nil {
			return out
		}
		for _, v := range rec {
			if v = strings.TrimSpace(v); len(v) >= 3 && strings.Contains(v, "@") {
				out = append(out, v)
			}
		}
	}
}

// Count returns how many of the findings have the code.
func Count[F ~csvrows.Fields](fs []F, code string) int {
	n := 0
	for _, f := range fs {
		if csvrows.Fields(f).Code == code {
			n++
		}
	}
	return n
}
