package consent

import (
	"time"

	"github.com/pthv/reach/internal/pthv"
)

// Entry is one recorded answer, as stored (pthv.ConsentEntry).
type Entry = pthv.ConsentEntry

// Entry returns the record as an answer recorded at at by source; a blank date means the
// day of at.
func (r Record) Entry(at time.Time, source string) Entry {
	d := r.Date
	if d == "" {
		d = at.UTC().Format(time.DateOnly)
	}
	return Entry{Year: r.SchoolYear, Subject: r.Subject(), Consent: r.Consent, Date: d, At: at.UTC(), Source: source}
}
