package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pthv/reach/internal/pthv"
)

// visitPK is the partition of a district's visits: a district logs hundreds a year, so one
// partition per district is far below a partition's limits, and a visit keeps its item when a
// corrected date moves it to another school year.
func visitPK(district string) string { return pthv.ItemKey("V", district) }

// LoadVisits implements importer.Visits.
func (s *Store) LoadVisits(ctx context.Context, district string) (map[string]pthv.VisitCurrent, error) {
	out := map[string]pthv.VisitCurrent{}
	err := s.query(ctx, visitPK(district), func(it map[string]types.AttributeValue) error {
		n, _ := strconv.Atoi(getN(it, "n"))
		out[getS(it, "sk")] = pthv.VisitCurrent{Hash: getS(it, "h"), Year: getS(it, "yr"), School: getS(it, "sch"), Family: getS(it, "fam"), Number: n}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load visits of %s: %w", district, err)
	}
	return out, nil
}

// PutVisits implements importer.Visits.
func (s *Store) PutVisits(ctx context.Context, district, importID string, vs []pthv.VisitWrite) (pthv.WriteStats, error) {
	now := s.now().Format(time.RFC3339)
	items := make([]map[string]types.AttributeValue, 0, len(vs))
	for _, v := range vs {
		it := key(visitPK(district), v.ID)
		it["h"], it["yr"], it["sch"], it["fam"], it["n"] = str(v.Hash), str(v.Year), str(v.School), str(v.Family), num(int64(v.Number))
		it["j"], it["iid"], it["ua"] = str(string(v.Data)), str(importID), str(now)
		items = append(items, it)
	}
	return s.putAll(ctx, items)
}

func getN(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
