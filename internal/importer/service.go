package importer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Service runs imports. Every exported method is safe to call again with the same input:
// S3 and SQS deliver at least once.
type Service struct {
	Store         Store
	Blobs         Blobs
	Queue         Queue
	Log           *slog.Logger
	DropsBucket   string
	ReportsBucket string
	Limits        orcsv.Limits
	// TempDir holds downloaded drops while they are read ("" = the system default).
	TempDir string
	// Budget returns how much longer this invocation may work before it must checkpoint.
	// nil means no limit.
	Budget func(ctx context.Context) time.Duration
	// ChunkOps is how many writes are applied between checkpoints (default 5000).
	ChunkOps int
	// LockLease is how long a district lock lasts without renewal (default 16 minutes,
	// longer than one Lambda invocation).
	LockLease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Families resolves visit logs' families and students (needed for visit drops).
	Families FamilyResolver
	// Reach is told which district-years an import changed (optional).
	Reach ReachNotifier
}

var keyRE = regexp.MustCompile(`^drops/(` + pthv.DistrictIDPattern + `)/(.*)$`)

// DistrictOfKey returns the district segment of a drop key, or "" when the key has none.
func DistrictOfKey(key string) string {
	if m := keyRE.FindStringSubmatch(key); m != nil {
		return m[1]
	}
	return ""
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func newImportID(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "imp-" + t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// HandleDrop handles an object-created event for obj. A roster drop for a registered
// district is imported, after any older drop of the district not yet imported; a drop for an
// unknown district or outside drops/{district}/rosters/ is refused and reported (pthv.ErrRefused).
// A redelivered event finds its object claimed and does nothing.
func (s *Service) HandleDrop(ctx context.Context, obj pthv.Object) error {
	log := s.log().With("bucket", obj.Bucket, "key", obj.Key)
	m := keyRE.FindStringSubmatch(obj.Key)
	if m == nil {
		log.Warn("drop refused: the key is not under drops/{districtId}/", "decision", "refused")
		return fmt.Errorf("%w: key outside drops/{districtId}/", pthv.ErrRefused)
	}
	districtID, rest := m[1], m[2]
	log = log.With("districtId", districtID)
	csvIn := func(folder string) bool {
		return strings.HasPrefix(rest, folder) && strings.Count(rest, "/") == 1 && strings.HasSuffix(strings.ToLower(rest), ".csv")
	}
	isTraining, isConsent, isVisits := csvIn("trainings/"), csvIn("consent/"), csvIn("visits/")
	if !isTraining && !isConsent && !isVisits && (!strings.HasPrefix(rest, "rosters/") || strings.Count(rest, "/") != 1) {
		return s.refuse(ctx, log, districtID, obj, fmt.Sprintf("drops go under drops/%[1]s/rosters/ (OneRoster zips), drops/%[1]s/trainings/, drops/%[1]s/consent/ or drops/%[1]s/visits/ (CSV files); %[2]s is in none of them", districtID, obj.Key))
	}
	d, err := s.Store.District(ctx, districtID)
	if errors.Is(err, pthv.ErrNotFound) {
		return s.refuse(ctx, log, districtID, obj, fmt.Sprintf("district %s is not registered; register it with 'pthv districts add' before dropping exports", districtID))
	}
	if err != nil {
		return err
	}
	if _, err := s.Store.ObjectClaim(ctx, obj); err == nil {
		log.Info("drop already imported: redelivered event ignored", "decision", "duplicate")
		return nil
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return err
	}
	if isTraining {
		return s.trainingDrop(ctx, d, obj)
	}
	if isConsent {
		return s.importConsent(ctx, d, obj, newImportID(s.now()))
	}
	if isVisits {
		return s.importVisits(ctx, d, obj, newImportID(s.now()))
	}
	return s.drain(ctx, d)
}

// refuse writes a report and an import record for a drop that is not imported.
func (s *Service) refuse(ctx context.Context, log *slog.Logger, districtID string, obj pthv.Object, reason string) error {
	now := s.now()
	imp := &pthv.Import{ID: newImportID(now), District: districtID, Source: obj, Status: pthv.StatusRejected, Reason: reason,
		Started: now, Finished: now, Counts: map[roster.Kind]pthv.Counts{}}
	// The refusal is an import record of its own (no roster is touched), so that district IT
	// sees it in 'pthv imports list' and 'pthv upload --wait' returns; a redelivery finds the
	// object claimed and refuses nothing twice.
	if err := s.Store.ClaimObject(ctx, obj, imp.ID); errors.Is(err, pthv.ErrConflict) {
		log.Info("refused drop already reported: redelivered event ignored", "decision", "duplicate")
		return fmt.Errorf("%w: %s", pthv.ErrRefused, reason)
	} else if err != nil {
		return err
	}
	log.Warn("drop refused", "importId", imp.ID, "decision", "refused")
	if err := s.finish(ctx, imp, nil); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", pthv.ErrRefused, reason)
}

// trainingDrop imports a training file under the district lock. When another import holds
// the lock, the drop fails so that the queue retries it later.
func (s *Service) trainingDrop(ctx context.Context, d *pthv.District, obj pthv.Object) error {
	id := newImportID(s.now())
	if err := s.Store.Lock(ctx, d.ID, id, s.lease()); err != nil {
		return fmt.Errorf("training drop waits for the district's running import: %w", err)
	}
	err := s.importTrainings(ctx, d, obj, id)
	if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
		err = uerr
	}
	return err
}

// touched tells the reach notifier which of the district's school years an import changed.
func (s *Service) touched(ctx context.Context, district string, years []string) {
	if s.Reach == nil || len(years) == 0 {
		return
	}
	slices.Sort(years)
	years = slices.Compact(years)
	if err := s.Reach.Touched(ctx, district, years); err != nil {
		s.log().Warn("reach recomputation not requested; the nightly run will catch up", "districtId", district, "error", err.Error())
	}
}

func (s *Service) lease() time.Duration {
	if s.LockLease > 0 {
		return s.LockLease
	}
	return 16 * time.Minute
}
