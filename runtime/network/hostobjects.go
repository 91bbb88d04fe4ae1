package network

import (
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
)

// HostObject is one thing a3s-box made on the host for a root, outside
// its state directory: what `system df -v` lists, so that an operator can
// see nothing is left once the root's boxes and networks are gone.
type HostObject struct {
	// Kind is bridge, tap, chain (a firewall chain of the root), jump
	// (the rule in a built-in chain that leads to one) or table (the
	// root's nftables table that pins taps to their boxes' addresses).
	Kind string
	// Name is the device, chain or table ("nat POSTROUTING" for a jump,
	// "bridge a3s-..." for the table).
	Name string
	// Detail says what it serves: the network of a bridge, the bridge a
	// tap is plugged into, the chain a jump leads to.
	Detail string
}

// HostObjects lists what exists on the host for the store's root: its
// networks' bridges (found by their alias, so also one whose record is
// gone), the taps of boxIDs' NIC slots, its firewall chains and jump
// rules, and its guard table.
func (s *Store) HostObjects(boxIDs []string) ([]HostObject, error) {
	var taps []string
	for _, id := range boxIDs {
		for slot := range Slots {
			taps = append(taps, TapName(s.root, id, slot))
		}
	}
	objs, err := s.host.objects(s.root, taps)
	if err != nil {
		return nil, fmt.Errorf("list host objects: %w", err)
	}
	return objs, nil
}

func (h linuxHost) objects(root string, tapNames []string) ([]HostObject, error) {
	brs, err := h.bridges()
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	var out []HostObject
	for _, b := range brs {
		if b.Root == root {
			ours[b.Name] = true
			out = append(out, HostObject{Kind: "bridge", Name: b.Name, Detail: "network " + shortID(b.ID)})
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		if !slices.Contains(tapNames, a.Name) {
			continue
		}
		detail := "spare slot"
		if br := names[a.MasterIndex]; ours[br] {
			detail = "on " + br
		}
		out = append(out, HostObject{Kind: "tap", Name: a.Name, Detail: detail})
	}
	c := chainsOf(root)
	for _, ch := range []struct{ table, name string }{{"filter", c.fwd}, {"filter", c.in}, {"nat", c.nat}} {
		if _, err := iptables("", "-t", ch.table, "-S", ch.name); err == nil {
			out = append(out, HostObject{Kind: "chain", Name: ch.table + " " + ch.name})
		}
	}
	for _, j := range jumpsOf(root) {
		if _, err := iptables("", append([]string{"-t", j.table, "-C", j.from}, j.spec(root)...)...); err == nil {
			out = append(out, HostObject{Kind: "jump", Name: j.table + " " + j.from, Detail: "to " + j.to})
		}
	}
	if guardExists(root) {
		out = append(out, HostObject{Kind: "table", Name: "bridge " + GuardTable(root), Detail: "anti-spoofing of the taps"})
	}
	return out, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
