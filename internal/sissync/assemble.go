package sissync

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
)

// Importer is the import pipeline as the frame uses it (internal/importer.Service).
type Importer interface {
	ImportPackage(ctx context.Context, district string, obj pthv.Object, opt importer.PackageOptions) (*importer.PackageResult, error)
	GetImport(ctx context.Context, district, id string) (*pthv.Import, error)
}

// RunKey is where a run's staged pages, package and report live in the reports bucket: the key
// of a run's object: its report (run.json), package (package.zip), or a
// staged page (pages, collection, number).
func RunKey(district, connection, run string, name ...string) string {
	return pthv.Key(append([]string{"reports", district, "sync", connection, run}, name...)...)
}

func (s *Service) pageKey(run *sis.Run, coll string, n int) string {
	return RunKey(run.District, run.Connection, run.ID, "pages", coll, fmt.Sprintf("%06d.json.gz", n))
}

func (s *Service) stagePage(ctx context.Context, run *sis.Run, p *sis.Page) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(p); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return s.Blobs.Put(ctx, s.ReportsBucket, s.pageKey(run, p.Collection, p.Number), "application/gzip", buf.Bytes())
}

func (s *Service) loadPage(ctx context.Context, run *sis.Run, coll string, n int) (*sis.Page, error) {
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, s.pageKey(run, coll, n))
	if err != nil {
		return nil, fmt.Errorf("staged page %s %d: %w", coll, n, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("staged page %s %d: %w", coll, n, err)
	}
	var p sis.Page
	if err := json.NewDecoder(zr).Decode(&p); err != nil {
		return nil, fmt.Errorf("staged page %s %d: %w", coll, n, err)
	}
	return &p, nil
}

// verdicts settles each collection's completeness and returns the reasons to hold the run.
func (s *Service) verdicts(conn *sis.Connection, run *sis.Run) (hold []string, usable int) {
	if conn.Approved == "" {
		hold = append(hold, "first run of connection "+conn.ID+": its full diff is held for approval")
	} else if conn.Approved != run.SettingsHash {
		hold = append(hold, "the connection's settings changed since its last applied run: held for approval")
	}
	for _, cr := range run.Collections {
		cr.Complete, cr.Verdict = cr.Proof.Complete()
		if !cr.Complete {
			hold = append(hold, fmt.Sprintf("%s is incomplete (%s); it was left out, so nothing of it is deactivated", cr.Name, cr.Verdict))
			continue
		}
		if people(cr) && run.Mode == "full" && cr.Proof.Unique == 0 {
			cr.Complete, cr.Verdict = false, "the pull returned zero users"
			hold = append(hold, "the pull returned zero users; users were left out")
			continue
		}
		usable++
	}
	return hold, usable
}

// importRun writes the package and hands it to the pipeline.
func (s *Service) importRun(ctx context.Context, conn *sis.Connection, run *sis.Run, layout string) (*sis.Run, error) {
	log := s.log().With("districtId", run.District, "connectionId", run.Connection, "runId", run.ID)
	hold, usable := s.verdicts(conn, run)
	if usable == 0 {
		log.Warn("sync run failed: no collection completed", "decision", "failed")
		return s.fail(ctx, run, "no collection completed: "+strings.Join(hold, "; "))
	}
	for _, cr := range run.Collections {
		if !people(cr) || cr.Complete {
			continue
		}
		// Without users a package cannot be imported (a roster needs its people): the run
		// stops here, and nothing is applied.
		if cr.Verdict == "the pull returned zero users" {
			log.Warn("sync run held: zero users", "decision", "held")
			run.Status, run.Reason, run.Finished = sis.RunHeld, "the pull returned zero users; nothing was imported (a district whose roster really emptied says so with a drop)", s.now()
		} else {
			log.Warn("sync run failed: users incomplete", "decision", "failed")
			run.Status, run.Reason, run.Finished = sis.RunFailed, cr.Name+" is incomplete ("+cr.Verdict+"); nothing was imported", s.now()
		}
		return s.settle(ctx, run)
	}
	t0 := time.Now()
	key := RunKey(run.District, run.Connection, run.ID, "package.zip")
	var assembled []sis.Finding
	if run.PackageKey == "" {
		var body []byte
		a, ok, err := s.assembler(ctx, conn)
		if err != nil {
			return s.fail(ctx, run, err.Error())
		}
		if ok {
			body, assembled, err = s.assemblePackage(ctx, a, run, layout)
		} else {
			body, err = s.writePackage(ctx, run, layout)
		}
		if err != nil {
			return nil, err
		}
		if err := s.Blobs.Put(ctx, s.ReportsBucket, key, "application/zip", body); err != nil {
			return nil, err
		}
		run.PackageKey = key
		run.ConvertMS = time.Since(t0).Milliseconds()
		if err := s.Store.PutRun(ctx, run); err != nil {
			return nil, err
		}
	}
	t1 := time.Now()
	obj := pthv.Object{Bucket: s.ReportsBucket, Key: key, ETag: run.ID, UploadedAt: run.Started}
	res, err := s.Importer.ImportPackage(ctx, run.District, obj, importer.PackageOptions{ImportID: "imp-" + strings.TrimPrefix(run.ID, "run-"), Hold: strings.Join(hold, "; ")})
	run.ImportMS += time.Since(t1).Milliseconds()
	if err != nil {
		_ = s.Store.PutRun(ctx, run)
		return nil, fmt.Errorf("import: %w", err)
	}
	imp := res.Import
	run.ImportID, run.ImportState = imp.ID, string(imp.Status)
	run.Counts = map[string]sis.Count{}
	for k, c := range imp.Counts {
		run.Counts[string(k)] = sis.Count{Added: c.Added, Changed: c.Changed, Revived: c.Revived, Unchanged: c.Unchanged, Deactivated: c.Deactivated, Rejected: c.Rejected}
	}
	if res.Report != nil {
		run.Findings, run.Errors, run.Warnings = translate(run, res.Report)
	}
	if len(assembled) > 0 {
		run.Findings = append(assembled, run.Findings...)
		for _, f := range assembled {
			switch f.Severity {
			case "error":
				run.Errors++
			case "warning":
				run.Warnings++
			}
		}
	}
	run.Finished = s.now()
	switch imp.Status {
	case pthv.StatusApplied:
		run.Status = sis.RunApplied
		s.advance(conn, run)
		if err := s.Store.PutConnection(ctx, conn); err != nil {
			return nil, err
		}
	case pthv.StatusHeld:
		run.Status, run.Reason = sis.RunHeld, imp.Reason
	case pthv.StatusRejected:
		run.Status, run.Reason = sis.RunRejected, imp.Reason
	case pthv.StatusApplying:
		run.Status, run.Finished = sis.RunImporting, time.Time{} // the ingest function continues the apply
	default:
		run.Status, run.Reason = sis.RunFailed, "the import was "+string(imp.Status)+": "+imp.Reason
	}
	log.Info("sync run handed to the import pipeline", "decision", run.Status, "importId", imp.ID, "requests", run.Requests, "retries", run.Retries)
	return s.settle(ctx, run)
}

// recordFindings is how many findings the run record keeps (DynamoDB items are capped at
// 400 KB); the run report keeps every one.
const recordFindings = 200

// settle writes the run's report, then its record. The report comes first: whoever sees the
// record final (pthv sync run --wait, a test) finds the report in place.
func (s *Service) settle(ctx context.Context, run *sis.Run) (*sis.Run, error) {
	if err := s.writeRunReport(ctx, run); err != nil {
		return nil, err
	}
	rec := run
	if len(run.Findings) > recordFindings {
		short := *run
		short.Findings = run.Findings[:recordFindings]
		rec = &short
	}
	if err := s.Store.PutRun(ctx, rec); err != nil {
		return nil, err
	}
	return run, nil
}

// resettle records what became of a run after it ended (its held import was approved and
// applied, an apply the ingest function continued finished): the report, which keeps every
// finding, takes the record's new status, then the record is written.
func (s *Service) resettle(ctx context.Context, r *sis.Run) error {
	full := r
	if b, err := s.Blobs.Get(ctx, s.ReportsBucket, RunKey(r.District, r.Connection, r.ID, "run.json")); err == nil {
		var rep sis.Run
		if json.Unmarshal(b, &rep) == nil && rep.ID == r.ID {
			rep.Status, rep.Reason, rep.ImportState, rep.Finished = r.Status, r.Reason, r.ImportState, r.Finished
			full = &rep
		}
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return err
	}
	_, err := s.settle(ctx, full)
	return err
}

// writeRunReport writes the run with every finding next to its pages.
func (s *Service) writeRunReport(ctx context.Context, run *sis.Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	return s.Blobs.Put(ctx, s.ReportsBucket, RunKey(run.District, run.Connection, run.ID, "run.json"), "application/json", b)
}

// writePackage writes the staged pages as a OneRoster CSV package: a manifest saying bulk or
// delta for each complete collection's files and absent for the rest, then each file,
// recording the line each page starts at.
func (s *Service) writePackage(ctx context.Context, run *sis.Run, layout string) ([]byte, error) {
	mode := "bulk"
	if run.Mode == "delta" {
		mode = "delta"
	}
	files := map[string]*sis.CollectionRun{}
	for _, cr := range run.Collections {
		for _, f := range cr.Files {
			files[f] = cr
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	mf, err := zw.Create("manifest.csv")
	if err != nil {
		return nil, err
	}
	catalog := catalogOf(layout)
	m := csv.NewWriter(mf)
	_ = m.Write([]string{"propertyName", "value"})
	_ = m.Write([]string{"manifest.version", "1.0"})
	_ = m.Write([]string{"oneroster.version", layout})
	for _, name := range catalog {
		v := "absent"
		if cr := files[name+".csv"]; cr != nil && cr.Complete {
			v = mode
		}
		_ = m.Write([]string{"file." + name, v})
	}
	_ = m.Write([]string{"source.systemName", "PTHV Reach SIS sync " + run.ID})
	m.Flush()
	for _, cr := range run.Collections {
		if !cr.Complete {
			continue
		}
		cr.PageStarts = map[string][]int{}
		for _, file := range cr.Files {
			w, err := zw.Create(file)
			if err != nil {
				return nil, err
			}
			cw := csv.NewWriter(w)
			if err := cw.Write(sis.Columns(layout, file)); err != nil {
				return nil, err
			}
			line := 2
			for n := 1; n <= cr.Proof.Pages; n++ {
				p, err := s.loadPage(ctx, run, cr.Name, n)
				if err != nil {
					return nil, err
				}
				cr.PageStarts[file] = append(cr.PageStarts[file], line)
				for _, r := range p.Rows {
					if r.File != file {
						continue
					}
					if mode == "bulk" && len(r.Cells) > 2 && r.Cells[1] == "active" {
						// A bulk file leaves status and dateLastModified blank; only
						// tobedeleted is kept, and honoured.
						r.Cells[1], r.Cells[2] = "", ""
					}
					if err := cw.Write(clean(r.Cells)); err != nil {
						return nil, err
					}
					line++
				}
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				return nil, err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// catalogOf lists the files a manifest of the layout names.
func catalogOf(layout string) []string {
	if layout == "1.1" {
		return []string{"academicSessions", "categories", "classes", "classResources", "courses", "courseResources", "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users"}
	}
	return []string{"academicSessions", "categories", "classes", "classResources", "courseResources", "courses", "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems", "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources", "users"}
}

// clean keeps a cell on one CSV line: the reader refuses line breaks inside fields, and a
// value with one is most likely a typing slip at the source; it is reported as sent, with
// the break as a space.
func clean(cells []string) []string {
	for i, c := range cells {
		if strings.ContainsAny(c, "\r\n") {
			cells[i] = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(c)
		}
	}
	return cells
}

// translate turns the validation report's file and line into collection, page and sourcedId.
func translate(run *sis.Run, rep *orcsv.Report) ([]sis.Finding, int, int) {
	var out []sis.Finding
	for _, f := range rep.Findings {
		if f.Severity == orcsv.SeverityInfo {
			continue
		}
		tf := sis.Finding{Severity: string(f.Severity), Code: string(f.Code), SourcedID: f.SourcedID, Field: f.Column, Message: f.Message}
		for _, cr := range run.Collections {
			starts, ok := cr.PageStarts[f.File]
			if !ok {
				continue
			}
			tf.Collection = cr.Name
			if f.Line >= 2 {
				tf.Page = sort.Search(len(starts), func(i int) bool { return starts[i] > f.Line })
			}
		}
		if tf.Collection == "" && f.File != "" && f.File != "manifest.csv" {
			tf.Collection = strings.TrimSuffix(f.File, ".csv")
		}
		out = append(out, tf)
	}
	return out, rep.Errors, rep.Warnings
}
