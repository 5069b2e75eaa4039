// Package schemas holds the JSON Schemas of everything PTHV Reach hands to people or other
// programs (validation and import reports, CSV columns, API responses), and checks
// documents against them. Tests use it to check real outputs, not hand-written samples.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// BaseURL is the base of every schema's $id.
const BaseURL = "https://pthv.example/schemas/"

//go:embed *.schema.json
var files embed.FS

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Raw returns the bytes of a schema file, e.g. "validation-report.schema.json".
func Raw(name string) ([]byte, error) { return files.ReadFile(name) }

// Validate checks a JSON document against the named schema. It returns an error that lists
// every violation, or an error when the schema itself is missing or invalid.
func Validate(name string, doc []byte) error {
	s, err := schema(name)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("document is not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("document does not conform to %s: %v", name, err)
	}
	return nil
}

func schema(name string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[name]; ok {
		return s, nil
	}
	if _, err := files.ReadFile(name); err != nil {
		return nil, fmt.Errorf("no schema %s: %w", name, err)
	}
	// Every schema is a resource, so that one may refer to another by file name.
	c := jsonschema.NewCompiler()
	names, _ := fs.Glob(files, "*.schema.json")
	for _, n := range names {
		raw, _ := files.ReadFile(n)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schema %s is not JSON: %w", n, err)
		}
		if err := c.AddResource(BaseURL+n, doc); err != nil {
			return nil, err
		}
	}
	s, err := c.Compile(BaseURL + name)
	if err != nil {
		return nil, fmt.Errorf("schema %s does not compile: %w", name, err)
	}
	compiled[name] = s
	return s, nil
}
