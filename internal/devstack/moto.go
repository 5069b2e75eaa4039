package devstack

// The AWS stand-in: moto_server on a free loopback port, and the SDK settings (AWSConfig,
// Env) that point a client or a function's process at it.

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region of the local stack.
const Region = "us-east-1"

// Moto is a running moto_server.
type Moto struct {
	URL      string
	cmd      *exec.Cmd
	stdin    io.Closer
	patchDir string // the sitecustomize of EnvMotoPartitionQuery, removed by Stop
}

// EnvMotoPartitionQuery, when set, starts moto_server with motopatch/sitecustomize.py, which
// makes a DynamoDB Query on a table's own key read only its partition. moto 5 sorts the whole
// table for every Query whatever the key, so with many districts in one table (make load) the
// stand-in, not the service, is what a load measures. The answers are the same.
const EnvMotoPartitionQuery = "PTHV_MOTO_PARTITION_QUERY"

//go:embed motopatch/sitecustomize.py
var motoPatch []byte

// ErrMotoMissing is returned when moto_server is not installed.
var ErrMotoMissing = errors.New(`moto_server is not installed: run 'make deps-local' or 'pip install "moto[server]"'`)

// StartMoto starts moto_server on a free loopback port and waits until it answers. Its
// output goes to logw (nil discards it). The server stops with Stop, or when ctx ends.
func StartMoto(ctx context.Context, logw io.Writer) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMotoMissing
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// moto runs under a shell in its own process group. The shell waits on its stdin, which
	// only this process holds open: when this process ends in any way, even SIGKILL, stdin
	// closes and the shell terminates the whole group, so no moto_server is left behind
	// (a Pdeathsig would not reach it through version-manager shims that fork).
	cmd := exec.CommandContext(ctx, "sh", "-c", `"$0" "$@" & read _; kill -TERM 0`, bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	var patchDir string
	if os.Getenv(EnvMotoPartitionQuery) != "" {
		if patchDir, err = os.MkdirTemp("", "pthv-motopatch-"); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(patchDir, "sitecustomize.py"), motoPatch, 0o644); err != nil {
			os.RemoveAll(patchDir)
			return nil, err
		}
		path := patchDir
		if old := os.Getenv("PYTHONPATH"); old != "" {
			path += string(os.PathListSeparator) + old
		}
		cmd.Env = append(os.Environ(), "PYTHONPATH="+path)
	}
	if logw == nil {
		logw = io.Discard
	}
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(patchDir)
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, stdin: stdin, patchDir: patchDir}
	if err := WaitHTTP(ctx, m.URL+"/moto-api/", 30*time.Second); err != nil {
		m.Stop()
		return nil, fmt.Errorf("moto_server did not start: %w", err)
	}
	return m, nil
}

// PID is the id of moto_server's process group (its shell's process id; 0 when it is not
// running), for a load test that reports the stand-in's CPU time.
func (m *Moto) PID() int {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Stop ends the server and its children.
func (m *Moto) Stop() error {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	if m.patchDir != "" {
		defer os.RemoveAll(m.patchDir)
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// AWSConfig returns an SDK configuration that reaches the endpoint with static test
// credentials, exactly as AWS_ENDPOINT_URL and friends would set it.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Env returns the standard SDK environment variables that point a process at endpoint.
func Env(endpoint string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      endpoint,
		"AWS_REGION":            Region,
		"AWS_DEFAULT_REGION":    Region,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
	}
}

// WaitHTTP polls url until it answers any HTTP status, or the timeout passes.
func WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// osEnviron is os.Environ, replaceable in tests.
var osEnviron = os.Environ
