package reach

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Count is a published count: a number, or suppressed. A suppressed Count holds no value
// at all, so nothing downstream can leak it. The zero Count is suppressed.
// It marshals to a JSON integer, or to null when suppressed.
type Count struct {
	n     int
	known bool
}

// CountOf returns a published count of n.
func CountOf(n int) Count { return Count{n: n, known: true} }

// SuppressedCount returns a suppressed count.
func SuppressedCount() Count { return Count{} }

// Value returns the count and true, or 0 and false when it is suppressed.
func (c Count) Value() (int, bool) { return c.n, c.known }

// IsSuppressed reports whether the count is suppressed.
func (c Count) IsSuppressed() bool { return !c.known }

// String returns the number, or "suppressed".
func (c Count) String() string {
	if !c.known {
		return "suppressed"
	}
	return strconv.Itoa(c.n)
}

// MarshalJSON writes the number, or null when suppressed.
func (c Count) MarshalJSON() ([]byte, error) {
	if !c.known {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(c.n), 10), nil
}

// UnmarshalJSON reads an integer, or null as suppressed.
func (c *Count) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*c = Count{}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("reach: a count is an integer or null: %w", err)
	}
	*c = CountOf(n)
	return nil
}
