package spec

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	ggcrname "github.com/google/go-containerregistry/pkg/name"
)

// Validate checks the whole stack and returns every problem at once (see
// Error): names, images, ports, sizes, durations, paths, references to
// volumes, networks and boxes the stack does not declare, and dependency
// cycles. Parse and Load validate what they return; Validate is for
// stacks built in code.
func (s *Stack) Validate() error {
	p := &problems{}
	s.validate(p)
	return p.err()
}

type validator struct {
	s *Stack
	p *problems
}

// errorf reports a problem at a domain path, unless decoding already
// reported one there.
func (v *validator) errorf(path, format string, args ...any) {
	w := v.s.pos.written(path)
	if v.s.pos.failed(w) {
		return
	}
	v.p.add(v.s.File, v.s.pos.line(w), w, format, args...)
}

func (s *Stack) validate(p *problems) {
	v := &validator{s: s, p: p}
	if s.Name != "" {
		if err := CheckStackName(s.Name); err != nil {
			v.errorf("name", "%v", err)
		}
	}
	for _, name := range sortedKeys(s.Volumes) {
		if err := CheckName("volume", name); err != nil {
			v.errorf("volumes."+name, "%v", err)
		}
		if n := s.Volumes[name].Name; n != "" {
			if err := CheckName("volume", n); err != nil {
				v.errorf("volumes."+name+".name", "%v", err)
			} else if len(n) < 2 {
				v.errorf("volumes."+name+".name", "invalid volume name %q: a volume's name has at least 2 characters", n)
			}
		} else if s.Volumes[name].External && len(name) < 2 {
			v.errorf("volumes."+name, "invalid volume name %q: a volume's name has at least 2 characters (give the external volume's name)", name)
		}
	}
	for _, name := range sortedKeys(s.Networks) {
		if err := CheckName("network", name); err != nil {
			v.errorf("networks."+name, "%v", err)
		}
		if n := s.Networks[name].Name; n != "" {
			if err := CheckName("network", n); err != nil {
				v.errorf("networks."+name+".name", "%v", err)
			}
		}
		v.network("networks."+name, s.Networks[name])
	}
	for _, name := range s.BoxNames() {
		v.box(name, s.Boxes[name])
	}
	v.cycles()
	v.publishedPorts()
}

func (v *validator) box(name string, b Box) {
	at := "boxes." + name
	if err := CheckName("box", name); err != nil {
		v.errorf(at, "%v", err)
	}
	if b.Image == "" {
		v.errorf(at, "no image: every box needs one")
	} else if _, err := ggcrname.ParseReference(b.Image); err != nil {
		v.errorf(at+".image", "invalid image reference %q", b.Image)
	}
	for _, e := range b.Env {
		k, _, _ := strings.Cut(e, "=")
		if k == "" || strings.ContainsAny(k, " \t\n\x00") {
			v.errorf(at+".environment", "invalid variable name %q", k)
		}
	}
	if b.WorkingDir != "" && !path.IsAbs(b.WorkingDir) {
		v.errorf(at+".working_dir", "%q is not an absolute path", b.WorkingDir)
	}
	if b.User != "" && !userRE.MatchString(b.User) {
		v.errorf(at+".user", "invalid user %q: want NAME|UID[:GROUP|GID]", b.User)
	}
	if b.Hostname != "" && !validHostname(b.Hostname) {
		v.errorf(at+".hostname", "invalid host name %q", b.Hostname)
	}
	if err := CheckCPUs(b.CPUs); err != nil {
		v.errorf(at+".cpus", "%v", err)
	}
	if err := CheckMemory(b.Memory); err != nil {
		v.errorf(at+".mem_limit", "%v", err)
	}
	for k := range b.Labels {
		if k == "" {
			v.errorf(at+".labels", "a label has an empty name")
		}
	}
	if h := b.Healthcheck; h != nil {
		v.health(at+".healthcheck", h)
	}
	if b.StopSignal != "" {
		if _, err := ParseSignal(b.StopSignal); err != nil {
			v.errorf(at+".stop_signal", "%v", err)
		}
	}
	if b.StopGracePeriod != nil && *b.StopGracePeriod < 0 {
		v.errorf(at+".stop_grace_period", "must not be negative")
	}
	if b.Replicas != nil {
		if err := CheckReplicas(*b.Replicas); err != nil {
			v.errorf(at+".replicas", "%v", err)
		}
	}
	v.ports(at, b)
	v.mounts(at, b)
	v.networks(at, b)
	v.dependencies(name, b)
	for i, d := range b.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			v.errorf(fmt.Sprintf("%s.dns[%d]", at, i), "%q is not an IP address", d)
		}
	}
	for i, h := range b.ExtraHosts {
		host, ip, ok := strings.Cut(h, ":")
		_, err := netip.ParseAddr(strings.Trim(ip, "[]"))
		if !ok || !validHostname(host) || (err != nil && ip != "host-gateway") {
			v.errorf(fmt.Sprintf("%s.extra_hosts[%d]", at, i), "invalid extra host %q: want HOST:IP", h)
		}
	}
}

var userRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$`)

var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func validHostname(h string) bool {
	if len(h) > 253 || h == "" {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !hostLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

func (v *validator) health(at string, h *Healthcheck) {
	if err := checkHealthTest(h.Test); err != nil {
		v.errorf(at+".test", "%v", err)
	}
	for _, d := range []struct {
		field string
		d     Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_interval", h.StartInterval}} {
		if d.d != 0 && d.d.D() < time.Millisecond {
			v.errorf(at+"."+d.field, "%s is too short: at least 1ms", d.d.D())
		}
	}
	if h.StartPeriod < 0 {
		v.errorf(at+".start_period", "must not be negative")
	}
	if h.Retries < 0 {
		v.errorf(at+".retries", "must not be negative")
	}
}

func (v *validator) ports(at string, b Box) {
	seen := map[string]int{}
	for i, p := range b.Ports {
		field := fmt.Sprintf("%s.ports[%d]", at, i)
		if p.ContainerPort == 0 {
			v.errorf(field, "the box's port (target) is required")
		}
		if p.HostIP != "" {
			if _, err := netip.ParseAddr(p.HostIP); err != nil {
				v.errorf(field, "host_ip %q is not an IP address", p.HostIP)
			}
		}
		if err := checkProtocol(p.Proto()); err != nil {
			v.errorf(field, "%v", err)
		}
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto())
		if j, dup := seen[key+p.HostIP+strconv.Itoa(int(p.HostPort))]; dup {
			v.errorf(field, "port %s is listed twice (also ports[%d])", p, j)
		}
		seen[key+p.HostIP+strconv.Itoa(int(p.HostPort))] = i
	}
}

func (v *validator) mounts(at string, b Box) {
	targets := map[string]string{}
	target := func(field, t string) {
		if err := checkTarget(t); err != nil {
			v.errorf(field, "%v", err)
			return
		}
		t = path.Clean(t)
		if other, dup := targets[t]; dup {
			v.errorf(field, "%s is already a mount point (%s)", t, strings.TrimPrefix(v.s.pos.written(other), v.s.pos.written(at)+"."))
		}
		targets[t] = field
	}
	for i, m := range b.Volumes {
		field := fmt.Sprintf("%s.volumes[%d]", at, i)
		target(field, m.Target)
		switch m.Type {
		case MountVolume:
			if m.Source == "" {
				continue // anonymous
			}
			if _, ok := v.s.Volumes[m.Source]; !ok {
				v.errorf(field, "volume %q is not declared under volumes%s", m.Source, didYouMean(m.Source, sortedKeys(v.s.Volumes)))
			}
		default:
			if err := m.check(); err != nil {
				v.errorf(field, "%v", err)
			}
		}
	}
	for i, t := range b.Tmpfs {
		field := fmt.Sprintf("%s.tmpfs[%d]", at, i)
		target(field, t.Target)
		for _, o := range t.Options {
			if !tmpfsFlags[o] {
				v.errorf(field, "invalid tmpfs option %q", o)
			}
		}
		if t.Mode > 0o7777 {
			v.errorf(field, "invalid mode %o", t.Mode)
		}
	}
}

func (v *validator) networks(at string, b Box) {
	seen := map[string]bool{}
	for i, n := range b.Networks {
		field := fmt.Sprintf("%s.networks[%d]", at, i)
		if _, ok := v.s.Networks[n.Name]; !ok && n.Name != DefaultNetwork {
			v.errorf(field, "network %q is not declared under networks%s", n.Name, didYouMean(n.Name, sortedKeys(v.s.Networks)))
		}
		if seen[n.Name] {
			v.errorf(field, "network %q is listed twice", n.Name)
		}
		seen[n.Name] = true
		for _, a := range n.Aliases {
			if !validHostname(a) {
				v.errorf(field, "invalid alias %q: want a host name", a)
			}
		}
		if n.IPv4Address != "" {
			v.fixedAddress(field, n)
		}
	}
}

// network checks a network declaration's driver and addressing.
func (v *validator) network(at string, n Network) {
	if n.Driver != "" && n.Driver != NetworkDriver {
		v.errorf(at+".driver", "invalid driver %q: a3s-box networks are %s networks", n.Driver, NetworkDriver)
	}
	if n.External && (n.Subnet != "" || n.Gateway != "" || n.Internal) {
		v.errorf(at, "an external network is declared elsewhere: it takes no ipam or internal here")
	}
	if n.Gateway != "" && n.Subnet == "" {
		v.errorf(at+".ipam", "a gateway needs a subnet")
	}
	if n.Subnet == "" {
		return
	}
	p, err := ParseSubnet(n.Subnet)
	if err != nil {
		v.errorf(at+".ipam", "%v", err)
		return
	}
	if n.Gateway != "" {
		if _, err := ParseHostAddr("gateway", n.Gateway, p); err != nil {
			v.errorf(at+".ipam", "%v", err)
		}
	}
}

// fixedAddress checks a box's ipv4_address against its network's subnet,
// which must be declared: an address from a pool the stack does not fix
// could be anyone's.
func (v *validator) fixedAddress(field string, a NetworkAttachment) {
	n, ok := v.s.Networks[a.Name]
	switch {
	case ok && n.External:
		if _, err := netip.ParseAddr(a.IPv4Address); err != nil {
			v.errorf(field, "invalid ipv4_address %q", a.IPv4Address)
		}
		return
	case !ok || n.Subnet == "":
		v.errorf(field, "ipv4_address %s needs network %q to declare its subnet (ipam.config)", a.IPv4Address, a.Name)
		return
	}
	p, err := ParseSubnet(n.Subnet)
	if err != nil {
		return // reported on the network
	}
	if _, err := ParseHostAddr("ipv4_address", a.IPv4Address, p); err != nil {
		v.errorf(field, "%v", err)
	}
}

func (v *validator) dependencies(name string, b Box) {
	seen := map[string]bool{}
	for i, d := range b.DependsOn {
		field := fmt.Sprintf("boxes.%s.depends_on[%d]", name, i)
		switch _, ok := v.s.Boxes[d.Name]; {
		case d.Name == name:
			v.errorf(field, "box %q depends on itself", name)
		case !ok:
			v.errorf(field, "box %q is not in the stack%s", d.Name, didYouMean(d.Name, v.s.BoxNames()))
		case seen[d.Name]:
			v.errorf(field, "box %q is listed twice", d.Name)
		}
		seen[d.Name] = true
		if c, err := ParseCondition(d.Condition); d.Condition != "" && (err != nil || c != d.Condition) {
			v.errorf(field, "invalid condition %q: want started, healthy or completed", d.Condition)
		}
	}
}

// cycles reports each dependency cycle once, at the depends_on entry that
// closes it (the search starts from the boxes in name order).
func (v *validator) cycles() {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for i, d := range v.s.Boxes[n].DependsOn {
			if _, ok := v.s.Boxes[d.Name]; !ok || d.Name == n {
				continue // reported as unknown or as depending on itself
			}
			switch state[d.Name] {
			case unseen:
				visit(d.Name)
			case active:
				j := slices.Index(stack, d.Name)
				cycle := append(slices.Clone(stack[j:]), d.Name)
				v.errorf(fmt.Sprintf("boxes.%s.depends_on[%d]", n, i), "dependency cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range v.s.BoxNames() {
		if state[n] == unseen {
			visit(n)
		}
	}
}

// publishedPorts reports a host port two boxes of the stack both publish.
func (v *validator) publishedPorts() {
	type use struct {
		box string
		ip  string
	}
	taken := map[string][]use{}
	for _, name := range v.s.BoxNames() {
		for i, p := range v.s.Boxes[name].Ports {
			if p.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%d/%s", p.HostPort, p.Proto())
			for _, u := range taken[key] {
				if u.box != name && (u.ip == p.HostIP || isWildcard(u.ip) || isWildcard(p.HostIP)) {
					v.errorf(fmt.Sprintf("boxes.%s.ports[%d]", name, i), "host port %s is also published by box %q", key, u.box)
					break
				}
			}
			taken[key] = append(taken[key], use{name, p.HostIP})
		}
	}
}

func isWildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
