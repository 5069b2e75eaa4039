package pthv

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodes(t *testing.T) {
	wrapped := fmt.Errorf("district d1: %w", ErrNotFound)
	if !errors.Is(wrapped, ErrNotFound) || errors.Is(wrapped, ErrConflict) {
		t.Error("a wrapped sentinel is not recognised by its code")
	}
	if wrapped.Error() != "district d1: not found" {
		t.Errorf("the message changed: %q", wrapped)
	}
	coded := Errorf(CodeNotFound, "cohort %s not found", "c1")
	if !errors.Is(coded, ErrNotFound) || coded.Error() != "cohort c1 not found" {
		t.Errorf("an error with the not-found code is not a not-found error: %v", coded)
	}
	for err, want := range map[error]string{nil: "", coded: CodeNotFound, errors.New("boom"): CodeInternal,
		fmt.Errorf("x: %w", Errorf(CodeExists, "y")): CodeExists} {
		if got := ErrorCode(err); got != want {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
	cause := errors.New("cause")
	if e := (&Error{Code: CodeInvalid, Message: "m", Err: cause}); !errors.Is(e, cause) {
		t.Error("the cause is not reachable")
	}
}

func TestDistrictID(t *testing.T) {
	for id, want := range map[string]bool{"d1": true, "a.b_c-9": true, "": false, "a/b": false,
		"x123456789012345678901234567890123456789012345678901234567890123":  true,
		"x1234567890123456789012345678901234567890123456789012345678901234": false} {
		if got := ValidDistrictID(id); got != want {
			t.Errorf("ValidDistrictID(%q) = %v", id, got)
		}
	}
}
