package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
)

// SIS connections and sync runs:
//
//	item             pk                                  sk                          access pattern
//	SIS connection   SISCONN                             {districtId}#{connectionId} get one; list all (a few hundred: one partition) or a district's (begins_with)
//	sync run         SYNC#{districtId}#{connectionId}    {runId}                     a connection's runs newest first (Query, descending); get one
//
// A connection item never holds a secret: only the Secrets Manager name of it.

// PutConnection implements sissync.Store.
func (s *Store) PutConnection(ctx context.Context, c *sis.Connection) error {
	item, _, err := connectionItem(c)
	if err != nil {
		return err
	}
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item}); err != nil {
		return fmt.Errorf("put connection: %w", err)
	}
	return nil
}

func connectionItem(c *sis.Connection) (map[string]types.AttributeValue, string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, "", err
	}
	item := key("SISCONN", pthv.JoinItem(c.District, c.ID))
	item["j"] = str(string(b))
	return item, string(b), nil
}

// CreateConnection stores a new connection: a conditional put, so a connection another
// writer stored meanwhile fails with pthv.ErrConflict and is left as it is. The record on
// file equal to c is no conflict: it is what the SDK's retry of a put that succeeded (its
// response lost) finds.
func (s *Store) CreateConnection(ctx context.Context, c *sis.Connection) error {
	item, j, err := connectionItem(c)
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		out, gerr := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key("SISCONN", pthv.JoinItem(c.District, c.ID)), ConsistentRead: aws.Bool(true)})
		if gerr == nil && out.Item != nil && getS(out.Item, "j") == j {
			return nil
		}
		return fmt.Errorf("connection %s of district %s exists: %w", c.ID, c.District, pthv.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	return nil
}

// Connection implements sissync.Store.
func (s *Store) Connection(ctx context.Context, district, id string) (*sis.Connection, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key("SISCONN", pthv.JoinItem(district, id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("connection %s of district %s: %w", id, district, pthv.ErrNotFound)
	}
	var c sis.Connection
	if err := json.Unmarshal([]byte(getS(out.Item, "j")), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Connections implements sissync.Store.
func (s *Store) Connections(ctx context.Context, district string) ([]*sis.Connection, error) {
	in := &dynamodb.QueryInput{TableName: &s.Table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("SISCONN")}}
	if district != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :d)")
		in.ExpressionAttributeValues[":d"] = str(pthv.JoinPrefix(district))
	}
	var out []*sis.Connection
	p := dynamodb.NewQueryPaginator(s.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		for _, it := range page.Items {
			var c sis.Connection
			if err := json.Unmarshal([]byte(getS(it, "j")), &c); err != nil {
				return nil, err
			}
			out = append(out, &c)
		}
	}
	return out, nil
}

// DeleteConnection implements sissync.Store. The connection's runs stay on record.
func (s *Store) DeleteConnection(ctx context.Context, district, id string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key("SISCONN", pthv.JoinItem(district, id))})
	return err
}

// PutRun implements sissync.Store.
func (s *Store) PutRun(ctx context.Context, r *sis.Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	item := key(pthv.ItemKey("SYNC", r.District, r.Connection), r.ID)
	item["j"] = str(string(b))
	item["st"] = str(r.Status)
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item}); err != nil {
		return fmt.Errorf("put run %s: %w", r.ID, err)
	}
	return nil
}

// Run implements sissync.Store.
func (s *Store) Run(ctx context.Context, district, connection, id string) (*sis.Run, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(pthv.ItemKey("SYNC", district, connection), id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get run: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("run %s: %w", id, pthv.ErrNotFound)
	}
	var r sis.Run
	if err := json.Unmarshal([]byte(getS(out.Item, "j")), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Runs implements sissync.Store.
func (s *Store) Runs(ctx context.Context, district, connection string, limit int) ([]*sis.Run, error) {
	if limit <= 0 {
		limit = 20
	}
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{TableName: &s.Table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pthv.ItemKey("SYNC", district, connection))},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var runs []*sis.Run
	for _, it := range out.Items {
		var r sis.Run
		if err := json.Unmarshal([]byte(getS(it, "j")), &r); err != nil {
			return nil, err
		}
		runs = append(runs, &r)
	}
	return runs, nil
}
