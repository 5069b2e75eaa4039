package cohort

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pthv/reach/internal/pthv"
)

// The selection modes.
const (
	// ModeAll visits every family of the school that has not declined.
	ModeAll = "all"
	// ModeCrossSection visits a random cross-section covering a share of the school's
	// students in every grade.
	ModeCrossSection = "cross-section"
)

// DefaultCoverage is the share of the school's students a cross-section covers when the
// request does not say.
const DefaultCoverage = 0.10

// Request asks for the cohort of one school and school year. Its fields are the only things
// a coordinator can ask for: there is deliberately no field that could narrow the cohort to
// a kind of family (see TargetingError).
type Request struct {
	District string `json:"district"`
	School   string `json:"school"`
	Year     string `json:"year"` // like "2025-2026"
	// Mode is ModeAll or ModeCrossSection (the default).
	Mode string `json:"mode"`
	// Coverage is the share of the school's students a cross-section covers, in (0,1];
	// 0 means DefaultCoverage. Ignored in ModeAll.
	Coverage float64 `json:"coverage"`
	// Seed fixes the random order. 0 means the caller must pick one (NewSeed) and store
	// it with the cohort: Select refuses seed 0.
	Seed uint64 `json:"seed"`
	// MaxFamiliesPerPair caps the families assigned to one educator pair; 0 = no cap.
	MaxFamiliesPerPair int `json:"max_families_per_pair"`
}

// requestFields are the JSON names of Request's fields: the only fields a request may carry.
var requestFields = []string{"district", "school", "year", "mode", "coverage", "seed", "max_families_per_pair"}

// TargetingError refuses a request that asks the selector to use anything but school,
// grade, class sections, family links and consent.
type TargetingError struct {
	// Field is the first refused field (in sorted order); Fields lists all of them.
	Field  string
	Fields []string
}

func (e *TargetingError) Error() string {
	fields := e.Fields
	if len(fields) == 0 {
		fields = []string{e.Field}
	}
	quoted := make([]string, len(fields))
	for i, f := range fields {
		quoted[i] = strconv.Quote(f)
	}
	noun := "field " + quoted[0] + " is"
	if len(quoted) > 1 {
		noun = "fields " + strings.Join(quoted, ", ") + " are"
	}
	return "cohort request refused: PTHV home visits are not targeted; a cohort may use only " +
		"school, grade, class sections, family links and consent, so the request " + noun +
		" not accepted (a school visits every family or a random cross-section of them)"
}

// ParseRequest decodes a JSON cohort request, applies the defaults and validates it. A
// field that is not one of Request's is refused with a *TargetingError, whatever it is:
// the selector has nothing to filter with but school, grade, class sections, family links
// and consent.
func ParseRequest(b []byte) (Request, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Request{}, fmt.Errorf("cohort request: %w", err)
	}
	var refused []string
	for k := range raw {
		if !slices.ContainsFunc(requestFields, func(f string) bool { return strings.EqualFold(f, k) }) {
			refused = append(refused, k)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return Request{}, &TargetingError{Field: refused[0], Fields: refused}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("cohort request: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Request{}, errors.New("cohort request: unexpected data after the JSON object")
	}
	// A field that is given is never replaced by its default: "coverage": 0 or "mode": ""
	// is refused as out of range, not read as "the default coverage" (omit the field for that).
	for k, v := range raw {
		if (strings.EqualFold(k, "coverage") || strings.EqualFold(k, "mode")) && (string(v) == "0" || string(v) == `""` || string(v) == "null") {
			return Request{}, fmt.Errorf("cohort request: %s %s is out of range; omit the field for the default", k, v)
		}
	}
	r = r.WithDefaults()
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// WithDefaults fills in the mode (cross-section) and the coverage (DefaultCoverage).
func (r Request) WithDefaults() Request {
	if r.Mode == "" {
		r.Mode = ModeCrossSection
	}
	if r.Coverage == 0 {
		r.Coverage = DefaultCoverage
	}
	return r
}

// Validate checks a request after defaults: district and school set, a school year of the
// form "2025-2026", a known mode, coverage in (0,1] and a non-negative cap. It does not
// require a seed; Select does.
func (r Request) Validate() error {
	var errs []error
	if strings.TrimSpace(r.District) == "" {
		errs = append(errs, errors.New("district is required"))
	}
	if strings.TrimSpace(r.School) == "" {
		errs = append(errs, errors.New("school is required"))
	}
	if _, err := pthv.ParseSchoolYear(r.Year); errors.Is(err, pthv.ErrYearNotConsecutive) {
		errs = append(errs, fmt.Errorf("year %q must be two consecutive years", r.Year))
	} else if err != nil {
		errs = append(errs, fmt.Errorf("year %q must look like 2025-2026", r.Year))
	}
	if r.Mode != ModeAll && r.Mode != ModeCrossSection {
		errs = append(errs, fmt.Errorf("mode %q must be %q or %q", r.Mode, ModeAll, ModeCrossSection))
	}
	if math.IsNaN(r.Coverage) || r.Coverage <= 0 || r.Coverage > 1 {
		errs = append(errs, fmt.Errorf("coverage %v must be in (0,1]", r.Coverage))
	}
	if r.MaxFamiliesPerPair < 0 {
		errs = append(errs, fmt.Errorf("max_families_per_pair %d must be 0 (no cap) or more", r.MaxFamiliesPerPair))
	}
	if len(errs) > 0 {
		return fmt.Errorf("cohort request: %w", errors.Join(errs...))
	}
	return nil
}

// NewSeed returns a random non-zero seed for a new cohort. Store it with the cohort: the
// seed and the roster reproduce the cohort exactly.
func NewSeed() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if s := binary.LittleEndian.Uint64(b[:]); s != 0 {
			return s
		}
	}
}
