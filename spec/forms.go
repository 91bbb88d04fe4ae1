package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	shellwords "github.com/mattn/go-shellwords"
	yaml "go.yaml.in/yaml/v3"
)

// The file forms: how a stack file spells a Stack. They accept compose's
// alternative spellings (a command as a string or a list, an environment
// as a mapping or a list, sizes as "512m"...) and turn into the domain
// types once decoded. Leaves implement encoding.TextUnmarshaler and so
// receive the scalar as written; unions pick a shape by the YAML node's
// kind (decode.go).

// stackFile is the file form of a Stack.
type stackFile struct {
	Name  string              `json:"name"`
	Boxes map[string]*boxFile `json:"boxes"`
	// Services is compose's name for boxes, taken so that a compose user's
	// habit works; a file has one or the other.
	Services map[string]*boxFile     `json:"services"`
	Volumes  map[string]*volumeFile  `json:"volumes"`
	Networks map[string]*networkFile `json:"networks"`
}

func (f *stackFile) check() error {
	if f.Boxes != nil && f.Services != nil {
		return fmt.Errorf("boxes and services are two names for one list: write one of them")
	}
	return nil
}

// boxFile is the file form of a Box. Its fields are Box's, by JSON name
// (a test keeps them in step), less name (the key under boxes names the
// box) and auto_remove (a box of a stack stays until the stack drops it).
type boxFile struct {
	Image           string         `json:"image"`
	Entrypoint      *commandForm   `json:"entrypoint"`
	Command         *commandForm   `json:"command"`
	Env             *envForm       `json:"environment"`
	EnvFile         *envFileForm   `json:"env_file"`
	WorkingDir      string         `json:"working_dir"`
	User            string         `json:"user"`
	Hostname        string         `json:"hostname"`
	CPUs            cpusForm       `json:"cpus"`
	Memory          sizeForm       `json:"mem_limit"`
	Labels          *labelsForm    `json:"labels"`
	Restart         RestartPolicy  `json:"restart"`
	Healthcheck     *healthFile    `json:"healthcheck"`
	StopSignal      string         `json:"stop_signal"`
	StopGracePeriod *Duration      `json:"stop_grace_period"`
	Ports           []portForm     `json:"ports"`
	Volumes         []volumeForm   `json:"volumes"`
	Tmpfs           *tmpfsForm     `json:"tmpfs"`
	Networks        *networksForm  `json:"networks"`
	DependsOn       *dependsOnForm `json:"depends_on"`
	DNS             *stringsForm   `json:"dns"`
	ExtraHosts      *hostsForm     `json:"extra_hosts"`
	Init            bool           `json:"init"`
	Interactive     bool           `json:"stdin_open"`
	Tty             bool           `json:"tty"`
	Replicas        *int           `json:"replicas"`
}

type volumeFile struct {
	Name     string      `json:"name"`
	External bool        `json:"external"`
	Labels   *labelsForm `json:"labels"`
}

type networkFile struct {
	Name     string      `json:"name"`
	External bool        `json:"external"`
	Internal bool        `json:"internal"`
	Labels   *labelsForm `json:"labels"`
	Driver   string      `json:"driver"`
	Ipam     *ipamFile   `json:"ipam"`
}

// ipamFile is compose's ipam: one config entry with a subnet and gateway.
type ipamFile struct {
	Driver string           `json:"driver"`
	Config []ipamConfigFile `json:"config"`
}

type ipamConfigFile struct {
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
}

type healthFile struct {
	Test          *commandTest `json:"test"`
	Interval      Duration     `json:"interval"`
	Timeout       Duration     `json:"timeout"`
	StartPeriod   Duration     `json:"start_period"`
	StartInterval Duration     `json:"start_interval"`
	Retries       int          `json:"retries"`
	Disable       bool         `json:"disable"`
}

func (f *healthFile) check() error {
	if f.Disable && f.Test != nil && !(len(f.Test.list) == 1 && f.Test.list[0] == "NONE") {
		return fmt.Errorf("disable and test cannot both be set")
	}
	return nil
}

// The shapes compose gives its fields. A form embeds one and names what
// it takes (want), so that its messages say so.

// oneOrList is one value or a list of them.
type oneOrList[T any] struct {
	one   T
	list  []T
	isOne bool
}

func (f *oneOrList[T]) shape(k yaml.Kind) any {
	switch k {
	case yaml.ScalarNode:
		f.isOne = true
		return &f.one
	case yaml.SequenceNode:
		return &f.list
	}
	return nil
}

// values returns the value or the list.
func (f *oneOrList[T]) values() []T {
	if f.isOne {
		return []T{f.one}
	}
	return f.list
}

// listOrMap is a list of L, or a mapping of names to M.
type listOrMap[L, M any] struct {
	list  []L
	m     map[string]M
	isMap bool
}

func (f *listOrMap[L, M]) shape(k yaml.Kind) any {
	switch k {
	case yaml.SequenceNode:
		return &f.list
	case yaml.MappingNode:
		f.isMap = true
		return &f.m
	}
	return nil
}

// shortOrLong is compose's short notation (a scalar) or its long one (a
// mapping).
type shortOrLong[S, L any] struct {
	short S
	long  *L
}

func (f *shortOrLong[S, L]) shape(k yaml.Kind) any {
	switch k {
	case yaml.ScalarNode:
		return &f.short
	case yaml.MappingNode:
		f.long = new(L)
		return f.long
	}
	return nil
}

// commandForm is a command as a list of words, or as one string split
// the way a shell would (without running one), as compose does.
type commandForm struct{ oneOrList[string] }

func (f *commandForm) want() string { return "a string or a list of strings" }

func (f *commandForm) check() error {
	if f.isOne {
		words, err := shellwords.Parse(f.one)
		if err != nil {
			return fmt.Errorf("cannot split %q into words: %v", f.one, err)
		}
		f.list, f.isOne = words, false
	}
	return nil
}

// value is the command; empty but not nil when the file clears it.
func (f *commandForm) value() []string {
	if f == nil {
		return nil
	}
	if f.list == nil {
		return []string{}
	}
	return f.list
}

// commandTest is a health check test: ["CMD", ...], ["CMD-SHELL", "cmd"],
// ["NONE"], or a string, which is run by the box's shell.
type commandTest struct{ oneOrList[string] }

func (f *commandTest) want() string { return "a string or a list of strings" }

func (f *commandTest) check() error {
	if f.isOne {
		f.list, f.isOne = []string{"CMD-SHELL", f.one}, false
	}
	return checkHealthTest(f.list)
}

// envForm is an environment as a mapping of names to values or a list of
// NAME=VALUE.
type envForm struct{ listOrMap[envItem, envValue] }

func (f *envForm) want() string { return "a mapping or a list of NAME=VALUE" }

// value lists the variables as NAME=VALUE: a mapping's sorted by name, a
// list's as written.
func (f *envForm) value() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, e := range f.list {
		out = append(out, string(e))
	}
	for _, k := range sortedKeys(f.m) {
		out = append(out, k+"="+string(f.m[k]))
	}
	return out
}

// envValue is one value of an environment mapping. Stack files are not
// interpolated: a variable without a value is an error rather than taken
// from the environment of whatever process reads the file.
type envValue string

func (v *envValue) UnmarshalText(b []byte) error { *v = envValue(b); return nil }
func (v *envValue) nullMsg() string {
	return "no value: write an empty string (\"\") for an empty variable; stack files take nothing from the environment"
}

type envItem string

func (v *envItem) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.Contains(s, "=") {
		return fmt.Errorf("%q has no value: write %s=VALUE (stack files take nothing from the environment)", s, s)
	}
	*v = envItem(s)
	return nil
}

// envFileForm is one env file or a list of them; an entry is a path or
// {path, required}, and a file that is not required may be missing.
type envFileForm struct{ oneOrList[envFileItem] }

func (f *envFileForm) want() string { return "a path or a list of paths" }

type envFileItem struct {
	shortOrLong[string, envFileLong]
}

func (f *envFileItem) want() string { return "a path or a mapping with path and required" }

// path and required give the entry whichever way it was written.
func (f *envFileItem) path() string {
	if f.long != nil {
		return f.long.Path
	}
	return f.short
}

func (f *envFileItem) required() bool {
	return f.long == nil || f.long.Required == nil || *f.long.Required
}

type envFileLong struct {
	Path     string `json:"path"`
	Required *bool  `json:"required"`
}

func (f *envFileLong) check() error {
	if f.Path == "" {
		return fmt.Errorf("path is required")
	}
	return nil
}

// labelsForm is labels as a mapping or a list of NAME=VALUE (or NAME, an
// empty label).
type labelsForm struct{ listOrMap[string, string] }

func (f *labelsForm) want() string { return "a mapping or a list of NAME=VALUE" }

func (f *labelsForm) value() map[string]string {
	if f == nil {
		return nil
	}
	if f.isMap {
		if f.m == nil {
			return map[string]string{}
		}
		return f.m
	}
	m := make(map[string]string, len(f.list))
	for _, l := range f.list {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// sizeForm is a size in bytes: a number, or a string with a b, k, m, g or
// t suffix.
type sizeForm int64

func (s *sizeForm) want() string { return "a size such as 512m" }

func (s *sizeForm) UnmarshalText(b []byte) error {
	n, err := ParseBytes(string(b))
	if err != nil {
		return fmt.Errorf("invalid size %q: want bytes or a number with a suffix such as 512m or 2g", b)
	}
	*s = sizeForm(n)
	return nil
}

type cpusForm float64

func (c *cpusForm) want() string { return "a number" }

func (c *cpusForm) UnmarshalText(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid cpus %q: want a positive number such as 2 or 0.5", b)
	}
	*c = cpusForm(v)
	return nil
}

// portForm is one entry of ports: the short notation (a string or a
// number) or the long one.
type portForm struct {
	shortOrLong[portShort, portLong]
}

func (f *portForm) want() string {
	return "a port such as \"8080:80\" or a mapping with target and published"
}

func (f *portForm) value() []Port {
	if f.long == nil {
		return f.short
	}
	l := f.long
	p := Port{HostIP: l.HostIP, HostPort: l.Published.lo, ContainerPort: uint16(l.Target), Protocol: string(l.Protocol)}
	return []Port{p}
}

type portShort []Port

func (p *portShort) UnmarshalText(b []byte) error {
	ports, err := ParsePorts(string(b))
	if err != nil {
		return err
	}
	*p = ports
	return nil
}

type portLong struct {
	Target    portNumber   `json:"target"`
	Published portRange    `json:"published"`
	HostIP    string       `json:"host_ip"`
	Protocol  protocolName `json:"protocol"`
}

func (l *portLong) check() error {
	if l.Target == 0 {
		return fmt.Errorf("target (the box's port) is required")
	}
	if l.Published.hi != l.Published.lo {
		return fmt.Errorf("published %d-%d: a range needs as many target ports; write it in the short form, e.g. \"8000-8001:80-81\"", l.Published.lo, l.Published.hi)
	}
	if l.Protocol == "tcp" {
		l.Protocol = ""
	}
	return nil
}

type portNumber uint16

func (p *portNumber) UnmarshalText(b []byte) error {
	n, err := parsePortNumber(string(b), false)
	if err != nil {
		return fmt.Errorf("invalid port: %v", err)
	}
	*p = portNumber(n)
	return nil
}

// portRange is a host port or range; 0 asks for an ephemeral port.
type portRange struct{ lo, hi uint16 }

func (p *portRange) UnmarshalText(b []byte) error {
	lo, hi, err := parsePortRange(string(b), true)
	if err != nil {
		return fmt.Errorf("invalid port: %v", err)
	}
	*p = portRange{lo, hi}
	return nil
}

type protocolName string

func (p *protocolName) UnmarshalText(b []byte) error {
	if err := checkProtocol(string(b)); err != nil {
		return err
	}
	*p = protocolName(b)
	return nil
}

// volumeForm is one entry of volumes: the short notation or the long one,
// which may also be a tmpfs.
type volumeForm struct {
	shortOrLong[volumeShort, volumeLong]
}

func (f *volumeForm) want() string {
	return "a volume such as \"data:/var/lib/data\" or a mapping with type, source and target"
}

// value returns the entry as a mount, or as a tmpfs when tmp is set.
func (f *volumeForm) value() (m Mount, tmp *Tmpfs) {
	if f.long == nil {
		return Mount(f.short), nil
	}
	l := f.long
	if l.Type == "tmpfs" {
		t := Tmpfs{Target: l.Target}
		if l.Tmpfs != nil {
			t.Size, t.Mode = int64(l.Tmpfs.Size), uint32(l.Tmpfs.Mode)
		}
		if l.ReadOnly {
			t.Options = []string{"ro"}
		}
		return Mount{}, &t
	}
	typ := string(l.Type)
	if typ == "" {
		typ = MountVolume
		if isHostPath(l.Source) {
			typ = MountBind
		}
	}
	return Mount{Type: typ, Source: l.Source, Target: l.Target, ReadOnly: l.ReadOnly}, nil
}

type volumeShort Mount

func (v *volumeShort) UnmarshalText(b []byte) error {
	m, err := ParseVolume(string(b))
	if err != nil {
		return err
	}
	*v = volumeShort(m)
	return nil
}

type volumeLong struct {
	Type     mountType  `json:"type"`
	Source   string     `json:"source"`
	Target   string     `json:"target"`
	ReadOnly bool       `json:"read_only"`
	Tmpfs    *tmpfsLong `json:"tmpfs"`
}

func (l *volumeLong) check() error {
	switch {
	case l.Target == "":
		return fmt.Errorf("target (the path in the box) is required")
	case l.Type == MountBind && l.Source == "":
		return fmt.Errorf("a bind mount needs a source (a path on the host)")
	case l.Type == "tmpfs" && l.Source != "":
		return fmt.Errorf("a tmpfs has no source")
	case l.Type != "tmpfs" && l.Tmpfs != nil:
		return fmt.Errorf("tmpfs options need type: tmpfs")
	}
	return nil
}

type mountType string

func (t *mountType) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case MountVolume, MountBind, "tmpfs":
		*t = mountType(s)
		return nil
	}
	return fmt.Errorf("invalid volume type %q: want volume, bind or tmpfs", b)
}

type tmpfsLong struct {
	Size sizeForm `json:"size"`
	Mode modeBits `json:"mode"`
}

type modeBits uint32

func (m *modeBits) UnmarshalText(b []byte) error {
	v, err := parseMode(string(b))
	if err != nil {
		return err
	}
	*m = modeBits(v)
	return nil
}

// tmpfsForm is one tmpfs or a list of them, each in --tmpfs notation.
type tmpfsForm struct{ oneOrList[tmpfsShort] }

func (f *tmpfsForm) want() string { return "a path or a list of paths" }

type tmpfsShort Tmpfs

func (t *tmpfsShort) UnmarshalText(b []byte) error {
	v, err := ParseTmpfs(string(b))
	if err != nil {
		return err
	}
	*t = tmpfsShort(v)
	return nil
}

// stringsForm is one string or a list of them.
type stringsForm struct{ oneOrList[string] }

func (f *stringsForm) want() string { return "a string or a list of strings" }

// networksForm is the networks a box joins: a list of names, or a mapping
// of names to their settings (aliases).
type networksForm struct {
	listOrMap[string, *networkAttachFile]
}

func (f *networksForm) want() string { return "a list of network names or a mapping" }

func (f *networksForm) value() []NetworkAttachment {
	if f == nil {
		return nil
	}
	var out []NetworkAttachment
	for _, n := range f.list {
		out = append(out, NetworkAttachment{Name: n})
	}
	for _, n := range sortedKeys(f.m) {
		a := NetworkAttachment{Name: n}
		if f.m[n] != nil {
			a.Aliases, a.IPv4Address = f.m[n].Aliases, f.m[n].IPv4Address
		}
		out = append(out, a)
	}
	return out
}

type networkAttachFile struct {
	Aliases     []string `json:"aliases"`
	IPv4Address string   `json:"ipv4_address"`
}

// dependsOnForm is depends_on: a list of box names (condition started),
// or a mapping of names to {condition}.
type dependsOnForm struct {
	listOrMap[string, *dependsFile]
}

func (f *dependsOnForm) want() string { return "a list of box names or a mapping" }

func (f *dependsOnForm) value() []Dependency {
	if f == nil {
		return nil
	}
	var out []Dependency
	for _, n := range f.list {
		out = append(out, Dependency{Name: n, Condition: DependStarted})
	}
	for _, n := range sortedKeys(f.m) {
		c := DependStarted
		if f.m[n] != nil && f.m[n].Condition != "" {
			c = string(f.m[n].Condition)
		}
		out = append(out, Dependency{Name: n, Condition: c})
	}
	return out
}

type dependsFile struct {
	Condition condition `json:"condition"`
}

type condition string

func (c *condition) UnmarshalText(b []byte) error {
	v, err := ParseCondition(string(b))
	if err != nil {
		return err
	}
	*c = condition(v)
	return nil
}

// hostsForm is extra_hosts: a list of HOST:IP (or HOST=IP), or a mapping
// of host names to addresses.
type hostsForm struct{ listOrMap[string, string] }

func (f *hostsForm) want() string { return "a list of HOST:IP or a mapping of host names to addresses" }

func (f *hostsForm) value() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, h := range f.list {
		// compose takes HOST=IP too; Docker's notation is HOST:IP.
		if k, v, ok := strings.Cut(h, "="); ok && !strings.Contains(k, ":") {
			h = k + ":" + v
		}
		out = append(out, h)
	}
	for _, k := range sortedKeys(f.m) {
		out = append(out, k+":"+f.m[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resolveHostPath makes a bind mount's source absolute: ~ is the home
// directory, a relative path is relative to dir (the stack file's).
func resolveHostPath(p, dir, home string) string {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		if home != "" {
			return filepath.Join(home, p[1:])
		}
	case !filepath.IsAbs(p):
		return filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}
