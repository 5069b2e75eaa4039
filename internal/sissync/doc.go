// Package sissync is the sync frame: it runs a district's SIS connection on its schedule,
// pulls every collection through a connector, stages the pulled pages in S3, proves each
// collection complete (or says why not), writes the pull as a OneRoster CSV package and hands
// it to the one import pipeline (internal/importer: validation, plan against the current
// roster, safety check, apply, report). There is no second pipeline.
//
// # Plugging in a connector
//
// A connector implements sis.Source (internal/sis), four methods:
//
//	Layout() string                 // "1.1" or "1.2": the CSV layout of the rows it yields
//	Collections() []sis.Collection  // what to pull, in order; each names the CSV files its rows go to
//	Pull(ctx, c, q, from, page) error
//
// Pull reads collection c from cursor from (the zero Cursor is the start; a run that
// outlasts an invocation resumes from the saved one), calls page for each response in order
// with the page's rows (sis.Row: a file name and the cells in sis.Columns(layout, file)
// order), the server's total if it sent one (-1 if not), request counts and the cursor after
// the page, and sets Page.Done on the last page. Rows are decoded leniently and not
// validated: the frame deduplicates them by sourcedId (sis.Tally), and the pipeline validates
// them with the CSV rules and codes. Pull returns a *sis.CollectionError for a failure of
// that collection only (403, 404, retries exhausted), which the frame records as an
// incomplete collection; any other error fails the run. A connector registers a SourceFactory
// under its provider name in Service.Sources (connectors/oneroster/rest for oneroster-1.1 and
// oneroster-1.2; connectors/clever for clever).
//
// A source whose records only become a roster together (Clever: sections hold the
// enrollments, contacts the guardians' links) also implements sis.Assembler: its rows are its
// own records (stripped), the frame stages, checkpoints and proves them like any others, and
// once every collection is pulled it hands the staged collections to Assemble, which writes
// the package's CSV files and modes; the frame writes the manifest and imports the package as
// usual. Such a source is always pulled in full (it has no delta query).
//
// # The rules the frame keeps
//
//   - A collection whose pull did not complete is unknown, never empty: it is written to the
//     package as absent, so nothing is deactivated because of it, and the run is held with the
//     reason. A run in which no collection completed fails. A full pull with zero users is
//     held (and its users left absent).
//   - The first run of a connection, and any run after its settings changed (SettingsHash),
//     is held with its full diff for approval ('pthv imports approve').
//   - Deltas ask for dateLastModified>'watermark - overlap', the watermark being the newest
//     dateLastModified of the data last applied (the server's clock, not ours); tobedeleted
//     deactivates. A full pull runs every FullEveryDays and whenever the watermark is missing
//     or older than MaxDeltaAgeDays. Hard deletes are seen only by full pulls.
//   - Pages are staged at reports/{district}/sync/{connection}/{run}/pages/ and the run is
//     checkpointed, so a pull that outlasts one invocation continues in the next
//     (Continuer); the run record holds pages, records, requests, retries, bytes and times per
//     collection, the completeness verdicts, and the import it produced.
package sissync
