package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// District implements pthv.Districts.
func (s *Store) District(ctx context.Context, id string) (*pthv.District, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key("DISTRICTS", id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get district %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("district %s: %w", id, pthv.ErrNotFound)
	}
	var d pthv.District
	if err := json.Unmarshal([]byte(getS(out.Item, "j")), &d); err != nil {
		return nil, fmt.Errorf("district %s: %w", id, err)
	}
	return &d, nil
}

// PutDistrict registers a district, or updates its name, state and hold share. The
// watermark and the roster's bookkeeping (snapshot, dirty flag) are kept; a new district
// is registered as known empty (pthv.EmptySnapshot).
func (s *Store) PutDistrict(ctx context.Context, d pthv.District) error {
	if old, err := s.District(ctx, d.ID); err == nil {
		d.Watermark, d.Created, d.Snapshot, d.Dirty = old.Watermark, old.Created, old.Snapshot, old.Dirty
	} else if errors.Is(err, pthv.ErrNotFound) {
		d.Snapshot, d.Dirty = pthv.EmptySnapshot, false
	} else {
		return err
	}
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = pthv.DefaultHoldShare
	}
	return s.putDistrict(ctx, d)
}

func (s *Store) putDistrict(ctx context.Context, d pthv.District) error {
	b, _ := json.Marshal(d)
	item := key("DISTRICTS", d.ID)
	item["j"] = str(string(b))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item}); err != nil {
		return fmt.Errorf("put district %s: %w", d.ID, err)
	}
	return nil
}

// ListDistricts returns every registered district.
func (s *Store) ListDistricts(ctx context.Context) ([]pthv.District, error) {
	var out []pthv.District
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("DISTRICTS")}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list districts: %w", err)
		}
		for _, it := range page.Items {
			var d pthv.District
			if err := json.Unmarshal([]byte(getS(it, "j")), &d); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// SetWatermark implements pthv.Districts.
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

// SetSnapshot implements pthv.Districts.
func (s *Store) SetSnapshot(ctx context.Context, id, key string, dirty bool) error {
	d, err := s.District(ctx, id)
	if err != nil {
		return err
	}
	d.Snapshot, d.Dirty = key, dirty
	return s.putDistrict(ctx, *d)
}

// Lock implements importer.Locks with a conditional put: free, expired, or already ours.
func (s *Store) Lock(ctx context.Context, district, owner string, lease time.Duration) error {
	now := s.now()
	item := key(pthv.ItemKey("LOCK", district), "LOCK")
	item["owner"] = str(owner)
	item["until"] = num(now.Add(lease).UnixMilli())
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #u < :now OR #o = :owner"),
		ExpressionAttributeNames:  map[string]string{"#u": "until", "#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":owner": str(owner)}})
	if isConditionFailed(err) {
		return fmt.Errorf("district %s is locked: %w", district, pthv.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("lock district %s: %w", district, err)
	}
	return nil
}

// Unlock implements importer.Locks.
func (s *Store) Unlock(ctx context.Context, district, owner string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key(pthv.ItemKey("LOCK", district), "LOCK"),
		ConditionExpression:       aws.String("#o = :owner"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)}})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("unlock district %s: %w", district, err)
	}
	return nil
}

// CreateDistrict registers a new district, known empty (pthv.EmptySnapshot): a conditional
// put, so an id that is registered already with other settings fails with pthv.ErrConflict
// and the existing district is left as it is. The same registration again (name, state and
// hold share as on file) succeeds and changes nothing: it is also what the SDK sees when it
// retries a put that succeeded (a response lost or garbled on the way back), whose retry
// meets its own write.
func (s *Store) CreateDistrict(ctx context.Context, d pthv.District) error {
	d.Snapshot, d.Dirty = pthv.EmptySnapshot, false
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = pthv.DefaultHoldShare
	}
	b, _ := json.Marshal(d)
	item := key("DISTRICTS", d.ID)
	item["j"] = str(string(b))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		if old, gerr := s.District(ctx, d.ID); gerr == nil && old.SameRegistration(d) {
			return nil
		}
		return fmt.Errorf("district %s is registered already: %w", d.ID, pthv.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create district %s: %w", d.ID, err)
	}
	return nil
}

// SessionYears implements cohortsvc.Store: the school years (1 July – 30 June, "2026-2027")
// of the active academic sessions among ids, by their start dates, sorted. It reads the
// sessions by key (a school's class terms: a few GetItems), never a whole partition.
func (s *Store) SessionYears(ctx context.Context, district string, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		raw, active, err := s.GetRecord(ctx, district, roster.KindAcademicSession, id)
		if errors.Is(err, pthv.ErrNotFound) || (err == nil && !active) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("school years of %s: %w", district, err)
		}
		var as roster.AcademicSession
		if json.Unmarshal(raw, &as) == nil {
			if t, err := time.Parse(time.DateOnly, as.StartDate); err == nil {
				out = append(out, pthv.SchoolYearOf(t).String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
