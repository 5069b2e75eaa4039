package integration

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
)

// recorders collects the call recorders of every stack the tests start: each function's
// AWS calls go through one (see devstack.Recorder).
var recorders struct {
	sync.Mutex
	all []*devstack.Recorder
}

// notObservable are the actions a role must allow that no function call shows here, with why.
var notObservable = map[string]string{
	"sqs:ReceiveMessage":          "the event source mapping polls with the function's role (played here by the poller)",
	"sqs:DeleteMessage":           "the event source mapping deletes processed messages with the function's role",
	"sqs:ChangeMessageVisibility": "the event source mapping returns failed messages with the function's role",
	"sqs:GetQueueAttributes":      "the event source mapping reads the queue with the function's role",
	"kms:Decrypt":                 "DynamoDB, S3 and SQS call KMS on the function's behalf; moto does not encrypt",
	"kms:GenerateDataKey":         "DynamoDB, S3 and SQS call KMS on the function's behalf; moto does not encrypt",
}

// TestFunctionsCallOnlyWhatTheirRolesAllow compares the AWS calls every function made in
// this package's tests (recorded between the function and the stand-ins) with
// infra/functions.json, from which Terraform builds the roles: every call must be allowed,
// and every allowed action must have been called (or be in notObservable). It skips when
// the other tests did not run.
//
// It must see the calls of every other test, whatever their order (-shuffle): it is the
// package's only parallel test, and a top-level test that calls t.Parallel is paused until
// every serial top-level test has finished, so it always runs last. A test that calls
// t.Parallel itself would run alongside it, and have only part of its calls seen.
func TestFunctionsCallOnlyWhatTheirRolesAllow(t *testing.T) {
	t.Parallel()
	file, err := deploy.LoadFunctionsFile("../infra/functions.json")
	if err != nil {
		t.Fatal(err)
	}
	recorders.Lock()
	all := slices.Clone(recorders.all)
	recorders.Unlock()
	observed := map[string]map[devstack.Call]int{}
	for _, r := range all {
		for fn, cs := range r.Calls() {
			if observed[fn] == nil {
				observed[fn] = map[devstack.Call]int{}
			}
			for c, n := range cs {
				observed[fn][c] += n
			}
		}
	}
	if len(observed) < len(file.Functions) {
		t.Skipf("only %v made calls: run the whole package to check every role", slices.Sorted(maps.Keys(observed)))
	}
	for fn, spec := range file.Functions {
		for c := range observed[fn] {
			if !spec.Allows(c.Action, c.Resource) {
				t.Errorf("%s calls %s on %s, which its role does not allow (infra/functions.json)", fn, c.Action, c.Resource)
			}
		}
		for _, p := range spec.Permissions {
			for _, a := range p.Actions {
				for _, r := range p.Resources {
					if _, ok := notObservable[a]; ok {
						continue
					}
					if observed[fn][devstack.Call{Action: a, Resource: r}] == 0 {
						t.Errorf("%s's role allows %s on %s, which it never called in these tests: remove it, or test the code path that needs it", fn, a, r)
					}
				}
			}
		}
		t.Logf("%s called: %s", fn, strings.Join(devstack.Sorted(observed[fn]), ", "))
	}
}
