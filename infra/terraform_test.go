package infra

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-exec/tfexec"
	"github.com/zclconf/go-cty/cty"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/reachsvc"
)

// block is one top-level block of a .tf file.
type block struct {
	Type   string // resource, data, module, locals, variable, output, …
	Labels []string
	Body   *hclsyntax.Body
	Dir    string // the module's folder, relative to infra/
	src    []byte
}

// key is "type.name" for resources and data, the first label otherwise.
func (b block) key() string { return strings.Join(b.Labels, ".") }

// text is the source of an attribute's expression ("" when absent).
func (b block) text(name string) string {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return ""
	}
	r := a.Expr.Range()
	return string(r.SliceBytes(b.src))
}

// all is the source text of the whole block.
func (b block) all() string { return string(b.Body.Range().SliceBytes(b.src)) }

// nested returns the nested blocks of a type.
func (b block) nested(typ string) []block {
	var out []block
	for _, nb := range b.Body.Blocks {
		if nb.Type == typ {
			out = append(out, block{Type: nb.Type, Labels: nb.Labels, Body: nb.Body, Dir: b.Dir, src: b.src})
		}
	}
	return out
}

// evalContext binds var.name_prefix, and the locals of module dir that evaluate from it.
func evalContext(bs []block, dir, prefix string) *hcl.EvalContext {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"name_prefix": cty.StringVal(prefix)})}}
	locals := map[string]cty.Value{}
	for changed := true; changed; {
		changed = false
		for _, b := range bs {
			if b.Type != "locals" || b.Dir != dir {
				continue
			}
			for name, a := range b.Body.Attributes {
				if _, done := locals[name]; done {
					continue
				}
				ctx.Variables["local"] = cty.ObjectVal(locals)
				if v, diags := a.Expr.Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() {
					locals[name], changed = v, true
				}
			}
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx
}

// value evaluates an attribute in ctx; ok is false when it refers to anything unbound.
func (b block) value(name string, ctx *hcl.EvalContext) (cty.Value, bool) {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(ctx)
	return v, !diags.HasErrors() && v.IsWhollyKnown()
}

// bucketsOf names the aws_s3_bucket resources a per-bucket resource applies to: the one its
// bucket attribute names, or those of its for_each (a local map of buckets).
func bucketsOf(bs []block, r block) []string {
	refs := regexp.MustCompile(`aws_s3_bucket\.(\w+)`)
	text := r.text("bucket")
	if fe := r.text("for_each"); fe != "" {
		text = fe
		if name, ok := strings.CutPrefix(fe, "local."); ok {
			for _, b := range bs {
				if b.Type == "locals" && b.Dir == r.Dir && b.text(name) != "" {
					text = b.text(name)
				}
			}
		}
	}
	var out []string
	for _, m := range refs.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// loadTerraform parses every .tf file under infra/ (examples included).
func loadTerraform(t *testing.T) []block {
	t.Helper()
	var out []block
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".terraform") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".tf") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, diags := hclsyntax.ParseConfig(src, path, hcl.Pos{Line: 1, Column: 1})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", path, diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			out = append(out, block{Type: b.Type, Labels: b.Labels, Body: b.Body, Dir: filepath.Dir(path), src: src})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Terraform under infra/")
	}
	return out
}

func resources(bs []block, typ string) []block {
	var out []block
	for _, b := range bs {
		if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == typ {
			out = append(out, b)
		}
	}
	return out
}

func terraformPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TERRAFORM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH and TERRAFORM is not set: run 'make terraform' (go install github.com/hashicorp/terraform@v1.5.7)")
	}
	return p
}

// TestTerraformIsFormatted runs `terraform fmt -check -recursive` through terraform-exec.
func TestTerraformIsFormatted(t *testing.T) {
	dir, _ := filepath.Abs(".")
	tf, err := tfexec.NewTerraform(dir, terraformPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ok, files, err := tf.FormatCheck(context.Background(), tfexec.Dir(dir), tfexec.Recursive(true))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("not terraform fmt clean: %v (run terraform fmt -recursive infra)", files)
	}
}

// TestEveryFunctionIsDeployed: the functions module makes a Lambda function, a role and a
// log group for every entry of functions.json (for_each over it), functions.json lists
// exactly the folders under functions/, and nothing names a function that does not exist.
func TestEveryFunctionIsDeployed(t *testing.T) {
	bs := loadTerraform(t)
	file, err := deploy.LoadFunctionsFile("functions.json")
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("../functions")
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	var names []string
	for n := range file.Functions {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(dirs, names) {
		t.Fatalf("functions/ has %v, infra/functions.json %v", dirs, names)
	}
	for _, typ := range []string{"aws_lambda_function", "aws_iam_role", "aws_cloudwatch_log_group"} {
		found := false
		for _, r := range resources(bs, typ) {
			if r.Dir == filepath.Join("modules", "functions") && r.text("for_each") != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("modules/functions has no %s with for_each over the functions", typ)
		}
	}
	// References to one function by name: function:${…name_prefix}-X, or ["X"] after a
	// reference to the functions (module.functions.….["X"], aws_lambda_function.this["X"]).
	refs := regexp.MustCompile(`(?:function:\$\{[^}]*name_prefix\}-|(?:function|functions)[a-z_]*\[")([a-z0-9]+)`)
	for _, b := range bs {
		for _, m := range refs.FindAllStringSubmatch(b.all(), -1) {
			if _, ok := file.Functions[m[1]]; !ok {
				t.Errorf("%s %s in %s names function %q, which does not exist", b.Type, b.key(), b.Dir, m[1])
			}
		}
	}
}

// TestRolesComeFromTheFunctionsFile: each function's policy is built from its permissions
// in functions.json, plus only its logs and its on-failure destination; no managed policy.
func TestRolesComeFromTheFunctionsFile(t *testing.T) {
	bs := loadTerraform(t)
	var docs []block
	for _, b := range bs {
		if b.Type == "data" && b.Labels[0] == "aws_iam_policy_document" && b.Dir == filepath.Join("modules", "functions") {
			docs = append(docs, b)
		}
	}
	var fromFile bool
	for _, d := range docs {
		isPolicy := false
		for _, dyn := range d.nested("dynamic") {
			if len(dyn.Labels) == 1 && dyn.Labels[0] == "statement" && strings.Contains(dyn.text("for_each"), "permissions") {
				fromFile, isPolicy = true, true
			}
		}
		if !isPolicy {
			continue // the assume-role document
		}
		for _, st := range d.nested("statement") {
			if sid := strings.Trim(st.text("sid"), `"`); sid != "Logs" && sid != "OnFailureDestination" {
				t.Errorf("policy %s has a statement %q besides the functions.json permissions, Logs and OnFailureDestination", d.key(), sid)
			}
		}
	}
	if !fromFile {
		t.Fatal("no policy document in modules/functions has a dynamic statement over the functions.json permissions")
	}
	for _, r := range resources(bs, "aws_iam_role_policy_attachment") {
		if r.Dir == filepath.Join("modules", "functions") {
			t.Errorf("%s attaches a managed policy to a function role", r.key())
		}
	}
	for _, r := range resources(bs, "aws_lambda_function") {
		if r.Dir != filepath.Join("modules", "functions") {
			continue
		}
		env := r.nested("environment")
		if len(env) != 1 || !strings.Contains(env[0].text("variables"), "each.value.env") {
			t.Errorf("%s: its environment must be built from each.value.env (the functions.json list)", r.key())
		}
	}
}

// TestLocalStackMatchesTerraform compares the resources the local stack provisions
// (internal/deploy) with Terraform's: names, keys, indexes, versioning, queues, redrive,
// the S3 notification.
func TestLocalStackMatchesTerraform(t *testing.T) {
	bs := loadTerraform(t)
	const prefix = "pthv-test"
	spec := deploy.Resources(deploy.NamesFor(prefix))
	str := func(b block, name string) string {
		v, ok := b.value(name, evalContext(bs, b.Dir, prefix))
		if !ok || v.Type() != cty.String {
			return "<" + b.text(name) + ">"
		}
		return v.AsString()
	}
	tables := resources(bs, "aws_dynamodb_table")
	if len(tables) != len(spec.Tables) {
		t.Fatalf("%d tables in Terraform, %d in the spec", len(tables), len(spec.Tables))
	}
	for _, want := range spec.Tables {
		i := slices.IndexFunc(tables, func(b block) bool { return str(b, "name") == want.Name })
		if i < 0 {
			t.Fatalf("no table named %s", want.Name)
		}
		tb := tables[i]
		if str(tb, "hash_key") != want.HashKey || str(tb, "range_key") != want.RangeKey {
			t.Errorf("table keys %s/%s, want %s/%s", str(tb, "hash_key"), str(tb, "range_key"), want.HashKey, want.RangeKey)
		}
		var gsis []deploy.GSI
		for _, g := range tb.nested("global_secondary_index") {
			gsis = append(gsis, deploy.GSI{Name: str(g, "name"), HashKey: str(g, "hash_key"), RangeKey: str(g, "range_key")})
			if str(g, "projection_type") != "ALL" {
				t.Errorf("GSI %s projects %s, the local stack ALL", str(g, "name"), str(g, "projection_type"))
			}
		}
		if !slices.Equal(gsis, want.GSIs) {
			t.Errorf("GSIs %+v, want %+v", gsis, want.GSIs)
		}
	}
	buckets := resources(bs, "aws_s3_bucket")
	versioned := map[string]bool{}
	for _, v := range resources(bs, "aws_s3_bucket_versioning") {
		if strings.Contains(v.all(), `"Enabled"`) {
			versioned[strings.TrimSuffix(strings.TrimPrefix(v.text("bucket"), "aws_s3_bucket."), ".id")] = true
		}
	}
	for _, want := range spec.Buckets {
		i := slices.IndexFunc(buckets, func(b block) bool { return str(b, "bucket") == want.Name })
		if i < 0 {
			t.Errorf("no bucket named %s", want.Name)
			continue
		}
		if versioned[buckets[i].Labels[1]] != want.Versioned {
			t.Errorf("bucket %s versioned %v, the local stack %v", want.Name, versioned[buckets[i].Labels[1]], want.Versioned)
		}
	}
	queues := resources(bs, "aws_sqs_queue")
	for _, want := range spec.Queues {
		i := slices.IndexFunc(queues, func(b block) bool { return str(b, "name") == want.Name })
		if i < 0 {
			t.Errorf("no queue named %s", want.Name)
			continue
		}
		q := queues[i]
		if v, ok := q.value("visibility_timeout_seconds", evalContext(bs, q.Dir, prefix)); want.VisibilityTimeout != 30 && (!ok || v.AsBigFloat().String() != itoa(want.VisibilityTimeout)) {
			t.Errorf("queue %s visibility timeout %s, the local stack %d", want.Name, q.text("visibility_timeout_seconds"), want.VisibilityTimeout)
		}
		if want.DLQ != "" {
			rp := q.text("redrive_policy")
			if rp == "" {
				for _, r := range resources(bs, "aws_sqs_queue_redrive_policy") {
					if strings.Contains(r.text("queue_url"), q.Labels[1]) {
						rp = r.text("redrive_policy")
					}
				}
			}
			if !regexp.MustCompile(`maxReceiveCount\s*=\s*` + itoa(want.MaxReceiveCount) + `\b`).MatchString(rp) {
				t.Errorf("queue %s redrive %q, the local stack maxReceiveCount %d", want.Name, rp, want.MaxReceiveCount)
			}
		}
	}
	notes := resources(bs, "aws_s3_bucket_notification")
	for _, want := range spec.Notifications {
		ok := false
		for _, n := range notes {
			for _, q := range n.nested("queue") {
				if str(q, "filter_prefix") == want.Prefix && strings.Contains(q.text("events"), want.Events[0]) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("no S3 notification for prefix %q and %v to a queue", want.Prefix, want.Events)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestLocalIngestConcurrencyIsTerraforms: the local stack runs as many ingest invocations at
// once (deploy.IngestMaxConcurrency, StackOptions.IngestConcurrency's default) as the SQS
// event source mapping's maximum_concurrency in AWS by default, in the root module and the
// functions module alike.
func TestLocalIngestConcurrencyIsTerraforms(t *testing.T) {
	n := 0
	for _, b := range loadTerraform(t) {
		if b.Type != "variable" || b.key() != "ingest_max_concurrency" {
			continue
		}
		n++
		v, ok := b.value("default", &hcl.EvalContext{})
		if !ok || v.Type() != cty.Number || v.AsBigFloat().String() != itoa(deploy.IngestMaxConcurrency) {
			t.Errorf("%s: ingest_max_concurrency defaults to %s; the local stack runs %d (deploy.IngestMaxConcurrency)", b.Dir, b.text("default"), deploy.IngestMaxConcurrency)
		}
	}
	if n < 2 {
		t.Errorf("ingest_max_concurrency declared in %d modules; want the root and the functions module", n)
	}
	esm := 0
	for _, r := range resources(loadTerraform(t), "aws_lambda_event_source_mapping") {
		for _, sc := range r.nested("scaling_config") {
			esm++
			if sc.text("maximum_concurrency") != "var.ingest_max_concurrency" {
				t.Errorf("%s: maximum_concurrency = %s; want var.ingest_max_concurrency", r.key(), sc.text("maximum_concurrency"))
			}
		}
	}
	if esm == 0 {
		t.Error("no event source mapping with a scaling_config")
	}
}

// TestStorageIsProtected: every bucket has a public access block with all four settings
// and a TLS-only policy; every table has point-in-time recovery and a KMS key.
func TestStorageIsProtected(t *testing.T) {
	bs := loadTerraform(t)
	pabs, policies := map[string]block{}, map[string]block{}
	for _, r := range resources(bs, "aws_s3_bucket_public_access_block") {
		for _, name := range bucketsOf(bs, r) {
			pabs[name] = r
		}
	}
	for _, r := range resources(bs, "aws_s3_bucket_policy") {
		for _, name := range bucketsOf(bs, r) {
			policies[name] = r
		}
	}
	docs := map[string]string{}
	for _, b := range bs {
		if b.Type == "data" && b.Labels[0] == "aws_iam_policy_document" {
			docs["data.aws_iam_policy_document."+b.Labels[1]] = b.all()
		}
	}
	for _, b := range resources(bs, "aws_s3_bucket") {
		pab, ok := pabs[b.Labels[1]]
		if !ok {
			t.Errorf("bucket %s has no public access block", b.key())
		} else {
			for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				if pab.text(k) != "true" {
					t.Errorf("bucket %s: %s is %q", b.key(), k, pab.text(k))
				}
			}
		}
		pol, ok := policies[b.Labels[1]]
		if !ok {
			t.Errorf("bucket %s has no bucket policy", b.key())
			continue
		}
		doc := pol.text("policy")
		if ref := regexp.MustCompile(`data\.aws_iam_policy_document\.\w+`).FindString(doc); ref != "" {
			doc = docs[ref]
		}
		if !strings.Contains(doc, "aws:SecureTransport") || !strings.Contains(doc, "Deny") {
			t.Errorf("bucket %s: its policy does not deny requests without TLS (aws:SecureTransport)", b.key())
		}
	}
	for _, tb := range resources(bs, "aws_dynamodb_table") {
		pitr := tb.nested("point_in_time_recovery")
		if len(pitr) != 1 || pitr[0].text("enabled") != "true" {
			t.Errorf("table %s has no point-in-time recovery", tb.key())
		}
		sse := tb.nested("server_side_encryption")
		if len(sse) != 1 || sse[0].text("enabled") != "true" || sse[0].text("kms_key_arn") == "" {
			t.Errorf("table %s is not encrypted with a customer KMS key", tb.key())
		}
	}
}

// TestTriggersMatchTheCode: the API's routes are internal/api's, each with IAM auth; the
// ingest queue feeds the ingest function with partial batch failures; the nightly schedule
// sends the reach function the full-recomputation event.
func TestTriggersMatchTheCode(t *testing.T) {
	bs := loadTerraform(t)
	ctx := evalContext(bs, filepath.Join("modules", "api"), "pthv-test")
	var routes []string
	for _, b := range bs {
		if b.Type == "locals" && b.Dir == filepath.Join("modules", "api") {
			if v, ok := b.value("routes", ctx); ok {
				for _, r := range v.AsValueSlice() {
					routes = append(routes, r.AsString())
				}
			}
		}
	}
	if !slices.Equal(routes, api.Routes) {
		t.Errorf("Terraform's routes %v, the API's %v", routes, api.Routes)
	}
	for _, r := range resources(bs, "aws_apigatewayv2_route") {
		if r.text("authorization_type") != `"AWS_IAM"` {
			t.Errorf("route %s is authorised by %s, not AWS_IAM", r.key(), r.text("authorization_type"))
		}
	}
	esm := resources(bs, "aws_lambda_event_source_mapping")
	if len(esm) != 1 || !strings.Contains(esm[0].text("function_response_types"), "ReportBatchItemFailures") {
		t.Errorf("the ingest queue must feed the ingest function with ReportBatchItemFailures: %d mappings", len(esm))
	}
	var ev reachsvc.Event
	found := false
	for _, s := range resources(bs, "aws_scheduler_schedule") {
		for _, tg := range s.nested("target") {
			in := tg.text("input")
			if strings.Contains(in, "full = true") && strings.Contains(tg.text("arn"), "reach") {
				found = true
			}
		}
	}
	if err := json.Unmarshal([]byte(`{"full": true}`), &ev); err != nil || !ev.Full || !found {
		t.Error("no schedule sends the reach function {\"full\": true}")
	}
	checkSchedules(t, bs)
}

// providerMirror is a local copy of the AWS provider (a filesystem mirror), when this machine
// has one: PTHV_TF_PROVIDER_MIRROR, else /opt/tf-plugins.
func providerMirror() string {
	for _, d := range []string{os.Getenv("PTHV_TF_PROVIDER_MIRROR"), "/opt/tf-plugins"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "registry.terraform.io", "hashicorp", "aws")); err == nil {
			return d
		}
	}
	return ""
}

// TestTerraformValidates runs `terraform init -backend=false`, `validate` and the plan-level
// `terraform test` (infra/tests, no AWS account: dummy credentials, overridden lookups) on a
// copy of infra/, with the AWS provider from a local mirror. Where no mirror exists (the
// provider cannot be downloaded here) it skips and says so; `make plan` plans for real where
// credentials and network exist.
func TestTerraformValidates(t *testing.T) {
	tfPath := terraformPath(t)
	mirror := providerMirror()
	if mirror == "" {
		t.Skip("no local copy of the AWS provider (PTHV_TF_PROVIDER_MIRROR or /opt/tf-plugins) and it cannot be downloaded here: validate and plan are skipped; the static contract tests above still run")
	}
	ctx := context.Background()
	work := t.TempDir()
	root := filepath.Join(work, "infra")
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && strings.HasPrefix(d.Name(), ".terraform") {
				return filepath.SkipDir
			}
			return err
		}
		if ext := filepath.Ext(path); ext != ".tf" && ext != ".hcl" && ext != ".json" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The function packages: tiny stand-in zips (plan only hashes them).
	pkg := filepath.Join(work, "bin", "package")
	os.MkdirAll(pkg, 0o755)
	file, _ := deploy.LoadFunctionsFile("functions.json")
	for fn := range file.Functions {
		os.WriteFile(filepath.Join(pkg, fn+".zip"), []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644)
	}
	rc := filepath.Join(work, "terraformrc")
	os.WriteFile(rc, []byte(`provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
`), 0o644)
	for _, dir := range []string{root, filepath.Join(root, "examples", "complete")} {
		tf, err := tfexec.NewTerraform(dir, tfPath)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "TF_") {
				env[k] = v
			}
		}
		env["TF_CLI_CONFIG_FILE"], env["CHECKPOINT_DISABLE"] = rc, "1"
		if err := tf.SetEnv(env); err != nil {
			t.Fatal(err)
		}
		if err := tf.Init(ctx, tfexec.Backend(false)); err != nil {
			t.Fatalf("terraform init in %s: %v", dir, err)
		}
		out, err := tf.Validate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !out.Valid || out.ErrorCount > 0 || out.WarningCount > 0 {
			for _, d := range out.Diagnostics {
				t.Errorf("%s: %s: %s %s", dir, d.Severity, d.Summary, d.Detail)
			}
			t.Fatalf("terraform validate in %s failed", dir)
		}
		if dir == root {
			var log strings.Builder
			if err := tf.Test(ctx, &log); err != nil {
				t.Fatalf("terraform test: %v\n%s", err, log.String())
			}
			t.Logf("terraform test:\n%s", log.String())
		}
	}
}
