package devstack

// The call recorder: a reverse proxy between each function and the AWS stand-ins that
// records which IAM actions on which resources the function needs.

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/pthv/reach/internal/deploy"
)

// Call is one kind of AWS call a function made: the IAM action it needs and the resource
// it touched, named by the symbols of infra/functions.json (table, table_indexes,
// drops_bucket, drops_objects, reports_objects, ingest_queue, reach_function; "other:…"
// for anything else).
type Call struct {
	Action   string
	Resource string
}

// Recorder sits between each function and the AWS stand-ins (moto, and the Lambda host's
// Invoke API) as a reverse proxy, and records which actions on which resources each function
// calls. The contract tests compare that with the roles Terraform gives the functions. The
// functions reach it through the SDK's standard endpoint variables, as they reach moto: the
// code has no recording branch.
type Recorder struct {
	names deploy.Names
	mu    sync.Mutex
	calls map[string]map[Call]int // function base name → call → count
	srvs  []*http.Server
}

// NewRecorder records calls against the resources of names.
func NewRecorder(names deploy.Names) *Recorder {
	return &Recorder{names: names, calls: map[string]map[Call]int{}}
}

// Calls returns what each function (by base name, e.g. "ingest") called, with counts.
func (r *Recorder) Calls() map[string]map[Call]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[Call]int{}
	for f, cs := range r.calls {
		out[f] = maps.Clone(cs)
	}
	return out
}

func (r *Recorder) record(function string, c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[function] == nil {
		r.calls[function] = map[Call]int{}
	}
	r.calls[function][c]++
}

// proxy starts a recording reverse proxy for one function in front of target (a function
// so that the Lambda host's URL can be resolved once the host has started).
func (r *Recorder) proxy(function string, target func() string) (string, error) {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		u, _ := url.Parse(target())
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // SigV4 signed the original host
	}}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.record(function, r.classify(req, body))
		rp.ServeHTTP(w, req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	r.mu.Lock()
	r.srvs = append(r.srvs, srv)
	r.mu.Unlock()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the proxies.
func (r *Recorder) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.srvs {
		_ = s.Close()
	}
	r.srvs = nil
}

var invokePath = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/invocations$`)

// classify turns one request into the IAM action it needs and the resource symbol.
func (r *Recorder) classify(req *http.Request, body []byte) Call {
	n := r.names
	if m := invokePath.FindStringSubmatch(req.URL.Path); m != nil {
		res := "other:" + m[1]
		switch fn, _ := url.PathUnescape(m[1]); fn {
		case n.Function("reach"):
			res = "reach_function"
		case n.Function("sync"):
			res = "sync_function"
		}
		return Call{Action: "lambda:InvokeFunction", Resource: res}
	}
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		svc, op, _ := strings.Cut(t, ".")
		var b struct{ TableName, IndexName, QueueUrl, SecretId string }
		_ = json.Unmarshal(body, &b)
		switch {
		case strings.HasPrefix(svc, "DynamoDB_"):
			res := "other:" + b.TableName
			if b.TableName == n.Table {
				res = "table"
				if b.IndexName != "" {
					res = "table_indexes"
				}
			}
			if op == "BatchGetItem" || op == "BatchWriteItem" {
				res = "table" // the table is inside RequestItems
			}
			return Call{Action: "dynamodb:" + op, Resource: res}
		case svc == "AmazonSQS":
			res := "other:" + b.QueueUrl
			if strings.HasSuffix(b.QueueUrl, "/"+n.IngestQueue) {
				res = "ingest_queue"
			}
			return Call{Action: "sqs:" + op, Resource: res}
		case svc == "secretsmanager":
			res := "other:" + b.SecretId
			if strings.HasPrefix(b.SecretId, n.Prefix+"/sis/") {
				res = "sis_secrets"
			}
			return Call{Action: "secretsmanager:" + op, Resource: res}
		}
		return Call{Action: "other:" + t}
	}
	// S3, path style: /bucket[/key].
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	q := req.URL.Query()
	res := "other:" + bucket
	switch {
	case bucket == n.DropsBucket && key == "":
		res = "drops_bucket"
	case bucket == n.DropsBucket && strings.HasPrefix(key, "drops/"):
		res = "drops_objects"
	case bucket == n.ReportsBucket && key != "":
		res = "reports_objects"
	}
	action := "other:" + req.Method
	switch {
	case key == "" && req.Method == http.MethodGet && q.Has("versions"):
		action = "s3:ListBucketVersions"
	case key == "" && req.Method == http.MethodGet:
		action = "s3:ListBucket"
	case (req.Method == http.MethodGet || req.Method == http.MethodHead) && q.Has("versionId"):
		action = "s3:GetObjectVersion"
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		action = "s3:GetObject"
	case req.Method == http.MethodPut:
		action = "s3:PutObject"
	case req.Method == http.MethodDelete:
		action = "s3:DeleteObject"
	}
	return Call{Action: action, Resource: res}
}

// Sorted lists calls as "action resource" strings, sorted.
func Sorted(cs map[Call]int) []string {
	var out []string
	for c := range cs {
		out = append(out, c.Action+" "+c.Resource)
	}
	slices.Sort(out)
	return out
}
