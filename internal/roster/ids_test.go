package roster

import "testing"

func TestEmailLikeIDsAreNeverRepeated(t *testing.T) {
	for _, tc := range []struct{ id, msg, finding string }{
		{"stu-001", "stu-001", "stu-001"},
		{"ann@example.org", EmailLikePlaceholder, ""},
		{"", "", ""},
	} {
		if got := MessageID(tc.id); got != tc.msg {
			t.Errorf("MessageID(%q) = %q, want %q", tc.id, got, tc.msg)
		}
		if got := FindingID(tc.id); got != tc.finding {
			t.Errorf("FindingID(%q) = %q, want %q", tc.id, got, tc.finding)
		}
	}
}
