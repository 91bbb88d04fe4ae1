package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "port", summary: "List port mappings or a specific mapping for the box", errCode: 1, run: portVerb})
}

func portVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("port", "port BOX [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "port", 1); err != nil {
		return err
	}
	if fs.NArg() > 2 {
		return fmt.Errorf("'a3s-box port' takes at most 2 arguments.\nSee 'a3s-box port --help'")
	}
	_, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	ports := sortedBindings(boxBindings(b))
	if fs.NArg() == 2 {
		want := fs.Arg(1)
		port, proto, _ := strings.Cut(want, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return fmt.Errorf("invalid port %q", want)
		}
		found := false
		for _, p := range ports {
			if uint64(p.ContainerPort) == n && p.Protocol == proto {
				fmt.Fprintln(c.stdout, p.String())
				found = true
			}
		}
		if !found {
			return fmt.Errorf("no public port '%d/%s' published for %s", n, proto, b.Name)
		}
		return nil
	}
	for _, p := range ports {
		fmt.Fprintf(c.stdout, "%d/%s -> %s\n", p.ContainerPort, p.Protocol, p.String())
	}
	return nil
}

// boxBindings are a box's published ports as bound: only while it runs.
func boxBindings(b *runtime.Box) []network.Binding {
	if !b.State.Running() && b.State.Status != spec.StatusRestarting {
		return nil
	}
	return b.State.Ports
}

func sortedBindings(in []network.Binding) []network.Binding {
	out := append([]network.Binding(nil), in...)
	slices.SortStableFunc(out, func(a, b network.Binding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.HostIP, b.HostIP))
	})
	return out
}

// formatPorts is ps's PORTS column, Docker's notation: runs of
// consecutive ports collapse into ranges, 0.0.0.0:8000-8002->80-82/tcp.
func formatPorts(in []network.Binding) string {
	ports := slices.Clone(in)
	slices.SortStableFunc(ports, func(a, b network.Binding) int {
		return cmp.Or(cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.ContainerPort, b.ContainerPort))
	})
	var parts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) {
			a, b := ports[j], ports[j+1]
			if b.HostIP != a.HostIP || b.Protocol != a.Protocol || b.ContainerPort != a.ContainerPort+1 || b.HostPort != a.HostPort+1 {
				break
			}
			j++
		}
		first, last := ports[i], ports[j]
		ip := first.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		host, box := strconv.Itoa(int(first.HostPort)), strconv.Itoa(int(first.ContainerPort))
		if j > i {
			host += "-" + strconv.Itoa(int(last.HostPort))
			box += "-" + strconv.Itoa(int(last.ContainerPort))
		}
		parts = append(parts, fmt.Sprintf("%s:%s->%s/%s", ip, host, box, first.Protocol))
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
