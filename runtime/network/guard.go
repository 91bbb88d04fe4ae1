package network

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// The guard pins every box's tap to the box's own MAC and IPv4 address,
// so that a guest root cannot take another box's address on its network
// (ARP poisoning, which would steal that box's published ports and name)
// nor send packets from addresses outside the subnet that the host would
// then forward unmasqueraded. It is one nftables table of the bridge
// family per root (GuardTable), whose base chain sits at the bridge's
// prerouting hook: a frame a tap brings in is checked before it is
// switched to another port or handed to the host's stack. Boxes get their
// addresses from Setup, never by DHCP, so no frame from a box has a
// reason to carry any source but the box's own.
//
// For each endpoint (the box's tap of that network's slot), a frame is
// dropped when
//
//	its source MAC is not the endpoint's,
//	it is ARP for anything but Ethernet and IPv4, or its sender MAC or
//	  sender IP is not the endpoint's,
//	it is IPv4 from a source that is not the endpoint's address,
//	it is anything but IPv4 and ARP (IPv6, VLAN tags: boxes speak IPv4).
//
// The table is rebuilt whole from the records with each firewall sync
// (one nft transaction that deletes and declares it), after the iptables
// chains and removed before them, so that a table on the host always has
// the jump rules by which its root is found and cleaned up.

// GuardTable is the name of root's nftables table (family bridge).
func GuardTable(root string) string { return "a3s-" + rootKey(root) }

// guardedTap is one endpoint as the guard sees it.
type guardedTap struct{ tap, mac, ip string }

// guardedTaps lists the taps of every endpoint of nets, by tap name.
func guardedTaps(root string, nets []*Network) []guardedTap {
	var out []guardedTap
	for _, n := range nets {
		for _, e := range n.Endpoints {
			out = append(out, guardedTap{tap: TapName(root, e.BoxID, e.Slot), mac: e.MAC, ip: e.IP.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tap < out[j].tap })
	return out
}

// renderGuard is the nft script that sets root's guard table to match
// nets: the table declared (so the delete that follows never fails),
// deleted, and declared anew with its rules, in one transaction.
func renderGuard(root string, nets []*Network) string {
	t := GuardTable(root)
	taps := guardedTaps(root, nets)
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s\ndelete table bridge %s\ntable bridge %s {\n", t, t, t)
	b.WriteString("\tchain guard {\n\t\ttype filter hook prerouting priority -200; policy accept;\n")
	if len(taps) > 0 {
		jumps := make([]string, len(taps))
		for i, g := range taps {
			jumps[i] = fmt.Sprintf("%q : jump %s", g.tap, g.tap)
		}
		fmt.Fprintf(&b, "\t\tiifname vmap { %s }\n", strings.Join(jumps, ", "))
	}
	b.WriteString("\t}\n")
	for _, g := range taps {
		fmt.Fprintf(&b, "\tchain %s {\n", g.tap)
		for _, r := range []string{
			"ether saddr != " + g.mac + " drop",
			"ether type arp arp htype != 1 drop",
			"ether type arp arp ptype != ip drop",
			"ether type arp arp hlen != 6 drop",
			"ether type arp arp plen != 4 drop",
			"ether type arp arp saddr ether != " + g.mac + " drop",
			"ether type arp arp saddr ip != " + g.ip + " drop",
			"ether type ip ip saddr != " + g.ip + " drop",
			"ether type != { ip, arp } drop",
		} {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func nftBin() string { return sbinPath("nft") }

// nft runs nft with args, and the script stdin if any.
func nft(stdin string, args ...string) (string, error) {
	cmd := exec.Command(nftBin(), args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return "", fmt.Errorf("nft: %w (install the nftables package)", err)
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("nft %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

// syncGuard makes root's guard table match nets.
func syncGuard(root string, nets []*Network) error {
	if _, err := nft(renderGuard(root, nets), "-f", "-"); err != nil {
		return fmt.Errorf("anti-spoofing rules: %w", err)
	}
	return nil
}

// dropGuard removes root's guard table; one already gone is no error.
func dropGuard(root string) error {
	if !guardExists(root) {
		return nil
	}
	if _, err := nft("", "delete", "table", "bridge", GuardTable(root)); err != nil {
		return fmt.Errorf("anti-spoofing rules: %w", err)
	}
	return nil
}

func guardExists(root string) bool {
	_, err := nft("", "list", "table", "bridge", GuardTable(root))
	return err == nil
}
