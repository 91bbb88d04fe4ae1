package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	yaml "go.yaml.in/yaml/v3"
)

// positions locates a stack's fields in the file it came from.
type positions struct {
	lines map[string]int      // path as written -> line
	bad   map[string]struct{} // paths as written whose value failed to decode
	// alias maps a path of the domain types to the path as written where
	// they differ (a port range expanded, a tmpfs written under volumes).
	alias map[string]string
	// boxes is the key the file listed its boxes under: boxes or services.
	boxes string
}

// written returns the path as written in the file for a domain path.
func (p *positions) written(path string) string {
	if w, ok := p.alias[path]; ok {
		return w
	}
	if p.boxes != "" && p.boxes != "boxes" && strings.HasPrefix(path, "boxes.") {
		return p.boxes + path[len("boxes"):]
	}
	return path
}

// line returns the line of path, or of its nearest ancestor written in the
// file.
func (p *positions) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

// failed reports whether decoding already reported a problem at path, at
// an ancestor of it, or under it, so validation does not report the zero
// value that failure left behind.
func (p *positions) failed(path string) bool {
	for q := path; q != ""; q = parent(q) {
		if _, ok := p.bad[q]; ok {
			return true
		}
	}
	for b := range p.bad {
		if strings.HasPrefix(b, path+".") || strings.HasPrefix(b, path+"[") {
			return true
		}
	}
	return false
}

// parent strips the last element of a path: a.b[2] -> a.b -> a.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i > 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

// Parse reads the stacks in a stack file: one per YAML document. file
// names the data in messages and resolves relative host paths (use "-"
// for standard input, relative to the working directory); a file with one
// document and no name field is named after the file. It checks every
// field (Validate) and returns every problem found, each with its line
// (see Error). Env files are not read: Load does that.
func Parse(file string, data []byte) ([]*Stack, error) {
	if len(data) > MaxStackFile {
		return nil, tooLarge(file, int64(len(data)))
	}
	p := &problems{}
	stacks := parseDocs(file, data, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return stacks, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseDocs decodes and validates every document, adding problems to p.
func parseDocs(file string, data []byte, p *problems) []*Stack {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := decodeNode(dec, &n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg, line := err.Error(), 0
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = msg[len(m[0]):]
			}
			p.add(file, problemLine(data, max(line, 1)), "", "%s", msg)
			return nil
		}
		if len(n.Content) == 0 || isNull(n.Content[0]) {
			continue // an empty document, e.g. after a trailing ---
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		p.add(file, 1, "", "no stack in the file")
		return nil
	}
	dir, home := fileDir(file), homeDir()
	var stacks []*Stack
	names := map[string]int{}
	for _, doc := range docs {
		d := newDecoder(file, p)
		var f stackFile
		d.decode(doc.Content[0], "", reflect.ValueOf(&f).Elem())
		if d.over {
			return nil // the budget error says it all
		}
		s := f.stack(d, dir, home)
		s.File = file
		if f.Name == "" {
			if len(docs) > 1 {
				p.add(file, doc.Content[0].Line, "name", "is required when a file holds more than one stack")
			} else if s.Name = nameFromFile(file); s.Name == "" {
				p.add(file, doc.Content[0].Line, "name", "is required: %q gives no stack name", filepath.Base(file))
			}
		}
		if first, dup := names[s.Name]; dup && s.Name != "" {
			p.add(file, s.pos.line("name"), "name", "stack %q is already defined at line %d", s.Name, first)
		} else if s.Name != "" {
			names[s.Name] = max(s.pos.line("name"), doc.Content[0].Line)
		}
		s.validate(p)
		stacks = append(stacks, s)
	}
	return stacks
}

// problemLine finds the line a syntax error is on. The YAML parser names
// the line where the construct it was parsing began (a mapping that starts
// on line 1 for a key mis-indented on line 40), so this finds the shortest
// prefix of the file, from that line on, that fails to parse.
func problemLine(data []byte, from int) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:n], nil)))
		for {
			var node yaml.Node
			err := decodeNode(dec, &node)
			if errors.Is(err, io.EOF) {
				return false
			}
			if err != nil {
				return true
			}
		}
	}
	lo, hi := from, len(lines) // fails(hi) holds: it is the whole file
	if lo > hi || !fails(hi) {
		return from
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// decodeNode reads one document; the YAML parser has panicked on hostile
// input before, and a stack file is untrusted input.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func fileDir(file string) string {
	dir := "."
	if file != "" && file != "-" {
		dir = filepath.Dir(file)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func homeDir() string {
	h, _ := os.UserHomeDir()
	return h
}

// nameFromFile derives a stack name from a file name as compose derives a
// project name from a directory: lower-cased, other characters dropped.
func nameFromFile(file string) string {
	if file == "" || file == "-" {
		return ""
	}
	base := filepath.Base(file)
	name := loader.NormalizeProjectName(strings.TrimSuffix(base, filepath.Ext(base)))
	if CheckStackName(name) != nil {
		return ""
	}
	return name
}

// stack turns the decoded file form into a Stack.
func (f *stackFile) stack(d *decoder, dir, home string) *Stack {
	s := &Stack{
		Name:  f.Name,
		Boxes: map[string]Box{},
		pos:   positions{lines: d.lines, bad: d.bad, alias: map[string]string{}, boxes: "boxes"},
	}
	boxes := f.Boxes
	if f.Services != nil {
		boxes, s.pos.boxes = f.Services, "services"
	}
	for name, bf := range boxes {
		s.Boxes[name] = bf.box(name, &s.pos, dir, home)
		if bf == nil || bf.EnvFile == nil {
			continue
		}
		if s.envFiles == nil {
			s.envFiles = map[string][]envFileRef{}
		}
		for i, e := range bf.EnvFile.values() {
			field := fmt.Sprintf("boxes.%s.env_file[%d]", name, i)
			if bf.EnvFile.isOne {
				s.pos.alias[field] = s.pos.boxes + "." + name + ".env_file"
			}
			s.envFiles[name] = append(s.envFiles[name], envFileRef{path: resolveHostPath(e.path(), dir, home), required: e.required(), field: field})
		}
	}
	if f.Volumes != nil {
		s.Volumes = map[string]Volume{}
		for name, vf := range f.Volumes {
			var v Volume
			if vf != nil {
				v = Volume{Name: vf.Name, External: vf.External, Labels: vf.Labels.value()}
			}
			s.Volumes[name] = v
		}
	}
	if f.Networks != nil {
		s.Networks = map[string]Network{}
		for name, nf := range f.Networks {
			var n Network
			if nf != nil {
				n = Network{Name: nf.Name, External: nf.External, Internal: nf.Internal, Labels: nf.Labels.value(), Driver: nf.Driver}
				if nf.Ipam != nil && len(nf.Ipam.Config) > 0 {
					n.Subnet, n.Gateway = nf.Ipam.Config[0].Subnet, nf.Ipam.Config[0].Gateway
				}
			}
			s.Networks[name] = n
		}
	}
	return s
}

// box turns a decoded box into a Box, noting where the domain's list
// entries were written when a file entry became several or moved.
func (f *boxFile) box(name string, pos *positions, dir, home string) Box {
	b := Box{Name: name}
	if f == nil {
		return b
	}
	at := pos.boxes + "." + name
	b.Image = f.Image
	if f.Entrypoint != nil {
		b.Entrypoint = f.Entrypoint.value()
	}
	b.Command = f.Command.value()
	if len(b.Command) == 0 {
		b.Command = nil
	}
	b.Env = f.Env.value()
	if f.EnvFile != nil {
		for _, e := range f.EnvFile.values() {
			b.EnvFile = append(b.EnvFile, e.path())
		}
	}
	b.WorkingDir, b.User, b.Hostname = f.WorkingDir, f.User, f.Hostname
	b.CPUs, b.Memory = float64(f.CPUs), int64(f.Memory)
	b.Labels = f.Labels.value()
	b.Restart = f.Restart
	if f.Healthcheck != nil {
		h := f.Healthcheck
		b.Healthcheck = &Healthcheck{
			Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod,
			StartInterval: h.StartInterval, Retries: h.Retries, Disable: h.Disable,
		}
		if h.Test != nil {
			b.Healthcheck.Test = h.Test.list
		}
	}
	b.StopSignal, b.StopGracePeriod = f.StopSignal, f.StopGracePeriod
	for i, pf := range f.Ports {
		for _, p := range pf.value() {
			pos.alias[fmt.Sprintf("boxes.%s.ports[%d]", name, len(b.Ports))] = fmt.Sprintf("%s.ports[%d]", at, i)
			b.Ports = append(b.Ports, p)
		}
	}
	for i, vf := range f.Volumes {
		m, tmp := vf.value()
		written := fmt.Sprintf("%s.volumes[%d]", at, i)
		if tmp != nil {
			pos.alias[fmt.Sprintf("boxes.%s.tmpfs[%d]", name, len(b.Tmpfs))] = written
			b.Tmpfs = append(b.Tmpfs, *tmp)
			continue
		}
		if m.Type == MountBind && m.Source != "" {
			m.Source = resolveHostPath(m.Source, dir, home)
		}
		pos.alias[fmt.Sprintf("boxes.%s.volumes[%d]", name, len(b.Volumes))] = written
		b.Volumes = append(b.Volumes, m)
	}
	if f.Tmpfs != nil {
		for i, t := range f.Tmpfs.values() {
			written := fmt.Sprintf("%s.tmpfs[%d]", at, i)
			if f.Tmpfs.isOne {
				written = at + ".tmpfs"
			}
			pos.alias[fmt.Sprintf("boxes.%s.tmpfs[%d]", name, len(b.Tmpfs))] = written
			b.Tmpfs = append(b.Tmpfs, Tmpfs(t))
		}
	}
	b.Networks = f.Networks.value()
	if f.Networks != nil && f.Networks.isMap {
		for i, n := range b.Networks {
			pos.alias[fmt.Sprintf("boxes.%s.networks[%d]", name, i)] = at + ".networks." + n.Name
		}
	}
	b.DependsOn = f.DependsOn.value()
	if f.DependsOn != nil && f.DependsOn.isMap {
		for i, dep := range b.DependsOn {
			pos.alias[fmt.Sprintf("boxes.%s.depends_on[%d]", name, i)] = at + ".depends_on." + dep.Name
		}
	}
	if f.DNS != nil {
		b.DNS = f.DNS.values()
		if f.DNS.isOne {
			pos.alias[fmt.Sprintf("boxes.%s.dns[0]", name)] = at + ".dns"
		}
	}
	b.ExtraHosts = f.ExtraHosts.value()
	if f.ExtraHosts != nil && f.ExtraHosts.isMap {
		for i, h := range b.ExtraHosts[len(f.ExtraHosts.list):] {
			host, _, _ := strings.Cut(h, ":")
			pos.alias[fmt.Sprintf("boxes.%s.extra_hosts[%d]", name, len(f.ExtraHosts.list)+i)] = at + ".extra_hosts." + host
		}
	}
	b.Init = f.Init
	b.Interactive, b.Tty = f.Interactive, f.Tty
	b.Replicas = f.Replicas
	return b
}
