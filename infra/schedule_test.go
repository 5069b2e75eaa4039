package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/ingest"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reachsvc"
)

// checkSchedules: Terraform's schedules are exactly functions.json's "schedules", each with
// the target and input listed there, and each input means what the code expects: the
// reach function's full recomputation, the ingest function's sweep.
func checkSchedules(t *testing.T, bs []block) {
	t.Helper()
	file, err := deploy.LoadFunctionsFile("functions.json")
	if err != nil {
		t.Fatal(err)
	}
	// The service's own schedules; the sis module's one schedule per SIS connection (for_each
	// over var.sis_connections) is checked by the plan-level terraform test (sis_connections).
	var tf []block
	for _, s := range resources(bs, "aws_scheduler_schedule") {
		if s.Dir != filepath.Join("modules", "sis") {
			tf = append(tf, s)
		}
	}
	if len(tf) != len(file.Schedules) {
		t.Errorf("Terraform has %d schedules, functions.json %d", len(tf), len(file.Schedules))
	}
	for name, spec := range file.Schedules {
		var fields map[string]any
		if err := json.Unmarshal(spec.Input, &fields); err != nil {
			t.Fatalf("schedule %s: input %s: %v", name, spec.Input, err)
		}
		found := false
		for _, s := range tf {
			if !strings.Contains(s.text("name"), name) {
				continue
			}
			for _, tg := range s.nested("target") {
				found = strings.Contains(tg.text("arn"), strings.TrimSuffix(spec.Target, "_function")) && sameInput(tg.text("input"), fields)
			}
		}
		if !found {
			t.Errorf("schedule %s: no Terraform schedule named so sends %s to %s", name, spec.Input, spec.Target)
		}
		switch spec.Target {
		case "reach_function":
			var ev reachsvc.Event
			if err := json.Unmarshal(spec.Input, &ev); err != nil || !ev.Full {
				t.Errorf("schedule %s: the reach function does not read %s as a full recomputation", name, spec.Input)
			}
		case "ingest_queue":
			p := &sweepCounter{}
			h := &ingest.Handler{Pipeline: p, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(spec.Input)}}})
			if err != nil || len(resp.BatchItemFailures) != 0 || p.sweeps != 1 {
				t.Errorf("schedule %s: the ingest handler does not read %s as a sweep", name, spec.Input)
			}
		default:
			t.Errorf("schedule %s: unknown target %s", name, spec.Target)
		}
	}
}

// sameInput reports whether an HCL jsonencode({ k = v }) expression has the fields.
func sameInput(hcl string, fields map[string]any) bool {
	for k, v := range fields {
		b, _ := json.Marshal(v)
		if !strings.Contains(hcl, k+" = "+string(bytes.TrimSpace(b))) {
			return false
		}
	}
	return true
}

type sweepCounter struct{ sweeps int }

func (s *sweepCounter) HandleDrop(context.Context, pthv.Object) error     { return nil }
func (s *sweepCounter) Continue(context.Context, pthv.Continuation) error { return nil }
func (s *sweepCounter) Sweep(context.Context) (int, error)                { s.sweeps++; return 0, nil }
