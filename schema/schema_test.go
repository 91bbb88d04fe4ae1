package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"
)

// semantic are the malformed stacks under spec/testdata/invalid whose
// fault a schema cannot see: references across the file, cycles, limits
// and files on disk. spec reports them; the schema must accept them (so
// this list stays exact), and must reject every other one.
var semantic = []string{
	"address-outside-subnet.yaml",
	"bad-subnet.yaml",
	"dependency-cycle.yaml",
	"duplicate-mount-target.yaml",
	"duplicate-stack-name.yaml",
	"missing-env-file.yaml",
	"multi-doc-no-name.yaml",
	"port-conflict.yaml",
	"port-range-mismatch.yaml",
	"self-dependency.yaml",
	"too-little-memory.yaml",
	"undeclared-network.yaml",
	"undeclared-volume.yaml",
	"unknown-dependency.yaml",
}

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Stack))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("stack.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("stack.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks every YAML document of a file against the schema, as
// yaml-language-server does.
func validate(s *jsonschema.Schema, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	docs := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if v == nil && docs > 0 {
			continue // an empty document after a trailing ---
		}
		docs++
		// Through JSON, so that the validator sees JSON's types.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if err := s.Validate(inst); err != nil {
			return err
		}
	}
	if docs == 0 {
		return s.Validate(nil)
	}
	return nil
}

func TestSchemaAcceptsExamples(t *testing.T) {
	s := compile(t)
	files, err := filepath.Glob("../examples/stacks/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example stacks: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(s, data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSchemaRejectsInvalid(t *testing.T) {
	s := compile(t)
	files, err := filepath.Glob("../spec/testdata/invalid/*.yaml")
	if err != nil || len(files) < 25 {
		t.Fatalf("want the malformed stacks of spec/testdata/invalid: %d, %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = validate(s, data)
		switch name := filepath.Base(f); {
		case slices.Contains(semantic, name) && err != nil:
			t.Errorf("%s is in semantic, yet the schema rejects it: %v", name, err)
		case !slices.Contains(semantic, name) && err == nil:
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
