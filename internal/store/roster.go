package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// LoadState implements importer.Rosters: 7 kinds × 32 shards queried in parallel, reading only
// the key, hash, active flag and role fields.
func (s *Store) LoadState(ctx context.Context, district string) (pthv.State, error) {
	type job struct {
		kind  roster.Kind
		shard int
	}
	jobs := make(chan job)
	var mu sync.Mutex
	state := pthv.State{}
	for _, k := range roster.Kinds {
		state[k] = map[string]pthv.Current{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	for w := 0; w < s.workers(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
					KeyConditionExpression:    aws.String("pk = :pk"),
					ProjectionExpression:      aws.String("sk, h, a, r, u"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(RecordPK(district, j.kind, j.shard))}})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("load roster of %s: %w", district, err)
							cancel()
						}
						mu.Unlock()
						break
					}
					mu.Lock()
					m := state[j.kind]
					for _, it := range page.Items {
						active := false
						if b, ok := it["a"].(*types.AttributeValueMemberBOOL); ok {
							active = b.Value
						}
						m[getS(it, "sk")] = pthv.Current{Hash: getS(it, "h"), Active: active, Role: getS(it, "r"), User: getS(it, "u")}
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range roster.Kinds {
		for sh := 0; sh < Shards; sh++ {
			select {
			case jobs <- job{k, sh}:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return state, ctx.Err()
}

// PutItem is the item Apply writes for a put: exported so that a benchmark's baseline
// writes exactly the pipeline's items. now is the write time in RFC 3339.
func PutItem(district, importID, now string, op pthv.Op) map[string]types.AttributeValue {
	it := key(RecordPK(district, op.Kind, Shard(op.ID)), op.ID)
	it["h"] = str(op.Hash)
	it["a"] = &types.AttributeValueMemberBOOL{Value: true}
	it["j"] = str(string(op.Data))
	it["iid"] = str(importID)
	it["ua"] = str(now)
	if op.Role != "" {
		it["r"], it["u"] = str(op.Role), str(op.User)
	}
	if op.School != "" {
		it[SchoolAttr] = str(SchoolKey(district, op.School))
	}
	return it
}

// Apply implements importer.Rosters. Puts go in full batches of 25 through BatchWriteItem, with
// UnprocessedItems retried after exponential backoff with jitter. Deactivations are batched
// too (see deactivate): the records are read with BatchGetItem and written back inactive,
// nothing else changed, 25 a BatchWriteItem; a record never stored is not created.
func (s *Store) Apply(ctx context.Context, district, importID string, ops []pthv.Op) (pthv.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	var puts []map[string]types.AttributeValue
	var offs []pthv.Op
	for _, op := range ops {
		switch op.Op {
		case pthv.OpPut:
			puts = append(puts, PutItem(district, importID, now, op))
		case pthv.OpDeactivate:
			offs = append(offs, op)
		default:
			return pthv.WriteStats{}, fmt.Errorf("unknown op %q", op.Op)
		}
	}
	stats, err := s.putAll(ctx, puts)
	if err != nil {
		return stats, err
	}
	ds, err := s.deactivate(ctx, district, importID, now, offs)
	stats.Add(ds)
	return stats, err
}

// deactivate marks the records of offs inactive: it reads them (consistent BatchGetItem, 100
// keys a request) and puts each back with only its active flag, import id and write time
// changed, in full batches of 25. One UpdateItem a record cost a request each; under the
// district lock no other import writes the district's roster between the read and the put.
// Updates counts the deactivations asked for, Batches and FullBatches the writes.
func (s *Store) deactivate(ctx context.Context, district, importID, now string, offs []pthv.Op) (pthv.WriteStats, error) {
	if len(offs) == 0 {
		return pthv.WriteStats{}, nil
	}
	var chunks [][]pthv.Op
	for rest := offs; len(rest) > 0; {
		n := min(maxBatchGet, len(rest))
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	var mu sync.Mutex
	var found []map[string]types.AttributeValue
	err := parallel(ctx, s.workers(), len(chunks), func(ctx context.Context, i int) error {
		keys := make([]map[string]types.AttributeValue, len(chunks[i]))
		for k, op := range chunks[i] {
			keys[k] = key(RecordPK(district, op.Kind, Shard(op.ID)), op.ID)
		}
		items, err := s.batchGet(ctx, keys, "", true)
		if err != nil {
			return fmt.Errorf("deactivate: %w", err)
		}
		for _, it := range items {
			it["a"] = &types.AttributeValueMemberBOOL{Value: false}
			it["iid"], it["ua"] = str(importID), str(now)
		}
		mu.Lock()
		found = append(found, items...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return pthv.WriteStats{}, err
	}
	ws, err := s.putAll(ctx, found)
	ws.Items, ws.Updates = 0, len(offs)
	return ws, err
}

// writeBatch writes up to 25 items, retrying unprocessed ones with backoff.
func (s *Store) writeBatch(ctx context.Context, items []map[string]types.AttributeValue) (pthv.WriteStats, error) {
	var ws pthv.WriteStats
	reqs := make([]types.WriteRequest, len(items))
	for i, it := range items {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
	}
	ws.Items = len(items)
	if len(items) == maxBatch {
		ws.FullBatches++
	}
	err := s.writeRequests(ctx, reqs, &ws)
	return ws, err
}

// writeRequests runs up to 25 write requests, retrying unprocessed ones with backoff.
func (s *Store) writeRequests(ctx context.Context, reqs []types.WriteRequest, ws *pthv.WriteStats) error {
	backoff, maxBackoff := s.RetryBase, s.RetryMax
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Second
	}
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt > 0 {
			ws.Retries++
			if attempt > 12 {
				return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(reqs), attempt)
			}
			sleep := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
			select {
			case <-time.After(sleep):
			case <-ctx.Done():
				return ctx.Err()
			}
			backoff = min(2*backoff, maxBackoff)
		}
		ws.Batches++
		out, err := s.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.Table: reqs}})
		if err != nil {
			var thr *types.ProvisionedThroughputExceededException
			if errors.As(err, &thr) {
				continue
			}
			return fmt.Errorf("batch write: %w", err)
		}
		reqs = out.UnprocessedItems[s.Table]
	}
	return nil
}

// putAll writes items in full batches on the store's workers.
func (s *Store) putAll(ctx context.Context, items []map[string]types.AttributeValue) (pthv.WriteStats, error) {
	var batches [][]map[string]types.AttributeValue
	for len(items) > 0 {
		n := min(maxBatch, len(items))
		batches = append(batches, items[:n])
		items = items[n:]
	}
	var (
		mu    sync.Mutex
		stats pthv.WriteStats
	)
	err := parallel(ctx, s.workers(), len(batches), func(ctx context.Context, i int) error {
		ws, err := s.writeBatch(ctx, batches[i])
		mu.Lock()
		stats.Add(ws)
		mu.Unlock()
		return err
	})
	return stats, err
}

// GetRecord reads one roster record: its JSON, and whether it is active.
func (s *Store) GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(RecordPK(district, kind, Shard(id)), id)})
	if err != nil {
		return nil, false, err
	}
	if out.Item == nil {
		return nil, false, fmt.Errorf("%s %s: %w", kind, id, pthv.ErrNotFound)
	}
	active := false
	if b, ok := out.Item["a"].(*types.AttributeValueMemberBOOL); ok {
		active = b.Value
	}
	return json.RawMessage(getS(out.Item, "j")), active, nil
}
