package network

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestRenderRules(t *testing.T) {
	root := "/r"
	c := chainsOf(root)
	fwd := func(s string) string { return "-A " + c.fwd + " " + s }
	in := func(s string) string { return "-A " + c.in + " " + s }
	nat := func(s string) string { return "-A " + c.nat + " " + s }
	isolate := func(b string) []string {
		return []string{fwd("-i " + b + " -o " + b + " -j ACCEPT"), fwd("-i " + b + " -o a3sb+ -j DROP"), fwd("-i a3sb+ -o " + b + " -j DROP")}
	}
	noHost := func(b string) []string {
		return []string{in("-i " + b + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), in("-i " + b + " -j DROP")}
	}
	out := func(b string) []string {
		return []string{fwd("-i " + b + " -j ACCEPT"), fwd("-o " + b + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), fwd("-o " + b + " -j DROP")}
	}
	subnet := netip.MustParsePrefix("10.89.1.0/24")
	for _, tc := range []struct {
		name     string
		net      Network
		filter   []string
		natRules []string
	}{
		{
			name: "with a way out, no host access",
			net:  Network{Bridge: "a3sb1", Subnet: subnet},
			filter: slices.Concat(isolate("a3sb1"), noHost("a3sb1"),
				[]string{fwd("-i a3sb1 -d 169.254.0.0/16 -j DROP")}, out("a3sb1")),
			natRules: []string{nat("-s 10.89.1.0/24 ! -o a3sb1 -j MASQUERADE")},
		},
		{
			name:     "with a way out and host access",
			net:      Network{Bridge: "a3sb1", Subnet: subnet, HostAccess: true},
			filter:   slices.Concat(isolate("a3sb1"), out("a3sb1")),
			natRules: []string{nat("-s 10.89.1.0/24 ! -o a3sb1 -j MASQUERADE")},
		},
		{
			name: "internal",
			net:  Network{Bridge: "a3sb1", Subnet: subnet, Internal: true},
			filter: slices.Concat(isolate("a3sb1"), noHost("a3sb1"),
				[]string{fwd("-i a3sb1 -j DROP"), fwd("-o a3sb1 -j DROP")}),
		},
		{
			name:   "internal with host access",
			net:    Network{Bridge: "a3sb1", Subnet: subnet, Internal: true, HostAccess: true},
			filter: slices.Concat(isolate("a3sb1"), []string{fwd("-i a3sb1 -j DROP"), fwd("-o a3sb1 -j DROP")}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderRules(root, []*Network{&tc.net})
			want := strings.Join(slices.Concat(
				[]string{"*filter", ":" + c.fwd + " - [0:0]", ":" + c.in + " - [0:0]"}, tc.filter,
				[]string{"COMMIT", "*nat", ":" + c.nat + " - [0:0]"}, tc.natRules, []string{"COMMIT", ""}), "\n")
			if got != want {
				t.Fatalf("rules:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Every bridge's isolation comes before any network's accepts, so no
// accept of one network lets a packet through to another.
func TestRenderRulesIsolationFirst(t *testing.T) {
	nets := []*Network{
		{Bridge: "a3sb2", Subnet: netip.MustParsePrefix("10.89.1.0/24"), HostAccess: true},
		{Bridge: "a3sb1", Subnet: netip.MustParsePrefix("10.89.2.0/24")},
	}
	lines := strings.Split(renderRules("/r", nets), "\n")
	lastDrop, firstAccept := 0, len(lines)
	for i, l := range lines {
		if strings.Contains(l, "-o a3sb+ -j DROP") || strings.Contains(l, "-i a3sb+ -o") {
			lastDrop = i
		}
		if strings.HasSuffix(l, " -j ACCEPT") && !strings.Contains(l, "-o a3sb") && i < firstAccept {
			firstAccept = i
		}
	}
	if lastDrop > firstAccept {
		t.Fatalf("an accept (line %d) comes before isolation (line %d):\n%s", firstAccept, lastDrop, strings.Join(lines, "\n"))
	}
	c := chainsOf("/r")
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
