package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/pthv/reach/internal/pthv"
)

// Order is never guessed. S3 gives an object's upload time to the second (LastModified), so
// two drops of different keys put in the same second cannot be ordered; the versions of one
// key can (ListObjectVersions lists them newest first, as their sequencers would). A drop
// uploaded in the same second as an import of another key that changed or would change the
// roster is held, with that reason, instead of being applied over it or under it; a version
// of the same key older than the imported one is superseded.

// versionOrder returns, for every listed drop, its place among the versions of its key
// (0 for the oldest). objs is in S3's listing order: per key, newest first.
func versionOrder(objs []pthv.Object) map[string]int {
	byKey := map[string][]string{}
	for _, o := range objs {
		byKey[o.Key] = append(byKey[o.Key], o.Identity())
	}
	out := map[string]int{}
	for _, ids := range byKey {
		for i, id := range ids {
			out[id] = len(ids) - 1 - i
		}
	}
	return out
}

// sameSecond compares imp's drop with the district's other roster imports uploaded in the
// same second that changed or would change the roster (applying, applied, held, approved).
// It returns a reason to supersede imp (an older version of the same key) or to hold it (a
// different key, or versions whose order S3 does not say). imps is the district's imports as
// listed under the district lock this run holds; nil lists them.
func (s *Service) sameSecond(ctx context.Context, d *pthv.District, imp *pthv.Import, imps []*pthv.Import) (supersede, hold string, err error) {
	if imps == nil {
		if imps, err = s.Store.ListImports(ctx, d.ID, strandedWindow); err != nil {
			return "", "", err
		}
	}
	var order map[string]int
	for _, other := range imps {
		if other.ID == imp.ID || !other.Source.UploadedAt.Equal(imp.Source.UploadedAt) || (other.Kind != "" && other.Kind != pthv.ImportRoster) {
			continue
		}
		switch other.Status {
		case pthv.StatusApplying, pthv.StatusApplied, pthv.StatusHeld, pthv.StatusApproved:
		default:
			continue
		}
		if other.Source.Key == imp.Source.Key {
			if order == nil {
				objs, err := s.Blobs.ListDrops(ctx, s.DropsBucket, rosterDrops(d.ID))
				if err != nil {
					return "", "", err
				}
				order = versionOrder(objs)
			}
			a, okA := order[imp.Source.Identity()]
			b, okB := order[other.Source.Identity()]
			if okA && okB && a < b {
				return fmt.Sprintf("an older version of %s than the one import %s imported; it is not applied over it", name(imp.Source.Key), other.ID), "", nil
			}
			if okA && okB && a > b {
				continue // a newer version of the same key: the order is known
			}
		}
		return "", fmt.Sprintf("%s was uploaded in the same second as %s (import %s), and S3 does not say which is newer; it is held rather than applied over or under it",
			name(imp.Source.Key), name(other.Source.Key), other.ID), nil
	}
	return "", "", nil
}

// name is the last segment of a key.
func name(key string) string { return key[strings.LastIndex(key, "/")+1:] }
