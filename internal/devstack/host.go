package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	pids  pidSet           // the running processes of the function's environments
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

// sandbox is one process of a function's bootstrap binary and the Runtime API listener it
// talks to.
type sandbox struct {
	fn        *hostedFunction
	logs      *logSink
	cmd       *exec.Cmd
	srv       *http.Server
	startTime time.Time

	exited   chan struct{} // closed once the process has exited and its output is drained
	exitErr  error         // set before exited is closed
	dead     chan struct{} // closed when stop begins
	initErr  chan []byte   // error object posted to /runtime/init/error
	stopOnce sync.Once

	mu          sync.Mutex
	notify      chan struct{} // closed and replaced whenever pending changes
	pending     *invocation   // handed to this sandbox, not yet taken by the runtime
	current     *invocation   // taken by the runtime, no answer yet
	served      int           // invocations the runtime has taken
	initialized bool          // the runtime has called /next at least once
	readyAt     time.Time
	extensions  map[string]bool // extension id -> registered for SHUTDOWN
	stopReason  string
}

// runOutcome is what sandbox.run reports to the worker.
type runOutcome struct {
	res          InvokeResult
	err          error
	discard      bool   // the process must be stopped and replaced
	reason       string // shutdown reason when discarded
	retry        bool   // the invocation never reached a warm process that is now gone
	duration     time.Duration
	initDuration time.Duration
}

func (h *Host) startSandbox(fn *hostedFunction) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	sb := &sandbox{
		fn:         fn,
		logs:       h.logs,
		exited:     make(chan struct{}),
		dead:       make(chan struct{}),
		initErr:    make(chan []byte, 1),
		notify:     make(chan struct{}),
		extensions: map[string]bool{},
	}
	sb.srv = &http.Server{Handler: sb.runtimeAPI(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = sb.srv.Serve(ln) }()

	cfg := fn.cfg
	dir := filepath.Dir(cfg.Bootstrap)
	env := osEnviron()
	env = append(env,
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME="+cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION="+latest,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME="+newLogStreamName(),
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT="+dir,
		"TZ=:UTC",
	)
	if !envHas(env, "AWS_REGION") && cfg.Env["AWS_REGION"] == "" {
		env = append(env, "AWS_REGION="+Region)
	}
	if !envHas(env, "AWS_DEFAULT_REGION") && cfg.Env["AWS_DEFAULT_REGION"] == "" {
		env = append(env, "AWS_DEFAULT_REGION="+Region)
	}
	// A function that invokes another (ingest → reach) reaches it on this host, as it
	// would reach the regional Lambda endpoint in AWS.
	if u := h.URL(); u != "" && !envHas(env, "AWS_ENDPOINT_URL_LAMBDA") && cfg.Env["AWS_ENDPOINT_URL_LAMBDA"] == "" {
		env = append(env, "AWS_ENDPOINT_URL_LAMBDA="+u)
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+cfg.Env[k]) // later entries win in exec.Cmd.Env
	}

	stdout := &lineWriter{sink: h.logs, name: cfg.Name}
	stderr := &lineWriter{sink: h.logs, name: cfg.Name}
	sb.startTime = time.Now()
	cmd, err := startCmd(func() *exec.Cmd {
		cmd := exec.Command(cfg.Bootstrap)
		cmd.Dir = dir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Close kills the whole group
		cmd.WaitDelay = 2 * time.Second
		return cmd
	})
	if err != nil {
		_ = sb.srv.Close()
		return nil, err
	}
	sb.cmd = cmd
	fn.pids.add(cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		fn.pids.remove(cmd.Process.Pid)
		stdout.flush()
		stderr.flush()
		sb.mu.Lock()
		sb.exitErr = err
		reason := sb.stopReason
		sb.mu.Unlock()
		if reason == "" {
			sb.logs.printf(cfg.Name, "process %d exited: %s", cmd.Process.Pid, exitDescription(err))
		}
		close(sb.exited)
	}()
	return sb, nil
}

// startCmd starts the command newCmd builds, retrying briefly on ETXTBSY: the binary may
// have just been written (by a build, or by a test) while another goroutine forked.
func startCmd(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	for attempt := 1; ; attempt++ {
		cmd := newCmd()
		err := cmd.Start()
		if err == nil {
			return cmd, nil
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 5 {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (sb *sandbox) hasExited() bool {
	select {
	case <-sb.exited:
		return true
	default:
		return false
	}
}

// stop ends the process group and the Runtime API listener, and waits for the process.
// reason is the extensions' shutdownReason: "spindown" is a graceful stop (SIGTERM first
// when an extension registered for it), anything else is SIGKILL at once.
func (sb *sandbox) stop(reason string) {
	sb.stopOnce.Do(func() {
		sb.mu.Lock()
		sb.stopReason = reason
		graceful := reason == "spindown" && len(sb.extensions) > 0
		sb.mu.Unlock()
		close(sb.dead)
		pid := sb.cmd.Process.Pid
		if graceful && !sb.hasExited() {
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			select {
			case <-sb.exited:
			case <-time.After(shutdownGrace):
			}
		}
		// Also after the leader has exited: its children may still be in the group.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-sb.exited
		_ = sb.srv.Close()
	})
}

// run hands inv to the runtime and waits for the runOutcome: the runtime's answer, the
// deadline, the process exiting, an init error, or the host closing.
func (sb *sandbox) run(inv *invocation, done <-chan struct{}) runOutcome {
	sb.mu.Lock()
	sb.pending = inv
	warm := sb.served > 0
	initialized := sb.initialized
	sb.broadcastLocked()
	sb.mu.Unlock()

	var initC, deadlineC <-chan time.Time
	if !initialized {
		t := time.NewTimer(initTimeout - time.Since(sb.startTime))
		defer t.Stop()
		initC = t.C
	}
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	timeout := sb.fn.cfg.Timeout
	started := inv.started
	for {
		select {
		case <-started:
			started, initC = nil, nil
			sb.mu.Lock()
			d := inv.deadline
			sb.mu.Unlock()
			deadline = time.NewTimer(time.Until(d))
			deadlineC = deadline.C

		case r := <-inv.response:
			return sb.finish(inv, runOutcome{res: r})

		case <-deadlineC:
			if ok, _ := sb.claim(inv); !ok {
				return sb.finish(inv, runOutcome{res: <-inv.response})
			}
			return sb.finish(inv, runOutcome{
				res:     unhandled("Sandbox.Timedout", fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())),
				discard: true, reason: "timeout",
			})

		case <-initC:
			if ok, _ := sb.claim(inv); !ok {
				continue // the runtime took it just now; the deadline applies
			}
			return sb.finish(inv, runOutcome{
				res: unhandled("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Runtime did not ask for work within %.2f seconds of starting",
					inv.id, initTimeout.Seconds())),
				discard: true, reason: "timeout",
			})

		case payload := <-sb.initErr:
			if ok, _ := sb.claim(inv); !ok {
				continue
			}
			return sb.finish(inv, runOutcome{res: InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled},
				discard: true, reason: "failure"})

		case <-sb.exited:
			select {
			case payload := <-sb.initErr: // the runtime reported why before exiting
				if ok, _ := sb.claim(inv); ok {
					return sb.finish(inv, runOutcome{res: InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled},
						discard: true, reason: "failure"})
				}
			default:
			}
			ok, wasPending := sb.claim(inv)
			if !ok {
				return sb.finish(inv, runOutcome{res: <-inv.response})
			}
			return sb.finish(inv, runOutcome{
				res:     unhandled("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", inv.id, exitDescription(sb.exitErr))),
				discard: true, reason: "failure", retry: wasPending && warm,
			})

		case <-done:
			if ok, _ := sb.claim(inv); !ok {
				return sb.finish(inv, runOutcome{res: <-inv.response})
			}
			return sb.finish(inv, runOutcome{err: ErrHostClosed, discard: true, reason: "spindown"})
		}
	}
}

// finish fills in the timings of out.
func (sb *sandbox) finish(inv *invocation, out runOutcome) runOutcome {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !inv.startedAt.IsZero() {
		out.duration = time.Since(inv.startedAt)
		if sb.served == 1 && !sb.readyAt.IsZero() {
			out.initDuration = sb.readyAt.Sub(sb.startTime)
		}
	}
	return out
}

// claim takes inv away from the runtime. It reports false when the runtime has already
// answered it (the answer is then in, or about to be in, inv.response); wasPending
// reports that the runtime had not even taken it.
func (sb *sandbox) claim(inv *invocation) (claimed, wasPending bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	switch inv {
	case sb.pending:
		sb.pending = nil
		sb.broadcastLocked()
		return true, true
	case sb.current:
		sb.current = nil
		return true, false
	}
	return false, false
}

// complete records the runtime's answer for the invocation id. It reports false when id
// is not the invocation in progress (unknown, already answered, or timed out).
func (sb *sandbox) complete(id string, res InvokeResult) bool {
	sb.mu.Lock()
	inv := sb.current
	if inv == nil || inv.id != id {
		sb.mu.Unlock()
		return false
	}
	sb.current = nil
	sb.mu.Unlock()
	inv.response <- res
	return true
}

func (sb *sandbox) broadcastLocked() {
	close(sb.notify)
	sb.notify = make(chan struct{})
}

// Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).

const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body" // trailer, base64
	hdrExtensionName   = "Lambda-Extension-Name"
	hdrExtensionID     = "Lambda-Extension-Identifier"
	runtimePrefix      = "/2018-06-01/runtime"
	extensionPrefix    = "/2020-01-01/extension"
	errInvalidID       = "InvalidRequestID"
	errStateTransition = "InvalidStateTransition"
)

func (sb *sandbox) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimePrefix+"/invocation/next", sb.handleNext)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/response", sb.handleResponse)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/error", sb.handleError)
	mux.HandleFunc("POST "+runtimePrefix+"/init/error", sb.handleInitError)
	mux.HandleFunc("POST "+extensionPrefix+"/register", sb.handleExtensionRegister)
	mux.HandleFunc("GET "+extensionPrefix+"/event/next", sb.handleExtensionNext)
	return mux
}

// handleNext blocks until an invocation is handed to this sandbox and returns it.
func (sb *sandbox) handleNext(w http.ResponseWriter, r *http.Request) {
	for {
		sb.mu.Lock()
		if !sb.initialized {
			sb.initialized = true
			sb.readyAt = time.Now()
		}
		if inv := sb.pending; inv != nil && sb.current == nil {
			sb.pending, sb.current = nil, inv
			sb.served++
			inv.startedAt = time.Now()
			inv.deadline = inv.startedAt.Add(sb.fn.cfg.Timeout)
			deadline := inv.deadline
			sb.mu.Unlock()
			close(inv.started)

			hdr := w.Header()
			hdr.Set("Content-Type", "application/json")
			hdr.Set(hdrRequestID, inv.id)
			hdr.Set(hdrDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
			hdr.Set(hdrFunctionARN, sb.fn.arn)
			hdr.Set(hdrTraceID, inv.traceID)
			if inv.clientContext != "" {
				hdr.Set(hdrClientContext, inv.clientContext)
			}
			if inv.tenantID != "" {
				hdr.Set(hdrTenantID, inv.tenantID)
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(inv.payload)
			return
		}
		wait := sb.notify
		sb.mu.Unlock()
		// While the sandbox stops, /next blocks as on AWS until the process is gone.
		select {
		case <-wait:
		case <-r.Context().Done():
			return
		}
	}
}

// handleResponse accepts the runtime's response for an invocation.
func (sb *sandbox) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "cannot read body: "+err.Error())
		return
	}
	if tooLarge {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxSyncPayload)
		if !sb.complete(id, unhandled("Function.ResponseSizeTooLarge", msg)) {
			writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
			return
		}
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	res := InvokeResult{Payload: body}
	// aws-lambda-go reports an error met while streaming the response in trailers.
	if et := r.Trailer.Get(hdrErrorType); et != "" {
		payload, err := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody))
		if err != nil || !json.Valid(payload) {
			payload = errorPayload(et, "error while sending the response")
		}
		res = InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled}
	}
	if !sb.complete(id, res) {
		writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

// handleError accepts the runtime's error for an invocation.
func (sb *sandbox) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	payload := sb.readErrorBody(w, r)
	if payload == nil {
		return
	}
	if !sb.complete(id, InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled}) {
		writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

// handleInitError accepts an initialisation error; it fails the pending invocation and
// the process is replaced.
func (sb *sandbox) handleInitError(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	initialized := sb.initialized
	sb.mu.Unlock()
	if initialized {
		writeRuntimeError(w, http.StatusForbidden, errStateTransition,
			"init/error is only accepted before the runtime's first call to invocation/next")
		return
	}
	payload := sb.readErrorBody(w, r)
	if payload == nil {
		return
	}
	select {
	case sb.initErr <- payload:
	default: // the first report wins
	}
	writeAccepted(w)
}

// readErrorBody returns the error object posted by the runtime, built from the
// Lambda-Runtime-Function-Error-Type header when the body is empty or not JSON. It writes
// an error response and returns nil when the body cannot be read.
func (sb *sandbox) readErrorBody(w http.ResponseWriter, r *http.Request) []byte {
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil || tooLarge {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "cannot read the error body")
		return nil
	}
	et := r.Header.Get(hdrErrorType)
	if et == "" {
		et = "Runtime.Unknown"
	}
	if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
		return errorPayload(et, strings.TrimSpace(string(body)))
	}
	return body
}

// handleExtensionRegister registers an (internal) extension. aws-lambda-go does so, with
// no events, when a function enables SIGTERM handling. Events are never sent except
// SHUTDOWN, when the host stops the process.
func (sb *sandbox) handleExtensionRegister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(hdrExtensionName) == "" {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "missing "+hdrExtensionName)
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	body, _, _ := readLimited(r.Body, 64*1024)
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "invalid body: "+err.Error())
			return
		}
	}
	sb.mu.Lock()
	if sb.initialized {
		sb.mu.Unlock()
		writeRuntimeError(w, http.StatusForbidden, errStateTransition, "extensions must register during init")
		return
	}
	id := newRequestID()
	shutdown := false
	for _, e := range req.Events {
		shutdown = shutdown || e == "SHUTDOWN"
	}
	sb.extensions[id] = shutdown
	sb.mu.Unlock()
	w.Header().Set(hdrExtensionID, id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    sb.fn.cfg.Name,
		"functionVersion": latest,
		"handler":         "bootstrap",
	})
}

// handleExtensionNext blocks until the sandbox stops; an extension registered for
// SHUTDOWN then receives the SHUTDOWN event.
func (sb *sandbox) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	shutdown, ok := sb.extensions[r.Header.Get(hdrExtensionID)]
	sb.mu.Unlock()
	if !ok {
		writeRuntimeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown extension identifier")
		return
	}
	if !shutdown {
		<-r.Context().Done() // no event will ever come
		return
	}
	select {
	case <-r.Context().Done():
		return
	case <-sb.dead:
	}
	sb.mu.Lock()
	reason := sb.stopReason
	sb.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"eventType":      "SHUTDOWN",
		"shutdownReason": reason,
		"deadlineMs":     time.Now().Add(shutdownGrace).UnixMilli(),
	})
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeRuntimeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorPayload(errType, msg))
}

// Invoke API (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).

func (h *Host) invokeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", h.handleInvoke)
	return mux
}

func (h *Host) handleInvoke(w http.ResponseWriter, r *http.Request) {
	name, qualifier := splitFunctionName(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		if qualifier != "" && qualifier != q {
			writeAPIError(w, http.StatusBadRequest, "InvalidParameterValueException",
				"The derived qualifier from the function name does not match the specified qualifier.")
			return
		}
		qualifier = q
	}
	fn := h.fns[name]
	if fn == nil || (qualifier != "" && qualifier != latest) {
		arn := functionARN(name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
		writeAPIError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
		return
	}
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read request body: "+err.Error())
		return
	}
	if tooLarge {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload))
		return
	}
	payload, err := normalizePayload(body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	inv := newInvocation(payload)
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		dec, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(dec) {
			writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException",
				"Client context must be a valid Base64-encoded JSON object.")
			return
		}
		inv.clientContext = string(dec)
	}
	inv.tenantID = r.Header.Get("X-Amz-Tenant-Id")

	w.Header().Set("X-Amzn-Requestid", inv.id)
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		if !h.invokeAsync(fn, inv) {
			writeAPIError(w, http.StatusServiceUnavailable, "ServiceException", "the local Lambda host is shutting down")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "", "RequestResponse":
		res, err := h.invoke(r.Context(), fn, inv)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrHostClosed) {
				status = http.StatusServiceUnavailable
			}
			writeAPIError(w, status, "ServiceException", err.Error())
			return
		}
		w.Header().Set("X-Amz-Executed-Version", latest)
		if res.FunctionError != "" {
			w.Header().Set("X-Amz-Function-Error", res.FunctionError)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.Payload)
	default:
		writeAPIError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Unsupported invocation type %q", typ))
	}
}

// writeAPIError writes an AWS REST-JSON error as the Lambda service does.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	if w.Header().Get("X-Amzn-Requestid") == "" {
		w.Header().Set("X-Amzn-Requestid", newRequestID())
	}
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	w.Header().Set("X-Amzn-Errortype", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": kind, "message": msg})
}

// splitFunctionName accepts the forms the Invoke API does: name, name:qualifier,
// ACCOUNT:function:name[:qualifier] and arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier].
func splitFunctionName(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	switch len(parts) {
	case 1:
		return parts[0], ""
	case 2:
		return parts[0], parts[1]
	}
	return s, ""
}

// Helpers.

func functionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + localAccountID + ":function:" + name
}

func normalizePayload(p []byte) ([]byte, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return []byte("{}"), nil
	}
	if !json.Valid(p) {
		return nil, ErrInvalidPayload
	}
	return bytes.Clone(p), nil
}

// readLimited reads r up to limit bytes; tooLarge reports that there was more.
func readLimited(r io.Reader, limit int64) (data []byte, tooLarge bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		_, _ = io.Copy(io.Discard, r)
		return nil, true, nil
	}
	return data, false, nil
}

type lambdaErrorObject struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func errorPayload(errType, msg string) []byte {
	b, _ := json.Marshal(lambdaErrorObject{ErrorMessage: msg, ErrorType: errType})
	return b
}

func unhandled(errType, msg string) InvokeResult {
	return InvokeResult{Payload: errorPayload(errType, msg), FunctionError: functionErrorUnhandled}
}

func errorResult(id, errType, msg string) InvokeResult {
	res := unhandled(errType, msg)
	res.RequestID = id
	return res
}

func errorTypeOf(payload []byte) string {
	var e lambdaErrorObject
	if json.Unmarshal(payload, &e) != nil || e.ErrorType == "" {
		return "unknown"
	}
	return e.ErrorType
}

func errorMessageOf(payload []byte) string {
	var e lambdaErrorObject
	if json.Unmarshal(payload, &e) != nil {
		return "unknown error"
	}
	return e.ErrorMessage
}

func exitDescription(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "Runtime exited without providing a reason"
	case errors.As(err, &ee):
		return "Runtime exited with error: " + ee.ProcessState.String()
	default:
		return "Runtime exited with error: " + err.Error()
	}
}

func envHas(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") && len(kv) > len(key)+1 {
			return true
		}
	}
	return false
}

func hexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID returns a random UUID (version 4), the form of AWS request ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header for an unsampled request.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hexID(12), hexID(8))
}

func newLogStreamName() string {
	return time.Now().UTC().Format("2006/01/02") + "/[" + latest + "]" + hexID(16)
}

// logSink serialises the lines of all processes onto one writer.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) line(name string, text []byte) {
	buf := make([]byte, 0, len(name)+len(text)+4)
	buf = append(buf, '[')
	buf = append(buf, name...)
	buf = append(buf, "] "...)
	buf = append(buf, text...)
	buf = append(buf, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(buf)
}

func (s *logSink) printf(name, format string, args ...any) {
	s.line(name, fmt.Appendf(nil, format, args...))
}

// lineWriter turns a process's output stream into prefixed lines on a logSink.
type lineWriter struct {
	sink *logSink
	name string
	buf  []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			break
		}
		lw.sink.line(lw.name, bytes.TrimSuffix(lw.buf[:i], []byte("\r")))
		lw.buf = lw.buf[i+1:]
	}
	if len(lw.buf) > maxLogLine {
		lw.flush()
	}
	if len(lw.buf) == 0 {
		lw.buf = nil
	}
	return len(p), nil
}

// flush writes out an unterminated last line. It must not run concurrently with Write.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		lw.sink.line(lw.name, lw.buf)
	}
	lw.buf = nil
}
