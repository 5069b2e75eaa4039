package importer

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
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
	// PlanChunkOps is how many ops one saved chunk of a plan holds (default
	// DefaultPlanChunkOps): an apply holds one chunk in memory.
	PlanChunkOps int
	// LockLease is how long a run's heartbeat and the district lock last without renewal
	// (default DefaultLease). A run renews both at every stage and every checkpoint; an import
	// whose heartbeat is older is taken over by whoever sees it next.
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
