// Package reach computes the reach metrics Parent Teacher Home Visits publishes for a school
// year (1 July – 30 June, written "2025-2026") and prepares the published view, in which
// small cells are suppressed so that no child can be identified.
//
// The flow is ComputeDistrict (one district's records → DistrictMetrics: its sites and
// totals), Rollup (districts → state and national Totals), Publish (→ Published, the
// suppressed public view) and Published.Check (verify a view before it is published).
// Everything is deterministic. The package imports only the standard library and does
// no I/O.
//
// # What counts
//
// Only counted visits count: status "completed", dated in the year (ComputeDistrict drops
// a visit dated outside it itself; the caller need not filter), number 1 or 2, two or more
// distinct educators, a school and a family, and an ID not already counted. A completed
// visit that fails one of these is left out and tallied in IgnoredVisits; a cancelled
// visit counts nothing at all.
//
//   - A site is a school with at least one counted visit in the year. Its familiesVisited
//     counts distinct family ids at that school (a family visited twice counts once), its
//     studentsReached the distinct students of those families at that school (a student
//     on several visits, or in two families, counts once per school), students the
//     school's active students, share = studentsReached / students (0 when students is
//     0) and atThreshold = share ≥ 10 % (PTHV's research threshold; Threshold).
//     A visit at a school missing from DistrictInput.Schools still counts; that site has
//     students 0.
//   - A district's visits, visitsFirst, visitsSecond, familiesVisited, studentsReached
//     and students are the sums over its sites (a family and a student are per school).
//     educatorsTrained counts distinct educators with a training dated in the year,
//     educatorsTrainedCumulative those with one dated on or before 30 June of the year,
//     educatorsVisiting distinct educators on counted visits. HoursPerEducator (minutes of
//     the counted visits an educator took part in, / 60, for stipends) exists only in
//     DistrictMetrics and never in any published or national output.
//   - State and national Totals are sums of district figures (educator ids are
//     district-scoped, so distinct counts add up), plus districts (districts with a site)
//     and, nationally, states (states with a site). State totals add up exactly to the
//     national totals.
//
// # Publishing: small-cell suppression
//
// Publish builds Published, the only view meant to leave the service. The rule:
//
// Rule 1, protected counts. Below the state level — district rows and site rows — the
// counts of visits, visitsFirst, visitsSecond, familiesVisited, studentsReached and
// students are published only when 10 or more (MinCell). A smaller count is suppressed:
// it is published as JSON null and its field name is listed in the row's "suppressed"
// array (so null always means suppressed). A site's share and atThreshold are suppressed
// (null, and listed) whenever its studentsReached or its students is suppressed. The
// same applies to the state row of a state with a single district with data, which would
// otherwise repeat that district's counts (its suppressed counts are null; state rows have
// no "suppressed" array).
//
// Rule 2, counts never suppressed: the national totals whenever two or more states have
// sites, and, in every row (national and state rows included), the educator counts
// (educatorsTrained, educatorsTrainedCumulative, educatorsVisiting), districts, sites,
// states and schoolsAtThreshold, which count adults or schools, not children or families.
//
// Rule 3, complementary suppression, so that no suppressed count can be worked out by
// subtraction. The published counts obey these sums: in every row, visits = visitsFirst +
// visitsSecond; for each of the six counts, a district's figure is the sum of its sites',
// a state's the sum of its districts' and the national figure the sum of the
// states'. Complementary cells may therefore be taken from other states' rows. Publish
// applies, until nothing changes:
//
//   - (a) row: if any of visits, visitsFirst, visitsSecond is suppressed, visitsFirst and
//     visitsSecond are both suppressed;
//   - (b) parent: where exactly one cell of a sum is suppressed — one suppressed child
//     under a published parent, or a suppressed parent whose children are all published —
//     the smallest published child of that sum is suppressed too, ties broken by the
//     child's id (district id among districts, school id among sites);
//   - (c) chains: if a suppressed count can still be derived by combining several sums
//     (for example district A = state − district B, where B is the sum of its published
//     sites), the published counts along the cheapest chain of sums that closes a loop
//     through it (least total value) are suppressed as well. (a) and (b) usually leave
//     nothing for (c) to do; it is the safety net.
//
// At the end every suppressed count lies on a loop of suppressed counts, which is exactly
// the condition for none to be derivable from the published figures and the sums above.
// Suppression hides exact values, not bounds: a suppressed count is still known to be at
// most its published parent, and a district's schoolsAtThreshold can tell whether a site
// with a suppressed share reached 10 %.
//
// Rule 4, a nation of one state. When a single state has sites, the national totals are
// that state's (the other states' rows are zeros). The state's row then takes the
// small-cell rule as any state's row does, that is when it has a single district with
// data, and the national counts follow it: a national count is suppressed (null) exactly
// where that state's is, so that no small count is published anywhere, whatever the
// number of states. A single state with two or more districts has its row, and the nation
// its totals, in full. Published.Exposed, the suppressed counts derivable from what is
// published, is therefore always empty.
//
// Published.Check verifies a view: no published protected count below the state level,
// or in the row of a state with a single district, is under 10; a national count is
// suppressed only when a single state has sites, and then exactly where that state's is;
// in every row visitsFirst and visitsSecond are both suppressed or both published, and
// visits is suppressed only with them; for every published parent with two or more
// children, and every count, the number of suppressed children is 0 or at least 2; no
// suppressed count is derivable from the published figures; published figures add up
// (rows, districts, states to national); share and the suppressed lists agree with the
// counts.
package reach
