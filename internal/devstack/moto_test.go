package devstack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestMotoPartitionQueryAnswersAsMoto: moto started with EnvMotoPartitionQuery answers every
// kind of Query and Scan exactly as moto itself does (the shared, unpatched server): a whole
// partition, a sort-key condition read backwards in pages, a partition that does not exist,
// an index, and a Scan.
func TestMotoPartitionQueryAnswersAsMoto(t *testing.T) {
	t.Setenv(EnvMotoPartitionQuery, "1")
	logs := &lockedBuffer{}
	ctx := context.Background()
	patched, err := StartMoto(ctx, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer patched.Stop()
	answers := func(url string) []string {
		db := dynamodb.NewFromConfig(AWSConfig(url))
		table := uniquePrefix(t)
		s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
		_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: &table, BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS}, {AttributeName: aws.String("g"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("g"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("g"), KeyType: types.KeyTypeHash}},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range []string{"B", "A", "C"} {
			for i := range 12 {
				item := map[string]types.AttributeValue{"pk": s(pk), "sk": s(fmt.Sprintf("%c%02d", "xy"[i%2], i)), "n": s(strings.Repeat("v", i))}
				if i%3 == 0 {
					item["g"] = s("gv")
				}
				if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var out []string
		query := func(name string, in *dynamodb.QueryInput) {
			in.TableName = &table
			p := dynamodb.NewQueryPaginator(db, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, it := range page.Items {
					out = append(out, name+" "+it["pk"].(*types.AttributeValueMemberS).Value+"/"+it["sk"].(*types.AttributeValueMemberS).Value)
				}
			}
		}
		query("partition", &dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("B")}})
		query("backwards", &dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :x)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("A"), ":x": s("x")}, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(2)})
		query("missing", &dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("Z")}})
		query("index", &dynamodb.QueryInput{IndexName: aws.String("g"), KeyConditionExpression: aws.String("g = :g"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("gv")}})
		sc := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table, Limit: aws.Int32(7)})
		for sc.HasMorePages() {
			page, err := sc.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				out = append(out, "scan "+it["pk"].(*types.AttributeValueMemberS).Value+"/"+it["sk"].(*types.AttributeValueMemberS).Value)
			}
		}
		return out
	}
	got, want := answers(patched.URL), answers(testMoto(t).URL)
	if !slices.Equal(got, want) {
		t.Errorf("the patched moto answers\n%v\nmoto answers\n%v", got, want)
	}
	if n := len(slices.DeleteFunc(slices.Clone(want), func(s string) bool { return !strings.HasPrefix(s, "partition ") })); n != 12 {
		t.Errorf("a whole partition: %d items, want 12", n)
	}
	if !strings.Contains(logs.String(), "pthv: moto answers a Query from its partition only") {
		t.Errorf("the patch was not loaded; moto's output:\n%s", logs.String())
	}
}
