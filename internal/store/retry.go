package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A conditional write can fail its condition on its own success: the SDK retries a request
// whose answer was lost or garbled (moto under load once sent one whose checksum did not
// match), and the retry meets the item the first attempt wrote. Writes whose outcome is
// reported (an aggregate written or not, an opt-in recorded, a run claimed) carry a random
// token in tokenAttr; when the condition fails, ownWrite reads the item back and tells the
// write's own item from another writer's.

const tokenAttr = "wt"

// writeToken returns a fresh token for one write.
func writeToken() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ownWrite reports whether the item at k holds token, that is, whether the write that
// carried it is the one on file.
func (s *Store) ownWrite(ctx context.Context, k map[string]types.AttributeValue, token string) bool {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: k, ConsistentRead: aws.Bool(true)})
	return err == nil && out.Item != nil && getS(out.Item, tokenAttr) == token
}
