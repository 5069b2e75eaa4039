package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/pthv"
)

// Aggregates are items of their own, one per district, state and the nation per school year
// (pk AGG#{year}, sk D#{district} | ST#{state} | NATIONAL), recomputed from records and
// written only when their content changes: never a counter that imports update.
func aggPK(year string) string { return pthv.ItemKey("AGG", year) }

// VisitsOf returns the district's visits dated in a school year, and how many items the
// Query read (the district's visits of every year: the year is a filter).
func (s *Store) VisitsOf(ctx context.Context, district, year string) ([]pthv.StoredVisit, int, error) {
	var out []pthv.StoredVisit
	read := 0
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		FilterExpression:          aws.String("yr = :y"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(visitPK(district)), ":y": str(year)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("load visits of %s: %w", district, err)
		}
		read += int(page.ScannedCount)
		for _, it := range page.Items {
			var v pthv.StoredVisit
			if err := json.Unmarshal([]byte(getS(it, "j")), &v); err != nil {
				return nil, 0, fmt.Errorf("visit %s: %w", getS(it, "sk"), err)
			}
			out = append(out, v)
		}
	}
	return out, read, nil
}

// SchoolStudents counts a school's active students through the school index.
func (s *Store) SchoolStudents(ctx context.Context, district, school string) (int, error) {
	n := 0
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table, IndexName: aws.String(deploy.SchoolIndex),
		KeyConditionExpression:    aws.String("#s = :s"),
		FilterExpression:          aws.String("a = :t AND r = :student"),
		Select:                    types.SelectCount,
		ExpressionAttributeNames:  map[string]string{"#s": SchoolAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(SchoolKey(district, school)), ":t": &types.AttributeValueMemberBOOL{Value: true}, ":student": str("student")}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("count the students of %s: %w", school, err)
		}
		n += int(page.Count)
	}
	return n, nil
}

// PutAggregate writes the aggregate item name of a year unless it holds the same content
// already; it reports whether it wrote. A retry by the SDK of a write that succeeded (its
// answer lost) meets the same content, and is reported written: the caller publishes what
// changed on a write, so a lost answer must not hide the change.
func (s *Store) PutAggregate(ctx context.Context, year, name string, data []byte) (bool, error) {
	h := pthv.Hash(data)
	it := key(aggPK(year), name)
	token := writeToken()
	it["h"], it["j"], it["ua"], it[tokenAttr] = str(h), str(string(data)), str(s.now().Format(time.RFC3339)), str(token)
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR h <> :h"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(h)}})
	if isConditionFailed(err) {
		return s.ownWrite(ctx, key(aggPK(year), name), token), nil
	}
	if err != nil {
		return false, fmt.Errorf("store aggregate %s of %s: %w", name, year, err)
	}
	return true, nil
}

// Aggregates returns a year's aggregate items whose name starts with prefix, by name (one
// Query: the key condition selects the prefix).
func (s *Store) Aggregates(ctx context.Context, year, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	in := &dynamodb.QueryInput{TableName: &s.Table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(aggPK(year))}}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :p)")
		in.ExpressionAttributeValues[":p"] = str(prefix)
	}
	p := dynamodb.NewQueryPaginator(s.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("load aggregates of %s: %w", year, err)
		}
		for _, it := range page.Items {
			out[getS(it, "sk")] = []byte(getS(it, "j"))
		}
	}
	return out, nil
}
