package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
)

// CreateDistrict registers a new district: a conditional put, so an id that is registered
// already fails with importer.ErrConflict and the existing district is left as it is.
func (s *Store) CreateDistrict(ctx context.Context, d importer.District) error {
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = importer.DefaultHoldShare
	}
	b, _ := json.Marshal(d)
	item := key("DISTRICTS", d.ID)
	item["j"] = str(string(b))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return fmt.Errorf("district %s is registered already: %w", d.ID, importer.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create district %s: %w", d.ID, err)
	}
	return nil
}

// SchoolYears returns the school years (1 July – 30 June, "2026-2027") of the district's
// active schoolYear sessions, sorted: the years its roster describes. It reads the 32
// academicSession partitions (a few items each).
func (s *Store) SchoolYears(ctx context.Context, district string) ([]string, error) {
	var out []string
	for sh := range Shards {
		p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(RecordPK(district, roster.KindAcademicSession, sh))}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("school years of %s: %w", district, err)
			}
			for _, it := range page.Items {
				if b, ok := it["a"].(*types.AttributeValueMemberBOOL); !ok || !b.Value {
					continue
				}
				var as roster.AcademicSession
				if json.Unmarshal([]byte(getS(it, "j")), &as) == nil && as.Type == "schoolYear" {
					if t, err := time.Parse(time.DateOnly, as.StartDate); err == nil {
						out = append(out, training.SchoolYear(t))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
