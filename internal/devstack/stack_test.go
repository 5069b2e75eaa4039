package devstack

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/deploy"
)

// TestStackRunsIngestConcurrencyInvocationsAtOnce: the local stack delivers the ingest queue
// to as many invocations at once as StackOptions.IngestConcurrency says (the event source
// mapping's maximum concurrency), each in its own execution environment. Every message waits
// at a barrier that opens only when all of them are inside at once.
func TestStackRunsIngestConcurrencyInvocationsAtOnce(t *testing.T) {
	if got := ingestConcurrency(StackOptions{}); got != deploy.IngestMaxConcurrency {
		t.Errorf("default ingest concurrency %d; want deploy.IngestMaxConcurrency (%d)", got, deploy.IngestMaxConcurrency)
	}
	const n = 3
	rv := newRendezvous(t, n)
	ctx := context.Background()
	st, err := StartStack(ctx, StackOptions{Prefix: uniquePrefix(t), Endpoint: testMoto(t).URL,
		Functions: map[string]string{"ingest": testBootstrap(t)}, IngestConcurrency: n})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := sqs.NewFromConfig(AWSConfig(st.Endpoint))
	url := st.Provisioned.QueueURLs[st.Names.IngestQueue]
	inside := func() int {
		rv.mu.Lock()
		defer rv.mu.Unlock()
		return rv.inside
	}
	// One message at a time, each sent once the one before is inside an invocation, so that
	// no batch carries two of them.
	for i := 1; i <= n; i++ {
		sendBodies(t, client, url, "get "+rv.URL+"/barrier")
		deadline := time.Now().Add(rendezvousTimeout - 5*time.Second)
		for inside() < i {
			if time.Now().After(deadline) {
				t.Fatalf("%d invocations at once, want %d", inside(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(rendezvousTimeout)
	for queueDepth(t, client, url) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages not handled", queueDepth(t, client, url))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pids := st.Host.PIDs(st.Names.Function("ingest")); len(pids) != n {
		t.Errorf("%d ingest execution environments, want %d", len(pids), n)
	}
}
