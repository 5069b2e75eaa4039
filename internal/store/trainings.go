package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
)

// LoadTrainings implements importer.Trainings.
func (s *Store) LoadTrainings(ctx context.Context, district string) (map[string]string, error) {
	out := map[string]string{}
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ProjectionExpression:      aws.String("sk, h"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pthv.ItemKey("T", district))}})
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

// PutTrainings implements importer.Trainings.
func (s *Store) PutTrainings(ctx context.Context, district, importID string, recs []pthv.TrainingWrite) (pthv.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	items := make([]map[string]types.AttributeValue, 0, len(recs))
	for _, r := range recs {
		it := key(pthv.ItemKey("T", district), r.Key)
		it["h"], it["e"], it["yr"], it["j"], it["iid"], it["ua"] = str(r.Hash), str(r.Educator), str(r.SchoolYear), str(string(r.Data)), str(importID), str(now)
		items = append(items, it)
	}
	return s.putAll(ctx, items)
}
