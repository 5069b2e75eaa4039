package pthv

import (
	"fmt"
	"strings"
)

// KeySegment returns s as one segment of an S3 key: unchanged when it is plain (letters,
// digits, '.', '_', '-', starting with a letter or digit, no dot segment), else "~" and s
// percent-encoded (every byte but letters, digits and '_'), so that a value from the data
// — a school sourcedId such as "../../other/cohorts/x" — never makes a dot segment, a '/'
// or a leading '-' in a key.
func KeySegment(s string) string {
	if plainSegment(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('~')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func plainSegment(s string) bool {
	if s == "" || len(s) > 255 || strings.Contains(s, "..") || strings.HasSuffix(s, ".") {
		return false
	}
	if c := s[0]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// CheckKey reports the first segment of an S3 key that Key would not build: each segment is
// either plain (letters, digits, '.', '_', '-', starting with a letter or digit, no ".." and
// no '.' at the end) or '~' and an encoding (letters, digits, '_' and %XX). So no segment is
// empty or a dot segment, none starts with '-', and none holds a raw '%' ("a%2Fb", which a
// tool may decode to a '/'), a control character or a bidi override.
func CheckKey(key string) error {
	for i, seg := range strings.Split(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("segment %d of %q %s", i+1, key, err)
		}
	}
	return nil
}

// CheckPrefix is CheckKey for the prefix of a listing: a key with a trailing '/'.
func CheckPrefix(prefix string) error {
	key, ok := strings.CutSuffix(prefix, "/")
	if !ok {
		return fmt.Errorf("prefix %q does not end with '/'", prefix)
	}
	return CheckKey(key)
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("is empty")
	case strings.Trim(seg, ".") == "":
		return fmt.Errorf("is a dot segment")
	case seg[0] == '-':
		return fmt.Errorf("starts with '-'")
	case seg[0] == '~':
		for j := 1; j < len(seg); j++ {
			c := seg[j]
			switch {
			case c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			case c == '%' && j+2 < len(seg) && hexUpper(seg[j+1]) && hexUpper(seg[j+2]):
				j += 2
			default:
				return fmt.Errorf("is an encoded segment holding the byte %#x", c)
			}
		}
		return nil
	case !plainSegment(seg):
		return fmt.Errorf("is not a plain segment (letters, digits, '.', '_' or '-'; no \"..\", no '.' at the end)")
	}
	return nil
}

func hexUpper(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

// Key is the one builder of S3 keys: it joins segments with '/', each through KeySegment, so
// that no value from the data — a district id, a school sourcedId, an import or run id — can
// make a dot segment, a '/', a leading '-' or a byte outside the key alphabet. A fixed name
// ("reports", "imports") is plain and passes as it is; a file name is one segment with its
// extension ("imp-1.json"). Every key the service writes, reads or lists is built by Key or
// KeyPrefix (TestNoKeyIsBuiltByHand), and the blob layer refuses any other (CheckKey).
func Key(segments ...string) string { return join(segments, '/', KeySegment) }

// join joins the parts, each through enc, with sep.
func join(parts []string, sep byte, enc func(string) string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(enc(p))
	}
	return b.String()
}

// KeyPrefix is Key with a trailing '/': the prefix of a listing.
func KeyPrefix(segments ...string) string { return Key(segments...) + "/" }

// ItemPart returns s as one part of a DynamoDB key: unchanged when it holds no '#' (the parts'
// separator), '%' or '~', and no control character, and is not empty; else "~" and s with those
// bytes percent-encoded — so that no value from the data can reach into another key's parts
// ("d1#x" as a district id would otherwise name district d1's x).
func ItemPart(s string) string {
	if s != "" && !strings.ContainsFunc(s, itemEscaped) {
		return s
	}
	var b strings.Builder
	b.WriteByte('~')
	for i := 0; i < len(s); i++ {
		if c := s[i]; itemEscaped(rune(c)) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func itemEscaped(r rune) bool { return r < 0x20 || r == 0x7f || r == '#' || r == '%' || r == '~' }

// JoinItem joins parts of a DynamoDB key with '#', each through ItemPart: a sort key made of
// several values ("{districtId}#{connectionId}").
func JoinItem(parts ...string) string { return join(parts, '#', ItemPart) }

// ItemKey is the one builder of DynamoDB partition keys: a fixed item type ("I", "AGG", …)
// and the parts from the data, each through ItemPart: ItemKey("I", district) is "I#d1".
func ItemKey(kind string, parts ...string) string {
	return kind + "#" + JoinItem(parts...) //pthv:own-key (the builder itself)
}

// ItemPrefix is ItemKey with a trailing '#': the begins_with of a Query over keys that go on.
func ItemPrefix(kind string, parts ...string) string {
	if len(parts) == 0 {
		return kind + "#" //pthv:own-key (the builder itself)
	}
	return ItemKey(kind, parts...) + "#" //pthv:own-key (the builder itself)
}

// JoinPrefix is JoinItem with a trailing '#': the begins_with of a Query over sort keys that
// go on ("{districtId}#" for a district's connections).
func JoinPrefix(parts ...string) string {
	return JoinItem(parts...) + "#" //pthv:own-key (the builder itself)
}
