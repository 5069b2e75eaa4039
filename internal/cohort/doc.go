// Package cohort turns a school's roster into a cohort of families for Parent Teacher Home
// Visits, following the PTHV core practices (see ARCHITECTURE.md, "The five PTHV core
// practices, as software rules"):
//
//   - Voluntary: a family that declined is never selected; only eligible educators (opted
//     in and trained, filtered by the caller) are paired.
//   - No targeting: a school visits every family (ModeAll) or a random cross-section
//     (ModeCrossSection) stratified by grade and spread across homerooms, with equal
//     inclusion probability for every family of a grade. Selection reads only school,
//     grade, class sections, family links and consent; a request naming anything else is
//     refused with a *TargetingError.
//   - Pairs: families are assigned to pairs of two distinct educators, never one.
//
// The flow is BuildFamilies (students → families), Select (families + consent → cohort),
// Pair (cohort + educators → pairs, in place) and Verify (recompute a stored cohort).
// Everything is deterministic given the request's seed, which the caller picks once
// (NewSeed) and stores with the cohort.
//
// The package imports only the standard library and internal/pthv (the school year).
// record.go holds the cohort as stored (Record, MemberItem), which internal/cohortsvc writes
// and internal/store keeps.
package cohort
