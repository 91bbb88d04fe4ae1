package spec

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// The stack decoder. sigs.k8s.io/yaml decodes strictly but through JSON,
// which has no line numbers, so the decoder walks the document's
// go.yaml.in/yaml/v3 node tree itself, guided by the Go types of the file
// forms (forms.go): it checks every key against the form's fields (an
// unknown key is reported on its own line, with a suggestion), skips x-
// keys, expands anchors and merge keys, and hands each scalar or list of
// scalars to sigs.k8s.io/yaml, so a bad value is reported on its own line
// too. It goes on past errors, so one pass finds every problem.

// union is a file form that takes one of several YAML shapes, such as
// compose's "a string or a list".
type union interface {
	// shape returns a pointer to decode a node of kind k into, or nil when
	// the form has no shape of that kind.
	shape(k yaml.Kind) any
	// want names the shapes for messages: "a string or a list".
	want() string
}

// checker is a file form with rules across its fields, checked once the
// fields decoded without error.
type checker interface{ check() error }

// notNull is a leaf that must have a value: a YAML null is reported with
// nullMsg instead of leaving it zero.
type notNull interface{ nullMsg() string }

// maxNodes bounds the nodes one document may expand to through aliases,
// so a "billion laughs" document fails fast instead of eating memory.
const maxNodes = 1 << 18

type decoder struct {
	file  string
	p     *problems
	lines map[string]int      // path in the file -> line
	bad   map[string]struct{} // paths whose value failed to decode
	nodes int
	over  bool
}

func newDecoder(file string, p *problems) *decoder {
	return &decoder{file: file, p: p, lines: map[string]int{}, bad: map[string]struct{}{}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.bad[path] = struct{}{}
	d.p.add(d.file, n.Line, path, format, args...)
}

// deref follows aliases and counts the node against the document's budget.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	at := n
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	d.nodes++
	if d.nodes > maxNodes {
		if !d.over {
			d.over = true
			d.p.add(d.file, at.Line, "", "the document expands to more than %d nodes through aliases and merge keys", maxNodes)
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// decode reads node n, at path in the file, into v.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if n = d.deref(n); n == nil {
		return
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	if u, ok := v.Addr().Interface().(union); ok {
		if isNull(n) {
			return
		}
		target := u.shape(n.Kind)
		if target == nil {
			d.errorf(n, path, "want %s, not %s", u.want(), describe(n))
			return
		}
		before := len(d.p.errs)
		d.decode(n, path, reflect.ValueOf(target).Elem())
		d.check(v, n, path, before)
		return
	}
	t := v.Type()
	if isLeaf(t) {
		d.leaf(n, path, v)
		return
	}
	if isNull(n) {
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping, not %s", describe(n))
			return
		}
		before := len(d.p.errs)
		fields := fieldsOf(t)
		for _, kv := range d.entries(n, path) {
			k, val := kv[0], kv[1]
			if strings.HasPrefix(k.Value, "x-") {
				continue // extension fields, as in compose
			}
			child := join(path, k.Value)
			idx, ok := fields.index[k.Value]
			if !ok {
				d.errorf(k, child, "%s", unknownField(k.Value, fields.names))
				continue
			}
			d.lines[child] = k.Line
			d.decode(val, child, v.FieldByIndex(idx))
		}
		d.check(v, n, path, before)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping, not %s", describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		for _, kv := range d.entries(n, path) {
			k, val := kv[0], kv[1]
			child := join(path, k.Value)
			d.lines[child] = k.Line
			e := reflect.New(t.Elem()).Elem()
			d.decode(val, child, e)
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			child := fmt.Sprintf("%s[%d]", path, i)
			d.lines[child] = item.Line
			d.decode(item, child, s.Index(i))
		}
		v.Set(s)
	default:
		d.leaf(n, path, v)
	}
}

// check runs a form's cross-field rules when its fields decoded cleanly.
func (d *decoder) check(v reflect.Value, n *yaml.Node, path string, before int) {
	if len(d.p.errs) != before {
		return
	}
	if c, ok := v.Addr().Interface().(checker); ok {
		if err := c.check(); err != nil {
			d.errorf(n, path, "%s", err)
		}
	}
}

// entries returns a mapping's key/value pairs with merge keys (<<)
// expanded, reporting duplicate and non-scalar keys.
func (d *decoder) entries(n *yaml.Node, path string) [][2]*yaml.Node {
	var out, merged [][2]*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "a key must be a string, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			// Not marked as failed: the first entry stands and is checked.
			d.p.add(d.file, k.Line, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, val})
	}
	for _, kv := range merged {
		if _, ok := seen[kv[0].Value]; !ok {
			seen[kv[0].Value] = kv[0].Line
			out = append(out, kv)
		}
	}
	return out
}

// mergeSources returns the entries a merge key brings in: those of one
// mapping, or of a list of mappings where earlier ones win.
func (d *decoder) mergeSources(val *yaml.Node, path string) [][2]*yaml.Node {
	val = d.deref(val)
	if val == nil {
		return nil
	}
	switch val.Kind {
	case yaml.MappingNode:
		return d.entries(val, path)
	case yaml.SequenceNode:
		var out [][2]*yaml.Node
		seen := map[string]bool{}
		for _, m := range val.Content {
			if m = d.deref(m); m == nil {
				return nil
			}
			if m.Kind != yaml.MappingNode {
				d.errorf(m, path, "a merge key (<<) takes mappings, not %s", describe(m))
				continue
			}
			for _, kv := range d.entries(m, path) {
				if !seen[kv[0].Value] {
					seen[kv[0].Value] = true
					out = append(out, kv)
				}
			}
		}
		return out
	}
	d.errorf(val, path, "a merge key (<<) takes a mapping, not %s", describe(val))
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isLeaf reports whether values of t are decoded whole by sigs.k8s.io/yaml.
func isLeaf(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct, reflect.Map, reflect.Slice:
		return false
	}
	return true
}

// textual reports whether t reads its value as text: YAML scalars for it
// are taken as written, so `restart: no`, `PORT: 08080` and `cpus: 1.50`
// keep their spelling instead of becoming false, 8080 and 1.5.
func textual(t reflect.Type) bool {
	return t.Kind() == reflect.String || reflect.PointerTo(t).Implements(textUnmarshaler)
}

// leaf decodes a scalar (or a value with its own UnmarshalJSON) through
// sigs.k8s.io/yaml.
func (d *decoder) leaf(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		if nn, ok := v.Addr().Interface().(notNull); ok {
			d.errorf(n, path, "%s", nn.nullMsg())
		}
		return
	}
	text := textual(v.Type())
	if (text || isScalarKind(v.Kind())) && n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, not %s", wantOf(v.Type()), describe(n))
		return
	}
	src := d.plain(n, text)
	if src == nil {
		return
	}
	b, err := yaml.Marshal(src)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return
	}
	if err := k8syaml.UnmarshalStrict(b, v.Addr().Interface()); err != nil {
		d.errorf(n, path, "%s", cleanError(err, v.Type()))
	}
}

// plain returns a copy of n without aliases or merge keys, which survives
// a round trip through YAML text on its own. With text set, string
// scalars are quoted so that sigs.k8s.io/yaml, which reads YAML 1.1, keeps
// them as written.
func (d *decoder) plain(n *yaml.Node, text bool) *yaml.Node {
	if n = d.deref(n); n == nil {
		return nil
	}
	c := &yaml.Node{Kind: n.Kind, Style: n.Style &^ yaml.FlowStyle, Value: n.Value, Tag: n.ShortTag()}
	switch n.Kind {
	case yaml.ScalarNode:
		switch {
		case text && !isNull(n):
			c.Tag, c.Style = "!!str", yaml.DoubleQuotedStyle
		case c.Tag == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0:
			// Plain to YAML 1.2 but maybe not to YAML 1.1 (yes, on...):
			// left plain, as the author wrote it.
			c.Tag = ""
		case !strings.HasPrefix(c.Tag, "!!"):
			c.Tag = "" // a local tag means nothing here
		}
		return c
	case yaml.MappingNode:
		for _, kv := range d.entries(n, "") {
			k, v := d.plain(kv[0], false), d.plain(kv[1], text)
			if k == nil || v == nil {
				return nil
			}
			c.Content = append(c.Content, k, v)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			v := d.plain(item, text)
			if v == nil {
				return nil
			}
			c.Content = append(c.Content, v)
		}
	}
	c.Tag = ""
	return c
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// describe names what a node is, for "want X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "true or false"
		case "!!int", "!!float":
			return fmt.Sprintf("the number %s", n.Value)
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// wanter is a form that names what it takes, for messages.
type wanter interface{ want() string }

// wantOf names what a Go type takes, for messages.
func wantOf(t reflect.Type) string {
	if w, ok := reflect.New(t).Interface().(wanter); ok {
		return w.want()
	}
	if textual(t) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	}
	return "a mapping"
}

// cleanError turns what sigs.k8s.io/yaml and encoding/json say into one
// message about the value.
func cleanError(err error, t reflect.Type) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, not %s", wantOf(t), jsonKind(te.Value))
	}
	msg := err.Error()
	for _, prefix := range []string{"error unmarshaling JSON: ", "error converting YAML to JSON: ", "while decoding JSON: ", "json: ", "yaml: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	return msg
}

func jsonKind(v string) string {
	switch v {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	}
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	return v
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// formFields are the keys a form accepts.
type formFields struct {
	index map[string][]int
	names []string
}

var fieldCache sync.Map // reflect.Type -> *formFields

// fieldsOf lists t's JSON field names, as encoding/json would see them.
func fieldsOf(t reflect.Type) *formFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*formFields)
	}
	f := &formFields{index: map[string][]int{}}
	for _, sf := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || (sf.Anonymous && name == "") {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f.index[name] = sf.Index
		f.names = append(f.names, name)
	}
	slices.Sort(f.names)
	fieldCache.Store(t, f)
	return f
}

// composeOnly are compose service fields a stack file does not take, with
// what to write instead where there is something.
var composeOnly = map[string]string{
	"container_name":  "the key under boxes names the box",
	"build":           "a3s-box runs images: build and push the image, then name it in image",
	"deploy":          "use cpus, mem_limit and replicas",
	"scale":           "use replicas",
	"version":         "stack files have no version",
	"expose":          "boxes on a network reach each other's ports without it",
	"links":           "boxes on a network reach each other by name",
	"mem_reservation": "use mem_limit",
	"cpu_count":       "use cpus",
	"profiles":        "",
	"extends":         "",
	"include":         "",
	"secrets":         "",
	"configs":         "",
	"cap_add":         "",
	"cap_drop":        "",
	"privileged":      "",
	"devices":         "",
	"network_mode":    "",
	"ulimits":         "",
	"sysctls":         "",
	"logging":         "",
	"security_opt":    "",
	"read_only":       "",
	"shm_size":        "",
	"tty":             "",
	"stdin_open":      "",
	"platform":        "",
	"pull_policy":     "",
	"dns_search":      "",
	"dns_opt":         "",
	"domainname":      "",
	"pid":             "",
	"ipc":             "",
	"label_file":      "",
	"driver":          "",
	"driver_opts":     "",
}

func unknownField(name string, known []string) string {
	msg := fmt.Sprintf("unknown field %q", name)
	if s := suggest(name, known); s != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", s)
	}
	if hint, ok := composeOnly[name]; ok {
		msg += ": a compose field that stack files do not take"
		if hint != "" {
			msg += "; " + hint
		}
		return msg
	}
	if len(known) <= 8 {
		msg += fmt.Sprintf(" (known fields: %s)", strings.Join(known, ", "))
	}
	return msg
}
