// Package schema holds the JSON Schema of a3s-box's stack files
// (stack.schema.json), for editors: yaml-language-server picks it up from
// a first line such as
//
//	# yaml-language-server: $schema=../../schema/stack.schema.json
//
// Its tests prove that it accepts every example stack and rejects the
// malformed stacks that spec rejects, and spec's tests keep its field
// names in step with the decoder, so it cannot drift from spec.
package schema

import _ "embed"

// Stack is the JSON Schema (draft-07) of a stack file.
//
//go:embed stack.schema.json
var Stack []byte
