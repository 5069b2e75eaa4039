package api

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
	"github.com/pthv/reach/schemas"
)

type blobs map[string][]byte

func (b blobs) Get(_ context.Context, _, key string) ([]byte, error) {
	if v, ok := b[key]; ok {
		return v, nil
	}
	return nil, pthv.ErrNotFound
}

type aggs map[string]map[string][]byte

func (a aggs) Aggregates(_ context.Context, year, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for k, v := range a[year] {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

const year = "2025-2026"

// fixture publishes a Synth year the way the reach service does.
func fixture(t *testing.T) (*Handler, reach.Published, []reach.DistrictMetrics) {
	t.Helper()
	ins, _ := reach.Synth(3, reach.SynthOptions{Year: year, States: 3})
	var ds []reach.DistrictMetrics
	a := aggs{year: {}, "INDEX": {year: []byte(`{}`)}}
	for _, in := range ins {
		m := reach.ComputeDistrict(in)
		ds = append(ds, m)
		b, _ := json.Marshal(m)
		a[year]["D#"+m.District] = b
	}
	nat, byState := reach.Rollup(year, ds)
	pub := reach.Publish(year, nat, byState, ds)
	b, _ := json.Marshal(pub)
	h := &Handler{Blobs: blobs{reachsvc.PublishedKey(year): b}, Store: a, ReportsBucket: "r", RolePrefix: "pthv-reach"}
	return h, pub, ds
}

func request(route, role string, path map[string]string, q map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: path, QueryStringParameters: q}
	if role != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:sts::123456789012:assumed-role/" + role + "/someone"}}
	}
	return req
}

func TestRoutesMatchTheLocalFront(t *testing.T) {
	if !slices.Equal(Routes, devstack.APIRoutes) {
		t.Fatalf("api routes %v, local API Gateway routes %v", Routes, devstack.APIRoutes)
	}
}

func TestResponsesAndScopes(t *testing.T) {
	h, pub, ds := fixture(t)
	ctx := context.Background()
	state := pub.States[0].State
	own := ""
	for _, d := range ds {
		if d.Sites > 0 {
			own = d.District
			break
		}
	}
	national := "pthv-reach-national"
	district := "pthv-reach-district-" + own
	cases := []struct {
		name, route, role string
		path, q           map[string]string
		status            int
		code              string
		check             func(t *testing.T, body []byte)
	}{
		{"national totals", RouteReach, national, nil, map[string]string{"year": year}, 200, "", func(t *testing.T, b []byte) {
			var r ReachResponse
			json.Unmarshal(b, &r)
			if r.Totals.Visits != pub.National.Visits || r.Totals.States != pub.National.States {
				t.Errorf("totals %+v", r.Totals)
			}
		}},
		{"by state", RouteReach, national, nil, map[string]string{"year": year, "groupBy": "state"}, 200, "", func(t *testing.T, b []byte) {
			var r ReachResponse
			json.Unmarshal(b, &r)
			sum, hidden := 0, 0 // a state's visits may be suppressed (never exactly one of them)
			for _, s := range r.States {
				if n, ok := s.Visits.Value(); ok {
					sum += n
				} else {
					hidden++
				}
			}
			if nv, _ := pub.National.Visits.Value(); len(r.States) != len(pub.States) || hidden == 1 || (hidden == 0 && sum != nv) || sum > nv {
				t.Errorf("%d states (%d suppressed) summing to %d visits, national %v", len(r.States), hidden, sum, r.Totals.Visits)
			}
		}},
		{"one state's sites", RouteReach, national, nil, map[string]string{"year": year, "state": state, "groupBy": "site"}, 200, "", func(t *testing.T, b []byte) {
			var r ReachResponse
			json.Unmarshal(b, &r)
			if r.Totals.State != state || len(r.Sites) == 0 {
				t.Fatalf("state %s: %+v", state, r.Totals)
			}
			for _, s := range r.Sites {
				if s.State != state {
					t.Errorf("site %s of state %s in %s's answer", s.School, s.State, state)
				}
				if n, ok := s.Visits.Value(); ok && n < 10 {
					t.Errorf("site %s publishes %d visits", s.School, n)
				}
			}
		}},
		{"districts", RouteReach, national, nil, map[string]string{"year": year, "groupBy": "district"}, 200, "", nil},
		{"years", RouteYears, national, nil, nil, 200, "", func(t *testing.T, b []byte) {
			if string(b) != `{"years":["`+year+`"]}` {
				t.Errorf("years: %s", b)
			}
		}},
		{"own district with hours", RouteDistrict, district, map[string]string{"id": own}, map[string]string{"year": year}, 200, "", func(t *testing.T, b []byte) {
			var r DistrictResponse
			json.Unmarshal(b, &r)
			if r.District.District != own || len(r.HoursPerEducator) == 0 {
				t.Errorf("own district: %s", b)
			}
		}},
		{"national staff see no hours", RouteDistrict, national, map[string]string{"id": own}, map[string]string{"year": year}, 200, "", func(t *testing.T, b []byte) {
			if strings.Contains(string(b), "hoursPerEducator") {
				t.Errorf("hours in national staff's answer: %s", b)
			}
		}},
		{"another district", RouteDistrict, "pthv-reach-district-other", map[string]string{"id": own}, map[string]string{"year": year}, 403, "forbidden", nil},
		{"a district asks national", RouteReach, district, nil, map[string]string{"year": year}, 403, "forbidden", nil},
		{"a district asks the years", RouteYears, district, nil, nil, 403, "forbidden", nil},
		{"no role", RouteReach, "", nil, map[string]string{"year": year}, 403, "forbidden", nil},
		{"a role of another service", RouteReach, "other-national", nil, map[string]string{"year": year}, 403, "forbidden", nil},
		{"no year", RouteReach, national, nil, nil, 400, "bad_parameter", nil},
		{"bad year", RouteReach, national, nil, map[string]string{"year": "2025"}, 400, "bad_parameter", nil},
		{"unknown year", RouteReach, national, nil, map[string]string{"year": "2019-2020"}, 404, "unknown_year", nil},
		{"bad groupBy", RouteReach, national, nil, map[string]string{"year": year, "groupBy": "school"}, 400, "bad_parameter", nil},
		{"bad state", RouteReach, national, nil, map[string]string{"year": year, "state": "California"}, 400, "bad_parameter", nil},
		{"unknown state", RouteReach, national, nil, map[string]string{"year": year, "state": "ZZ"}, 404, "unknown_state", nil},
		{"unknown parameter", RouteReach, national, nil, map[string]string{"year": year, "race": "x"}, 400, "bad_parameter", nil},
		{"unknown district", RouteDistrict, national, map[string]string{"id": "nope"}, map[string]string{"year": year}, 404, "unknown_district", nil},
		{"bad district id", RouteDistrict, national, map[string]string{"id": "a b"}, map[string]string{"year": year}, 400, "bad_parameter", nil},
		{"unknown route", "POST /v1/reach", national, nil, nil, 404, "not_found", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := h.Handle(ctx, request(c.route, c.role, c.path, c.q))
			if resp.StatusCode != c.status || resp.Headers["content-type"] != "application/json" {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			if err := schemas.Validate("reach-api.schema.json", []byte(resp.Body)); err != nil {
				t.Fatalf("%v\n%s", err, resp.Body)
			}
			if c.code != "" {
				var e struct{ Error Error }
				json.Unmarshal([]byte(resp.Body), &e)
				if e.Error.Code != c.code || e.Error.Message == "" {
					t.Fatalf("error %+v, want code %s", e.Error, c.code)
				}
			}
			if c.check != nil {
				c.check(t, []byte(resp.Body))
			}
		})
	}
}
