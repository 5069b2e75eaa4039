package clever

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Stripped lists the keys Strip removes, at any depth of a page: Clever's demographic and
// program fields, sign-in credentials, and district extension objects (ext), which can carry
// anything. PTHV Reach keeps no demographics (ARCHITECTURE.md, data minimisation).
var Stripped = []string{
	"dob", "gender", "race", "hispanic_ethnicity", "ell_status", "location", "iep_status",
	"frl_status", "credentials", "ext", "home_language", "section_504_status",
	"unweighted_gpa", "weighted_gpa", "gifted_status", "disability_status",
}

var strippedSet = func() map[string]bool {
	m := make(map[string]bool, len(Stripped))
	for _, k := range Stripped {
		m[k] = true
	}
	return m
}()

// Strip returns page (one Clever JSON response body) without the keys in Stripped, wherever
// they occur, as compact JSON with keys in their original order. A stager calls it on every
// body before the bytes are kept anywhere. It fails on a body that is not one JSON value (an
// HTML error page, a truncated body); the error never quotes the body.
func Strip(page []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(page))
	dec.UseNumber()
	out := bytes.NewBuffer(make([]byte, 0, len(page)))
	// Each open container: '{' or '['; first tells whether a separator is due.
	type level struct {
		obj   bool
		first bool
		key   bool // in an object: the next token is a key
	}
	var stack []level
	sep := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if !top.first {
			out.WriteByte(',')
		}
		top.first = false
	}
	afterValue := func() {
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].key = true
		}
	}
	started := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("clever: strip: %s", tokenErr(err))
		}
		if len(stack) == 0 && started {
			return nil, fmt.Errorf("clever: strip: more than one JSON value in the body")
		}
		started = true
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == 0 || !stack[len(stack)-1].obj {
					sep()
				}
				out.WriteByte(byte(t))
				stack = append(stack, level{obj: t == '{', first: true, key: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				out.WriteByte(byte(t))
				afterValue()
			}
		case string:
			top := len(stack) - 1
			if top >= 0 && stack[top].obj && stack[top].key {
				if strippedSet[t] {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return nil, fmt.Errorf("clever: strip: %s", tokenErr(err))
					}
					continue
				}
				sep()
				writeString(out, t)
				out.WriteByte(':')
				stack[top].key = false
				continue
			}
			if top < 0 || !stack[top].obj {
				sep()
			}
			writeString(out, t)
			afterValue()
		default:
			if len(stack) == 0 || !stack[len(stack)-1].obj {
				sep()
			}
			switch v := t.(type) {
			case json.Number:
				out.WriteString(v.String())
			case bool:
				out.WriteString(strconv.FormatBool(v))
			case nil:
				out.WriteString("null")
			}
			afterValue()
		}
	}
	if !started || len(stack) != 0 {
		return nil, fmt.Errorf("clever: strip: the body is not one complete JSON value")
	}
	return out.Bytes(), nil
}

func tokenErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body ends in the middle of a JSON value"
	}
	return "invalid JSON"
}

// writeString writes s as a JSON string. s came from the decoder, so it is valid UTF-8
// (invalid bytes were replaced); only the characters JSON requires are escaped.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20:
				fmt.Fprintf(b, `\u%04x`, c)
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			fmt.Fprintf(b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}
