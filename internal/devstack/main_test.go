package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
)

var (
	motoOnce sync.Once
	motoSrv  *Moto
	motoErr  error
)

// TestMain stops the shared moto_server, if a test started one.
func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	os.Exit(code)
}

// testMoto returns the package's shared moto_server, starting it on first use. Tests keep
// out of each other's way by naming their resources with uniquePrefix.
func testMoto(t testing.TB) *Moto {
	t.Helper()
	motoOnce.Do(func() { motoSrv, motoErr = StartMoto(context.Background(), nil) })
	if motoErr != nil {
		t.Fatalf("moto: %v", motoErr)
	}
	return motoSrv
}

// uniquePrefix returns a resource name prefix no other test uses.
func uniquePrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	return "pthv-test-" + hex.EncodeToString(b)
}
