package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// SchoolAttr is the attribute the school index is keyed on.
const SchoolAttr = deploy.SchoolIndexKey

// SchoolKey is the school index's partition key of a school.
func SchoolKey(district, school string) string { return pthv.JoinItem(district, school) }

// maxBatchGet is DynamoDB's BatchGetItem limit.
const maxBatchGet = 100

// SchoolRoster implements cohortsvc.Store: one paginated Query of the school index, active
// records only.
func (s *Store) SchoolRoster(ctx context.Context, district, school string) (*pthv.SchoolRoster, error) {
	out := &pthv.SchoolRoster{}
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table, IndexName: aws.String(deploy.SchoolIndex),
		KeyConditionExpression:    aws.String("#s = :s"),
		FilterExpression:          aws.String("a = :t"),
		ProjectionExpression:      aws.String("pk, j"),
		ExpressionAttributeNames:  map[string]string{"#s": SchoolAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(SchoolKey(district, school)), ":t": &types.AttributeValueMemberBOOL{Value: true}}})
	prefix := pthv.ItemPrefix("R", district)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the roster of school %s: %w", school, err)
		}
		for _, it := range page.Items {
			pk, j := getS(it, "pk"), []byte(getS(it, "j"))
			code, _, _ := strings.Cut(strings.TrimPrefix(pk, prefix), "#")
			var err error
			switch code {
			case kindCode[roster.KindRole]:
				var r roster.Role
				err = json.Unmarshal(j, &r)
				out.Roles = append(out.Roles, r)
			case kindCode[roster.KindClass]:
				var c roster.Class
				err = json.Unmarshal(j, &c)
				out.Classes = append(out.Classes, c)
			case kindCode[roster.KindEnrollment]:
				var e roster.Enrollment
				err = json.Unmarshal(j, &e)
				out.Enrollments = append(out.Enrollments, e)
			}
			if err != nil {
				return nil, fmt.Errorf("read the roster of school %s: item %s: %w", school, pk, err)
			}
		}
	}
	return out, nil
}

// Users implements cohortsvc.Store with BatchGetItem, 100 keys a request, retrying
// UnprocessedKeys with backoff.
func (s *Store) Users(ctx context.Context, district string, ids []string) (map[string]*roster.User, error) {
	out := make(map[string]*roster.User, len(ids))
	var batches [][]string
	for len(ids) > 0 {
		n := min(maxBatchGet, len(ids))
		batches = append(batches, ids[:n])
		ids = ids[n:]
	}
	var mu sync.Mutex
	err := parallel(ctx, s.workers(), len(batches), func(ctx context.Context, i int) error {
		keys := make([]map[string]types.AttributeValue, len(batches[i]))
		for k, id := range batches[i] {
			keys[k] = key(RecordPK(district, roster.KindUser, Shard(id)), id)
		}
		items, err := s.batchGet(ctx, keys, "sk, a, j", false)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			if b, ok := it["a"].(*types.AttributeValueMemberBOOL); !ok || !b.Value {
				continue
			}
			u := &roster.User{}
			if err := json.Unmarshal([]byte(getS(it, "j")), u); err != nil {
				return fmt.Errorf("user %s: %w", getS(it, "sk"), err)
			}
			out[u.SourcedID] = u
		}
		return nil
	})
	return out, err
}

// batchGet reads up to 100 items by key (the attributes of projection, every attribute when
// it is empty), retrying UnprocessedKeys with backoff; keys with no item are left out.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, projection string, consistent bool) ([]map[string]types.AttributeValue, error) {
	ka := types.KeysAndAttributes{ConsistentRead: aws.Bool(consistent)}
	if projection != "" {
		ka.ProjectionExpression = aws.String(projection)
	}
	var items []map[string]types.AttributeValue
	backoff := 50 * time.Millisecond
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 12 {
				return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(keys), attempt)
			}
			select {
			case <-time.After(backoff/2 + time.Duration(rand.Int64N(int64(backoff)))):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		ka.Keys = keys
		out, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{s.Table: ka}})
		if err != nil {
			var thr *types.ProvisionedThroughputExceededException
			if errors.As(err, &thr) {
				continue
			}
			return nil, fmt.Errorf("batch get: %w", err)
		}
		items = append(items, out.Responses[s.Table]...)
		keys = out.UnprocessedKeys[s.Table].Keys
	}
	return items, nil
}

func consentPK(district, year string) string { return pthv.ItemKey("C", district, year) }

// Consent implements cohortsvc.Store.
func (s *Store) Consent(ctx context.Context, district, year string) (map[string]pthv.ConsentEntry, error) {
	out := map[string]pthv.ConsentEntry{}
	err := s.query(ctx, consentPK(district, year), func(it map[string]types.AttributeValue) error {
		e := pthv.ConsentEntry{Year: year, Subject: getS(it, "sk"), Consent: getS(it, "c"), Date: getS(it, "dt"), Source: getS(it, "src")}
		e.At, _ = time.Parse(time.RFC3339Nano, getS(it, "at"))
		out[e.Subject] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load consent: %w", err)
	}
	return out, nil
}

// SetConsent records answers; for one subject and year the last entry of the call wins.
// "unknown" is stored too: it withdraws an earlier answer (newest wins).
func (s *Store) SetConsent(ctx context.Context, district string, entries []pthv.ConsentEntry) error {
	last := map[string]pthv.ConsentEntry{}
	for _, e := range entries {
		last[e.Year+"/"+e.Subject] = e
	}
	items := make([]map[string]types.AttributeValue, 0, len(last))
	for _, e := range last {
		it := key(consentPK(district, e.Year), e.Subject)
		at := e.At
		if at.IsZero() {
			at = s.now()
		}
		it["c"], it["dt"], it["src"], it["at"] = str(e.Consent), str(e.Date), str(e.Source), str(at.UTC().Format(time.RFC3339Nano))
		items = append(items, it)
	}
	_, err := s.putAll(ctx, items)
	return err
}

func cohortPK(district string) string { return pthv.ItemKey("COH", district) }
func membersPK(district, id, set string) string {
	return pthv.ItemKey("COHM", district, id, set)
}

// PutCohort implements cohortsvc.Store. Each revision's members go to a partition of their
// own (named by the revision and a random token, recorded as rec.MembersSet), then the
// cohort item is written conditionally on the revision it replaces. Two writers of one
// revision cannot mix their members: the loser's set is orphaned and the winner's item
// points at the winner's set. Earlier revisions' members stay, as the cohort's history.
func (s *Store) PutCohort(ctx context.Context, rec *cohort.Record, members []cohort.MemberItem) error {
	now := s.now().Format(time.RFC3339)
	token := make([]byte, 4)
	for i := range token {
		token[i] = byte(rand.IntN(256))
	}
	rec.MembersSet = fmt.Sprintf("r%d-%x", rec.Revision, token)
	items := make([]map[string]types.AttributeValue, 0, len(members))
	for _, m := range members {
		j, err := json.Marshal(m)
		if err != nil {
			return err
		}
		it := key(membersPK(rec.District, rec.ID, rec.MembersSet), m.FamilyID)
		it["j"], it["ua"] = str(string(j)), str(now)
		items = append(items, it)
	}
	if _, err := s.putAll(ctx, items); err != nil {
		return fmt.Errorf("store cohort members: %w", err)
	}
	j, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	it := key(cohortPK(rec.District), rec.ID)
	it["j"], it["rev"], it["sch"], it["yr"], it["ua"] = str(string(j)), num(int64(rec.Revision)), str(rec.School), str(rec.Year), str(now)
	in := &dynamodb.PutItemInput{TableName: &s.Table, Item: it}
	if rec.Revision > 1 {
		in.ConditionExpression = aws.String("rev = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": num(int64(rec.Revision - 1))}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	if _, err := s.DB.PutItem(ctx, in); isConditionFailed(err) {
		// The SDK retries a put whose response was lost or garbled; a retry of a put that
		// succeeded meets its own write, which carries this write's members set (named with
		// a random token): that is no conflict.
		if on, gerr := s.GetCohort(ctx, rec.District, rec.ID); gerr == nil && on.Revision == rec.Revision && on.MembersSet == rec.MembersSet {
			return nil
		}
		return fmt.Errorf("cohort %s revision %d: %w", rec.ID, rec.Revision, pthv.ErrConflict)
	} else if err != nil {
		return fmt.Errorf("store cohort: %w", err)
	}
	return nil
}

// GetCohort implements cohortsvc.Store.
func (s *Store) GetCohort(ctx context.Context, district, id string) (*cohort.Record, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(cohortPK(district), id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, fmt.Errorf("cohort %s: %w", id, pthv.ErrNotFound)
	}
	rec := &cohort.Record{}
	return rec, json.Unmarshal([]byte(getS(out.Item, "j")), rec)
}

// Members implements cohortsvc.Store; members come back in stratum, then random order.
func (s *Store) Members(ctx context.Context, district, id string) ([]cohort.MemberItem, error) {
	rec, err := s.GetCohort(ctx, district, id)
	if err != nil {
		return nil, err
	}
	var out []cohort.MemberItem
	err = s.query(ctx, membersPK(district, id, rec.MembersSet), func(it map[string]types.AttributeValue) error {
		var m cohort.MemberItem
		if err := json.Unmarshal([]byte(getS(it, "j")), &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cohort members: %w", err)
	}
	cohort.SortMembers(out)
	return out, nil
}

// ListCohorts implements cohortsvc.Store.
func (s *Store) ListCohorts(ctx context.Context, district string) ([]*cohort.Record, error) {
	var out []*cohort.Record
	err := s.query(ctx, cohortPK(district), func(it map[string]types.AttributeValue) error {
		rec := &cohort.Record{}
		if err := json.Unmarshal([]byte(getS(it, "j")), rec); err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cohorts: %w", err)
	}
	return out, nil
}

// query runs fn on every item of a partition.
func (s *Store) query(ctx context.Context, pk string, fn func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}
