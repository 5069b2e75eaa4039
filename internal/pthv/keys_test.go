package pthv

import (
	"strings"
	"testing"
)

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

func TestDynamoDBKeyPartsNeverReachIntoAnother(t *testing.T) {
	if ItemKey("I", "d1") != "I#d1" || JoinItem("d1", "sis") != "d1#sis" || ItemPrefix("R", "d1") != "R#d1#" || JoinPrefix("d1") != "d1#" {
		t.Error("a plain part is changed")
	}
	for _, p := range []string{"d1#x", "a%23b", "~a", "", "a\x00b"} {
		if got := ItemPart(p); strings.Contains(got, "#") || !strings.HasPrefix(got, "~") {
			t.Errorf("ItemPart(%q) = %q", p, got)
		}
	}
	if JoinItem("d1#x", "y") == JoinItem("d1", "x#y") || ItemPart("a#b") == ItemPart("a%23b") {
		t.Error("two different keys are built alike")
	}
	if Key("reports", "d1", "imports", "imp-1.json") != "reports/d1/imports/imp-1.json" || KeyPrefix("drops", "d1", "rosters") != "drops/d1/rosters/" {
		t.Error("a plain key is changed")
	}
	for _, k := range []string{Key("reports", "..", "-rf", "a/b", "x\u202e", "%2F", "sch 1", ""), KeyPrefix("drops", "../x")} {
		if err := CheckKey(strings.TrimSuffix(k, "/")); err != nil {
			t.Errorf("Key builds a key CheckKey refuses: %v", err)
		}
	}
}
