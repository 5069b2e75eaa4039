package devstack

// The whole local stack (StartStack): moto, the resources, the functions under the Lambda
// host, the API Gateway front and the ingest queue's poller, wired as Terraform wires AWS.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/deploy"
)

// StackOptions configure a local stack.
type StackOptions struct {
	// Prefix names the resources (default deploy.DefaultPrefix).
	Prefix string
	// Functions maps function names to their bootstrap binaries (see BuildFunctions).
	Functions map[string]string
	// Endpoint is an AWS stand-in that is already running; empty starts a moto_server.
	Endpoint string
	// Env is added to every function's environment (for example IMPORT_MAX_RUN).
	Env map[string]string
	// Logs receives the functions' and moto's output (nil discards it).
	Logs io.Writer
	// Recorder, when set, records each function's AWS calls (see Recorder).
	Recorder *Recorder
	// Principals are IAM callers the local API Gateway accepts besides the default national
	// staff principal (access key "test", secret "test").
	Principals map[string]IAMPrincipal
	// IngestConcurrency is how many ingest invocations run at once, as the SQS event source
	// mapping's maximum concurrency allows in AWS: that many execution environments and
	// pollers. 0 means deploy.IngestMaxConcurrency (Terraform's default).
	IngestConcurrency int
}

// LocalAccount is the account id of local IAM principals.
const LocalAccount = "123456789012"

// LocalPrincipal is a local IAM principal with access key and secret key, acting as role.
func LocalPrincipal(key, secret, role string) IAMPrincipal {
	return IAMPrincipal{AccessKey: key, SecretKey: secret, AccountID: LocalAccount, UserID: "AROALOCAL:" + key,
		CallerID: "AROALOCAL:" + key, UserARN: "arn:aws:sts::" + LocalAccount + ":assumed-role/" + role + "/" + key}
}

// Stack is PTHV Reach running locally: AWS stand-in, resources, functions and the event
// source mapping of the ingest queue.
type Stack struct {
	Endpoint    string
	Names       deploy.Names
	Provisioned *Provisioned
	Host        *Host
	// API is the local API Gateway in front of the api function (nil without one).
	API    *APIGateway
	moto   *Moto
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Dashboard serves the dashboard from the reports bucket, as CloudFront does in AWS.
	Dashboard *dashboard.Server
}

// StartStack starts moto (unless opts.Endpoint is set), provisions the resources of
// deploy.Resources, runs the functions under a Lambda host and polls the ingest queue into
// the ingest function.
func StartStack(ctx context.Context, opts StackOptions) (*Stack, error) {
	if opts.Prefix == "" {
		opts.Prefix = deploy.DefaultPrefix
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	st := &Stack{Endpoint: opts.Endpoint, Names: deploy.NamesFor(opts.Prefix)}
	if st.Endpoint == "" {
		m, err := StartMoto(context.WithoutCancel(ctx), logs)
		if err != nil {
			return nil, err
		}
		st.moto, st.Endpoint = m, m.URL
	}
	cfg := AWSConfig(st.Endpoint)
	prov, err := Provision(ctx, cfg, deploy.Resources(st.Names))
	if err != nil {
		st.Close()
		return nil, err
	}
	st.Provisioned = prov
	principals := map[string]IAMPrincipal{"test": LocalPrincipal("test", "test", st.Names.NationalRole())}
	maps.Copy(principals, opts.Principals)
	if st.Dashboard, err = startDashboard(st, cfg, principals); err != nil {
		st.Close()
		return nil, err
	}
	// The functions get what Terraform gives them: the SDK settings and the resource names.
	env := Env(st.Endpoint)
	maps.Copy(env, st.Names.Env(prov.QueueURLs[st.Names.IngestQueue]))
	maps.Copy(env, opts.Env)
	var fns []FunctionConfig
	names := make([]string, 0, len(opts.Functions))
	for n := range opts.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fc := FunctionConfig{Name: st.Names.Function(n), Bootstrap: opts.Functions[n], Env: env, MemoryMB: 3008}
		if rec := opts.Recorder; rec != nil {
			fc.Env = maps.Clone(env)
			aws, err := rec.proxy(n, func() string { return st.Endpoint })
			if err != nil {
				st.Close()
				return nil, err
			}
			lam, err := rec.proxy(n, func() string { return st.Host.URL() })
			if err != nil {
				st.Close()
				return nil, err
			}
			fc.Env["AWS_ENDPOINT_URL"], fc.Env["AWS_ENDPOINT_URL_LAMBDA"] = aws, lam
		}
		if i := slices.IndexFunc(deploy.Functions, func(f deploy.Function) bool { return f.Base == n }); i >= 0 {
			f := deploy.Functions[i]
			fc.MemoryMB, fc.Timeout = f.MemoryMB, time.Duration(f.TimeoutSeconds)*time.Second
			if f.ReservedConcurrency > 0 {
				fc.Instances = f.ReservedConcurrency // the host's environments play reserved concurrency
			}
		}
		if n == "ingest" {
			fc.Instances = ingestConcurrency(opts)
		}
		fns = append(fns, fc)
	}
	if len(fns) == 0 {
		return st, nil
	}
	host, err := NewHost(fns, logs)
	if err != nil {
		st.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st.cancel = cancel
	if err := host.Start(runCtx); err != nil {
		st.Close()
		return nil, err
	}
	st.Host = host
	if _, ok := opts.Functions["api"]; ok {
		var routes []Route
		for _, rk := range APIRoutes {
			method, path, _ := strings.Cut(rk, " ")
			routes = append(routes, Route{Method: method, Path: path, Function: st.Names.Function("api"), Auth: AuthIAM})
		}
		gw := NewAPIGateway(host, routes, principals)
		if err := gw.Start(runCtx); err != nil {
			st.Close()
			return nil, err
		}
		st.API = gw
	}
	if _, ok := opts.Functions["ingest"]; ok {
		// The event source mapping: as many pollers as invocations may run at once, each
		// receiving a batch, invoking the function with it and deleting what it handled.
		client := sqs.NewFromConfig(cfg)
		for range ingestConcurrency(opts) {
			p := &Poller{SQS: client, QueueURL: prov.QueueURLs[st.Names.IngestQueue],
				QueueARN: prov.QueueARNs[st.Names.IngestQueue], Function: st.Names.Function("ingest"), Invoke: host.Invoke,
				Logf: func(format string, args ...any) { fmt.Fprintf(logs, "[poller] "+format+"\n", args...) }}
			st.wg.Add(1)
			go func() {
				defer st.wg.Done()
				_ = p.Run(runCtx)
			}()
		}
	}
	return st, nil
}

func ingestConcurrency(opts StackOptions) int {
	if opts.IngestConcurrency > 0 {
		return opts.IngestConcurrency
	}
	return deploy.IngestMaxConcurrency
}

// Env returns the environment a process needs to use the stack: the SDK's standard
// variables pointing at the stand-in, and the resource names Terraform would set.
func (s *Stack) Env() map[string]string {
	env := Env(s.Endpoint)
	queueURL := ""
	if s.Provisioned != nil {
		queueURL = s.Provisioned.QueueURLs[s.Names.IngestQueue]
	}
	maps.Copy(env, s.Names.Env(queueURL))
	// For the CLI: where the cohort function is, and the Lambda host that runs it.
	env[deploy.EnvCohortFunction] = s.Names.Function("cohort")
	if s.Host != nil {
		env["AWS_ENDPOINT_URL_LAMBDA"] = s.Host.URL()
	}
	if s.API != nil {
		env[deploy.EnvReachAPIURL] = s.API.URL()
	}
	if s.Dashboard != nil {
		env[dashboard.EnvURL] = s.Dashboard.URL()
	}
	return env
}

// Close stops the poller, the functions and moto (when the stack started it).
func (s *Stack) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	var errs []error
	if s.API != nil {
		errs = append(errs, s.API.Close())
	}
	if s.Dashboard != nil {
		errs = append(errs, s.Dashboard.Close())
	}
	if s.Host != nil {
		errs = append(errs, s.Host.Close())
	}
	if s.moto != nil {
		errs = append(errs, s.moto.Stop())
	}
	return errors.Join(errs...)
}

// BuildFunctions builds every functions/<name> of the module at root as a bootstrap binary
// for this machine (with -tags lambda.norpc, as for AWS) into dir/<name>/bootstrap, and
// returns name → path.
func BuildFunctions(ctx context.Context, root, dir string) (map[string]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		bin := filepath.Join(dir, e.Name(), "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./functions/"+e.Name())
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build functions/%s: %v\n%s", e.Name(), err, b)
		}
		out[e.Name()] = bin
	}
	return out, nil
}

// FunctionsIn returns name → bootstrap for every dir/<name>/bootstrap.
func FunctionsIn(dir string) (map[string]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "bootstrap"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range paths {
		out[filepath.Base(filepath.Dir(p))] = p
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no */bootstrap under %s: run 'make local-functions'", dir)
	}
	return out, nil
}

// APIRoutes are the reach API's routes (internal/api.Routes; repeated here because devstack
// must not import the API).
var APIRoutes = []string{"GET /v1/reach", "GET /v1/reach/years", "GET /v1/districts/{id}/reach"}
