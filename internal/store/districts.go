package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pthv/reach/internal/importer"
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
