package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/network"
)

// A box whose root turns hostile on its network: it takes another box's
// address and announces it by gratuitous ARP, sends from addresses that
// are not its own, and tries the host's services (on the gateway, on the
// host's other addresses, on a link-local address). Traffic to the victim
// still reaches the victim, spoofed packets never reach the host, and the
// host is closed, except on a network created with the host-access
// option, where the same listeners answer (so the test can fail).
func TestHostileNetwork(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	nt := func(args ...string) result { t.Helper(); return a3sIn(t, root, args...) }
	must := func(args ...string) string { t.Helper(); return ok(t, root, args...) }
	t.Cleanup(func() {
		nt("rm", "-f", "victim", "attacker", "client", "open")
		nt("network", "rm", "hn", "hnopen")
	})
	must("network", "create", "hn")
	must("network", "create", "-o", network.HostAccessOption+"=true", "hnopen")
	if got := strings.TrimSpace(must("network", "inspect", "-f", `{{index .Options "`+network.HostAccessOption+`"}}`, "hnopen")); got != "true" {
		t.Fatalf("hnopen's options show host access %q", got)
	}
	serve := func(name string) string {
		return fmt.Sprintf(`mkdir -p /www && echo hello-%s > /www/index.html && exec httpd -f -p 80 -h /www`, name)
	}
	pubPort := freePort(t)
	// --privileged: each box is a root with every capability of its
	// guest kernel, as any box may ask to be.
	must("run", "-d", "--privileged", "--name", "victim", "--network", "hn", "-p", fmt.Sprintf("127.0.0.1:%d:80", pubPort), e2e.image, "sh", "-c", serve("victim"))
	must("run", "-d", "--privileged", "--name", "attacker", "--network", "hn", e2e.image, "sh", "-c", serve("attacker"))
	must("run", "-d", "--privileged", "--name", "client", "--network", "hn", e2e.image, "sleep", "3600")
	must("run", "-d", "--privileged", "--name", "open", "--network", "hnopen", e2e.image, "sleep", "3600")

	inBox := func(box, script string) string { t.Helper(); return shIn(t, root, box, script) }
	get := func(box, url string) string { t.Helper(); return wgetIn(t, root, box, url) }
	victimIP := fieldIn(t, root, "victim", "{{.NetworkSettings.Networks.hn.IPAddress}}")
	victimMAC := fieldIn(t, root, "victim", "{{.NetworkSettings.Networks.hn.MacAddress}}")
	attackerMAC := fieldIn(t, root, "attacker", "{{.NetworkSettings.Networks.hn.MacAddress}}")
	gw := fieldIn(t, root, "client", "{{.NetworkSettings.Networks.hn.Gateway}}")
	openGW := fieldIn(t, root, "open", "{{.NetworkSettings.Networks.hnopen.Gateway}}")
	openIP := fieldIn(t, root, "open", "{{.NetworkSettings.Networks.hnopen.IPAddress}}")
	bridge := strings.TrimSpace(must("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, "hn"))

	var pubURL = fmt.Sprintf("http://127.0.0.1:%d/", pubPort)
	reachesVictim := func(t *testing.T, when string) {
		t.Helper()
		waitFor(t, 30*time.Second, "the victim serving", func() bool { return get("client", "http://"+victimIP+"/") == "hello-victim\nrc=0\n" })
		for i := 0; i < 3; i++ {
			if got := get("client", "http://"+victimIP+"/"); got != "hello-victim\nrc=0\n" {
				t.Errorf("%s: client GET http://%s/: %q", when, victimIP, got)
			}
			if got := httpGet(t, pubURL); got != "hello-victim\n" {
				t.Errorf("%s: published port answered %q", when, got)
			}
		}
	}
	reachesVictim(t, "before the attack")

	// The host's listeners: on each network's gateway, on the host's
	// address outside a3s-box, and on a link-local address of a dummy
	// interface made for the test. Each records who connected.
	ll := "169.254.77.1"
	llDev := fmt.Sprintf("a3sxll%d", pubPort%10000)
	if err := exec.Command("ip", "link", "add", llDev, "type", "dummy").Run(); err == nil {
		t.Cleanup(func() { exec.Command("ip", "link", "del", llDev).Run() })
		if out, err := exec.Command("ip", "link", "set", llDev, "up").CombinedOutput(); err != nil {
			t.Fatalf("dummy interface up: %v: %s", err, out)
		}
	} else {
		llDev = bridge // a kernel without the dummy driver: the network's own bridge
	}
	if out, err := exec.Command("ip", "addr", "add", ll+"/32", "dev", llDev).CombinedOutput(); err != nil {
		t.Fatalf("link-local address on %s: %v: %s", llDev, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "addr", "del", ll+"/32", "dev", llDev).Run() })
	var mu sync.Mutex
	seen := map[string]bool{} // remote addresses that connected
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			mu.Lock()
			seen[ap.Addr().String()] = true
			mu.Unlock()
		}
		io.WriteString(w, "hello-host\n")
	})}
	t.Cleanup(func() { srv.Close() })
	port := freePort(t)
	urls := map[string]string{}
	for _, a := range []struct{ name, addr string }{{"gateway", gw}, {"open gateway", openGW}, {"host address", hostAddr(t)}, {"link-local", ll}} {
		ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", a.addr, port))
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		urls[a.name] = "http://" + ln.Addr().String() + "/"
	}
	wasSeen := func(addr string) bool { mu.Lock(); defer mu.Unlock(); return seen[addr] }

	t.Run("host closed by default", func(t *testing.T) {
		for _, name := range []string{"gateway", "host address", "link-local"} {
			if got := get("client", urls[name]); strings.Contains(got, "hello-host") || strings.Contains(got, "rc=0") {
				t.Errorf("a box reached the host's %s listener %s: %q", name, urls[name], got)
			}
		}
	})
	t.Run("host open with the option", func(t *testing.T) {
		for _, name := range []string{"open gateway", "host address", "link-local"} {
			if got := get("open", urls[name]); got != "hello-host\nrc=0\n" {
				t.Errorf("a box of a network with host access, GET %s (%s): %q", urls[name], name, got)
			}
		}
		if !wasSeen(openIP) {
			t.Errorf("the host saw no connection from %s", openIP)
		}
	})

	t.Run("spoofed sources", func(t *testing.T) {
		// One unused address of the box's own subnet and one from
		// outside it, which the host routes to the network's bridge for
		// the test, so that its answers would go back to the box too
		// (and its reverse-path check, if on, would pass both). The box
		// owns each, so it would answer the host's ARP for it, and
		// routes to the gateway from it.
		p := netip.MustParsePrefix(openGW + "/24")
		inSubnet := p.Addr().As4()
		inSubnet[3] = 250
		openBridge := strings.TrimSpace(must("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, "hnopen"))
		if out, err := exec.Command("ip", "route", "add", "198.51.100.77/32", "dev", openBridge).CombinedOutput(); err != nil {
			t.Fatalf("route to the spoofed address: %v: %s", err, out)
		}
		defer exec.Command("ip", "route", "del", "198.51.100.77/32", "dev", openBridge).Run()
		for _, spoof := range []string{netip.AddrFrom4(inSubnet).String(), "198.51.100.77"} {
			got := inBox("open", fmt.Sprintf("ip addr add %s/32 dev eth0 && ip route replace %s/32 dev eth0 src %s && timeout 5 wget -q -O- %s; echo rc=$?; ip route del %s/32; ip addr del %s/32 dev eth0",
				spoof, openGW, spoof, urls["open gateway"], openGW, spoof))
			if strings.Contains(got, "hello-host") || wasSeen(spoof) {
				t.Errorf("a box reached the host from the spoofed address %s: %q", spoof, got)
			}
		}
		if got := get("open", urls["open gateway"]); got != "hello-host\nrc=0\n" {
			t.Errorf("after the spoofing, the box's own address: %q", got)
		}
	})

	t.Run("address takeover", func(t *testing.T) {
		got := inBox("attacker", fmt.Sprintf("ip addr flush dev eth0 && ip addr add %s/24 dev eth0 && ip addr show dev eth0 && "+
			"arping -U -c 3 -I eth0 %s; arping -A -c 3 -I eth0 %s; echo done", victimIP, victimIP, victimIP))
		if !strings.Contains(got, victimIP+"/24") || !strings.Contains(got, "done") {
			t.Fatalf("the attacker did not take the victim's address: %q", got)
		}
		// The client asks who has the victim's address: only the victim
		// answers.
		arp := strings.ToLower(inBox("client", "arping -c 3 -I eth0 "+victimIP))
		if !strings.Contains(arp, strings.ToLower(victimMAC)) || strings.Contains(arp, strings.ToLower(attackerMAC)) {
			t.Errorf("ARP for %s (victim %s, attacker %s):\n%s", victimIP, victimMAC, attackerMAC, arp)
		}
		if neigh := strings.ToLower(inBox("client", "cat /proc/net/arp")); strings.Contains(neigh, strings.ToLower(attackerMAC)) {
			t.Errorf("the client's ARP cache has the attacker's MAC:\n%s", neigh)
		}
		if out, _ := exec.Command("ip", "neigh", "show", victimIP, "dev", bridge).Output(); strings.Contains(strings.ToLower(string(out)), strings.ToLower(attackerMAC)) {
			t.Errorf("the host's neighbour entry for %s is the attacker's: %s", victimIP, out)
		}
		reachesVictim(t, "after the attack")
	})
}
