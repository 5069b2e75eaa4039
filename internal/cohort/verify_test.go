package cohort

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	students, other := fairSchool.build(5)
	fams := BuildFamilies(students, other)
	consent := map[string]Consent{fams[3].ID: ConsentDeclined}
	eds := educatorsFor(fams, 8)
	c, err := Select(request("sch-fair", 99), fams, consent)
	if err != nil {
		t.Fatal(err)
	}
	if err := Pair(c, familyMap(fams), eds); err != nil {
		t.Fatal(err)
	}
	// Stored as JSON and read back.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var stored Cohort
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	if err := Verify(&stored, fams, consent, eds); err != nil {
		t.Fatalf("recompute: %v", err)
	}

	expect := func(name string, fams []Family, consent map[string]Consent, eds []Educator, want string) {
		t.Helper()
		err := Verify(&stored, fams, consent, eds)
		var ve *VerifyError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want a VerifyError mentioning %q", name, err, want)
		}
	}
	added := append(students, Student{ID: "new-student", Grade: "03", Homeroom: "hr-new", Guardians: []string{"new-guardian"}})
	expect("family added", BuildFamilies(added, other), consent, eds, "population changed")

	declined := map[string]Consent{fams[3].ID: ConsentDeclined, stored.Members[0].FamilyID: ConsentDeclined}
	expect("member declined", fams, declined, eds, "consent changed")

	expect("educators changed", fams, consent, educatorsFor(fams, 6), "pairing changed")
	expect("educators gone", fams, consent, nil, "status is needs_educators")

	tampered := stored
	tampered.Members = append([]Member(nil), stored.Members...)
	tampered.Members[0].Order++
	if err := Verify(&tampered, fams, consent, eds); err == nil || !strings.Contains(err.Error(), "order") {
		t.Errorf("tampered order: %v", err)
	}
}
