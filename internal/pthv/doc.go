// Package pthv is the domain root of PTHV Reach: the vocabulary every part of the service
// shares, and nothing else. It is named after the programme (Parent Teacher Home Visits)
// because it holds what the programme's records are — districts, drops and their import
// records, the roster as stored, the school year, consent answers, educators' opt-ins,
// visits as stored — and one error type whose codes every adapter and service speaks.
//
// After WTF Dial's root package: types, small value methods and coded errors; no I/O, no
// AWS SDK, and no import of the pipeline (internal/importer), the adapters (internal/store,
// internal/blob, internal/queue) or the services. It imports only internal/roster, the
// OneRoster model. Interfaces are not declared here: each consumer declares the few
// methods it calls (see internal/importer's Claims, Imports, ... and
// connectors/oneroster/csv's Sink and Resolver).
//
// Files: errors.go (Error and its codes), year.go (SchoolYear), district.go (District and
// the district-id rule), imports.go (drops, import records, statuses, findings,
// continuations), roster.go (the roster as stored: ops, current state, content hashes),
// people.go (opt-ins, trainings, consent, a school's families and roster), visits.go
// (visits as read and as stored).
package pthv
