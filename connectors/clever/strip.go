package clever

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// Strip returns page (one Clever JSON response body) without the keys in Stripped, wherever
// they occur (matched by the key's value and in any case: "d\u006fb" and "DOB" are dob), as compact
// JSON with everything else byte for byte and in its original order. A stager calls it on
// every body before the bytes are kept anywhere. It fails on a body that is not exactly one
// JSON value (an HTML error page, a truncated body); the error never quotes the body.
func Strip(page []byte) ([]byte, error) {
	s := &stripper{in: page, out: make([]byte, 0, len(page))}
	s.ws()
	if err := s.value(0); err != nil {
		return nil, err
	}
	s.ws()
	if s.i != len(s.in) {
		return nil, s.fail("more than one JSON value in the body")
	}
	return s.out, nil
}

type stripper struct {
	in      []byte
	i       int
	out     []byte
	discard int // > 0 while skipping a stripped value
}

var errStrip = errors.New("clever: strip")

func (s *stripper) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errStrip, what, s.i)
}

func (s *stripper) emit(b ...byte) {
	if s.discard == 0 {
		s.out = append(s.out, b...)
	}
}

func (s *stripper) ws() {
	for s.i < len(s.in) {
		switch s.in[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *stripper) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	if s.i >= len(s.in) {
		return s.fail("the body ends where a value belongs")
	}
	switch c := s.in[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		s.emit(s.in[start:s.i]...)
		return nil
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return s.fail("invalid JSON")
}

func (s *stripper) literal(lit string) error {
	if len(s.in)-s.i < len(lit) || string(s.in[s.i:s.i+len(lit)]) != lit {
		return s.fail("invalid JSON literal")
	}
	s.emit(s.in[s.i : s.i+len(lit)]...)
	s.i += len(lit)
	return nil
}

func (s *stripper) digits() int {
	n := 0
	for s.i < len(s.in) && s.in[s.i] >= '0' && s.in[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *stripper) number() error {
	start := s.i
	if s.in[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.in) && s.in[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return s.fail("invalid number")
	}
	if s.i < len(s.in) && s.in[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.in) && (s.in[s.i] == 'e' || s.in[s.i] == 'E') {
		s.i++
		if s.i < len(s.in) && (s.in[s.i] == '+' || s.in[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	s.emit(s.in[start:s.i]...)
	return nil
}

// str scans a string starting at the opening quote, validating escapes; s.i ends after
// the closing quote.
func (s *stripper) str() error {
	s.i++
	for s.i < len(s.in) {
		c := s.in[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.fail("a control character in a string")
		case c == '\\':
			if s.i+1 >= len(s.in) {
				return s.fail("the body ends in a string")
			}
			switch s.in[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.in) {
					return s.fail("the body ends in a string")
				}
				for _, h := range s.in[s.i+2 : s.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return s.fail("an invalid escape in a string")
					}
				}
				s.i += 6
			default:
				return s.fail("an invalid escape in a string")
			}
		default:
			s.i++
		}
	}
	return s.fail("the body ends in a string")
}

func (s *stripper) array(depth int) error {
	s.emit('[')
	s.i++
	s.ws()
	if s.i < len(s.in) && s.in[s.i] == ']' {
		s.i++
		s.emit(']')
		return nil
	}
	for {
		s.ws()
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.in) {
			return s.fail("the body ends in an array")
		}
		switch s.in[s.i] {
		case ',':
			s.i++
			s.emit(',')
		case ']':
			s.i++
			s.emit(']')
			return nil
		default:
			return s.fail("invalid JSON in an array")
		}
	}
}

func (s *stripper) object(depth int) error {
	s.emit('{')
	s.i++
	s.ws()
	if s.i < len(s.in) && s.in[s.i] == '}' {
		s.i++
		s.emit('}')
		return nil
	}
	first := true
	for {
		s.ws()
		if s.i >= len(s.in) || s.in[s.i] != '"' {
			return s.fail("an object key is not a string")
		}
		ks := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.in[ks:s.i]
		s.ws()
		if s.i >= len(s.in) || s.in[s.i] != ':' {
			return s.fail("an object key is not followed by a colon")
		}
		s.i++
		s.ws()
		drop := stripKey(key)
		if drop {
			s.discard++
		} else {
			if !first {
				s.emit(',')
			}
			first = false
			s.emit(key...)
			s.emit(':')
		}
		err := s.value(depth)
		if drop {
			s.discard--
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.in) {
			return s.fail("the body ends in an object")
		}
		switch s.in[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.emit('}')
			return nil
		default:
			return s.fail("invalid JSON in an object")
		}
	}
}

// stripKey reports whether a raw key (with its quotes) is a stripped key.
func stripKey(raw []byte) bool {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var k string
			if json.Unmarshal(raw, &k) != nil {
				return false
			}
			return strippedSet[strings.ToLower(k)]
		}
	}
	return len(inner) <= 20 && strippedSet[strings.ToLower(string(inner))]
}
