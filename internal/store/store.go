// Package store keeps PTHV Reach's data in one DynamoDB table with string keys pk and sk.
// It implements the store roles its consumers declare (internal/importer, internal/cohortsvc,
// internal/reachsvc, internal/api) and translates DynamoDB's errors into pthv's codes: a
// missing item is pthv.ErrNotFound, a lost condition pthv.ErrConflict.
//
// Files by what they keep: districts.go (districts, watermarks, snapshots, the district
// lock), roster.go (loading and applying roster records), imports.go (object claims, import
// records, run claims, status transitions), trainings.go (trainings and opt-ins), visits.go,
// cohorts.go (a school's roster, users, consent, cohorts), reach.go (what reach reads and the
// aggregates it writes); store.go holds the keys and helpers they share. storetest is the
// contract every implementation passes, memstore the in-memory implementation.
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
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/pthv/reach/internal/pthv"
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

// Store is the DynamoDB store: it implements the role interfaces internal/importer,
// internal/cohortsvc and internal/reachsvc declare, and translates DynamoDB failures into
// pthv error codes (a lost condition is pthv.ErrConflict, a missing item pthv.ErrNotFound).
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
	return pthv.ItemKey("R", district, kindCode[kind], fmt.Sprintf("%02d", shard))
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

// parallel runs fn for 0..n-1 on up to workers goroutines and returns the first error; after
// one fails the others see their context cancelled and no further index starts. It returns
// ctx's error when ctx ends before the work does.
func parallel(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
