package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

var (
	testfnOnce sync.Once
	testfnBin  []byte
	testfnErr  error
)

// testBootstrap returns the path of a fresh copy of testdata/testfn's bootstrap binary in
// t's temporary directory. The function is built once per test run.
func testBootstrap(t testing.TB) string {
	t.Helper()
	testfnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "devstack-testfn-")
		if err != nil {
			testfnErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/testfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			testfnErr = fmt.Errorf("go build ./testdata/testfn: %v\n%s", err, b)
			return
		}
		testfnBin, testfnErr = os.ReadFile(out)
	})
	if testfnErr != nil {
		t.Fatal(testfnErr)
	}
	path := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(path, testfnBin, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects a Host's logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startTestHost starts a Host for fns (whose empty Bootstrap means testfn) and closes it
// when the test ends, printing its logs if the test failed (or DEVSTACK_TEST_LOGS is set).
func startTestHost(t *testing.T, fns ...FunctionConfig) (*Host, *lockedBuffer) {
	t.Helper()
	bin := testBootstrap(t)
	for i := range fns {
		if fns[i].Bootstrap == "" {
			fns[i].Bootstrap = bin
		}
	}
	logs := &lockedBuffer{}
	h, err := NewHost(fns, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() || os.Getenv("DEVSTACK_TEST_LOGS") != "" {
			t.Logf("host logs:\n%s", logs.String())
		}
	})
	return h, logs
}

// call invokes fn with payload (marshalled to JSON) and fails the test on an Invoke error.
func call(t *testing.T, h *Host, fn string, payload any) InvokeResult {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.Invoke(ctx, fn, b)
	if err != nil {
		t.Fatalf("Invoke(%s, %s): %v", fn, b, err)
	}
	return res
}

// callOK is call for an invocation that must succeed; it decodes the response into out.
func callOK(t *testing.T, h *Host, fn string, payload, out any) InvokeResult {
	t.Helper()
	res := call(t, h, fn, payload)
	if res.FunctionError != "" {
		t.Fatalf("invoke %s: FunctionError %q, payload %s", fn, res.FunctionError, res.Payload)
	}
	if out != nil {
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("decode %s: %v", res.Payload, err)
		}
	}
	return res
}

// wantFunctionError checks that res is an unhandled function error of type errType.
func wantFunctionError(t *testing.T, res InvokeResult, errType, msgPart string) {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled (payload %s)", res.FunctionError, res.Payload)
	}
	var e struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	if e.ErrorType != errType || !strings.Contains(e.ErrorMessage, msgPart) {
		t.Fatalf("error = %s, want errorType %q and a message containing %q", res.Payload, errType, msgPart)
	}
}

type pidInfo struct {
	Pid int `json:"pid"`
}

func pidOf(t *testing.T, h *Host, fn string) int {
	t.Helper()
	var info pidInfo
	callOK(t, h, fn, map[string]string{"action": "info"}, &info)
	if info.Pid == 0 {
		t.Fatal("no pid in info")
	}
	return info.Pid
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHostEcho(t *testing.T) {
	h, logs := startTestHost(t, FunctionConfig{Name: "echo"})
	payload := map[string]any{"action": "echo", "n": 42.0, "nested": map[string]any{"s": "x"}}
	res := callOK(t, h, "echo", payload, nil)
	var got map[string]any
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, payload) {
		t.Errorf("echo = %v, want %v", got, payload)
	}
	if !uuidRE.MatchString(res.RequestID) {
		t.Errorf("RequestID = %q, want a UUID", res.RequestID)
	}
	if _, err := h.Invoke(context.Background(), "echo", []byte("{not json")); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("invalid payload: err = %v, want ErrInvalidPayload", err)
	}
	if _, err := h.Invoke(context.Background(), "nope", nil); !errors.Is(err, ErrFunctionNotFound) {
		t.Errorf("unknown function: err = %v, want ErrFunctionNotFound", err)
	}
	// The function's own output and the platform lines carry the function's prefix.
	for _, want := range []string{"[echo] testfn initialised", "[echo] START RequestId: " + res.RequestID, "[echo] REPORT RequestId: " + res.RequestID} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

func TestHostInvocationContextAndEnv(t *testing.T) {
	const timeout = 30 * time.Second
	bin := testBootstrap(t)
	h, _ := startTestHost(t, FunctionConfig{
		Name: "ctxfn", Bootstrap: bin, Timeout: timeout, MemoryMB: 256,
		Env: map[string]string{"DEVSTACK_TEST_VAR": "hello", "TZ": ":UTC"},
	})
	var env struct{ Value string }
	callOK(t, h, "ctxfn", map[string]string{"action": "env", "name": "DEVSTACK_TEST_VAR"}, &env)
	if env.Value != "hello" {
		t.Errorf("DEVSTACK_TEST_VAR = %q, want hello", env.Value)
	}

	var info struct {
		RequestID    string `json:"requestId"`
		FunctionArn  string `json:"functionArn"`
		DeadlineMs   int64  `json:"deadlineMs"`
		FunctionName string `json:"functionName"`
		MemoryMB     int    `json:"memoryMB"`
		Version      string `json:"version"`
		LogGroup     string `json:"logGroup"`
		LogStream    string `json:"logStream"`
		TraceID      string `json:"traceId"`
		Handler      string `json:"handler"`
		TaskRoot     string `json:"taskRoot"`
		TZ           string `json:"tz"`
	}
	before := time.Now()
	res := callOK(t, h, "ctxfn", map[string]string{"action": "info"}, &info)
	after := time.Now()
	if info.RequestID != res.RequestID {
		t.Errorf("function saw request id %q, Invoke returned %q", info.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:us-east-1:000000000000:function:ctxfn"; info.FunctionArn != want {
		t.Errorf("function ARN = %q, want %q", info.FunctionArn, want)
	}
	if lo, hi := before.Add(timeout).UnixMilli()-1, after.Add(timeout).UnixMilli()+1; info.DeadlineMs < lo || info.DeadlineMs > hi {
		t.Errorf("deadline = %d, want within [%d, %d]", info.DeadlineMs, lo, hi)
	}
	checks := []struct{ name, got, want string }{
		{"AWS_LAMBDA_FUNCTION_NAME", info.FunctionName, "ctxfn"},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", fmt.Sprint(info.MemoryMB), "256"},
		{"AWS_LAMBDA_FUNCTION_VERSION", info.Version, "$LATEST"},
		{"AWS_LAMBDA_LOG_GROUP_NAME", info.LogGroup, "/aws/lambda/ctxfn"},
		{"_HANDLER", info.Handler, "bootstrap"},
		{"LAMBDA_TASK_ROOT", info.TaskRoot, filepath.Dir(bin)},
		{"TZ", info.TZ, ":UTC"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(info.LogStream, "[$LATEST]") {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", info.LogStream)
	}
	if !strings.HasPrefix(info.TraceID, "Root=1-") {
		t.Errorf("_X_AMZN_TRACE_ID = %q", info.TraceID)
	}
}

func TestHostFunctionError(t *testing.T) {
	h, _ := startTestHost(t, FunctionConfig{Name: "errfn"})
	pid := pidOf(t, h, "errfn")
	res := call(t, h, "errfn", map[string]string{"action": "error", "message": "boom"})
	wantFunctionError(t, res, "errorString", "boom")
	if res.RequestID == "" {
		t.Error("no RequestID on a function error")
	}
	// A returned error does not end the execution environment.
	if again := pidOf(t, h, "errfn"); again != pid {
		t.Errorf("pid after a handled error = %d, want the same process %d", again, pid)
	}
}

func TestHostCrashStartsNewProcess(t *testing.T) {
	h, logs := startTestHost(t, FunctionConfig{Name: "crashfn"})
	pid1 := pidOf(t, h, "crashfn")
	res := call(t, h, "crashfn", map[string]string{"action": "crash"})
	wantFunctionError(t, res, "Runtime.ExitError", "exit status 3")
	if !processGone(pid1) {
		t.Errorf("process %d still exists after crashing", pid1)
	}
	pid2 := pidOf(t, h, "crashfn")
	if pid2 == pid1 {
		t.Errorf("invocation after the crash ran in the crashed process %d", pid1)
	}
	if !strings.Contains(logs.String(), "[crashfn] crashing on purpose") {
		t.Errorf("logs lack the function's output before the crash")
	}

	// A panic is reported by aws-lambda-go, which then exits: the next invocation gets a
	// new process, even if it is handed out before the exit is noticed.
	res = call(t, h, "crashfn", map[string]string{"action": "panic", "message": "oops"})
	wantFunctionError(t, res, "string", "oops")
	if pid3 := pidOf(t, h, "crashfn"); pid3 == pid2 {
		t.Errorf("invocation after the panic ran in the exited process %d", pid2)
	}
}

func TestHostInitFailures(t *testing.T) {
	h, _ := startTestHost(t,
		FunctionConfig{Name: "initerr", Env: map[string]string{"TESTFN_INIT_ERROR": "bad config"}},
		FunctionConfig{Name: "initexit", Env: map[string]string{"TESTFN_EXIT_AT_INIT": "1"}},
	)
	for range 2 { // each invocation gets a fresh process that fails the same way
		res := call(t, h, "initerr", map[string]string{"action": "echo"})
		wantFunctionError(t, res, "Testfn.InitError", "bad config")
		res = call(t, h, "initexit", map[string]string{"action": "echo"})
		wantFunctionError(t, res, "Runtime.ExitError", "exit status 4")
	}
}

func TestHostTimeoutThenRecovers(t *testing.T) {
	h, _ := startTestHost(t, FunctionConfig{Name: "slowfn", Timeout: 500 * time.Millisecond})
	pid1 := pidOf(t, h, "slowfn")
	res := call(t, h, "slowfn", map[string]any{"action": "sleep", "ms": 10000})
	wantFunctionError(t, res, "Sandbox.Timedout", "Task timed out after 0.50 seconds")
	if !processGone(pid1) {
		t.Errorf("timed-out process %d was not killed", pid1)
	}
	if pid2 := pidOf(t, h, "slowfn"); pid2 == pid1 {
		t.Errorf("invocation after the timeout ran in the killed process %d", pid1)
	}
}

func TestHostInstancesRunConcurrently(t *testing.T) {
	h, _ := startTestHost(t,
		FunctionConfig{Name: "parallel", Instances: 2},
		FunctionConfig{Name: "serial", Instances: 1},
	)

	// Instances=2: the barrier lets the two invocations out only once both are inside the
	// function at the same time, so they can only succeed if they overlap.
	rv := newRendezvous(t, 2)
	var pids [2]int
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range pids {
		wg.Go(func() {
			res, err := h.Invoke(context.Background(), "parallel", rv.payload("/barrier"))
			switch {
			case err != nil:
				errs <- err
			case res.FunctionError != "":
				errs <- fmt.Errorf("Instances=2: %s", res.Payload)
			default:
				var info pidInfo
				if err := json.Unmarshal(res.Payload, &info); err != nil {
					errs <- err
				}
				pids[i] = info.Pid
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if pids[0] == pids[1] {
		t.Errorf("both invocations ran in process %d, want two environments", pids[0])
	}

	// Instances=1: while one invocation is held inside the function, another gets no
	// environment (its Invoke ends with its context) and never reaches the function.
	gate := newRendezvous(t, 0)
	pid := pidOf(t, h, "serial")
	first := make(chan InvokeResult, 1)
	go func() {
		res, err := h.Invoke(context.Background(), "serial", gate.payload("/gate?id=first"))
		if err != nil {
			res = InvokeResult{FunctionError: err.Error()}
		}
		first <- res
	}()
	gate.await(t, "first")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := h.Invoke(ctx, "serial", gate.payload("/gate?id=second")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second invocation while the only environment is busy: err = %v, want context.DeadlineExceeded", err)
	}
	gate.release()
	if res := <-first; res.FunctionError != "" {
		t.Fatalf("first invocation: %s %s", res.FunctionError, res.Payload)
	}
	select {
	case id := <-gate.arrived:
		t.Errorf("invocation %q reached the function while the only environment was busy", id)
	default:
	}
	if again := pidOf(t, h, "serial"); again != pid {
		t.Errorf("Instances=1 used two processes: %d and %d", pid, again)
	}
}

func TestHostRuntimeAPIRejectsInvalidCalls(t *testing.T) {
	h, _ := startTestHost(t, FunctionConfig{Name: "probe"})
	var got map[string]int
	callOK(t, h, "probe", map[string]string{"action": "probe"}, &got)
	want := map[string]int{"unknownResponse": 400, "unknownError": 400, "lateInitError": 403, "unknownPath": 404}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status codes = %v, want %v", got, want)
	}
}

func TestHostInvokeAPIWithSDK(t *testing.T) {
	h, _ := startTestHost(t, FunctionConfig{Name: "api"})
	client := lambda.NewFromConfig(AWSConfig(h.URL()))
	ctx := context.Background()

	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("api"),
		Payload:      []byte(`{"action":"echo","x":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("echo: status %d, FunctionError %v, version %v", out.StatusCode, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion))
	}
	if string(out.Payload) != `{"action":"echo","x":1}` {
		t.Errorf("echo payload = %s", out.Payload)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !uuidRE.MatchString(id) {
		t.Errorf("X-Amzn-Requestid = %q, want a UUID", id)
	}

	// The function may be named by ARN, with the $LATEST qualifier.
	out, err = client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(functionARN("api")),
		Qualifier:    aws.String("$LATEST"),
		Payload:      []byte(`{"action":"error","message":"bad input"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Errorf("error: status %d, FunctionError %q", out.StatusCode, aws.ToString(out.FunctionError))
	}
	wantFunctionError(t, InvokeResult{Payload: out.Payload, FunctionError: aws.ToString(out.FunctionError)}, "errorString", "bad input")

	for _, in := range []*lambda.InvokeInput{
		{FunctionName: aws.String("missing")},
		{FunctionName: aws.String("api"), Qualifier: aws.String("7")},
	} {
		_, err = client.Invoke(ctx, in)
		var rnf *lambdatypes.ResourceNotFoundException
		if !errors.As(err, &rnf) || !strings.Contains(aws.ToString(rnf.Message), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:") {
			t.Errorf("Invoke(%s, qualifier %q): err = %v, want ResourceNotFoundException", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
	}

	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: []byte("not json")})
	var bad *lambdatypes.InvalidRequestContentException
	if !errors.As(err, &bad) {
		t.Errorf("non-JSON payload: err = %v, want InvalidRequestContentException", err)
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), InvocationType: lambdatypes.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: status %v, err %v; want 204", out, err)
	}

	// An Event invocation returns 202 at once and runs in the background.
	marker := filepath.Join(t.TempDir(), "event-ran")
	out, err = client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String("api"),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        fmt.Appendf(nil, `{"action":"touch","name":%q}`, marker),
	})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event: out %+v, err %v; want 202", out, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Event invocation did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostLifecycle(t *testing.T) {
	bin := testBootstrap(t)
	h, err := NewHost([]FunctionConfig{{Name: "life", Bootstrap: bin}}, &lockedBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Invoke(context.Background(), "life", nil); !errors.Is(err, ErrHostNotStarted) {
		t.Errorf("Invoke before Start: err = %v, want ErrHostNotStarted", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pid := pidOf(t, h, "life")

	// An invocation still running when the host closes ends with ErrHostClosed. The
	// function holds it at the gate, so Close comes only once it runs.
	gate := newRendezvous(t, 0)
	running := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), "life", gate.payload("/gate?id=running"))
		running <- err
	}()
	gate.await(t, "running")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-running; !errors.Is(err, ErrHostClosed) {
		t.Errorf("invocation running at Close: err = %v, want ErrHostClosed", err)
	}
	if !processGone(pid) {
		t.Errorf("process %d survived Close", pid)
	}
	if _, err := h.Invoke(context.Background(), "life", nil); !errors.Is(err, ErrHostClosed) {
		t.Errorf("Invoke after Close: err = %v, want ErrHostClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestHostCloseSignalsProcessesWithExtensions(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "sigterm")
	bin := testBootstrap(t)
	logs := &lockedBuffer{}
	h, err := NewHost([]FunctionConfig{{Name: "graceful", Bootstrap: bin, Env: map[string]string{"TESTFN_SIGTERM_FILE": marker}}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pidOf(t, h, "graceful")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the function's SIGTERM handler did not run: %v\nlogs:\n%s", err, logs)
	}
	if strings.Contains(logs.String(), "WARNING") {
		t.Errorf("aws-lambda-go could not register its extension:\n%s", logs)
	}
}

func TestNewHostRejectsBadConfig(t *testing.T) {
	bin := testBootstrap(t)
	notExec := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]FunctionConfig{
		"empty name":       {{Name: "", Bootstrap: bin}},
		"invalid name":     {{Name: "a/b", Bootstrap: bin}},
		"duplicate":        {{Name: "f", Bootstrap: bin}, {Name: "f", Bootstrap: bin}},
		"missing binary":   {{Name: "f", Bootstrap: filepath.Join(t.TempDir(), "nope")}},
		"no binary":        {{Name: "f"}},
		"not executable":   {{Name: "f", Bootstrap: notExec}},
		"directory":        {{Name: "f", Bootstrap: t.TempDir()}},
		"negative timeout": {{Name: "f", Bootstrap: bin, Timeout: -time.Second}},
		"reserved env":     {{Name: "f", Bootstrap: bin, Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}}},
	}
	for name, fns := range cases {
		if _, err := NewHost(fns, nil); err == nil {
			t.Errorf("%s: NewHost succeeded", name)
		}
	}
}
