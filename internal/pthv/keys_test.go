package pthv

import "testing"

func TestDistrictIDsAreNeverDotSegmentsOrOptions(t *testing.T) {
	for _, id := range []string{"..", ".", "...", "-rf", "a..b", "a.", ".a", "", "a/b", "a b", string(make([]byte, 65))} {
		if ValidDistrictID(id) {
			t.Errorf("%q is accepted", id)
		}
	}
	for _, id := range []string{"d1", "demo-usd", "ca.lausd", "a_b", "X"} {
		if !ValidDistrictID(id) {
			t.Errorf("%q is refused", id)
		}
	}
}

func TestEveryKeySegmentBuiltFromDataIsSafe(t *testing.T) {
	for _, s := range []string{"../../dist-crash/cohorts/sch-001", "..", ".", "-rf", "a/b", "sch 1", "", "x\u202e", "a..b", "sch-001", "2026-2027"} {
		seg := KeySegment(s)
		if err := CheckKey("reports/d1/cohorts/" + seg + "/x.csv"); err != nil {
			t.Errorf("KeySegment(%q) = %q: %v", s, seg, err)
		}
	}
	if KeySegment("sch-001") != "sch-001" || KeySegment("2026-2027") != "2026-2027" {
		t.Error("a plain segment is changed")
	}
	if KeySegment("a/b") == KeySegment("a%2Fb") {
		t.Error("two values share one segment")
	}
}
