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

// CheckKey reports the first segment of an S3 key the service would not build: empty, a dot
// segment, starting with '-', or holding a byte outside letters, digits and "._-~%".
func CheckKey(key string) error {
	for i, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("segment %d of %q is empty", i+1, key)
		case strings.Trim(seg, ".") == "":
			return fmt.Errorf("segment %d of %q is a dot segment", i+1, key)
		case seg[0] == '-':
			return fmt.Errorf("segment %d of %q starts with '-'", i+1, key)
		}
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("._-~%#", c) >= 0) {
				return fmt.Errorf("segment %d of %q holds the byte %#x", i+1, key, c)
			}
		}
	}
	return nil
}
