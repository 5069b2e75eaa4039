// Package api is the reach API for national staff and districts, behind API Gateway (HTTP
// API, IAM authorisation): functions/api is its wiring. It serves only the published,
// suppressed view of each year (internal/reach), plus a district's own hours per educator
// to that district.
//
//	GET /v1/reach?year=2025-2026[&state=CA][&groupBy=state|district|site]   national staff
//	GET /v1/reach/years                                                    national staff
//	GET /v1/districts/{id}/reach?year=2025-2026                            national staff, and district {id}
//
// Callers are told apart by the IAM role API Gateway authenticated: {prefix}-national for
// national staff, {prefix}-district-{districtId} for a district. Errors are JSON
// {"error":{"code","message"}}: 400 for a bad parameter, 403 for a caller outside its scope,
// 404 for an unknown year, state, district or route.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
)

// Blobs reads the published views.
type Blobs interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Store reads the aggregates.
type Store interface {
	Aggregates(ctx context.Context, year, prefix string) (map[string][]byte, error)
}

// Handler serves the API.
type Handler struct {
	Blobs         Blobs
	Store         Store
	ReportsBucket string
	// RolePrefix names the callers' roles: {RolePrefix}-national, {RolePrefix}-district-{id}.
	RolePrefix string
	Log        *slog.Logger
}

// The route keys, as API Gateway sends them.
const (
	RouteReach    = "GET /v1/reach"
	RouteYears    = "GET /v1/reach/years"
	RouteDistrict = "GET /v1/districts/{id}/reach"
)

// Routes are the API's routes, for the local front and Terraform.
var Routes = []string{RouteReach, RouteYears, RouteDistrict}

// Error is the body of an error response: a code of pthv's vocabulary and a message.
type Error = pthv.Error

type apiError struct {
	status int
	body   Error
}

func (e *apiError) Error() string { return e.body.Message }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, body: *pthv.Errorf(code, format, args...)}
}

// ReachResponse answers GET /v1/reach.
type ReachResponse struct {
	Year    string `json:"year"`
	State   string `json:"state,omitempty"`
	GroupBy string `json:"groupBy,omitempty"`
	// Totals are the national totals (suppressed only when a single state has sites, and
	// then where its counts are), or the state's with state= (counts null where
	// suppressed, as in States).
	Totals    reach.TotalsRow     `json:"totals"`
	States    []reach.TotalsRow   `json:"states,omitempty"`
	Districts []reach.DistrictRow `json:"districts,omitempty"`
	Sites     []reach.SiteRow     `json:"sites,omitempty"`
}

// YearsResponse answers GET /v1/reach/years.
type YearsResponse struct {
	Years []string `json:"years"`
}

// DistrictResponse answers GET /v1/districts/{id}/reach: the district's published row and
// sites; HoursPerEducator only when the district itself asks.
type DistrictResponse struct {
	Year             string             `json:"year"`
	District         reach.DistrictRow  `json:"district"`
	Sites            []reach.SiteRow    `json:"sites"`
	HoursPerEducator map[string]float64 `json:"hoursPerEducator,omitempty"`
}

var stateRE = regexp.MustCompile(`^[A-Z]{2}$`)

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	body, err := h.route(ctx, req)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		h.log().Info("api request refused", "route", req.RouteKey, "status", ae.status, "code", ae.body.Code)
		return respond(ae.status, map[string]any{"error": ae.body})
	case err != nil:
		h.log().Error("api request failed", "route", req.RouteKey, "error", err.Error())
		return respond(http.StatusInternalServerError, map[string]any{"error": Error{Code: pthv.CodeInternal, Message: "the request failed; try again"}})
	}
	return respond(http.StatusOK, body)
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func respond(status int, v any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(b),
		Headers: map[string]string{"content-type": "application/json", "cache-control": "no-store"}}
}

// caller is who is asking: national staff, or one district.
type caller struct {
	national bool
	district string
}

func (h *Handler) caller(req events.APIGatewayV2HTTPRequest) (caller, error) {
	var arn string
	if a := req.RequestContext.Authorizer; a != nil && a.IAM != nil {
		arn = a.IAM.UserARN
	}
	// arn:aws:iam::ACCOUNT:role/NAME, arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION, or a user.
	parts := strings.Split(arn, ":")
	role := ""
	if len(parts) == 6 {
		res := strings.Split(parts[5], "/")
		if len(res) >= 2 && (res[0] == "role" || res[0] == "assumed-role") {
			role = res[1]
		}
	}
	switch {
	case role == h.RolePrefix+"-national":
		return caller{national: true}, nil
	case strings.HasPrefix(role, h.RolePrefix+"-district-"):
		return caller{district: strings.TrimPrefix(role, h.RolePrefix+"-district-")}, nil
	}
	return caller{}, fail(http.StatusForbidden, pthv.CodeForbidden, "the caller's role is neither the national staff role nor a district role of this service")
}

func (h *Handler) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, error) {
	who, err := h.caller(req)
	if err != nil {
		return nil, err
	}
	q := req.QueryStringParameters
	switch req.RouteKey {
	case RouteReach:
		if !who.national {
			return nil, fail(http.StatusForbidden, pthv.CodeForbidden, "national figures are for national staff; a district reads GET /v1/districts/%s/reach", who.district)
		}
		if err := allowed(q, "year", "state", "groupBy"); err != nil {
			return nil, err
		}
		return h.reach(ctx, q["year"], q["state"], q["groupBy"])
	case RouteYears:
		if !who.national {
			return nil, fail(http.StatusForbidden, pthv.CodeForbidden, "the list of years is for national staff")
		}
		if err := allowed(q); err != nil {
			return nil, err
		}
		items, err := h.Store.Aggregates(ctx, "INDEX", "")
		if err != nil {
			return nil, err
		}
		return YearsResponse{Years: slices.Sorted(maps.Keys(items))}, nil
	case RouteDistrict:
		id := req.PathParameters["id"]
		if !pthv.ValidDistrictID(id) {
			return nil, fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "the district id must be "+pthv.DistrictIDRule)
		}
		if !who.national && who.district != id {
			return nil, fail(http.StatusForbidden, pthv.CodeForbidden, "a district reads its own figures only")
		}
		if err := allowed(q, "year"); err != nil {
			return nil, err
		}
		return h.district(ctx, id, q["year"], who.district == id)
	}
	return nil, fail(http.StatusNotFound, pthv.CodeNotFound, "no route %s", req.RouteKey)
}

func allowed(q map[string]string, names ...string) error {
	for k := range q {
		if !slices.Contains(names, k) {
			if len(names) == 0 {
				return fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "unknown parameter %q: this route takes none", k)
			}
			return fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "unknown parameter %q (allowed: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

func (h *Handler) published(ctx context.Context, year string) (*reach.Published, error) {
	if year == "" {
		return nil, fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "year is required, like 2025-2026")
	}
	if _, err := pthv.ParseSchoolYear(year); err != nil {
		return nil, fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "year %q is not a school year like 2025-2026", year)
	}
	b, err := h.Blobs.Get(ctx, h.ReportsBucket, reachsvc.PublishedKey(year))
	if errors.Is(err, pthv.ErrNotFound) {
		return nil, fail(http.StatusNotFound, pthv.CodeUnknownYear, "no reach figures for %s", year)
	}
	if err != nil {
		return nil, err
	}
	var p reach.Published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("published view of %s: %w", year, err)
	}
	return &p, nil
}

func (h *Handler) reach(ctx context.Context, year, state, groupBy string) (any, error) {
	switch groupBy {
	case "", "state", "district", "site":
	default:
		return nil, fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "groupBy must be state, district or site, not %q", groupBy)
	}
	if state != "" && !stateRE.MatchString(state) {
		return nil, fail(http.StatusBadRequest, pthv.CodeInvalidParameter, "state must be a two-letter code like CA, not %q", state)
	}
	p, err := h.published(ctx, year)
	if err != nil {
		return nil, err
	}
	out := ReachResponse{Year: year, State: state, GroupBy: groupBy, Totals: p.National}
	if state != "" {
		i := slices.IndexFunc(p.States, func(t reach.TotalsRow) bool { return t.State == state })
		if i < 0 {
			return nil, fail(http.StatusNotFound, pthv.CodeUnknownState, "no reach figures for state %s in %s", state, year)
		}
		out.Totals = p.States[i]
	}
	in := func(s string) bool { return state == "" || s == state }
	switch groupBy {
	case "state":
		for _, t := range p.States {
			if in(t.State) {
				out.States = append(out.States, t)
			}
		}
	case "district":
		for _, d := range p.Districts {
			if in(d.State) {
				out.Districts = append(out.Districts, d)
			}
		}
	case "site":
		for _, s := range p.Sites {
			if in(s.State) {
				out.Sites = append(out.Sites, s)
			}
		}
	}
	return out, nil
}

func (h *Handler) district(ctx context.Context, id, year string, own bool) (any, error) {
	p, err := h.published(ctx, year)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(p.Districts, func(d reach.DistrictRow) bool { return d.District == id })
	if i < 0 {
		return nil, fail(http.StatusNotFound, pthv.CodeUnknownDistrict, "no reach figures for district %s in %s", id, year)
	}
	out := DistrictResponse{Year: year, District: p.Districts[i], Sites: []reach.SiteRow{}}
	for _, s := range p.Sites {
		if s.District == id {
			out.Sites = append(out.Sites, s)
		}
	}
	if own {
		item := pthv.ItemKey("D", id)
		items, err := h.Store.Aggregates(ctx, year, item)
		if err != nil {
			return nil, err
		}
		var m reach.DistrictMetrics
		if b, ok := items[item]; ok && json.Unmarshal(b, &m) == nil {
			out.HoursPerEducator = m.HoursPerEducator
		}
	}
	return out, nil
}
