package memstore_test

import (
	"testing"
	"time"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/internal/store/memstore"
	"github.com/pthv/reach/internal/store/storetest"
)

// The memory store plays every store its consumers declare.
var (
	_ importer.Store  = (*memstore.Store)(nil)
	_ cohortsvc.Store = (*memstore.Store)(nil)
	_ reachsvc.Store  = (*memstore.Store)(nil)
	_ api.Store       = (*memstore.Store)(nil)
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		s := memstore.New()
		s.Now = now
		return s
	})
}
