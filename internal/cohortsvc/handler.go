package cohortsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
)

// The actions the cohort function takes.
const (
	ActionSelect  = "select"
	ActionRefresh = "refresh"
	ActionShow    = "show"
	ActionVerify  = "verify"
	ActionList    = "list"
)

// Invocation is the cohort function's payload. Select carries Request, which is parsed
// strictly (cohort.ParseRequest): a field that is not a selection parameter is refused as
// targeting. The other actions name a district and a cohort (or a school and year to list).
type Invocation struct {
	Action   string          `json:"action"`
	Request  json.RawMessage `json:"request,omitempty"`
	District string          `json:"district,omitempty"`
	CohortID string          `json:"cohortId,omitempty"`
	School   string          `json:"school,omitempty"`
	Year     string          `json:"year,omitempty"`
	// Replaces names the current cohort a select replaces (see Service.Select).
	Replaces string `json:"replaces,omitempty"`
}

// Response is the cohort function's answer. Error is set, and nothing else, when the
// invocation was refused (bad request, targeting, not found); failures of the service itself
// are returned as function errors instead.
type Response struct {
	Cohort  *cohort.Record      `json:"cohort,omitempty"`
	Members []cohort.MemberItem `json:"members,omitempty"`
	Verify  *VerifyResult       `json:"verify,omitempty"`
	Cohorts []*cohort.Record    `json:"cohorts,omitempty"`
	Error   *pthv.Error         `json:"error,omitempty"`
}

// Handle runs one invocation.
func (s *Service) Handle(ctx context.Context, payload []byte) (*Response, error) {
	var inv Invocation
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		return &Response{Error: pthv.Errorf(pthv.CodeInvalid, "cohort invocation: %v", err)}, nil
	}
	resp, err := s.handle(ctx, inv)
	if errors.Is(err, pthv.ErrConflict) {
		err = pthv.Errorf(pthv.CodeConflict, "cohort %s was changed by another request at the same time; run the command again", inv.CohortID)
	}
	var e *pthv.Error
	if errors.As(err, &e) {
		s.log().Info("cohort request refused", "action", inv.Action, "districtId", inv.District, "code", e.Code)
		return &Response{Error: e}, nil
	}
	return resp, err
}

func (s *Service) handle(ctx context.Context, inv Invocation) (*Response, error) {
	needID := func() error {
		if inv.District == "" || inv.CohortID == "" {
			return pthv.Errorf(pthv.CodeInvalid, "%s needs district and cohortId", inv.Action)
		}
		return nil
	}
	switch inv.Action {
	case ActionSelect:
		if len(inv.Request) == 0 {
			return nil, pthv.Errorf(pthv.CodeInvalid, "select needs a request")
		}
		req, err := cohort.ParseRequest(inv.Request)
		if err != nil {
			return nil, requestError(err)
		}
		rec, err := s.Select(ctx, req, inv.Replaces)
		if err != nil {
			return nil, err
		}
		return &Response{Cohort: rec}, nil
	case ActionRefresh:
		if err := needID(); err != nil {
			return nil, err
		}
		rec, err := s.Refresh(ctx, inv.District, inv.CohortID)
		if err != nil {
			return nil, err
		}
		return &Response{Cohort: rec}, nil
	case ActionShow:
		if err := needID(); err != nil {
			return nil, err
		}
		rec, members, err := s.Show(ctx, inv.District, inv.CohortID)
		if err != nil {
			return nil, err
		}
		return &Response{Cohort: rec, Members: members}, nil
	case ActionVerify:
		if err := needID(); err != nil {
			return nil, err
		}
		v, err := s.Verify(ctx, inv.District, inv.CohortID)
		if err != nil {
			return nil, err
		}
		return &Response{Verify: v}, nil
	case ActionList:
		if inv.District == "" {
			return nil, pthv.Errorf(pthv.CodeInvalid, "list needs district")
		}
		cs, err := s.List(ctx, inv.District, inv.School, inv.Year)
		if err != nil {
			return nil, err
		}
		return &Response{Cohorts: cs}, nil
	}
	return nil, pthv.Errorf(pthv.CodeInvalid, "unknown action %q (want %s, %s, %s, %s or %s)", inv.Action,
		ActionSelect, ActionRefresh, ActionShow, ActionVerify, ActionList)
}
