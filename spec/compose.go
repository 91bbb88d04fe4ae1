package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	yaml "go.yaml.in/yaml/v3"
)

// Compose files are read by compose-go, as `docker compose` reads them:
// .env and the environment for interpolation, env_file, profiles
// (COMPOSE_PROFILES), extends, include, and the project name (name:,
// COMPOSE_PROJECT_NAME, else the directory's name). What compose-go
// returns is mapped onto a Stack; every attribute a3s-box does not act on
// is named in a Warning, found by compose-go's fail-closed allowlist check,
// so an attribute that compose gains later is reported too.

// composeSupported are the compose attributes a3s-box maps onto a Stack.
var composeSupported = func() []tree.Path {
	var paths []tree.Path
	add := func(prefix string, names ...string) {
		for _, n := range names {
			paths = append(paths, tree.Path(prefix+n))
		}
	}
	// Free-form subtrees: the attribute, its entries and theirs.
	free := func(prefix string, names ...string) {
		for _, n := range names {
			add(prefix, n, n+".*", n+".*.*")
		}
	}
	add("", "name", "version", "services", "services.*", "volumes", "volumes.*", "networks", "networks.*")
	s := "services.*."
	add(s, "deploy", "deploy.resources", "deploy.resources.limits", "deploy.resources.limits.cpus",
		"deploy.resources.limits.memory", "deploy.replicas", "scale")
	free(s, "profiles")
	add(s, "image", "working_dir", "user", "hostname", "cpus", "mem_limit", "restart",
		"stop_signal", "stop_grace_period", "init", "stdin_open", "tty", "env_file", "env_file.[]",
		"env_file.[].path", "env_file.[].required")
	free(s, "command", "entrypoint", "environment", "labels", "tmpfs", "dns", "extra_hosts")
	add(s, "healthcheck", "healthcheck.interval", "healthcheck.timeout", "healthcheck.start_period",
		"healthcheck.start_interval", "healthcheck.retries", "healthcheck.disable")
	free(s, "healthcheck.test")
	add(s, "ports", "ports.[]", "ports.[].target", "ports.[].published", "ports.[].host_ip",
		"ports.[].protocol", "ports.[].mode")
	add(s, "volumes", "volumes.[]", "volumes.[].type", "volumes.[].source", "volumes.[].target",
		"volumes.[].read_only", "volumes.[].bind", "volumes.[].bind.create_host_path",
		"volumes.[].volume", "volumes.[].volume.nocopy", "volumes.[].tmpfs", "volumes.[].tmpfs.size", "volumes.[].tmpfs.mode")
	add(s, "networks", "networks.*", "networks.*.aliases", "networks.*.aliases.*", "networks.*.ipv4_address")
	add(s, "depends_on", "depends_on.*", "depends_on.*.condition", "depends_on.*.required",
		"depends_on.*.restart")
	add("volumes.*.", "name", "external")
	free("volumes.*.", "labels")
	add("networks.*.", "name", "external", "internal", "driver", "ipam", "ipam.driver", "ipam.config",
		"ipam.config.[]", "ipam.config.[].subnet", "ipam.config.[].gateway")
	free("networks.*.", "labels")
	return paths
}()

// composeUnsupported are values of supported attributes that a3s-box
// does not act on (compose-go writes the defaults in, so presence alone
// says nothing).
var composeUnsupported = []loader.UnsupportedAttributePattern{
	{Path: "services.*.ports.[].mode", Detect: func(v any) bool { return v != "ingress" }},
	{Path: "services.*.depends_on.*.restart", Detect: func(v any) bool { return v == true }},
}

// composeMu serializes compose loads: compose-go warns through logrus's
// standard logger, which a load borrows to collect its warnings.
var composeMu sync.Mutex

type logHook struct{ add func(string) }

func (logHook) Levels() []logrus.Level { return logrus.AllLevels[:logrus.WarnLevel+1] }
func (h logHook) Fire(e *logrus.Entry) error {
	h.add(e.Message)
	return nil
}

// loadCompose reads one compose file whose content is data.
func loadCompose(ctx context.Context, name string, data []byte) (*Stack, []Warning, error) {
	return loadComposeFiles(ctx, []string{name}, data)
}

// loadComposeFiles reads a compose project made of files, the first being
// the main one (whose content is data when data is not nil).
func loadComposeFiles(ctx context.Context, files []string, data []byte) (*Stack, []Warning, error) {
	main := files[0]
	wd := fileDir(main)
	if data == nil {
		var err error
		if data, err = readStackFile(main); err != nil {
			return nil, nil, err
		}
	}
	env := types.NewMapping(os.Environ())
	if dotEnv := filepath.Join(wd, ".env"); fileExists(dotEnv) {
		m, err := dotenv.GetEnvFromFile(env, []string{dotEnv})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", dotEnv, err)
		}
		env.Merge(m) // the process's environment wins, as in compose
	}
	var profiles []string
	for _, p := range strings.Split(env[consts.ComposeProfiles], ",") {
		if p = strings.TrimSpace(p); p != "" {
			profiles = append(profiles, p)
		}
	}
	details := types.ConfigDetails{WorkingDir: wd, Environment: env}
	for i, f := range files {
		cf := types.ConfigFile{Filename: f}
		if f != "-" {
			abs, err := filepath.Abs(f)
			if err != nil {
				return nil, nil, err
			}
			cf.Filename = abs
		}
		if i == 0 {
			cf.Content = data
		} else if content, err := readStackFile(cf.Filename); err != nil {
			return nil, nil, err
		} else if cf.Content = content; len(content) == 0 {
			return nil, nil, fmt.Errorf("read %s: empty or missing", f)
		}
		details.ConfigFiles = append(details.ConfigFiles, cf)
	}
	l := &composeLoad{main: main, lines: lineIndex(data), files: details.ConfigFiles}
	_, s, err := l.run(func(checks []func(*loader.Options)) (*types.Project, error) {
		return loader.LoadWithContext(ctx, details, append([]func(*loader.Options){func(o *loader.Options) {
			if n := env[consts.ComposeProjectName]; n != "" {
				o.SetProjectName(n, true)
			} else {
				o.SetProjectName(loader.NormalizeProjectName(filepath.Base(wd)), false)
			}
			o.Profiles = profiles
			o.ResolvePaths = true
		}}, checks...)...)
	})
	return s, l.warnings, err
}

// composeLoad is one load of a compose project: the main file, for the
// lines of messages, and the warnings collected.
type composeLoad struct {
	main     string
	lines    map[string]int
	files    []types.ConfigFile // to strip their names from compose-go's warnings
	warnings []Warning
}

func (l *composeLoad) warn(field, format string, args ...any) {
	l.warnings = append(l.warnings, Warning{File: l.main, Line: lookupLine(l.lines, field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// run calls load with the options that name what a3s-box does not
// support, collecting compose-go's warnings meanwhile, and maps the
// project onto a Stack.
func (l *composeLoad) run(load func(checks []func(*loader.Options)) (*types.Project, error)) (*types.Project, *Stack, error) {
	checks := []func(*loader.Options){
		loader.WithUnsupportedAttributesCheck(composeUnsupported, func(found []loader.UnsupportedAttribute) {
			for _, u := range found {
				l.warn(u.Path.String(), "not supported by a3s-box; ignored")
			}
		}),
		loader.WithSupportedAttributes(composeSupported, nil),
	}
	composeMu.Lock()
	std := logrus.StandardLogger()
	out, hooks := std.Out, std.ReplaceHooks(logrus.LevelHooks{})
	std.SetOutput(io.Discard)
	std.AddHook(logHook{add: func(msg string) {
		for _, f := range l.files {
			msg = strings.TrimPrefix(msg, f.Filename+": ")
		}
		l.warn("", "%s", msg)
	}})
	project, err := load(checks)
	std.SetOutput(out)
	std.ReplaceHooks(hooks)
	composeMu.Unlock()
	if errors.Is(err, ErrNoComposeFile) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, composeError(l.main, l.lines, err)
	}
	s, err := composeStack(project, l.main, l.lines, l.warn)
	return project, s, err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

var (
	composePath = regexp.MustCompile(`\b(?:services|volumes|networks)\.[A-Za-z0-9_.\-]+`)
	serviceName = regexp.MustCompile(`\bservice "([^"]+)"`)
	// compose-go's schema says "services.web.imgae false schema" for an
	// attribute it does not know.
	falseSchema = regexp.MustCompile(`^((?:services|volumes|networks)\.\S+) false schema$`)
	lineNumber  = regexp.MustCompile(`\bline (\d+)\b`)
	numberIndex = regexp.MustCompile(`\.(\d+)(\.|$)`)
)

// composeError places one of compose-go's errors, which carry no line, at
// the line it mentions or at the line of the attribute it names.
func composeError(file string, lines map[string]int, err error) error {
	msg := err.Error()
	for _, prefix := range []string{"failed to parse " + file + ": ", "validating " + file + ": ", "yaml: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	line := 0
	if m := lineNumber.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	} else if path := composePath.FindString(msg); path != "" {
		line = lookupLine(lines, strings.TrimRight(path, "."))
	} else if m := serviceName.FindStringSubmatch(msg); m != nil {
		line = lookupLine(lines, "services."+m[1])
	}
	field := ""
	if m := falseSchema.FindStringSubmatch(msg); m != nil {
		field, msg = m[1], unknownField(tree.Path(m[1]).Last(), composeSiblings(tree.Path(m[1])))
	}
	p := &problems{}
	p.add(file, line, field, "%s", msg)
	return p.err()
}

// composeSiblings lists the attribute names compose's schema allows next
// to path.
func composeSiblings(path tree.Path) []string {
	var names []string
	parent := path.Parent()
	for _, a := range schema.AttributePaths() {
		if a.Parent() != "" && parent.Matches(a.Parent()) && !slices.Contains(names, a.Last()) {
			names = append(names, a.Last())
		}
	}
	slices.Sort(names)
	return names
}

// lineIndex maps the dotted path of every key in a YAML file to its
// line, list items as path[i].
func lineIndex(data []byte) map[string]int {
	lines := map[string]int{}
	var doc yaml.Node
	if decodeNode(yaml.NewDecoder(strings.NewReader(string(data))), &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	budget := maxNodes
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if budget--; budget < 0 || n == nil {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				child := join(path, k.Value)
				if _, ok := lines[child]; !ok {
					lines[child] = k.Line
				}
				walk(n.Content[i+1], child)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				child := fmt.Sprintf("%s[%d]", path, i)
				lines[child] = item.Line
				walk(item, child)
			}
		}
	}
	walk(doc.Content[0], "")
	return lines
}

// lookupLine finds the line of path or of its nearest ancestor; compose's
// paths write list items as .[] or .N.
func lookupLine(lines map[string]int, path string) int {
	path, _, _ = strings.Cut(path, ".[]")
	path = numberIndex.ReplaceAllString(path, "[$1]$2")
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

// composeStack maps a loaded compose project onto a Stack.
func composeStack(p *types.Project, file string, lines map[string]int, warn func(field, format string, args ...any)) (*Stack, error) {
	s := &Stack{Name: p.Name, Boxes: map[string]Box{}, File: file}
	s.pos = positions{lines: lines, alias: map[string]string{}, boxes: "services"}
	probs := &problems{}
	bad := func(field, format string, args ...any) {
		probs.add(file, lookupLine(lines, field), field, format, args...)
	}
	for _, name := range sortedKeys(p.DisabledServices) {
		warn("services."+name, "left out: none of its profiles (%s) is active", strings.Join(p.DisabledServices[name].Profiles, ", "))
	}
	for _, name := range sortedKeys(p.Services) {
		s.Boxes[name] = composeBox(p, p.Services[name], warn, bad)
	}
	for name, v := range p.Volumes {
		if s.Volumes == nil {
			s.Volumes = map[string]Volume{}
		}
		s.Volumes[name] = Volume{Name: v.Name, External: bool(v.External), Labels: copyLabels(v.Labels)}
	}
	for name, n := range p.Networks {
		if s.Networks == nil {
			s.Networks = map[string]Network{}
		}
		nw := Network{Name: n.Name, External: bool(n.External), Internal: n.Internal, Labels: copyLabels(n.Labels), Driver: n.Driver}
		if n.Ipam.Driver != "" && n.Ipam.Driver != "default" {
			bad("networks."+name+".ipam.driver", "invalid ipam driver %q: a3s-box has only the default one", n.Ipam.Driver)
		}
		if len(n.Ipam.Config) > 1 {
			warn("networks."+name+".ipam.config", "only the first subnet is used")
		}
		if len(n.Ipam.Config) > 0 && n.Ipam.Config[0] != nil {
			nw.Subnet, nw.Gateway = n.Ipam.Config[0].Subnet, n.Ipam.Config[0].Gateway
		}
		s.Networks[name] = nw
	}
	s.validate(probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func copyLabels(l types.Labels) map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for k, v := range l {
		m[k] = v
	}
	return m
}

// composeBox maps one compose service onto a Box.
func composeBox(p *types.Project, svc types.ServiceConfig, warn, bad func(field, format string, args ...any)) Box {
	at := "services." + svc.Name
	b := Box{Name: svc.Name, Image: svc.Image}
	if b.Image == "" {
		bad(at, "no image: a3s-box runs images and does not build them")
	}
	if svc.Entrypoint != nil {
		b.Entrypoint = append([]string{}, svc.Entrypoint...)
	}
	if len(svc.Command) > 0 {
		b.Command = append([]string(nil), svc.Command...)
	}
	for _, k := range sortedKeys(svc.Environment) {
		if v := svc.Environment[k]; v != nil {
			b.Env = append(b.Env, k+"="+*v)
		} else {
			warn(at+".environment."+k, "no value here or in the environment: left unset")
		}
	}
	for _, e := range svc.EnvFiles {
		b.EnvFile = append(b.EnvFile, e.Path)
	}
	b.WorkingDir, b.User, b.Hostname = svc.WorkingDir, svc.User, svc.Hostname
	// compose-go keeps cpus as a float32: 0.1 would read 0.10000000149.
	b.CPUs = math.Round(float64(svc.CPUS)*1e6) / 1e6
	b.Memory = int64(svc.MemLimit)
	// deploy.resources.limits is compose's other spelling of both.
	if d := svc.Deploy; d != nil && d.Resources.Limits != nil {
		if b.CPUs == 0 {
			b.CPUs = math.Round(float64(d.Resources.Limits.NanoCPUs)*1e6) / 1e6
		}
		if b.Memory == 0 {
			b.Memory = int64(d.Resources.Limits.MemoryBytes)
		}
	}
	b.Labels = copyLabels(svc.Labels)
	if svc.Restart != "" {
		r, err := ParseRestartPolicy(svc.Restart)
		if err != nil {
			bad(at+".restart", "%v", err)
		}
		b.Restart = r
	}
	if h := svc.HealthCheck; h != nil {
		hc := &Healthcheck{Test: append([]string(nil), h.Test...), Disable: h.Disable}
		for _, d := range []struct {
			from *types.Duration
			to   *Duration
		}{{h.Interval, &hc.Interval}, {h.Timeout, &hc.Timeout}, {h.StartPeriod, &hc.StartPeriod}, {h.StartInterval, &hc.StartInterval}} {
			if d.from != nil {
				*d.to = Duration(*d.from)
			}
		}
		if h.Retries != nil {
			hc.Retries = int(min(*h.Retries, math.MaxInt32))
		}
		b.Healthcheck = hc
	}
	b.StopSignal = svc.StopSignal
	if svc.StopGracePeriod != nil {
		d := Duration(*svc.StopGracePeriod)
		b.StopGracePeriod = &d
	}
	for i, pc := range svc.Ports {
		field := fmt.Sprintf("%s.ports[%d]", at, i)
		port := Port{HostIP: pc.HostIP, ContainerPort: uint16(pc.Target), Protocol: pc.Protocol}
		if pc.Target > 65535 {
			bad(field, "invalid port %d", pc.Target)
		}
		if port.Protocol == "tcp" {
			port.Protocol = ""
		}
		if pc.Published != "" {
			lo, hi, err := parsePortRange(pc.Published, true)
			switch {
			case err != nil:
				bad(field, "invalid published port: %v", err)
			case lo != hi:
				bad(field, "published range %s for one target port: a3s-box publishes one host port per box port", pc.Published)
			}
			port.HostPort = lo
		}
		b.Ports = append(b.Ports, port)
	}
	for i, v := range svc.Volumes {
		field := fmt.Sprintf("%s.volumes[%d]", at, i)
		switch v.Type {
		case types.VolumeTypeBind:
			noCreate := v.Bind != nil && !bool(v.Bind.CreateHostPath)
			b.Volumes = append(b.Volumes, Mount{Type: MountBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly, NoCreate: noCreate})
		case types.VolumeTypeVolume:
			noCopy := v.Volume != nil && v.Volume.NoCopy
			b.Volumes = append(b.Volumes, Mount{Type: MountVolume, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly, NoCopy: noCopy})
		case types.VolumeTypeTmpfs:
			t := Tmpfs{Target: v.Target}
			if v.Tmpfs != nil {
				t.Size, t.Mode = int64(v.Tmpfs.Size), v.Tmpfs.Mode
			}
			if v.ReadOnly {
				t.Options = []string{"ro"}
			}
			b.Tmpfs = append(b.Tmpfs, t)
		default:
			warn(field, "volume type %q is not supported by a3s-box; ignored", v.Type)
		}
	}
	for i, t := range svc.Tmpfs {
		tf, err := ParseTmpfs(t)
		if err != nil {
			bad(fmt.Sprintf("%s.tmpfs[%d]", at, i), "%v", err)
			continue
		}
		b.Tmpfs = append(b.Tmpfs, tf)
	}
	for _, n := range svc.NetworksByPriority() {
		a := NetworkAttachment{Name: n}
		if c := svc.Networks[n]; c != nil {
			a.Aliases = append([]string(nil), c.Aliases...)
			a.IPv4Address = c.Ipv4Address
		}
		b.Networks = append(b.Networks, a)
	}
	if len(b.Networks) == 1 && b.Networks[0].Name == DefaultNetwork && len(b.Networks[0].Aliases) == 0 {
		b.Networks = nil // compose writes in the default network that no network means
	}
	for _, dep := range sortedKeys(svc.DependsOn) {
		d := svc.DependsOn[dep]
		if _, ok := p.Services[dep]; !ok && !d.Required {
			warn(at+".depends_on."+dep, "optional dependency %q is not in the project: left out", dep)
			continue
		}
		c, err := ParseCondition(d.Condition)
		if d.Condition == "" {
			c, err = DependStarted, nil
		}
		if err != nil {
			bad(at+".depends_on."+dep, "%v", err)
		}
		b.DependsOn = append(b.DependsOn, Dependency{Name: dep, Condition: c})
	}
	b.DNS = append([]string(nil), svc.DNS...)
	hosts := make([]string, 0, len(svc.ExtraHosts))
	for host, ips := range svc.ExtraHosts {
		for _, ip := range ips {
			hosts = append(hosts, host+":"+ip)
		}
	}
	sort.Strings(hosts)
	if len(hosts) > 0 {
		b.ExtraHosts = hosts
	}
	if len(b.DNS) == 0 {
		b.DNS = nil
	}
	b.Init = svc.Init != nil && *svc.Init
	b.Interactive, b.Tty = svc.StdinOpen, svc.Tty
	// compose-go checks that scale and deploy.replicas agree.
	if svc.Scale != nil || svc.Deploy != nil && svc.Deploy.Replicas != nil {
		n := svc.GetScale()
		b.Replicas = &n
	}
	return b
}
