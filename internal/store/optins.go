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

// Opt-ins: pk OPT#{districtId}#{schoolYear}, sk {educatorId}; attributes in (the decision),
// dt (when it was decided, RFC 3339 UTC to the second), src (csv:{importId} or cli) and at
// (when it was recorded). Items written before decisions had a time carry no dt: their
// recording time stands in for it.

// decisionTime formats a decision time so that strings compare as times do.
func optInPK(district, year string) string { return pthv.ItemKey("OPT", district, year) }

func decisionTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// SetOptIns implements importer.Store: each decision is a conditional put that succeeds only
// when no decision on record for the educator and year is as new, so an older decision (a
// re-dropped file after a later opt-out) never overwrites a newer one, even when two writers
// race. Within one call the newest decision for an educator and year is the one written.
func (s *Store) SetOptIns(ctx context.Context, district string, opts []pthv.OptIn) (pthv.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	last := map[string]pthv.OptIn{}
	for _, o := range opts {
		k := o.SchoolYear + "/" + o.Educator
		if prev, ok := last[k]; !ok || !o.At.Before(prev.At) {
			last[k] = o
		}
	}
	var ws pthv.WriteStats
	for _, o := range last {
		it := key(optInPK(district, o.SchoolYear), o.Educator)
		dt := decisionTime(o.At)
		it["in"] = &types.AttributeValueMemberBOOL{Value: o.In}
		token := writeToken()
		it["src"], it["at"], it["dt"], it[tokenAttr] = str(o.Source), str(now), str(dt), str(token)
		_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: it,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR dt < :dt OR (attribute_not_exists(dt) AND #at < :dt)"),
			ExpressionAttributeNames:  map[string]string{"#at": "at"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":dt": str(dt)}})
		if isConditionFailed(err) && !s.ownWrite(ctx, key(optInPK(district, o.SchoolYear), o.Educator), token) {
			continue // a decision as new or newer is on record: it stands
		}
		if isConditionFailed(err) {
			err = nil // the SDK's retry met this write, which is on file
		}
		if err != nil {
			return ws, fmt.Errorf("record opt-in: %w", err)
		}
		ws.Items++
	}
	return ws, nil
}

// OptInDecisions implements importer.Store: the decisions on record for a school year, by educator.
func (s *Store) OptInDecisions(ctx context.Context, district, year string) (map[string]pthv.OptIn, error) {
	out := map[string]pthv.OptIn{}
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{TableName: &s.Table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(optInPK(district, year))}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("load opt-ins: %w", err)
		}
		for _, it := range page.Items {
			b, _ := it["in"].(*types.AttributeValueMemberBOOL)
			o := pthv.OptIn{Educator: getS(it, "sk"), SchoolYear: year, In: b != nil && b.Value, Source: getS(it, "src")}
			dt := getS(it, "dt")
			if dt == "" {
				dt = getS(it, "at")
			}
			o.At, _ = time.Parse(time.RFC3339, dt)
			out[o.Educator] = o
		}
	}
	return out, nil
}

// OptIns returns who opted in (true) or out (false) for a school year.
func (s *Store) OptIns(ctx context.Context, district, year string) (map[string]bool, error) {
	ds, err := s.OptInDecisions(ctx, district, year)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ds))
	for id, o := range ds {
		out[id] = o.In
	}
	return out, nil
}
