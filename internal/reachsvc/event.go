package reachsvc

// DistrictYear names one district's metrics for one school year.
type DistrictYear struct {
	District string `json:"district"`
	Year     string `json:"year"`
}

// Event is the reach function's payload: the district-years an import touched, or a full
// recomputation (the nightly schedule sends {"full": true}).
type Event struct {
	Touched []DistrictYear `json:"touched,omitempty"`
	Full    bool           `json:"full,omitempty"`
}
