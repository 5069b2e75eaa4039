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

// countingDB counts the requests of each kind that reach DynamoDB.
type countingDB struct {
	API
	mu    sync.Mutex
	calls map[string]int
}

func (d *countingDB) count(op string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[op]++
}

func (d *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	d.count("BatchGetItem")
	return d.API.BatchGetItem(ctx, in, o...)
}

func (d *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	d.count("BatchWriteItem")
	return d.API.BatchWriteItem(ctx, in, o...)
}

func (d *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	d.count("UpdateItem")
	return d.API.UpdateItem(ctx, in, o...)
}

func TestDeactivationsAreBatched(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var puts, offs []pthv.Op
	for i := range 260 {
		id := fmt.Sprintf("stu-%03d", i)
		puts = append(puts, pthv.Op{Op: pthv.OpPut, Kind: roster.KindUser, ID: id, Hash: "h" + id, Data: json.RawMessage(`{"sourcedId":"` + id + `"}`)})
		if i < 250 {
			offs = append(offs, pthv.Op{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: id})
		}
	}
	offs = append(offs, pthv.Op{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "ghost-1"}, pthv.Op{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "ghost-2"})
	if _, err := s.Apply(ctx, "d1", "imp-1", puts); err != nil {
		t.Fatal(err)
	}
	db := &countingDB{API: s.DB, calls: map[string]int{}}
	s.DB = db
	ws, err := s.Apply(ctx, "d1", "imp-2", offs)
	if err != nil {
		t.Fatal(err)
	}
	// 252 keys read 100 a request; the 250 found written back 25 a batch; no single-item update.
	if db.calls["BatchGetItem"] != 3 || db.calls["BatchWriteItem"] != 10 || db.calls["UpdateItem"] != 0 {
		t.Errorf("requests %v; want 3 BatchGetItem, 10 BatchWriteItem, 0 UpdateItem", db.calls)
	}
	if ws.Updates != 252 || ws.Items != 0 || ws.Batches != 10 || ws.FullBatches != 10 {
		t.Errorf("write stats %+v; want 252 deactivations in 10 full batches", ws)
	}
	st, err := s.LoadState(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st[roster.KindUser]) != 260 {
		t.Fatalf("%d users stored; want 260 (a deactivation of a record never stored must not create it)", len(st[roster.KindUser]))
	}
	for id, c := range st[roster.KindUser] {
		if c.Active != (id >= "stu-250") || c.Hash != "h"+id {
			t.Errorf("%s: %+v; want active only from stu-250 on, the hash kept", id, c)
		}
	}
	raw, active, err := s.GetRecord(ctx, "d1", roster.KindUser, "stu-007")
	if err != nil || active || string(raw) != `{"sourcedId":"stu-007"}` {
		t.Errorf("a deactivated record: %s active %v (%v); want its JSON kept, inactive", raw, active, err)
	}
}
