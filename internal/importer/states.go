package importer

import "slices"

// StateCodes are the two-letter USPS codes a district's state may have: the 50 states, the
// District of Columbia, and the territories (AS, GU, MP, PR, VI). Reach figures are published
// per state, so a code outside this list is refused when a district is registered.
var StateCodes = []string{
	"AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
	"IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
	"NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
	"UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
}

// ValidState reports whether code is one of StateCodes (upper case).
func ValidState(code string) bool {
	_, ok := slices.BinarySearch(StateCodes, code)
	return ok
}
