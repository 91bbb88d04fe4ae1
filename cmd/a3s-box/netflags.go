package main

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

// netFlags are run's and create's network flags.
type netFlags struct {
	networks   []string
	net        []string // --net, Docker's old spelling
	aliases    []string
	ip         string
	publish    []string
	publishAll bool
	dns        []string
	addHosts   []string
}

func (f *netFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.networks, "network", nil, "Connect a box to a network (several allowed; none for no network)")
	fs.StringArrayVar(&f.net, "net", nil, "Connect a box to a network")
	_ = fs.MarkHidden("net")
	fs.StringArrayVar(&f.aliases, "network-alias", nil, "Add a network-scoped alias for the box")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address (e.g., 10.89.3.5) on the first network")
	fs.StringArrayVarP(&f.publish, "publish", "p", nil, "Publish a box's port(s) to the host ([IP:][HOST:]BOX[/tcp|udp], ranges allowed)")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "Publish all exposed ports to free host ports")
	fs.StringArrayVar(&f.dns, "dns", nil, "Set custom DNS servers")
	fs.StringArrayVar(&f.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip, or host:host-gateway)")
}

// apply puts the flags into b.
func (f *netFlags) apply(b *spec.Box) error {
	f.networks = append(f.networks, f.net...)
	for _, n := range f.networks {
		switch n {
		case "":
			return fmt.Errorf("invalid --network: empty name")
		case network.HostName:
			return fmt.Errorf("--network host is not supported: a box is a virtual machine with its own kernel and cannot share the host's network stack; publish ports with -p instead")
		case network.NoneName:
			if len(f.networks) > 1 {
				return fmt.Errorf("--network none cannot be combined with other networks")
			}
		}
		b.Networks = append(b.Networks, spec.NetworkAttachment{Name: n})
	}
	if len(f.aliases) > 0 || f.ip != "" {
		if len(b.Networks) == 0 {
			b.Networks = []spec.NetworkAttachment{{Name: network.DefaultName}}
		}
		if b.Networks[0].Name == network.NoneName {
			return fmt.Errorf("--network-alias and --ip need a network, not none")
		}
		for _, a := range f.aliases {
			if !spec.ValidHostname(a) {
				return fmt.Errorf("invalid --network-alias %q: want a host name", a)
			}
		}
		b.Networks[0].Aliases = append(b.Networks[0].Aliases, f.aliases...)
		if f.ip != "" {
			if a, err := netip.ParseAddr(f.ip); err != nil || !a.Is4() {
				return fmt.Errorf("invalid --ip %q: want an IPv4 address", f.ip)
			}
			b.Networks[0].IPv4Address = f.ip
		}
	}
	for _, p := range f.publish {
		ports, err := spec.ParsePorts(p)
		if err != nil {
			return err
		}
		b.Ports = append(b.Ports, ports...)
	}
	for _, d := range f.dns {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("invalid --dns %q: want an IP address", d)
		}
		b.DNS = append(b.DNS, d)
	}
	for _, h := range f.addHosts {
		// Docker takes host:ip and host=ip.
		host, ip, ok := strings.Cut(h, "=")
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		_, err := netip.ParseAddr(strings.Trim(ip, "[]"))
		if !ok || !spec.ValidHostname(host) || (err != nil && ip != "host-gateway") {
			return fmt.Errorf("invalid --add-host %q: want HOST:IP or HOST:host-gateway", h)
		}
		b.ExtraHosts = append(b.ExtraHosts, host+":"+ip)
	}
	return nil
}

// publishExposed adds, for -P, every port the image or --expose exposes
// that -p does not publish, on a free host port.
func (f *netFlags) publishExposed(b *spec.Box, img *image.Image) error {
	if !f.publishAll {
		return nil
	}
	have := map[string]bool{}
	for _, p := range b.Ports {
		have[fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto())] = true
	}
	var exposed []string
	for k := range img.Config.ExposedPorts {
		exposed = append(exposed, k)
	}
	exposed = append(exposed, b.Expose...) // --expose
	sort.Strings(exposed)
	for _, k := range exposed {
		port, proto, _ := strings.Cut(k, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("image exposes %q: not a port", k)
		}
		if have[fmt.Sprintf("%d/%s", n, proto)] {
			continue
		}
		have[fmt.Sprintf("%d/%s", n, proto)] = true
		p := spec.Port{ContainerPort: uint16(n)}
		if proto != "tcp" {
			p.Protocol = proto
		}
		b.Ports = append(b.Ports, p)
	}
	return nil
}
