// Command plan runs `terraform init` and `terraform plan` for infra/examples/complete through
// terraform-exec (make plan). It needs AWS credentials and network access to download the
// AWS provider; without them it says so and exits 0, so that `make plan` is safe anywhere.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/hashicorp/terraform-exec/tfexec"
)

func main() {
	ctx := context.Background()
	tfPath := os.Getenv("TERRAFORM")
	if tfPath == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			fmt.Println("make plan: skipped: terraform is not on PATH (make terraform installs it)")
			return
		}
		tfPath = p
	}
	dir, _ := filepath.Abs("infra/examples/complete")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		_, err = cfg.Credentials.Retrieve(ctx)
	}
	if err != nil {
		fmt.Printf("make plan: skipped: no AWS credentials (%v); plan needs an account to read\n", err)
		return
	}
	tf, err := tfexec.NewTerraform(dir, tfPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "make plan:", err)
		os.Exit(1)
	}
	tf.SetStdout(os.Stdout)
	tf.SetStderr(os.Stderr)
	if err := tf.Init(ctx, tfexec.Upgrade(false)); err != nil {
		fmt.Printf("make plan: skipped: terraform init failed, most likely because the AWS provider cannot be downloaded here: %v\n", err)
		return
	}
	changes, err := tf.Plan(ctx, tfexec.Out(filepath.Join(dir, "plan.out")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "make plan: terraform plan failed:", err)
		os.Exit(1)
	}
	fmt.Printf("make plan: done (changes: %v); the plan is in %s\n", changes, filepath.Join(dir, "plan.out"))
}
