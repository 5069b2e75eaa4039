package store

import (
	"testing"
	"time"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/internal/store/storetest"
)

// The DynamoDB store plays every store its consumers declare.
var (
	_ importer.Store  = (*Store)(nil)
	_ cohortsvc.Store = (*Store)(nil)
	_ reachsvc.Store  = (*Store)(nil)
	_ api.Store       = (*Store)(nil)
)

// TestContract holds the DynamoDB store, on moto, to the contract the memory store
// (internal/store/memstore) is held to as well. One table serves the whole suite: its
// subtests use ids of their own.
func TestContract(t *testing.T) {
	s := newStore(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		s := *s
		s.Now = now
		return &s
	})
}
