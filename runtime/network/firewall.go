package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// The firewall: each a3s-box root has three chains of its own, reached
// from a jump rule at the top of FORWARD, INPUT and nat POSTROUTING that
// carries the root's path in a comment (so the chains of a deleted root
// are found and removed). A chain's rules are rebuilt whole from the
// root's network records on every change (iptables-restore --noflush
// replaces a chain it declares in one transaction), which makes a sync
// idempotent and repairs whatever a crash left half done.
//
// For each network's bridge B with subnet S:
//
//	FWD  -i B -o B ACCEPT                    boxes of one network reach each other
//	FWD  -i B -o a3sb+ DROP                  no forwarding to another a3s-box bridge,
//	FWD  -i a3sb+ -o B DROP                  of this root or any other
//	unless the network has host access:
//	IN   -i B ESTABLISHED ACCEPT, -i B DROP  nothing to the host's own addresses (the
//	                                         gateway's included); replies to the host's
//	                                         own connections, the port proxy's, pass
//	internal:
//	FWD  -i B DROP, -o B DROP                no way out, no way in
//	otherwise:
//	FWD  -i B -d 169.254.0.0/16 DROP         no link-local (cloud metadata), unless the
//	                                         network has host access
//	FWD  -i B ACCEPT                         out through the host
//	FWD  -o B ESTABLISHED ACCEPT, -o B DROP  only replies come back in
//	NAT  -s S ! -o B MASQUERADE              with the host's address
//
// Name resolution needs no rule: guestinit relays queries over the
// control channel, not the network. Source addresses are pinned below
// these chains, at the bridge (guard.go), so S above is all a box sends
// from.

// linkLocal is IPv4's link-local range, where clouds put their instance
// metadata service (169.254.169.254).
const linkLocal = "169.254.0.0/16"

type chainSet struct{ fwd, in, nat string }

func chainsOf(root string) chainSet {
	k := "A3S-" + rootKey(root)
	return chainSet{fwd: k + "-FWD", in: k + "-IN", nat: k + "-NAT"}
}

// rootComment marks a root's jump rules.
func rootComment(root string) string { return "a3s-box:" + root }

// renderRules is the iptables-restore input that sets root's chains to
// match nets.
func renderRules(root string, nets []*Network) string {
	c := chainsOf(root)
	sorted := append([]*Network(nil), nets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Bridge < sorted[j].Bridge })
	var f, n strings.Builder
	fmt.Fprintf(&f, "*filter\n:%s - [0:0]\n:%s - [0:0]\n", c.fwd, c.in)
	fmt.Fprintf(&n, "*nat\n:%s - [0:0]\n", c.nat)
	// Isolation first, for every bridge, so no accept below can let a
	// packet through to another network.
	for _, nw := range sorted {
		b := nw.Bridge
		fmt.Fprintf(&f, "-A %s -i %s -o %s -j ACCEPT\n", c.fwd, b, b)
		fmt.Fprintf(&f, "-A %s -i %s -o %s+ -j DROP\n", c.fwd, b, bridgePrefix)
		fmt.Fprintf(&f, "-A %s -i %s+ -o %s -j DROP\n", c.fwd, bridgePrefix, b)
	}
	for _, nw := range sorted {
		b := nw.Bridge
		if !nw.HostAccess {
			fmt.Fprintf(&f, "-A %s -i %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", c.in, b)
			fmt.Fprintf(&f, "-A %s -i %s -j DROP\n", c.in, b)
		}
		if nw.Internal {
			fmt.Fprintf(&f, "-A %s -i %s -j DROP\n", c.fwd, b)
			fmt.Fprintf(&f, "-A %s -o %s -j DROP\n", c.fwd, b)
			continue
		}
		if !nw.HostAccess {
			fmt.Fprintf(&f, "-A %s -i %s -d %s -j DROP\n", c.fwd, b, linkLocal)
		}
		fmt.Fprintf(&f, "-A %s -i %s -j ACCEPT\n", c.fwd, b)
		fmt.Fprintf(&f, "-A %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", c.fwd, b)
		fmt.Fprintf(&f, "-A %s -o %s -j DROP\n", c.fwd, b)
		fmt.Fprintf(&n, "-A %s -s %s ! -o %s -j MASQUERADE\n", c.nat, nw.Subnet, b)
	}
	f.WriteString("COMMIT\n")
	n.WriteString("COMMIT\n")
	return f.String() + n.String()
}

// jump is one rule that leads from a built-in chain to a root's chain.
type jump struct{ table, from, to string }

func jumpsOf(root string) []jump {
	c := chainsOf(root)
	return []jump{{"filter", "FORWARD", c.fwd}, {"filter", "INPUT", c.in}, {"nat", "POSTROUTING", c.nat}}
}

func (j jump) spec(root string) []string {
	return []string{"-m", "comment", "--comment", rootComment(root), "-j", j.to}
}

// sbinPath finds a tool of the host's that may be outside PATH.
func sbinPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return dir + "/" + name
		}
	}
	return name
}

// iptables runs one iptables command, waiting for the xtables lock.
func iptables(stdin string, args ...string) (string, error) {
	bin := "iptables"
	if stdin != "" {
		bin = "iptables-restore"
	}
	cmd := exec.Command(sbinPath(bin), append([]string{"-w"}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s %s: %s", bin, strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

func (linuxHost) syncRules(root string, nets []*Network) error {
	if len(nets) == 0 {
		return dropRules(root)
	}
	if _, err := iptables(renderRules(root, nets), "--noflush"); err != nil {
		return fmt.Errorf("firewall rules: %w", err)
	}
	for _, j := range jumpsOf(root) {
		rule := j.spec(root)
		if _, err := iptables("", append([]string{"-t", j.table, "-C", j.from}, rule...)...); err == nil {
			continue
		}
		if _, err := iptables("", append([]string{"-t", j.table, "-I", j.from, "1"}, rule...)...); err != nil {
			return fmt.Errorf("firewall rules: %w", err)
		}
	}
	// After the jumps, by which the root (and so its guard) is found.
	if err := syncGuard(root, nets); err != nil {
		return err
	}
	for _, n := range nets {
		if !n.Internal {
			return enableForwarding()
		}
	}
	return nil
}

// enableForwarding turns on IPv4 forwarding, without which no box reaches
// past the host. (Docker does the same.)
func enableForwarding() error {
	const p = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(p, []byte("1\n"), 0); err != nil {
		return fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	return nil
}

// dropRules removes root's guard, jumps and chains; what is already gone
// is no error.
func dropRules(root string) error {
	if err := dropGuard(root); err != nil {
		return err
	}
	for _, j := range jumpsOf(root) {
		rule := j.spec(root)
		for i := 0; i < 10; i++ {
			if _, err := iptables("", append([]string{"-t", j.table, "-D", j.from}, rule...)...); err != nil {
				break
			}
		}
		if _, err := iptables("", "-t", j.table, "-F", j.to); err == nil {
			if _, err := iptables("", "-t", j.table, "-X", j.to); err != nil {
				return fmt.Errorf("firewall rules: %w", err)
			}
		}
	}
	return nil
}

func (linuxHost) ruleRoots() ([]string, error) {
	out, err := iptables("", "-S", "FORWARD")
	if err != nil {
		return nil, err
	}
	return parseRuleRoots(out), nil
}

// parseRuleRoots reads the roots named by jump rules in `iptables -S`
// output.
func parseRuleRoots(out string) []string {
	var roots []string
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		_, rest, ok := strings.Cut(line, "--comment ")
		if !ok {
			continue
		}
		var c string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			for i := 1; i < len(rest); i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				} else if rest[i] == '"' {
					break
				}
				b.WriteByte(rest[i])
			}
			c = b.String()
		} else {
			c, _, _ = strings.Cut(rest, " ")
		}
		if root, ok := strings.CutPrefix(c, "a3s-box:"); ok && root != "" && !seen[root] {
			seen[root] = true
			roots = append(roots, root)
		}
	}
	return roots
}
