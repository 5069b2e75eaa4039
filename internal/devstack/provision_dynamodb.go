package devstack

// Provisioning of DynamoDB tables and their global secondary indexes.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/deploy"
)

func (c clients) provisionTable(ctx context.Context, t deploy.Table) error {
	if t.HashKey == "" {
		return fmt.Errorf("create table %s: no hash key in spec", t.Name)
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(t.Name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            keySchema(t.HashKey, t.RangeKey),
		AttributeDefinitions: attributeDefinitions(t),
	}
	for _, g := range t.GSIs {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.Name),
			KeySchema:  keySchema(g.HashKey, g.RangeKey),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		})
	}
	_, err := c.ddb.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case err == nil:
	case errors.As(err, &inUse):
		if err := c.convergeTable(ctx, t); err != nil {
			return err
		}
	default:
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	return c.waitTable(ctx, t.Name)
}

// convergeTable checks an existing table against the spec and adds the GSIs it lacks.
func (c clients) convergeTable(ctx context.Context, t deploy.Table) error {
	if err := c.waitTable(ctx, t.Name); err != nil {
		return err
	}
	got, ok, err := c.describeTable(ctx, t.Name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("create table %s: exists but cannot be described", t.Name)
	}
	if got.HashKey != t.HashKey || got.RangeKey != t.RangeKey {
		return fmt.Errorf("create table %s: exists with keys (%s, %s), spec wants (%s, %s); tear it down first",
			t.Name, got.HashKey, got.RangeKey, t.HashKey, t.RangeKey)
	}
	have := map[string]deploy.GSI{}
	for _, g := range got.GSIs {
		have[g.Name] = g
	}
	for _, g := range t.GSIs {
		if h, ok := have[g.Name]; ok {
			if h != g {
				return fmt.Errorf("create table %s: index %s exists with keys (%s, %s), spec wants (%s, %s); tear it down first",
					t.Name, g.Name, h.HashKey, h.RangeKey, g.HashKey, g.RangeKey)
			}
			continue
		}
		// DynamoDB creates one GSI per UpdateTable call.
		_, err := c.ddb.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(t.Name),
			AttributeDefinitions: attributeDefinitions(deploy.Table{HashKey: g.HashKey, RangeKey: g.RangeKey}),
			GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{
				Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
					IndexName:  aws.String(g.Name),
					KeySchema:  keySchema(g.HashKey, g.RangeKey),
					Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
				},
			}},
		})
		if err != nil {
			return fmt.Errorf("create index %s on table %s: %w", g.Name, t.Name, err)
		}
		if err := c.waitIndexes(ctx, t.Name); err != nil {
			return err
		}
	}
	return nil
}

func (c clients) waitTable(ctx context.Context, name string) error {
	w := dynamodb.NewTableExistsWaiter(c.ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 20*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableTimeout); err != nil {
		return fmt.Errorf("wait for table %s to become active: %w", name, err)
	}
	return nil
}

// waitIndexes waits until the table and all its GSIs are ACTIVE (an index added to an existing
// table backfills after the table itself is ACTIVE again).
func (c clients) waitIndexes(ctx context.Context, name string) error {
	deadline := time.Now().Add(tableTimeout)
	delay := 500 * time.Millisecond
	for {
		out, err := c.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", name, err)
		}
		ready := out.Table.TableStatus == ddbtypes.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			if g.IndexStatus != ddbtypes.IndexStatusActive {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for indexes of table %s to become active: timed out after %s", name, tableTimeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for indexes of table %s to become active: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Second)
	}
}

func keySchema(hash, rng string) []ddbtypes.KeySchemaElement {
	ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange})
	}
	return ks
}

// attributeDefinitions declares every key attribute of the table and its GSIs, once, as a string.
func attributeDefinitions(t deploy.Table) []ddbtypes.AttributeDefinition {
	var defs []ddbtypes.AttributeDefinition
	seen := map[string]bool{}
	add := func(name string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		defs = append(defs, ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeTypeS})
	}
	add(t.HashKey)
	add(t.RangeKey)
	for _, g := range t.GSIs {
		add(g.HashKey)
		add(g.RangeKey)
	}
	return defs
}

func (c clients) describeTable(ctx context.Context, name string) (deploy.Table, bool, error) {
	out, err := c.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return deploy.Table{}, false, nil
	}
	if err != nil {
		return deploy.Table{}, false, fmt.Errorf("describe table %s: %w", name, err)
	}
	t := deploy.Table{Name: name}
	t.HashKey, t.RangeKey = keys(out.Table.KeySchema)
	for _, g := range out.Table.GlobalSecondaryIndexes {
		h, r := keys(g.KeySchema)
		t.GSIs = append(t.GSIs, deploy.GSI{Name: aws.ToString(g.IndexName), HashKey: h, RangeKey: r})
	}
	sort.Slice(t.GSIs, func(i, j int) bool { return t.GSIs[i].Name < t.GSIs[j].Name })
	return t, true, nil
}

func keys(ks []ddbtypes.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case ddbtypes.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case ddbtypes.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash, rng
}

func (c clients) deleteTable(ctx context.Context, name string) error {
	_, err := c.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete table %s: %w", name, err)
	}
	w := dynamodb.NewTableNotExistsWaiter(c.ddb, func(o *dynamodb.TableNotExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 20*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableTimeout); err != nil {
		return fmt.Errorf("wait for table %s to be deleted: %w", name, err)
	}
	return nil
}
