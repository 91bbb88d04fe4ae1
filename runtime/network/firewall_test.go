package network

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestRenderRules(t *testing.T) {
	root := "/r"
	nets := []*Network{
		{Name: "out", Bridge: "a3sb2", Subnet: netip.MustParsePrefix("10.89.1.0/24")},
		{Name: "in", Bridge: "a3sb1", Subnet: netip.MustParsePrefix("10.89.2.0/24"), Internal: true},
	}
	c := chainsOf(root)
	got := renderRules(root, nets)
	want := strings.Join([]string{
		"*filter",
		":" + c.fwd + " - [0:0]",
		":" + c.in + " - [0:0]",
		"-A " + c.fwd + " -i a3sb1 -o a3sb1 -j ACCEPT",
		"-A " + c.fwd + " -i a3sb1 -o a3sb+ -j DROP",
		"-A " + c.fwd + " -i a3sb+ -o a3sb1 -j DROP",
		"-A " + c.fwd + " -i a3sb2 -o a3sb2 -j ACCEPT",
		"-A " + c.fwd + " -i a3sb2 -o a3sb+ -j DROP",
		"-A " + c.fwd + " -i a3sb+ -o a3sb2 -j DROP",
		"-A " + c.fwd + " -i a3sb1 -j DROP",
		"-A " + c.fwd + " -o a3sb1 -j DROP",
		"-A " + c.in + " -i a3sb1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A " + c.in + " -i a3sb1 -j DROP",
		"-A " + c.fwd + " -i a3sb2 -j ACCEPT",
		"-A " + c.fwd + " -o a3sb2 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A " + c.fwd + " -o a3sb2 -j DROP",
		"COMMIT",
		"*nat",
		":" + c.nat + " - [0:0]",
		"-A " + c.nat + " -s 10.89.1.0/24 ! -o a3sb2 -j MASQUERADE",
		"COMMIT",
		"",
	}, "\n")
	if got != want {
		t.Fatalf("rules:\n%s\nwant:\n%s", got, want)
	}
	if len(c.fwd) > 28 || c == chainsOf("/other") {
		t.Fatalf("chains %+v: too long or not per root", c)
	}
}

func TestParseRuleRoots(t *testing.T) {
	out := `-P FORWARD ACCEPT
-A FORWARD -m comment --comment "a3s-box:/tmp/a b" -j A3S-1-FWD
-A FORWARD -m comment --comment a3s-box:/var/lib/a3s-box -j A3S-2-FWD
-A FORWARD -m comment --comment "a3s-box:/tmp/q\"uote" -j A3S-3-FWD
-A FORWARD -m comment --comment "someone else" -j ACCEPT
-A FORWARD -m comment --comment a3s-box:/var/lib/a3s-box -j A3S-2-FWD
`
	got := parseRuleRoots(out)
	want := []string{"/tmp/a b", "/var/lib/a3s-box", `/tmp/q"uote`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
