package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// stingyDB accepts only the first `take` items of each BatchWriteItem call and returns the
// rest as UnprocessedItems, as DynamoDB does under throttling. The store's workers call it
// concurrently, as they call DynamoDB.
type stingyDB struct {
	API
	take    int
	mu      sync.Mutex
	calls   int
	written map[string]bool
}

func (d *stingyDB) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{}}
	for table, reqs := range in.RequestItems {
		if len(reqs) > 25 {
			return nil, fmt.Errorf("%d items in one batch", len(reqs))
		}
		for i, r := range reqs {
			if i < d.take {
				d.written[getS(r.PutRequest.Item, "sk")] = true
			} else {
				out.UnprocessedItems[table] = append(out.UnprocessedItems[table], r)
			}
		}
	}
	return out, nil
}

func TestUnprocessedItemsAreRetriedUntilWritten(t *testing.T) {
	db := &stingyDB{take: 10, written: map[string]bool{}}
	s := &Store{DB: db, Table: "t", Workers: 2, RetryBase: time.Millisecond}
	var ops []pthv.Op
	for i := 0; i < 60; i++ {
		ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindUser, ID: fmt.Sprintf("u%02d", i), Hash: "h", Data: json.RawMessage(`{}`)})
	}
	ws, err := s.Apply(context.Background(), "d1", "imp", ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.written) != 60 || ws.Items != 60 {
		t.Fatalf("%d written, stats %+v", len(db.written), ws)
	}
	// 3 batches of 25, 25, 10: the full ones need 3 calls each (10+10+5), the last one 1.
	if ws.FullBatches != 2 || ws.Batches != 7 || ws.Retries != 4 || db.calls != 7 {
		t.Errorf("stats %+v, %d calls", ws, db.calls)
	}
}

func TestABatchThatNeverDrainsFails(t *testing.T) {
	db := &stingyDB{take: 0, written: map[string]bool{}}
	s := &Store{DB: db, Table: "t", RetryBase: time.Millisecond, RetryMax: 2 * time.Millisecond}
	_, err := s.Apply(context.Background(), "d1", "imp", []pthv.Op{{Op: pthv.OpPut, Kind: roster.KindUser, ID: "u", Hash: "h", Data: json.RawMessage(`{}`)}})
	if err == nil {
		t.Fatal("want an error after the retries run out")
	}
}
