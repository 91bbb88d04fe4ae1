package spec

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"
)

// TestSchemaFields keeps schema/stack.schema.json in step with the
// decoder: every mapping the decoder reads has the same keys in the
// schema. (schema's own tests check the schema against the examples and
// the malformed stacks.)
func TestSchemaFields(t *testing.T) {
	data, err := os.ReadFile("../schema/stack.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	defs := root["definitions"].(map[string]any)
	// at walks the schema: a string is a key, an int an index.
	at := func(v any, path ...any) map[string]any {
		for _, p := range path {
			switch p := p.(type) {
			case string:
				v = v.(map[string]any)[p]
			case int:
				v = v.([]any)[p]
			}
		}
		return v.(map[string]any)
	}
	props := func(o map[string]any) []string {
		var names []string
		for k := range o["properties"].(map[string]any) {
			names = append(names, k)
		}
		slices.Sort(names)
		return names
	}
	box := defs["box"].(map[string]any)
	tests := []struct {
		form   reflect.Type
		schema map[string]any
	}{
		{reflect.TypeFor[stackFile](), root},
		{reflect.TypeFor[boxFile](), box},
		{reflect.TypeFor[healthFile](), at(box, "properties", "healthcheck")},
		{reflect.TypeFor[volumeFile](), at(root, "properties", "volumes", "additionalProperties", "anyOf", 1)},
		{reflect.TypeFor[networkFile](), at(root, "properties", "networks", "additionalProperties", "anyOf", 1)},
		{reflect.TypeFor[portLong](), at(defs, "port", "anyOf", 2)},
		{reflect.TypeFor[volumeLong](), at(defs, "volume", "anyOf", 1)},
		{reflect.TypeFor[tmpfsLong](), at(defs, "volume", "anyOf", 1, "properties", "tmpfs")},
		{reflect.TypeFor[envFileLong](), at(box, "properties", "env_file", "anyOf", 1, "items", "anyOf", 1)},
		{reflect.TypeFor[networkAttachFile](), at(box, "properties", "networks", "anyOf", 1, "additionalProperties", "anyOf", 1)},
		{reflect.TypeFor[dependsFile](), at(box, "properties", "depends_on", "anyOf", 1, "additionalProperties", "anyOf", 1)},
	}
	for _, tt := range tests {
		if got, want := props(tt.schema), fieldsOf(tt.form).names; !slices.Equal(got, want) {
			t.Errorf("%s: schema has %v\ndecoder reads %v", tt.form.Name(), got, want)
		}
	}
}
