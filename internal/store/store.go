// Package store keeps PTHV Reach's data in one DynamoDB table with string keys pk and sk.
// It translates DynamoDB's errors into the importer's ErrNotFound and ErrConflict.
//
// # Items and access patterns
//
//	item              pk                                   sk               served access pattern
//	district          DISTRICTS                            {districtId}     get a district; list districts (a few hundred: one partition is fine)
//	district lock     LOCK#{districtId}                    LOCK             take/renew/release the district's import lock (conditional writes)
//	roster record     R#{districtId}#{kind}#{shard 00-31}  {sourcedId}      load a district's roster (Query 7 kinds × 32 shards in parallel); write records
//	import            I#{districtId}                       {importId}       list a district's imports newest first (Query, descending); get one
//	object claim      O#{bucket}/{key}                     {versionId|etag} is this object version imported? claim it (conditional put)
//	training          T#{districtId}                       {educator}#{date}#{type}  the district's trainings (Query): hundreds a year, one partition is fine
//	opt-in            OPT#{districtId}#{schoolYear}        {educatorId}     who opted in for a year (Query); set by CSV or CLI
//	consent           C#{districtId}#{schoolYear}          F#{familyId} | S#{studentId}  the year's consent answers (Query); set by CSV or CLI
//	cohort            COH#{districtId}                     {cohortId}       list a district's cohorts (Query); get one
//	cohort member     COHM#{districtId}#{cohortId}         {familyId}       a cohort's families with pairs and consent (Query)
//
// The global secondary index "school" (partition key sch = "{districtId}#{schoolId}", sort key
// sk) holds the roster records that name a school: roles (by org), classes and enrollments.
// A cohort reads one school's roster with one Query of it, then the users it names with
// BatchGetItem, instead of reading the district.
//
// Roster records are spread over 32 shards per kind by a hash of the sourcedId, so that a
// 100,000-student district's 1.3 million records are written to 224 partitions, never one
// (a partition takes at most 1,000 writes a second). Each record item holds its content hash
// (h), its active flag (a), the record as JSON (j), the import that last wrote it (iid) and,
// for roles, the role (r) and user (u) so that the safety check can count students without
// reading the JSON. Records are never deleted: missing from a bulk export means a=false.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/roster"
)

// Shards is the number of partitions each kind of roster record is spread over.
const Shards = 32

// maxBatch is DynamoDB's BatchWriteItem limit.
const maxBatch = 25

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Store is the DynamoDB implementation of importer.Store.
type Store struct {
	DB    API
	Table string
	// Workers is how many requests run at once when loading or writing a roster (default 8).
	Workers int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RetryBase and RetryMax bound the backoff between retries of UnprocessedItems
	// (defaults 50 ms and 5 s); a batch gives up after 12 retries.
	RetryBase, RetryMax time.Duration
}

var _ importer.Store = (*Store)(nil)

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Store) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return 8
}

var kindCode = map[roster.Kind]string{
	roster.KindOrg: "org", roster.KindAcademicSession: "ses", roster.KindCourse: "crs", roster.KindClass: "cls",
	roster.KindUser: "usr", roster.KindRole: "rol", roster.KindEnrollment: "enr",
}

// Shard returns the shard of a sourcedId.
func Shard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % Shards)
}

// RecordPK is the partition key of a roster record.
func RecordPK(district string, kind roster.Kind, shard int) string {
	return fmt.Sprintf("R#%s#%s#%02d", district, kindCode[kind], shard)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// District implements importer.Store.
func (s *Store) District(ctx context.Context, id string) (*importer.District, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key("DISTRICTS", id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get district %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("district %s: %w", id, importer.ErrNotFound)
	}
	var d importer.District
	if err := json.Unmarshal([]byte(getS(out.Item, "j")), &d); err != nil {
		return nil, fmt.Errorf("district %s: %w", id, err)
	}
	return &d, nil
}

// PutDistrict registers a district, or updates its name, state and hold share. The
// watermark is kept.
func (s *Store) PutDistrict(ctx context.Context, d importer.District) error {
	if old, err := s.District(ctx, d.ID); err == nil {
		d.Watermark, d.Created = old.Watermark, old.Created
	} else if !errors.Is(err, importer.ErrNotFound) {
		return err
	}
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = importer.DefaultHoldShare
	}
	return s.putDistrict(ctx, d)
}

func (s *Store) putDistrict(ctx context.Context, d importer.District) error {
	b, _ := json.Marshal(d)
	item := key("DISTRICTS", d.ID)
	item["j"] = str(string(b))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item}); err != nil {
		return fmt.Errorf("put district %s: %w", d.ID, err)
	}
	return nil
}

// ListDistricts returns every registered district.
func (s *Store) ListDistricts(ctx context.Context) ([]importer.District, error) {
	var out []importer.District
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("DISTRICTS")}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list districts: %w", err)
		}
		for _, it := range page.Items {
			var d importer.District
			if err := json.Unmarshal([]byte(getS(it, "j")), &d); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// SetWatermark implements importer.Store.
func (s *Store) SetWatermark(ctx context.Context, id string, t time.Time) error {
	d, err := s.District(ctx, id)
	if err != nil {
		return err
	}
	if !t.After(d.Watermark) {
		return nil
	}
	d.Watermark = t
	return s.putDistrict(ctx, *d)
}

// SetSnapshot implements importer.Store.
func (s *Store) SetSnapshot(ctx context.Context, id, key string, dirty bool) error {
	d, err := s.District(ctx, id)
	if err != nil {
		return err
	}
	d.Snapshot, d.Dirty = key, dirty
	return s.putDistrict(ctx, *d)
}

// LoadState implements importer.Store: 7 kinds × 32 shards queried in parallel, reading only
// the key, hash, active flag and role fields.
func (s *Store) LoadState(ctx context.Context, district string) (importer.State, error) {
	type job struct {
		kind  roster.Kind
		shard int
	}
	jobs := make(chan job)
	var mu sync.Mutex
	state := importer.State{}
	for _, k := range roster.Kinds {
		state[k] = map[string]importer.Current{}
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
						m[getS(it, "sk")] = importer.Current{Hash: getS(it, "h"), Active: active, Role: getS(it, "r"), User: getS(it, "u")}
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

// Apply implements importer.Store. Puts go in full batches of 25 through BatchWriteItem, with
// UnprocessedItems retried after exponential backoff with jitter; deactivations are
// conditional UpdateItem calls (the record must exist) so that nothing but the flag changes.
func (s *Store) Apply(ctx context.Context, district, importID string, ops []importer.Op) (importer.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	var puts []map[string]types.AttributeValue
	var offs []importer.Op
	for _, op := range ops {
		switch op.Op {
		case importer.OpPut:
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
			puts = append(puts, it)
		case importer.OpDeactivate:
			offs = append(offs, op)
		default:
			return importer.WriteStats{}, fmt.Errorf("unknown op %q", op.Op)
		}
	}
	stats, err := s.putAll(ctx, puts)
	if err != nil {
		return stats, err
	}
	var mu sync.Mutex
	err = parallel(ctx, s.workers(), len(offs), func(ctx context.Context, i int) error {
		op := offs[i]
		_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table,
			Key:                       key(RecordPK(district, op.Kind, Shard(op.ID)), op.ID),
			UpdateExpression:          aws.String("SET a = :f, iid = :iid, ua = :ua"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}, ":iid": str(importID), ":ua": str(now)}})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("deactivate %s %s: %w", op.Kind, op.ID, err)
		}
		mu.Lock()
		stats.Updates++
		mu.Unlock()
		return nil
	})
	return stats, err
}

// writeBatch writes up to 25 items, retrying unprocessed ones with backoff.
func (s *Store) writeBatch(ctx context.Context, items []map[string]types.AttributeValue) (importer.WriteStats, error) {
	var ws importer.WriteStats
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
func (s *Store) writeRequests(ctx context.Context, reqs []types.WriteRequest, ws *importer.WriteStats) error {
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

// parallel runs fn for 0..n-1 on up to workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// GetRecord reads one roster record: its JSON, and whether it is active.
func (s *Store) GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(RecordPK(district, kind, Shard(id)), id)})
	if err != nil {
		return nil, false, err
	}
	if out.Item == nil {
		return nil, false, fmt.Errorf("%s %s: %w", kind, id, importer.ErrNotFound)
	}
	active := false
	if b, ok := out.Item["a"].(*types.AttributeValueMemberBOOL); ok {
		active = b.Value
	}
	return json.RawMessage(getS(out.Item, "j")), active, nil
}

// LoadTrainings implements importer.Store.
func (s *Store) LoadTrainings(ctx context.Context, district string) (map[string]string, error) {
	out := map[string]string{}
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ProjectionExpression:      aws.String("sk, h"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("T#" + district)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("load trainings of %s: %w", district, err)
		}
		for _, it := range page.Items {
			out[getS(it, "sk")] = getS(it, "h")
		}
	}
	return out, nil
}

// PutTrainings implements importer.Store.
func (s *Store) PutTrainings(ctx context.Context, district, importID string, recs []importer.TrainingWrite) (importer.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	items := make([]map[string]types.AttributeValue, 0, len(recs))
	for _, r := range recs {
		it := key("T#"+district, r.Key)
		it["h"], it["e"], it["yr"], it["j"], it["iid"], it["ua"] = str(r.Hash), str(r.Educator), str(r.SchoolYear), str(string(r.Data)), str(importID), str(now)
		items = append(items, it)
	}
	return s.putAll(ctx, items)
}

// putAll writes items in full batches on the store's workers.
func (s *Store) putAll(ctx context.Context, items []map[string]types.AttributeValue) (importer.WriteStats, error) {
	var batches [][]map[string]types.AttributeValue
	for len(items) > 0 {
		n := min(maxBatch, len(items))
		batches = append(batches, items[:n])
		items = items[n:]
	}
	var (
		mu    sync.Mutex
		stats importer.WriteStats
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

// ClaimObject implements importer.Store.
func (s *Store) ClaimObject(ctx context.Context, obj importer.Object, importID string) error {
	pk, sk := objectKey(obj)
	item := key(pk, sk)
	item["iid"] = str(importID)
	item["at"] = str(s.now().Format(time.RFC3339))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return fmt.Errorf("object %s: %w", obj.Identity(), importer.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("claim object: %w", err)
	}
	return nil
}

// ObjectClaim implements importer.Store.
func (s *Store) ObjectClaim(ctx context.Context, obj importer.Object) (string, error) {
	pk, sk := objectKey(obj)
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("get object claim: %w", err)
	}
	if out.Item == nil {
		return "", importer.ErrNotFound
	}
	return getS(out.Item, "iid"), nil
}

func objectKey(obj importer.Object) (string, string) {
	v := obj.VersionID
	if v == "" || v == "null" {
		v = "etag:" + obj.ETag
	}
	return "O#" + obj.Bucket + "/" + obj.Key, v
}

// PutImport implements importer.Store. The record is kept as JSON plus the status, so that
// status transitions can be conditional.
func (s *Store) PutImport(ctx context.Context, imp *importer.Import) error {
	b, err := json.Marshal(imp)
	if err != nil {
		return err
	}
	item := key("I#"+imp.District, imp.ID)
	item["j"] = str(string(b))
	item["st"] = str(string(imp.Status))
	item["runs"] = num(int64(imp.Runs))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item}); err != nil {
		return fmt.Errorf("put import %s: %w", imp.ID, err)
	}
	return nil
}

// ClaimRun implements importer.Store with a conditional increment of the run count.
func (s *Store) ClaimRun(ctx context.Context, district, id string, runs int) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key("I#"+district, id),
		UpdateExpression:          aws.String("SET #r = :next"),
		ConditionExpression:       aws.String("#r = :runs"),
		ExpressionAttributeNames:  map[string]string{"#r": "runs"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":runs": num(int64(runs)), ":next": num(int64(runs + 1))}})
	if isConditionFailed(err) {
		return fmt.Errorf("run %d of import %s: %w", runs+1, id, importer.ErrConflict)
	}
	return err
}

// GetImport implements importer.Store.
func (s *Store) GetImport(ctx context.Context, district, id string) (*importer.Import, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key("I#"+district, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get import %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("import %s of district %s: %w", id, district, importer.ErrNotFound)
	}
	return decodeImport(out.Item)
}

func decodeImport(item map[string]types.AttributeValue) (*importer.Import, error) {
	var imp importer.Import
	if err := json.Unmarshal([]byte(getS(item, "j")), &imp); err != nil {
		return nil, err
	}
	imp.Status = importer.Status(getS(item, "st"))
	return &imp, nil
}

// ListImports implements importer.Store.
func (s *Store) ListImports(ctx context.Context, district string, limit int) ([]*importer.Import, error) {
	if limit <= 0 {
		limit = 20
	}
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("I#" + district)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	var imps []*importer.Import
	for _, it := range out.Items {
		imp, err := decodeImport(it)
		if err != nil {
			return nil, err
		}
		imps = append(imps, imp)
	}
	return imps, nil
}

// TransitionImport implements importer.Store.
func (s *Store) TransitionImport(ctx context.Context, district, id string, from, to importer.Status) error {
	imp, err := s.GetImport(ctx, district, id)
	if err != nil {
		return err
	}
	if imp.Status != from {
		return fmt.Errorf("import %s is %s, not %s: %w", id, imp.Status, from, importer.ErrConflict)
	}
	imp.Status = to
	b, _ := json.Marshal(imp)
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key("I#"+district, id),
		UpdateExpression:          aws.String("SET st = :to, j = :j"),
		ConditionExpression:       aws.String("st = :from"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":to": str(string(to)), ":from": str(string(from)), ":j": str(string(b))}})
	if isConditionFailed(err) {
		return fmt.Errorf("import %s changed meanwhile: %w", id, importer.ErrConflict)
	}
	return err
}

// Lock implements importer.Store with a conditional put: free, expired, or already ours.
func (s *Store) Lock(ctx context.Context, district, owner string, lease time.Duration) error {
	now := s.now()
	item := key("LOCK#"+district, "LOCK")
	item["owner"] = str(owner)
	item["until"] = num(now.Add(lease).UnixMilli())
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #u < :now OR #o = :owner"),
		ExpressionAttributeNames:  map[string]string{"#u": "until", "#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":owner": str(owner)}})
	if isConditionFailed(err) {
		return fmt.Errorf("district %s is locked: %w", district, importer.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("lock district %s: %w", district, err)
	}
	return nil
}

// Unlock implements importer.Store.
func (s *Store) Unlock(ctx context.Context, district, owner string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key("LOCK#"+district, "LOCK"),
		ConditionExpression:       aws.String("#o = :owner"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)}})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("unlock district %s: %w", district, err)
	}
	return nil
}
