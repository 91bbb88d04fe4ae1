package main

// End-to-end tests of networks: boxes reaching each other by name and
// alias on a network and not across networks, published TCP and UDP
// ports, host access and internal networks, connect and disconnect of a
// running box, an address kept across restart, the network verbs'
// output, stacks' networks, and bad input that leaves nothing behind on
// the host.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	"github.com/a3s-box/a3s-box/runtime/network"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// netImage serves the busybox image with netbench (a UDP echo server
// and more) in it, exposing 80/tcp, from a registry of the test's own.
func netImage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "netbench")
	build := exec.Command("go", "build", "-o", bin, "../netbench")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build netbench: %v: %s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	base, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Extend(base, v1.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}}},
		imagetest.File("usr/local/bin/netbench", 0o755, string(body)))
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := imagetest.Serve(map[string]v1.Image{"test/net:1": img})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr + "/test/net:1"
}

// hostState is what a3s-box has made on the host: bridges, taps and
// firewall rules.
func hostState(t *testing.T) string {
	t.Helper()
	var lines []string
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, "a3sb") || strings.HasPrefix(i.Name, "a3st") {
			lines = append(lines, "link "+i.Name)
		}
	}
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables-save", "-t", table).Output()
		if err != nil {
			t.Fatalf("iptables-save: %v", err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "A3S-") {
				lines = append(lines, table+" "+l)
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// hostAddr is an IPv4 address of the host on an interface that is not
// a3s-box's: what boxes reach the host by, from outside.
func hostAddr(t *testing.T) string {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "a3s") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	t.Skip("the host has no IPv4 address outside loopback")
	return ""
}

// httpGet fetches url from the host, retrying while the box starts.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			return string(b)
		}
		last = err
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// udpEcho sends a datagram to addr and returns the answer, retrying while
// the box starts.
func udpEcho(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no UDP answer from %s", addr)
	return ""
}

// normalize replaces what differs between runs in the network verbs'
// output (IDs, times, addresses, device names, free ports) with
// placeholders of the same width, so tables stay aligned.
func normalize(s string) string {
	for _, r := range []struct{ re, to string }{
		{`[0-9a-f]{64}`, strings.Repeat("x", 64)},
		{`\b[0-9a-f]{12}\b`, strings.Repeat("x", 12)},
		{`\d{4}-\d\d-\d\dT[0-9:.]+Z`, "<time>"},
		{`\b10\.\d+\.\d+\.`, "10.N.N."},
		{`a3sb[0-9a-f]{11}`, "a3sbNNNNNNNNNNN"},
		{`02(:[0-9a-f]{2}){5}`, "02:NN:NN:NN:NN:NN"},
		{`"HostPort":"\d+"`, `"HostPort":"<port>"`},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.to)
	}
	return s
}

func TestNetworks(t *testing.T) {
	needE2E(t)
	img := netImage(t)
	root := t.TempDir()
	nt := func(args ...string) result { t.Helper(); return a3sIn(t, root, args...) }
	must := func(args ...string) string { t.Helper(); return ok(t, root, args...) }
	t.Cleanup(func() {
		nt("rm", "-f", "web", "cli", "other", "jail")
		nt("network", "rm", "front", "back", "jail")
	})
	before := hostState(t)

	must("network", "create", "-l", "tier=web", "front")
	must("network", "create", "-o", network.HostAccessOption+"=true", "back")
	must("network", "create", "--internal", "jail")
	httpPort := freePort(t)
	web := fmt.Sprintf(`mkdir -p /www && echo hello-%s > /www/index.html && httpd -p 80 -h /www && exec netbench udp-echo 7`, "web")
	serve := func(name string) string {
		return fmt.Sprintf(`mkdir -p /www && echo hello-%s > /www/index.html && exec httpd -f -p 80 -h /www`, name)
	}
	must("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "--hostname", "webhost",
		"--add-host", "db.local:10.1.1.1", "--add-host", "gw:host-gateway", "--dns", "192.0.2.53",
		"-p", fmt.Sprintf("127.0.0.1:%d:80", httpPort), "-p", "127.0.0.1::7/udp", img, "sh", "-c", web)
	must("run", "-d", "--name", "cli", "--network", "front", img, "sleep", "3600")
	must("run", "-d", "--name", "other", "--network", "back", "-P", img, "sh", "-c", serve("other"))
	must("run", "-d", "--privileged", "--name", "jail", "--network", "jail", img, "sh", "-c", serve("jail"))

	inBox := func(box, script string) string { t.Helper(); return shIn(t, root, box, script) }
	reaches := func(box, url string) string { t.Helper(); return wgetIn(t, root, box, url) }

	t.Run("same network by name and alias", func(t *testing.T) {
		for _, name := range []string{"web", "www"} {
			if got := reaches("cli", "http://"+name+"/"); got != "hello-web\nrc=0\n" {
				t.Errorf("cli GET http://%s/: %q", name, got)
			}
		}
	})
	webIP := fieldIn(t, root, "web", "{{.NetworkSettings.Networks.front.IPAddress}}")
	t.Run("hosts and resolv.conf", func(t *testing.T) {
		gw := fieldIn(t, root, "web", "{{.NetworkSettings.Gateway}}")
		got := inBox("web", "grep -v -e localhost -e ip6 /etc/hosts; cat /etc/resolv.conf")
		want := fmt.Sprintf("%s\twebhost\n10.1.1.1\tdb.local\n%s\tgw\nnameserver 127.0.0.11\n", webIP, gw)
		if !strings.HasPrefix(got, want) {
			t.Errorf("/etc/hosts and /etc/resolv.conf:\n%s\nwant them to start with:\n%s", got, want)
		}
		if got := fieldIn(t, root, "web", "{{.HostConfig.Dns}} {{.HostConfig.ExtraHosts}}"); got != "[192.0.2.53] [db.local:10.1.1.1 gw:host-gateway]" {
			t.Errorf("HostConfig: %s", got)
		}
	})
	t.Run("other network", func(t *testing.T) {
		if got := reaches("other", "http://"+webIP+"/"); strings.Contains(got, "hello-web") || strings.Contains(got, "rc=0") {
			t.Errorf("a box on another network reached web at %s: %q", webIP, got)
		}
		if got := inBox("other", "nslookup web; echo rc=$?"); !strings.Contains(got, "NXDOMAIN") {
			t.Errorf("web resolves on another network: %q", got)
		}
	})
	t.Run("published ports", func(t *testing.T) {
		if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", httpPort)); got != "hello-web\n" {
			t.Errorf("published TCP port: %q", got)
		}
		udp := strings.TrimSpace(must("port", "web", "7/udp"))
		if !strings.HasPrefix(udp, "127.0.0.1:") {
			t.Fatalf("port web 7/udp = %q", udp)
		}
		if got := udpEcho(t, udp, "ping-udp"); got != "ping-udp" {
			t.Errorf("published UDP port answered %q", got)
		}
		ports := must("port", "web")
		if want := fmt.Sprintf("7/udp -> %s\n80/tcp -> 127.0.0.1:%d\n", udp, httpPort); ports != want {
			t.Errorf("port web:\n%s\nwant:\n%s", ports, want)
		}
		// -P publishes the image's EXPOSE on a free port of every address.
		all := strings.TrimSpace(must("port", "other", "80"))
		if !strings.HasPrefix(all, "0.0.0.0:") {
			t.Fatalf("port other 80 = %q", all)
		}
		if got := httpGet(t, "http://127.0.0.1:"+strings.TrimPrefix(all, "0.0.0.0:")+"/"); got != "hello-other\n" {
			t.Errorf("-P port: %q", got)
		}
		ps := must("ps", "--filter", "network=front", "--format", "{{.Names}} {{.Networks}} {{.Ports}}")
		want := fmt.Sprintf("cli front \nweb front 127.0.0.1:%d->80/tcp, %s->7/udp\n", httpPort, udp)
		if ps != want {
			t.Errorf("ps --filter network=front:\n%s\nwant:\n%s", ps, want)
		}
		if r := nt("port", "web", "81"); r.code != 1 || !strings.Contains(r.stderr, "no public port '81/tcp'") {
			t.Errorf("port web 81: %d %q", r.code, r.stderr)
		}
	})
	t.Run("host access and internal networks", func(t *testing.T) {
		ln, err := net.Listen("tcp", hostAddr(t)+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello-host\n") })}
		go srv.Serve(ln)
		defer srv.Close()
		url := "http://" + ln.Addr().String() + "/"
		if got := reaches("other", url); got != "hello-host\nrc=0\n" {
			t.Errorf("a box on a network with host access: %q", got)
		}
		if got := reaches("cli", url); strings.Contains(got, "hello-host") || strings.Contains(got, "rc=0") {
			t.Errorf("a box on a network without host access reached the host: %q", got)
		}
		if got := reaches("jail", url); strings.Contains(got, "hello-host") || strings.Contains(got, "rc=0") {
			t.Errorf("a box on an internal network reached the host: %q", got)
		}
		// Not even with a default route of its own making.
		gw := fieldIn(t, root, "jail", "{{.NetworkSettings.Networks.jail.Gateway}}")
		if got := inBox("jail", "ip route add default via "+gw+"; timeout 4 wget -q -O- "+url+"; echo rc=$?"); strings.Contains(got, "hello-host") {
			t.Errorf("an internal box with a route of its own reached the host: %q", got)
		}
	})
	t.Run("connect and disconnect a running box", func(t *testing.T) {
		if got := reaches("cli", "http://jail/"); strings.Contains(got, "hello-jail") {
			t.Fatalf("jail reachable before connect: %q", got)
		}
		must("network", "connect", "--alias", "jailbird", "front", "jail")
		for _, name := range []string{"jail", "jailbird"} {
			if got := reaches("cli", "http://"+name+"/"); got != "hello-jail\nrc=0\n" {
				t.Errorf("after connect, cli GET http://%s/: %q", name, got)
			}
		}
		ip := fieldIn(t, root, "jail", "{{.NetworkSettings.Networks.front.IPAddress}}")
		must("network", "disconnect", "front", "jail")
		if got := reaches("cli", "http://jail/"); strings.Contains(got, "hello-jail") {
			t.Errorf("after disconnect, jail by name: %q", got)
		}
		if got := reaches("cli", "http://"+ip+"/"); strings.Contains(got, "hello-jail") {
			t.Errorf("after disconnect, jail at %s: %q", ip, got)
		}
		if got := fieldIn(t, root, "jail", "{{len .NetworkSettings.Networks}}"); got != "1" {
			t.Errorf("jail has %s networks after disconnect", got)
		}
	})
	t.Run("address kept across restart", func(t *testing.T) {
		must("restart", "web")
		if got := fieldIn(t, root, "web", "{{.NetworkSettings.Networks.front.IPAddress}}"); got != webIP {
			t.Errorf("web's address went from %s to %s", webIP, got)
		}
		// restart returns once the main process runs; httpd may not
		// listen yet.
		var got string
		waitFor(t, 30*time.Second, "web serving again after restart", func() bool {
			got = reaches("cli", "http://www/")
			return got == "hello-web\nrc=0\n"
		})
		if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", httpPort)); got != "hello-web\n" {
			t.Errorf("published port after restart: %q", got)
		}
	})
	t.Run("verbs output", func(t *testing.T) {
		golden(t, "network-ls.golden", []byte(normalize(must("network", "ls"))))
		golden(t, "network-ls-template.golden", []byte(must("network", "ls", "--filter", "type=custom", "--format", "{{.Name}} {{.Driver}} {{.Internal}} {{.Label \"tier\"}}")))
		// Networks with one box each: Containers is keyed by box ID, in
		// an order that changes from run to run.
		golden(t, "network-inspect.golden", []byte(normalize(must("network", "inspect", "back", "jail", "none"))))
		if got := must("network", "ls", "-q", "--filter", "name=fro"); len(strings.TrimSpace(got)) != 12 {
			t.Errorf("ls -q --filter name=fro: %q", got)
		}
		var box []map[string]any
		json.Unmarshal([]byte(must("inspect", "web")), &box)
		ns, _ := json.Marshal(box[0]["NetworkSettings"])
		hc, _ := json.Marshal(box[0]["HostConfig"].(map[string]any)["PortBindings"])
		golden(t, "network-box-inspect.golden", []byte(normalize(string(ns)+"\n"+string(hc)+"\n")))
	})
	t.Run("bad input leaves nothing", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		frontSubnet := fieldIn(t, root, "web", "{{.NetworkSettings.Networks.front.IPAddress}}")
		frontSubnet = frontSubnet[:strings.LastIndex(frontSubnet, ".")] + ".0/24"
		state, boxes := hostState(t), must("ps", "-a", "-q", "--no-trunc")
		nets := must("network", "inspect", "front", "back", "jail")
		for _, tt := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"run", "-d", "-p", busy.Addr().String() + ":80", img, "true"}, 125, "address already in use"},
			{[]string{"network", "create", "--subnet", frontSubnet, "x"}, 1, "overlapping subnet"},
			{[]string{"network", "create", "--subnet", "10.1.2.3/24", "x"}, 1, "it should be 10.1.2.0/24"},
			{[]string{"network", "create", "--subnet", "10.250.0.0/24", "--gateway", "10.251.0.1", "x"}, 1, "not in subnet"},
			{[]string{"network", "rm", "front"}, 1, "active endpoints (cli, web)"},
			{[]string{"network", "connect", "nosuch", "cli"}, 1, "network nosuch not found"},
			{[]string{"network", "connect", "front", "cli"}, 1, "already connected"},
			{[]string{"run", "-d", "-p", "80:http", img, "true"}, 125, "invalid port"},
			{[]string{"run", "-d", "--network", "front", "--network", "back", "--network", "jail", "--network", "bridge", img, "true"}, 125, "at most 3 networks"},
			{[]string{"run", "-d", "--network", "host", img, "true"}, 125, "--network host is not supported"},
			{[]string{"run", "-d", "--network", "nosuch", img, "true"}, 125, "network nosuch not found"},
			{[]string{"create", "--network", "front", "--ip", "10.250.0.5", img, "true"}, 125, "not in subnet"},
			{[]string{"create", "--network", "front", "--ip", webIP, img, "true"}, 125, "already in use"},
			{[]string{"run", "-d", "--network", "none", "-p", "8080:80", img, "true"}, 125, "published ports need a network"},
		} {
			failsWith(t, nt(tt.args...), tt.code, tt.want)
		}
		if got := hostState(t); got != state {
			t.Errorf("bad input changed the host:\n%s\nwas:\n%s", got, state)
		}
		if got := must("ps", "-a", "-q", "--no-trunc"); got != boxes {
			t.Errorf("bad input left boxes:\n%s\nwas:\n%s", got, boxes)
		}
		if got := must("network", "inspect", "front", "back", "jail"); got != nets {
			t.Errorf("bad input changed networks:\n%s\nwas:\n%s", got, nets)
		}
	})

	must("rm", "-f", "web", "cli", "other", "jail")
	must("network", "rm", "front", "back", "jail")

	// Each change of a network is an event, in Docker's form.
	jailID := "" // removed by now: find it in its events
	events := must("events", "--since", "1h", "--until", "0s", "--filter", "type=network", "--filter", "network=front",
		"--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{index .Actor.Attributes \"container\"}}")
	var actions []string
	for _, l := range strings.Split(strings.TrimSpace(events), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[1] != "front" || f[2] != "bridge" {
			t.Fatalf("network event %q", l)
		}
		actions = append(actions, f[0])
		if f[0] == "disconnect" && jailID == "" && len(f) == 4 {
			jailID = f[3]
		}
	}
	// create; web and cli connect; jail connects and disconnects; web,
	// cli leave with rm; destroy.
	if want := []string{"create", "connect", "connect", "connect", "disconnect", "disconnect", "disconnect", "destroy"}; !slices.Equal(actions, want) {
		t.Errorf("front's events %q, want %q:\n%s", actions, want, events)
	}
	if len(jailID) != 64 {
		t.Errorf("a disconnect event names no box: %q", jailID)
	}
	if got := hostState(t); got != before {
		t.Errorf("left on the host:\n%s\nbefore the test:\n%s", got, before)
	}
}

// TestNetworkStack applies a stack with ports and networks: its boxes
// reach each other by their names in the stack, a fixed address holds,
// delete removes the stack's networks and keeps an external one.
func TestNetworkStack(t *testing.T) {
	needE2E(t)
	img := netImage(t)
	root := t.TempDir()
	nt := func(args ...string) result { t.Helper(); return a3sIn(t, root, args...) }
	must := func(args ...string) string { t.Helper(); return ok(t, root, args...) }
	httpPort := freePort(t)
	subnet := freeSubnet(t)
	fixed := strings.TrimSuffix(subnet, "0/24") + "10"
	must("network", "create", "shared")
	t.Cleanup(func() {
		nt("delete", "netstack")
		nt("network", "rm", "shared")
	})
	file := filepath.Join(t.TempDir(), "stack.yaml")
	writeStack(t, file, fmt.Sprintf(`name: netstack
boxes:
  web:
    image: %s
    command: [sh, -c, "mkdir -p /www && echo hello-stack > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:%d:80"]
    networks:
      default:
      back:
        aliases: [api]
        ipv4_address: %s
  cli:
    image: %s
    command: [sleep, "3600"]
    networks: [back, shared]
networks:
  back:
    ipam:
      config:
        - subnet: %s
  shared:
    external: true
`, img, httpPort, fixed, img, subnet))
	r := nt("apply", "-f", file)
	if r.code != 0 || strings.Contains(r.stderr, "not supported") {
		t.Fatalf("apply: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ls := must("network", "ls", "--filter", "label=a3s-box.stack=netstack", "--format", "{{.Name}}")
	if ls != "netstack_back\nnetstack_default\n" {
		t.Errorf("the stack's networks: %q", ls)
	}
	if got := fieldIn(t, root, "netstack-web-1", "{{.NetworkSettings.Networks.netstack_back.IPAddress}}"); got != fixed {
		t.Errorf("ipv4_address: %s, want %s", got, fixed)
	}
	for _, name := range []string{"web", "api", "netstack-web-1"} {
		r := nt("exec", "netstack-cli-1", "sh", "-c", "timeout 4 wget -q -O- http://"+name+"/; echo rc=$?")
		if r.stdout != "hello-stack\nrc=0\n" {
			t.Errorf("cli GET http://%s/: %q %q", name, r.stdout, r.stderr)
		}
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", httpPort)); got != "hello-stack\n" {
		t.Errorf("the stack's published port: %q", got)
	}
	must("delete", "netstack")
	if ls := must("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}"); ls != "shared\n" {
		t.Errorf("after delete: %q, want only the external network", ls)
	}
}

// freeSubnet is a /24 no host interface or route uses.
func freeSubnet(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	for i := 200; i < 250; i++ {
		s := fmt.Sprintf("10.%d.7.0/24", i)
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", i)) {
			return s
		}
	}
	t.Skip("no free /24 for the test")
	return ""
}

// cleanHost removes what the e2e tests' roots left on the host once the
// roots are gone: any network verb of any root clears bridges and rules
// whose network no longer exists.
func cleanHost(dir string) {
	if dir == "" || os.Geteuid() != 0 {
		return
	}
	root, err := os.MkdirTemp("", "a3s-e2e-clean-")
	if err != nil {
		return
	}
	defer os.RemoveAll(root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = command(ctx, root, "network", "prune", "-f").Run()
}

// shIn runs a shell script in a box of root and returns what it wrote,
// stdout then stderr.
func shIn(t *testing.T, root, box, script string) string {
	t.Helper()
	r := a3sIn(t, root, "exec", box, "sh", "-c", script)
	return r.stdout + r.stderr
}

// wgetIn fetches url from inside a box, within 5 s (under timeout:
// busybox-static's wget -T crashes), and appends the exit code as rc=N.
func wgetIn(t *testing.T, root, box, url string) string {
	t.Helper()
	return shIn(t, root, box, "timeout 5 wget -q -O- "+url+"; echo rc=$?")
}

// fieldIn runs inspect with a template on a box of root.
func fieldIn(t *testing.T, root, box, tmpl string) string {
	t.Helper()
	return strings.TrimSpace(ok(t, root, "inspect", "-f", tmpl, box))
}
