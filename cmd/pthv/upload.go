package main

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/term"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/training"
	"github.com/pthv/reach/internal/visits"
)

func init() {
	register("upload", "validate an export and upload it to the district's drop folder", cmdUpload)
}

func cmdUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upload PATH", stderr)
	district := districtFlag(fs, "")
	force := fs.Bool("force", false, "upload even when validation finds errors")
	wait := fs.Bool("wait", false, "wait for the import and print its summary")
	timeout := durationFlag(fs, "timeout", 15*time.Minute, "with --wait: how long to wait, a `DURATION` such as 90s")
	name := fs.String("name", "", "object `NAME` under drops/{district}/{kind}/ (default: the file name)")
	kind := choiceFlag(fs, "kind", "rosters", []string{"rosters", "trainings", "consent", "visits"}, "what the file is, `KIND`: a OneRoster zip or folder (rosters) or a CSV file")
	quiet := fs.Bool("quiet", false, "no progress output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if !pthv.ValidDistrictID(*district) {
		return usageErr("--district is required (letters, digits, '.', '_' or '-')")
	}
	if len(pos) != 1 {
		if *kind == "rosters" {
			return usageErr("give exactly one PATH: a zip file or a folder of OneRoster CSV files")
		}
		return usageErr("give exactly one PATH: a %s CSV file", *kind)
	}
	path := pos[0]
	uploadPath, contentType, ext := path, "application/zip", ".zip"
	if *kind == "rosters" {
		rep, err := orcsv.ReadPath(ctx, path, nil, orcsv.Options{})
		if err != nil {
			return pathErr(err)
		}
		if rep.Errors > 0 {
			if err := rep.WriteText(stderr, 5); err != nil {
				return err
			}
			if !*force {
				return &exitError{code: 1, msg: "the export has errors: fix them, or upload anyway with --force"}
			}
			fmt.Fprintln(stderr, "uploading despite errors (--force)")
		}
		zipPath, cleanup, err := asZip(path)
		if err != nil {
			return err
		}
		defer cleanup()
		uploadPath = zipPath
	} else {
		contentType, ext = "text/csv", ".csv"
		errs, err := checkCSV(*kind, path, stderr)
		if err != nil {
			return err
		}
		if errs > 0 && !*force {
			return &exitError{code: 1, msg: fmt.Sprintf("the %s file has %s: fix them, or upload anyway with --force (rows with errors are not imported)", *kind, plural(errs, "error"))}
		}
	}
	objName := *name
	if objName == "" {
		objName = filepath.Base(path)
		if !strings.HasSuffix(strings.ToLower(objName), ext) {
			objName += ext
		}
	}
	env, err := app.LoadEnv(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	key := pthv.Key("drops", *district, *kind, objName) // a name that is not a plain segment is encoded
	f, err := os.Open(uploadPath)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var progress io.Writer = stderr
	if *quiet {
		progress = io.Discard
	}
	body := &progressReader{f: f, total: st.Size(), w: progress, tty: isTerminal(stderr), label: "uploading " + objName}
	client := s3.NewFromConfig(env.AWS, blob.Options(env.AWS))
	out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &env.Names.DropsBucket, Key: &key, Body: body,
		ContentLength: aws.Int64(st.Size()), ContentType: aws.String(contentType)})
	body.done()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	obj := pthv.Object{Bucket: env.Names.DropsBucket, Key: key, VersionID: aws.ToString(out.VersionId),
		ETag: strings.Trim(aws.ToString(out.ETag), `"`)}
	fmt.Fprintf(stdout, "uploaded s3://%s/%s (version %s)\n", obj.Bucket, key, obj.VersionID)
	if !*wait {
		return nil
	}
	imp, err := waitForImport(ctx, env, *district, obj, *timeout, progress)
	if err != nil {
		return err
	}
	if err := printImport(stdout, imp, env.Names.ReportsBucket); err != nil {
		return err
	}
	// A script must be able to tell that nothing (yet) landed: held, rejected, superseded,
	// failed, or applied with every row rejected all exit 1.
	if !imp.Landed() {
		return &exitError{code: 1}
	}
	return nil
}

// waitForImport polls until an import has claimed the object and reached a final status.
func waitForImport(ctx context.Context, env *app.Env, district string, obj pthv.Object, timeout time.Duration, progress io.Writer) (*pthv.Import, error) {
	st := env.Store()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		if id, err := st.ObjectClaim(ctx, obj); err == nil {
			imp, err := st.GetImport(ctx, district, id)
			if err != nil && !errors.Is(err, pthv.ErrNotFound) {
				return nil, err
			}
			if imp != nil {
				switch imp.Status {
				case pthv.StatusApplied, pthv.StatusHeld, pthv.StatusRejected, pthv.StatusSuperseded, pthv.StatusFailed:
					if isTerminal(progress) && last != "" {
						fmt.Fprintln(progress)
					}
					return imp, nil
				}
				if s := fmt.Sprintf("import %s: %s, %d of %d writes", imp.ID, imp.Status, imp.Cursor, imp.Ops); s != last {
					if isTerminal(progress) {
						fmt.Fprint(progress, "\r"+s)
					} else {
						fmt.Fprintln(progress, s)
					}
					last = s
				}
			}
		} else if !errors.Is(err, pthv.ErrNotFound) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("no finished import after %s; see 'pthv imports list --district %s'", timeout, district)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// asZip returns path itself when it is a file, or a temporary zip of the folder's files.
func asZip(path string) (string, func(), error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", nil, pathErr(err)
	}
	if !st.IsDir() {
		return path, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "pthv-upload-*.zip")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	zw := zip.NewWriter(tmp)
	ents, err := os.ReadDir(path)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		w, err := zw.Create(e.Name())
		if err == nil {
			var src *os.File
			if src, err = os.Open(filepath.Join(path, e.Name())); err == nil {
				_, err = io.Copy(w, src)
				src.Close()
			}
		}
		if err != nil {
			cleanup()
			return "", nil, err
		}
	}
	if err := zw.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp.Name(), cleanup, nil
}

// progressReader reports upload progress on w; it stays seekable so the SDK can hash the
// body and retry. Progress only moves forward (the SDK may read the body twice: once to sign
// it, once to send it). Off a terminal it prints the final line only.
type progressReader struct {
	f     *os.File
	total int64
	read  int64
	w     io.Writer
	tty   bool
	label string
	shown int
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	p.read += int64(n)
	p.show()
	return n, err
}

func (p *progressReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.f.Seek(off, whence)
	p.read = n
	return n, err
}

func (p *progressReader) show() {
	pct := 100
	if p.total > 0 {
		pct = int(100 * p.read / p.total)
	}
	if pct <= p.shown || !p.tty {
		return
	}
	p.shown = pct
	fmt.Fprintf(p.w, "\r%s", p.line(pct))
}

func (p *progressReader) line(pct int) string {
	const width = 30
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat(".", width-pct*width/100)
	return fmt.Sprintf("%s [%s] %3d%% of %.1f MB", p.label, bar, pct, float64(p.total)/1e6)
}

func (p *progressReader) done() {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.line(100))
	} else {
		fmt.Fprintln(p.w, p.line(100))
	}
}

// isTerminal reports whether w is a terminal, where progress lines may be redrawn with \r.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// checkCSV reads a training or consent file as the pipeline will and prints its findings;
// it returns the number of errors.
func checkCSV(kind, path string, stderr io.Writer) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, pathErr(err)
	}
	defer f.Close()
	var fs []training.Finding
	switch kind {
	case "trainings":
		res, err := training.Read(f, filepath.Base(path), time.Now())
		if err != nil {
			return 0, err
		}
		fs = res.Findings
	case "consent":
		res, err := consent.Read(f, filepath.Base(path), time.Now())
		if err != nil {
			return 0, err
		}
		for _, x := range res.Findings {
			fs = append(fs, training.Finding(x)) // the same shape
		}
	case "visits":
		res, err := visits.Read(f, filepath.Base(path), time.Now())
		if err != nil {
			return 0, err
		}
		for _, x := range res.Findings {
			fs = append(fs, training.Finding(x)) // the same shape
		}
	}
	errs := 0
	for i, x := range fs {
		if x.Severity == "error" {
			errs++
		}
		if i < 20 {
			fmt.Fprintf(stderr, "%s:%d: %s %s [%s] %s\n", x.File, x.Line, x.Severity, x.Column, x.Code, x.Message)
		}
	}
	if len(fs) > 20 {
		fmt.Fprintf(stderr, "… and %d more findings\n", len(fs)-20)
	}
	return errs, nil
}
