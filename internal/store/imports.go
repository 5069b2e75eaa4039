package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
)

// ClaimObject implements importer.Claims: a conditional put, so an object claimed by another
// import fails with pthv.ErrConflict. A claim by the same import again succeeds: it is also
// what the SDK's retry of a claim that succeeded (its response lost) finds.
func (s *Store) ClaimObject(ctx context.Context, obj pthv.Object, importID string) error {
	pk, sk := objectKey(obj)
	item := key(pk, sk)
	item["iid"] = str(importID)
	item["at"] = str(s.now().Format(time.RFC3339))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		if owner, gerr := s.ObjectClaim(ctx, obj); gerr == nil && owner == importID {
			return nil
		}
		return fmt.Errorf("object %s: %w", obj.Identity(), pthv.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("claim object: %w", err)
	}
	return nil
}

// ObjectClaim implements importer.Claims.
func (s *Store) ObjectClaim(ctx context.Context, obj pthv.Object) (string, error) {
	pk, sk := objectKey(obj)
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("get object claim: %w", err)
	}
	if out.Item == nil {
		return "", pthv.ErrNotFound
	}
	return getS(out.Item, "iid"), nil
}

func objectKey(obj pthv.Object) (string, string) {
	v := obj.VersionID
	if v == "" || v == "null" {
		v = "etag:" + obj.ETag
	}
	return "O#" + obj.Bucket + "/" + obj.Key, v //pthv:own-key (S3's own name of the object, verbatim: its claim)
}

// PutImport implements importer.Imports. The record is kept as JSON plus the status, so that
// status transitions can be conditional.
func (s *Store) PutImport(ctx context.Context, imp *pthv.Import) error {
	b, err := json.Marshal(imp)
	if err != nil {
		return err
	}
	item := key(pthv.ItemKey("I", imp.District), imp.ID)
	item["j"] = str(string(b))
	item["st"] = str(string(imp.Status))
	item["runs"] = num(int64(imp.Runs))
	// The run count fences runs: a run that was taken over (a later run claimed the import)
	// can no longer overwrite the record.
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #r <= :runs"),
		ExpressionAttributeNames:  map[string]string{"#r": "runs"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":runs": num(int64(imp.Runs))}})
	if isConditionFailed(err) {
		return fmt.Errorf("import %s was taken over by a later run: %w", imp.ID, pthv.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put import %s: %w", imp.ID, err)
	}
	return nil
}

// ClaimRun implements importer.Claims with a conditional increment of the run count. The
// claim carries a random token of its own, so that a retry by the SDK of a claim that
// succeeded (its response lost or garbled) is told from another invocation's claim: the
// retry finds the next run count with its own token, which is no conflict.
func (s *Store) ClaimRun(ctx context.Context, district, id string, runs int) error {
	token := writeToken()
	k := key(pthv.ItemKey("I", district), id)
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: k,
		UpdateExpression:          aws.String("SET #r = :next, #w = :token"),
		ConditionExpression:       aws.String("#r = :runs"),
		ExpressionAttributeNames:  map[string]string{"#r": "runs", "#w": tokenAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":runs": num(int64(runs)), ":next": num(int64(runs + 1)), ":token": str(token)}})
	if isConditionFailed(err) {
		if s.ownWrite(ctx, k, token) {
			return nil
		}
		return fmt.Errorf("run %d of import %s: %w", runs+1, id, pthv.ErrConflict)
	}
	return err
}

// GetImport implements importer.Imports.
func (s *Store) GetImport(ctx context.Context, district, id string) (*pthv.Import, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(pthv.ItemKey("I", district), id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get import %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("import %s of district %s: %w", id, district, pthv.ErrNotFound)
	}
	return decodeImport(out.Item)
}

func decodeImport(item map[string]types.AttributeValue) (*pthv.Import, error) {
	var imp pthv.Import
	if err := json.Unmarshal([]byte(getS(item, "j")), &imp); err != nil {
		return nil, err
	}
	imp.Status = pthv.Status(getS(item, "st"))
	return &imp, nil
}

// ListImports returns the district's imports, newest first, at most limit (0 or less: 20).
func (s *Store) ListImports(ctx context.Context, district string, limit int) ([]*pthv.Import, error) {
	if limit <= 0 {
		limit = 20
	}
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pthv.ItemKey("I", district))},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	var imps []*pthv.Import
	for _, it := range out.Items {
		imp, err := decodeImport(it)
		if err != nil {
			return nil, err
		}
		imps = append(imps, imp)
	}
	return imps, nil
}

// TransitionImport implements importer.Imports.
func (s *Store) TransitionImport(ctx context.Context, district, id string, from, to pthv.Status) error {
	imp, err := s.GetImport(ctx, district, id)
	if err != nil {
		return err
	}
	if imp.Status != from {
		return fmt.Errorf("import %s is %s, not %s: %w", id, imp.Status, from, pthv.ErrConflict)
	}
	imp.Status = to
	b, _ := json.Marshal(imp)
	token := writeToken()
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(pthv.ItemKey("I", district), id),
		UpdateExpression:          aws.String("SET st = :to, j = :j, #w = :token"),
		ConditionExpression:       aws.String("st = :from"),
		ExpressionAttributeNames:  map[string]string{"#w": tokenAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":to": str(string(to)), ":from": str(string(from)), ":j": str(string(b)), ":token": str(token)}})
	if isConditionFailed(err) {
		if s.ownWrite(ctx, key(pthv.ItemKey("I", district), id), token) {
			return nil // the SDK's retry met this transition
		}
		return fmt.Errorf("import %s changed meanwhile: %w", id, pthv.ErrConflict)
	}
	return err
}
