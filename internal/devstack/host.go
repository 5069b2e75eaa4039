package devstack

// The Lambda host: Host runs each configured function as its real bootstrap binary, in
// Instances execution environments that take invocations off the function's queue.
// host_sandbox.go is one environment's process, host_runtimeapi.go the Runtime API it talks
// to, host_invokeapi.go the Invoke API the SDK's lambda client calls.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// localAccountID is the AWS account of the local stack; it appears in function ARNs.
const localAccountID = "000000000000"

const (
	defaultTimeout  = 15 * time.Minute
	defaultMemoryMB = 1024
	// initTimeout is how long a new process may take to ask for its first invocation
	// (AWS's limit for the init phase).
	initTimeout = 10 * time.Second
	// maxSyncPayload is AWS's limit for a synchronous request or response payload.
	maxSyncPayload = 6 * 1024 * 1024
	// shutdownGrace is how long a process that registered an extension gets between
	// SIGTERM and SIGKILL when the host closes.
	shutdownGrace = 500 * time.Millisecond
	// maxLogLine bounds how much of an unterminated output line is buffered.
	maxLogLine = 256 * 1024

	functionErrorUnhandled = "Unhandled"
	latest                 = "$LATEST"
)

var (
	// ErrFunctionNotFound is returned by Invoke for a name the Host was not configured with.
	ErrFunctionNotFound = errors.New("function not found")
	// ErrHostNotStarted is returned by Invoke before Start.
	ErrHostNotStarted = errors.New("lambda host not started")
	// ErrHostClosed is returned by Invoke and Start once Close has been called, and by
	// Invoke for an invocation that was still queued or running when the host closed.
	ErrHostClosed = errors.New("lambda host closed")
	// ErrInvalidPayload is returned by Invoke when the payload is not valid JSON.
	ErrInvalidPayload = errors.New("invocation payload is not valid JSON")
)

// functionNameRE is the pattern AWS accepts for an unqualified function name.
var functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// reservedEnv are the variables the Host sets for every process; FunctionConfig.Env may
// not set them.
var reservedEnv = map[string]bool{
	"AWS_LAMBDA_RUNTIME_API":          true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME":       true,
	"AWS_LAMBDA_LOG_STREAM_NAME":      true,
	"_HANDLER":                        true,
	"LAMBDA_TASK_ROOT":                true,
}

// FunctionConfig describes one Lambda function served by a Host.
type FunctionConfig struct {
	Name      string            // function name, e.g. "ingest": letters, digits, '-' and '_', at most 64
	Bootstrap string            // path of the bootstrap binary to run
	Env       map[string]string // added to the process environment (on top of os.Environ())
	Timeout   time.Duration     // per invocation; default 15m
	MemoryMB  int               // reported in AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 1024
	Instances int               // concurrent execution environments; default 1
}

// InvokeResult is the runOutcome of one invocation that reached the function.
type InvokeResult struct {
	Payload       []byte // the function's response, or the error object {"errorMessage","errorType"}
	FunctionError string // "" on success, "Unhandled" when the function returned an error, crashed or timed out
	RequestID     string // the AWS request id the function saw
}

// Host runs Lambda functions locally as their real bootstrap binaries. Each execution
// environment is one child process that talks to its own loopback listener serving the
// Lambda Runtime API (and the part of the Extensions API that aws-lambda-go uses); the
// Host also serves the Lambda Invoke API so that the AWS SDK's lambda client can call the
// functions. Processes start lazily, on the first invocation an environment receives, and
// are replaced after a crash, an init error or a timeout.
//
// A Host is safe for concurrent use.
type Host struct {
	fns  map[string]*hostedFunction
	logs *logSink

	mu     sync.Mutex
	state  hostState
	done   chan struct{} // closed by Close
	ctx    context.Context
	cancel context.CancelFunc
	srv    *http.Server
	served chan struct{} // closed when the Invoke API server has stopped
	url    string

	wg        sync.WaitGroup // workers and background (Event) invocations
	closeOnce sync.Once
}

type hostState int

const (
	hostNew hostState = iota
	hostStarted
	hostClosed
)

// hostedFunction is a configured function and the queue its environments take work from.
type hostedFunction struct {
	cfg   FunctionConfig
	arn   string
	queue chan *invocation // unbuffered: an invocation is handed straight to a free environment
}

// invocation is one request for a function, from Invoke to its result.
type invocation struct {
	id            string
	payload       []byte
	traceID       string
	clientContext string
	tenantID      string

	started  chan struct{}         // closed by the Runtime API when the runtime takes it
	response chan InvokeResult     // the runtime's answer; written at most once
	result   chan invocationResult // the final runOutcome for the caller; written exactly once

	// Set under the owning sandbox's mu when the runtime takes the invocation.
	startedAt time.Time
	deadline  time.Time
}

type invocationResult struct {
	res InvokeResult
	err error
}

func newInvocation(payload []byte) *invocation {
	return &invocation{
		id:       newRequestID(),
		payload:  payload,
		traceID:  newTraceID(),
		started:  make(chan struct{}),
		response: make(chan InvokeResult, 1),
		result:   make(chan invocationResult, 1),
	}
}

// NewHost checks the function configurations and returns a Host for them; nothing runs
// until Start. Output of the functions' processes goes to logs (nil means os.Stderr), each
// line prefixed with "[name] ", together with START/END/REPORT lines like CloudWatch's.
//
// It fails when a name is empty, not a valid Lambda function name or used twice, when a
// bootstrap binary does not exist, is not a regular file or is not executable, when
// Timeout, MemoryMB or Instances is negative, or when Env sets a variable the Host
// itself sets (such as AWS_LAMBDA_RUNTIME_API or _HANDLER).
func NewHost(fns []FunctionConfig, logs io.Writer) (*Host, error) {
	if logs == nil {
		logs = os.Stderr
	}
	h := &Host{
		fns:  make(map[string]*hostedFunction, len(fns)),
		logs: &logSink{w: logs},
		done: make(chan struct{}),
	}
	for _, cfg := range fns {
		if cfg.Name == "" {
			return nil, errors.New("lambda host: function with empty name")
		}
		if !functionNameRE.MatchString(cfg.Name) {
			return nil, fmt.Errorf("lambda host: invalid function name %q", cfg.Name)
		}
		if _, dup := h.fns[cfg.Name]; dup {
			return nil, fmt.Errorf("lambda host: duplicate function name %q", cfg.Name)
		}
		if cfg.Bootstrap == "" {
			return nil, fmt.Errorf("lambda host: function %s: no bootstrap binary", cfg.Name)
		}
		abs, err := filepath.Abs(cfg.Bootstrap)
		if err != nil {
			return nil, fmt.Errorf("lambda host: function %s: %w", cfg.Name, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("lambda host: function %s: bootstrap: %w", cfg.Name, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("lambda host: function %s: bootstrap %s is not an executable file", cfg.Name, abs)
		}
		cfg.Bootstrap = abs
		if cfg.Timeout < 0 || cfg.MemoryMB < 0 || cfg.Instances < 0 {
			return nil, fmt.Errorf("lambda host: function %s: negative Timeout, MemoryMB or Instances", cfg.Name)
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = defaultTimeout
		}
		if cfg.MemoryMB == 0 {
			cfg.MemoryMB = defaultMemoryMB
		}
		if cfg.Instances == 0 {
			cfg.Instances = 1
		}
		env := make(map[string]string, len(cfg.Env))
		for k, v := range cfg.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
				return nil, fmt.Errorf("lambda host: function %s: invalid environment variable %q", cfg.Name, k)
			}
			if reservedEnv[k] {
				return nil, fmt.Errorf("lambda host: function %s: environment variable %s is reserved", cfg.Name, k)
			}
			env[k] = v
		}
		cfg.Env = env
		h.fns[cfg.Name] = &hostedFunction{
			cfg:   cfg,
			arn:   functionARN(cfg.Name),
			queue: make(chan *invocation),
		}
	}
	return h, nil
}

// Start starts the Invoke API server on 127.0.0.1 (see URL) and the execution
// environments' dispatchers. Processes themselves start lazily, on the first invocation an
// environment receives, as cold starts do on AWS. The Host runs until Close is called or
// ctx ends, whichever comes first.
//
// Start fails if it was already called, if the Host is closed (ErrHostClosed) or if no
// loopback port can be opened.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case hostStarted:
		return errors.New("lambda host: already started")
	case hostClosed:
		return ErrHostClosed
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("lambda host: listen: %w", err)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.url = "http://" + ln.Addr().String()
	h.srv = &http.Server{Handler: h.invokeAPI(), ReadHeaderTimeout: 30 * time.Second}
	h.served = make(chan struct{})
	h.state = hostStarted
	go func() {
		defer close(h.served)
		_ = h.srv.Serve(ln)
	}()
	for _, fn := range h.fns {
		for range fn.cfg.Instances {
			h.wg.Add(1)
			go h.worker(fn)
		}
	}
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = h.Close()
			case <-h.done:
			}
		}()
	}
	return nil
}

// URL returns the base URL of the Host's Lambda Invoke API (http://127.0.0.1:PORT), for
// use as the AWS SDK lambda client's BaseEndpoint. It is "" before Start.
func (h *Host) URL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url
}

// Invoke runs the function name synchronously with payload, as a RequestResponse
// invocation does: it waits for a free execution environment of the function (there are
// Instances of them), hands the payload to the runtime and returns the runtime's answer.
// An empty payload is sent as "{}".
//
// A function that returns an error, crashes (Runtime.ExitError), fails to initialise or
// times out (Sandbox.Timedout) is not a Go error: the InvokeResult then has FunctionError
// "Unhandled" and the error object as Payload. Invoke returns an error only when the
// invocation could not run: ErrFunctionNotFound, ErrInvalidPayload, ErrHostNotStarted,
// ErrHostClosed, or ctx's error when ctx ends first. An invocation already handed to the
// function keeps running when ctx ends, as it would on AWS; only its result is dropped.
func (h *Host) Invoke(ctx context.Context, name string, payload []byte) (InvokeResult, error) {
	fn := h.fns[name]
	if fn == nil {
		return InvokeResult{}, fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
	}
	payload, err := normalizePayload(payload)
	if err != nil {
		return InvokeResult{}, err
	}
	return h.invoke(ctx, fn, newInvocation(payload))
}

func (h *Host) invoke(ctx context.Context, fn *hostedFunction, inv *invocation) (InvokeResult, error) {
	h.mu.Lock()
	state := h.state
	h.mu.Unlock()
	switch state {
	case hostNew:
		return InvokeResult{}, ErrHostNotStarted
	case hostClosed:
		return InvokeResult{}, ErrHostClosed
	}
	select {
	case fn.queue <- inv:
	case <-ctx.Done():
		return InvokeResult{}, ctx.Err()
	case <-h.done:
		return InvokeResult{}, ErrHostClosed
	}
	select {
	case r := <-inv.result:
		return r.res, r.err
	case <-ctx.Done():
		return InvokeResult{}, ctx.Err()
	}
}

// invokeAsync runs inv in the background, as an Event invocation. It reports false when
// the host is closing.
func (h *Host) invokeAsync(fn *hostedFunction, inv *invocation) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != hostStarted {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		res, err := h.invoke(h.ctx, fn, inv)
		switch {
		case err != nil:
			h.logs.printf(fn.cfg.Name, "Event invocation %s not run: %v", inv.id, err)
		case res.FunctionError != "":
			h.logs.printf(fn.cfg.Name, "Event invocation %s failed: %s (not retried)", inv.id, errorTypeOf(res.Payload))
		}
	}()
	return true
}

// Close stops the Invoke API server and every process (with their children), and waits
// for them. Invocations still queued or running end with ErrHostClosed. A process that
// registered an extension gets SIGTERM and shutdownGrace before SIGKILL, as on AWS; the
// others get SIGKILL. Close may be called more than once, also before Start; the error
// result (always nil) is there so that a Host is an io.Closer.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.state = hostClosed
		close(h.done)
		srv, served, cancel := h.srv, h.served, h.cancel
		h.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		if srv != nil {
			_ = srv.Close()
			<-served
		}
		h.wg.Wait()
	})
	return nil
}

// worker is one execution environment of fn: it takes invocations off fn's queue one at a
// time and runs them in its current process, replacing the process when it is gone.
func (h *Host) worker(fn *hostedFunction) {
	defer h.wg.Done()
	var sb *sandbox
	defer func() {
		if sb != nil {
			sb.stop("spindown")
		}
	}()
	for {
		select {
		case <-h.done:
			return
		case inv := <-fn.queue:
			sb = h.serve(fn, sb, inv)
		}
	}
}

// serve runs inv on sb, starting a new process first when there is none. It returns the
// sandbox to keep for the next invocation (nil when it had to be discarded).
func (h *Host) serve(fn *hostedFunction, sb *sandbox, inv *invocation) *sandbox {
	name := fn.cfg.Name
	for attempt := 0; ; attempt++ {
		if sb != nil && sb.hasExited() {
			sb.stop("failure")
			sb = nil
		}
		if sb == nil {
			var err error
			sb, err = h.startSandbox(fn)
			if err != nil {
				h.logs.printf(name, "RequestId: %s Error: %v", inv.id, err)
				inv.result <- invocationResult{res: errorResult(inv.id, "Runtime.InvalidEntrypoint",
					fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))}
				return nil
			}
		}
		h.logs.printf(name, "START RequestId: %s Version: %s", inv.id, latest)
		out := sb.run(inv, h.done)
		if out.retry && attempt == 0 {
			// The process of a warm environment was gone before it took the invocation
			// (e.g. it exited after its previous one): run the invocation on a new one.
			h.logs.printf(name, "RequestId: %s was not taken by the exited process; starting a new one", inv.id)
			sb.stop("failure")
			sb = nil
			continue
		}
		if out.res.FunctionError != "" && out.discard {
			msg := errorMessageOf(out.res.Payload)
			if !strings.HasPrefix(msg, "RequestId:") {
				msg = fmt.Sprintf("RequestId: %s Error: %s", inv.id, msg)
			}
			h.logs.printf(name, "%s", msg)
		}
		if out.err != nil { // aborted by Close
			sb.stop(out.reason)
			inv.result <- invocationResult{err: out.err}
			return nil
		}
		h.logs.printf(name, "END RequestId: %s", inv.id)
		report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tMemory Size: %d MB",
			inv.id, float64(out.duration)/float64(time.Millisecond), fn.cfg.MemoryMB)
		if out.initDuration > 0 {
			report += fmt.Sprintf("\tInit Duration: %.2f ms", float64(out.initDuration)/float64(time.Millisecond))
		}
		if out.res.FunctionError != "" {
			report += "\tStatus: error\tError Type: " + errorTypeOf(out.res.Payload)
		}
		h.logs.printf(name, "%s", report)
		if out.discard {
			sb.stop(out.reason)
			sb = nil
		}
		out.res.RequestID = inv.id
		inv.result <- invocationResult{res: out.res, err: out.err}
		return sb
	}
}
