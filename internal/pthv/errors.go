package pthv

import (
	"errors"
	"fmt"
)

// The error codes: one vocabulary for the store's contract, the pipeline's refusals and the
// services' answers. The strings are what callers see in responses ("code" in the cohort
// function's and the API's error bodies), so they never change.
const (
	// CodeInvalid: the request or input is malformed.
	CodeInvalid = "bad_request"
	// CodeInvalidParameter: an API query parameter is malformed.
	CodeInvalidParameter = "bad_parameter"
	// CodeNotFound: the district, import, object, cohort or route does not exist.
	CodeNotFound = "not_found"
	// CodeConflict: a conditional write lost (already claimed, already approved, lock held,
	// a revision written meanwhile).
	CodeConflict = "conflict"
	// CodeRefused: a drop that is refused (and reported), not retried.
	CodeRefused = "refused"
	// CodeForbidden: the caller may not see what it asked for.
	CodeForbidden = "forbidden"
	// CodeTargeting: a cohort request asked for a criterion the selector may not read.
	CodeTargeting = "targeting_refused"
	// CodeNoStudents: the school has no active students.
	CodeNoStudents = "no_students"
	// CodeExists: the school already has a current cohort for the year.
	CodeExists = "cohort_exists"
	// CodeYearNotInRoster: a cohort for a school year the district's roster does not describe.
	CodeYearNotInRoster = "year_not_in_roster"
	// CodeUnknownYear, CodeUnknownState, CodeUnknownDistrict: no reach figures for it.
	CodeUnknownYear     = "unknown_year"
	CodeUnknownState    = "unknown_state"
	CodeUnknownDistrict = "unknown_district"
	// CodeInternal: anything unexpected; the user reads "internal error", the operator the log.
	CodeInternal = "internal"
)

// Error is an error with a code and a message fit for the user (after WTF Dial's wtf.Error
// and upspin's errors.E). Err, when set, is the cause; it is not shown to callers.
//
// errors.Is(err, target) holds for a target *Error of the same code, so the sentinels below
// read as before: errors.Is(err, pthv.ErrNotFound) is true for every not-found error,
// whichever message it carries.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with e's code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The sentinels, for errors.Is and for wrapping with fmt.Errorf("...: %w", ErrNotFound).
// Their messages are the short words the error strings have always ended with.
var (
	// ErrNotFound: the district, import, object or cohort does not exist.
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	// ErrConflict: a conditional write lost.
	ErrConflict = &Error{Code: CodeConflict, Message: "conflict"}
	// ErrRefused: a drop is refused (and reported), not retried.
	ErrRefused = &Error{Code: CodeRefused, Message: "refused"}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain: "" for nil, CodeInternal
// when there is none.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return CodeInternal
}
