package devstack

// One execution environment of the Lambda host: the bootstrap process, its Runtime API
// listener, and one invocation's run from hand-over to answer, timeout, crash or close.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

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
	go func() {
		err := cmd.Wait()
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
