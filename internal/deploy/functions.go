package deploy

import (
	"encoding/json"
	"fmt"
	"os"
)

// FunctionsFile is infra/functions.json: the one list of the functions' limits, the
// environment variables their code reads and the AWS actions they call, which Terraform
// turns into functions and least-privilege roles and the Go contract tests check against
// the code.
type FunctionsFile struct {
	Description string                  `json:"description"`
	Functions   map[string]FunctionSpec `json:"functions"`
}

// FunctionSpec is one function's entry in FunctionsFile.
type FunctionSpec struct {
	Timeout             int          `json:"timeout"`
	Memory              int          `json:"memory"`
	ReservedConcurrency int          `json:"reserved_concurrency"`
	Env                 []string     `json:"env"`
	Permissions         []Permission `json:"permissions"`
}

// Permission allows actions on symbolic resources (table, table_indexes, drops_bucket,
// drops_objects, reports_objects, ingest_queue, reach_function, sync_function, sis_secrets,
// kms_key).
type Permission struct {
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

// Allows reports whether the spec allows action on resource.
func (f FunctionSpec) Allows(action, resource string) bool {
	for _, p := range f.Permissions {
		for _, a := range p.Actions {
			for _, r := range p.Resources {
				if a == action && r == resource {
					return true
				}
			}
		}
	}
	return false
}

// LoadFunctionsFile reads infra/functions.json.
func LoadFunctionsFile(path string) (*FunctionsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f FunctionsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}
