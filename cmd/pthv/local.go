package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
)

func init() {
	register("local up", "start the local stack in the background (moto, resources, functions, queue poller)", cmdLocalUp)
	register("local down", "stop the local stack", cmdLocalDown)
	register("local env", "print the environment that points the CLI at the local stack", cmdLocalEnv)
	register("local serve", "run the local stack in the foreground until interrupted", cmdLocalServe)
}

type localFlags struct {
	state, functions, prefix string
	sisStudents              int
}

func parseLocal(name string, stderr io.Writer, args []string) (*localFlags, error) {
	fs := newFlags(name, stderr)
	lf := &localFlags{}
	fs.StringVar(&lf.state, "state", ".pthv-local", "folder for the stack's pid, log and env files")
	fs.StringVar(&lf.functions, "functions", "bin/local/functions", "folder of <name>/bootstrap binaries built for this machine ('make local-functions')")
	fs.StringVar(&lf.prefix, "prefix", deploy.DefaultPrefix, "resource name prefix")
	fs.IntVar(&lf.sisStudents, "sis-students", 400, "students of the district the OneRoster stand-ins serve")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageErr("unexpected argument %q", pos[0])
	}
	return lf, nil
}

func (lf *localFlags) path(name string) string { return filepath.Join(lf.state, name) }

// running returns the pid of a live stack, or 0.
func (lf *localFlags) running() int {
	b, err := os.ReadFile(lf.path("serve.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func cmdLocalServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lf, err := parseLocal("local serve", stderr, args)
	if err != nil {
		return err
	}
	fns, err := devstack.FunctionsIn(lf.functions)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := os.MkdirAll(lf.state, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: lf.prefix, Functions: fns, Logs: stderr})
	if err != nil {
		return err
	}
	defer st.Close()
	sis, err := startStandins(lf.sisStudents, lf.path("sis-client-secret"), lf.path("clever-token"))
	if err != nil {
		return err
	}
	defer sis.close()
	env := st.Env()
	maps.Copy(env, sis.env)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s='%s'\n", k, env[k])
	}
	if err := os.WriteFile(lf.path("env"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(lf.path("serve.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "local stack ready on %s: %s; functions %v\n", st.Endpoint, st.Names, slices.Sorted(maps.Keys(fns)))
	fmt.Fprintf(stdout, "dashboard: %s/ (public), %s/staff.html (staff: pthv reach dashboard)\n", st.Dashboard.URL(), st.Dashboard.URL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "local stack stopping")
	os.Remove(lf.path("serve.pid"))
	os.Remove(lf.path("env"))
	return nil
}

func cmdLocalUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lf, err := parseLocal("local up", stderr, args)
	if err != nil {
		return err
	}
	if pid := lf.running(); pid != 0 {
		fmt.Fprintf(stdout, "local stack already running (pid %d); use: source %s\n", pid, lf.path("env"))
		return nil
	}
	if _, err := devstack.FunctionsIn(lf.functions); err != nil {
		return usageErr("%v", err)
	}
	if err := os.MkdirAll(lf.state, 0o755); err != nil {
		return err
	}
	os.Remove(lf.path("env"))
	logf, err := os.Create(lf.path("serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "local", "serve", "--state", lf.state, "--functions", lf.functions, "--prefix", lf.prefix, "--sis-students", strconv.Itoa(lf.sisStudents))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(90 * time.Second)
	for {
		if _, err := os.Stat(lf.path("env")); err == nil {
			fmt.Fprintf(stdout, "local stack running (pid %d, log %s)\npoint the CLI at it with: source %s\n", cmd.Process.Pid, lf.path("serve.log"), lf.path("env"))
			printDashboard(stdout, lf.path("env"))
			return nil
		}
		select {
		case <-exited:
			tail, _ := os.ReadFile(lf.path("serve.log"))
			return fmt.Errorf("the local stack stopped while starting:\n%s", tail)
		case <-deadline:
			cmd.Process.Kill()
			return errors.New("the local stack did not start within 90s; see " + lf.path("serve.log"))
		case <-ctx.Done():
			cmd.Process.Kill()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func cmdLocalDown(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lf, err := parseLocal("local down", stderr, args)
	if err != nil {
		return err
	}
	pid := lf.running()
	if pid == 0 {
		fmt.Fprintln(stdout, "no local stack running")
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	os.Remove(lf.path("serve.pid"))
	os.Remove(lf.path("env"))
	fmt.Fprintln(stdout, "local stack stopped")
	return nil
}

func cmdLocalEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lf, err := parseLocal("local env", stderr, args)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(lf.path("env"))
	if err != nil {
		return &exitError{code: 1, msg: "no local stack running: start it with 'pthv local up'"}
	}
	_, err = stdout.Write(b)
	return err
}
