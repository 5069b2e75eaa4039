package csv

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// controlAt returns the first control character of a value — a C0 or C1 control, DEL, or a
// bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which make
// text display in another order than it is stored — and whether there is one. Left-to-right
// and right-to-left marks (U+200E, U+200F) are allowed: names in Arabic or Hebrew use them.
func controlAt(v []byte) (rune, bool) {
	for i := 0; i < len(v); i++ {
		b := v[i]
		switch {
		case b < 0x20 || b == 0x7f:
			return rune(b), true
		case b == 0xC2 && i+1 < len(v) && v[i+1] >= 0x80 && v[i+1] <= 0x9F:
			return rune(v[i+1]), true
		case b == 0xE2 && i+2 < len(v):
			r, _ := utf8.DecodeRune(v[i:])
			if isBidiControl(r) {
				return r, true
			}
		}
	}
	return 0, false
}

func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// Printable makes s safe to print on a terminal: control characters (except line feed and
// tab) and bidirectional controls are written as \u escapes, so that a file name or message
// cannot reorder or hide what is printed around it.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unprintable(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+n]) // bytes of a rune split between writes pass as they are
		}
		i += n
	}
	return b.String()
}

func unprintable(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidiControl(r)
}

// PrintableWriter returns a writer that writes everything through Printable: for JSON on a
// terminal too (a \u escape inside a JSON string means the same character).
func PrintableWriter(w io.Writer) io.Writer { return printableWriter{w} }

// printableWriter writes everything through Printable.
type printableWriter struct{ w io.Writer }

func (p printableWriter) Write(b []byte) (int, error) {
	s := Printable(string(b))
	if _, err := p.w.Write([]byte(s)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// looksLikeColumn reports whether a header cell that is no column of its file may be shown
// in a report: a column name of any OneRoster file (in any case), an extension column, or a
// camelCase identifier. Anything else — a first data row taken for a header holds names,
// emails, phone numbers — is reported by its position only.
func looksLikeColumn(n string) bool {
	if len(n) == 0 || len(n) > 64 {
		return false
	}
	if knownColumn[strings.ToLower(n)] {
		return true
	}
	if rest, ok := strings.CutPrefix(n, "metadata."); ok {
		return identifier(rest, ".")
	}
	if rest, ok := strings.CutPrefix(n, "ext_"); ok {
		return identifier(rest, "_")
	}
	// camelCase: a lower-case start, letters and digits, at least one upper-case letter later.
	if n[0] < 'a' || n[0] > 'z' || !identifier(n, "") {
		return false
	}
	return strings.ContainsFunc(n[1:], func(r rune) bool { return r >= 'A' && r <= 'Z' })
}

func identifier(s, extra string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r))
	})
}

// knownColumn holds every column name of the OneRoster files the reader knows, lower-cased.
var knownColumn = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range []string{"1.1", "1.2"} {
		for _, spec := range readOrder(v) {
			for _, c := range spec.cols {
				m[strings.ToLower(c.name)] = true
			}
			for old := range spec.legacy {
				m[strings.ToLower(old)] = true
			}
		}
	}
	return m
}()
