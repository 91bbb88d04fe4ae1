package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/runtime/network"
)

// Removing boxes and networks and pruning leaves no bridge, tap,
// firewall chain or anti-spoofing table of the root on the host, and
// `system df -v` lists what there is while boxes run and none after.
func TestHostLeftovers(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	ok(t, root, "network", "create", "lo1")
	ok(t, root, "run", "-d", "--name", "lb1", "--network", "lo1", "-p", "127.0.0.1::80", e2e.image, "sleep", "600")
	ok(t, root, "run", "-d", "--name", "lb2", e2e.image, "sleep", "600")

	df := ok(t, root, "system", "df", "-v")
	for _, want := range []string{"Host objects:", "bridge ", "tap ", "chain ", "jump ", "table "} {
		if !strings.Contains(df, want) {
			t.Fatalf("system df -v while boxes run lacks %q:\n%s", want, df)
		}
	}
	bridges := hostObjectNames(df, "bridge")
	if len(bridges) != 2 {
		t.Fatalf("system df -v lists bridges %v, want 2 (lo1 and the default)", bridges)
	}

	ok(t, root, "rm", "-f", "lb1", "lb2")
	ok(t, root, "network", "rm", "lo1")
	ok(t, root, "system", "prune", "-f")

	df = ok(t, root, "system", "df", "-v")
	if _, objs, _ := strings.Cut(df, "Host objects:"); strings.Count(strings.TrimSpace(objs), "\n") != 0 {
		t.Fatalf("system df -v after prune still lists host objects:\n%s", objs)
	}
	links, _ := exec.Command("ip", "-o", "link").Output()
	for _, b := range bridges {
		if strings.Contains(string(links), b) {
			t.Errorf("bridge %s is still on the host", b)
		}
	}
	for _, table := range []string{"filter", "nat"} {
		rules, _ := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if strings.Contains(string(rules), "a3s-box:"+root) {
			t.Errorf("%s still has a jump for the root:\n%s", table, rules)
		}
	}
	abs, _ := filepath.Abs(root)
	if tables, _ := exec.Command("nft", "list", "tables", "bridge").Output(); strings.Contains(string(tables), network.GuardTable(abs)) {
		t.Errorf("the root's table %s is still on the host:\n%s", network.GuardTable(abs), tables)
	}
	// The default network comes back on its next use.
	ok(t, root, "run", "--rm", e2e.image, "true")
	if ls := ok(t, root, "network", "ls"); !strings.Contains(ls, "bridge") {
		t.Errorf("network ls after prune: %s", ls)
	}
	ok(t, root, "system", "prune", "-f")
}

// hostObjectNames returns the names of the kind of host object a
// `system df -v` output lists.
func hostObjectNames(df, kind string) []string {
	_, objs, _ := strings.Cut(df, "Host objects:")
	var out []string
	for _, line := range strings.Split(objs, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == kind {
			out = append(out, f[1])
		}
	}
	return out
}
