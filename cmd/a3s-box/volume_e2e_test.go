package main

// End-to-end tests of volumes, bind mounts and tmpfs mounts: the volume
// verbs (no VM), bad input (no VM), boxes sharing volumes (three boots)
// and a stack with a named volume (one boot).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

// TestVolumeVerbs drives create, ls, inspect, rm and prune on a root of
// its own, checking their output against golden files.
func TestVolumeVerbs(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	device := t.TempDir()
	if err := os.WriteFile(filepath.Join(device, "keep"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, root, "volume", "create", "--label", "tier=db", "--label", "team=a", "data"); out != "data\n" {
		t.Fatalf("volume create printed %q", out)
	}
	ok(t, root, "volume", "create", "--name", "bound", "-d", "local", "--opt", "type=none", "--opt", "o=bind", "--opt", "device="+device)
	// Creating an existing volume returns it, as Docker does.
	if out := ok(t, root, "volume", "create", "data"); out != "data\n" {
		t.Fatalf("second create printed %q", out)
	}
	if err := os.WriteFile(filepath.Join(root, "volumes", "data", "_data", "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}

	norm := func(s string) string {
		s = strings.ReplaceAll(s, root, "<root>")
		s = strings.ReplaceAll(s, device, "<device>")
		return regexp.MustCompile(`"CreatedAt": "[^"]+"`).ReplaceAllString(s, `"CreatedAt": "<time>"`)
	}
	var ls bytes.Buffer
	for _, args := range [][]string{
		{"volume", "ls"},
		{"volume", "ls", "-q"},
		{"volume", "ls", "--filter", "label=tier=db"},
		{"volume", "ls", "--filter", "name=ou", "--filter", "name=at"},
		{"volume", "ls", "--filter", "dangling=true", "--filter", "label=team"},
		{"volume", "ls", "--format", `{{.Name}} {{.Driver}} {{.Scope}} {{.Label "tier"}} {{.Links}}`},
		{"volume", "ls", "--format", "table {{.Name}}\t{{.Labels}}\t{{.Mountpoint}}"},
		{"volume", "list", "--format", "json", "--filter", "name=data"},
	} {
		fmt.Fprintf(&ls, "$ a3s-box %s\n%s", strings.Join(args, " "), norm(ok(t, root, args...)))
	}
	golden(t, "volume-ls.golden", ls.Bytes())
	golden(t, "volume-inspect.golden", []byte(norm(ok(t, root, "volume", "inspect", "data", "bound"))))
	if got := ok(t, root, "volume", "inspect", "-f", "{{.Mountpoint}} {{.Labels.tier}}", "data"); got != filepath.Join(root, "volumes", "data", "_data")+" db\n" {
		t.Errorf("inspect -f: %q", got)
	}
	r := a3sIn(t, root, "volume", "inspect", "data", "missing")
	if r.code != 1 || !strings.Contains(r.stdout, `"Name": "data"`) || strings.TrimSpace(r.stderr) != "a3s-box: No such volume: missing" {
		t.Errorf("inspect of a missing volume: %d %q %q", r.code, r.stdout, r.stderr)
	}

	random := strings.TrimSpace(ok(t, root, "volume", "create"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(random) {
		t.Fatalf("volume create without a name printed %q", random)
	}
	if got := ok(t, root, "volume", "ls", "-q", "--filter", "name="+random[:12]); got != random+"\n" {
		t.Fatalf("volume ls of the unnamed volume: %q", got)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"volume", "create", "x"}, "invalid volume name"},
		{[]string{"volume", "create", "bad/name"}, "invalid volume name"},
		{[]string{"volume", "create", "-d", "nfs", "v2"}, `volume driver "nfs" is not supported`},
		{[]string{"volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "v2"}, "type=none,o=bind,device=DIR"},
		{[]string{"volume", "create", "--name", "a1", "a2"}, "conflicting options"},
		{[]string{"volume", "ls", "--filter", "colour=red"}, "invalid filter 'colour'"},
		{[]string{"volume", "ls", "--filter", "dangling=maybe"}, "want true or false"},
		{[]string{"volume", "rm", "missing"}, "No such volume: missing"},
		{[]string{"volume", "prune", "--filter", "until=1h"}, "invalid filter"},
		{[]string{"volume", "frobnicate"}, "not an a3s-box volume command"},
	} {
		failsWith(t, a3sIn(t, root, tt.args...), 1, tt.want)
	}
	if r := a3sIn(t, root, "volume", "rm", "-f", "missing"); r.code != 0 || r.stdout != "" {
		t.Errorf("rm -f of a missing volume: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "volumes", "v2")); err == nil {
		t.Error("a refused create left a volume")
	}

	// Prune asks first; without -a it spares named volumes.
	r = call{root: root, stdin: strings.NewReader("n\n")}.run(t, "volume", "prune")
	if r.code != 0 || r.stdout != "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] \n" {
		t.Errorf("prune prompt: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if out := ok(t, root, "volume", "prune", "-f"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune -f: %q", out)
	}
	r = call{root: root, stdin: strings.NewReader("y\n")}.run(t, "volume", "prune", "-a", "--filter", "label=tier=db")
	want := "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\ndata\n\nTotal reclaimed space: 5B\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("prune -a --filter: %d %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
	if out := ok(t, root, "volume", "rm", "bound", random); out != "bound\n"+random+"\n" {
		t.Errorf("volume rm printed %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(device, "keep")); err != nil || string(b) != "host data\n" {
		t.Errorf("removing a volume over a host directory touched it: %q %v", b, err)
	}
	if out := ok(t, root, "volume", "ls", "-q"); out != "" {
		t.Errorf("volumes left: %q", out)
	}
	events := ok(t, root, "events", "--since", "1h", "--until", "0s", "--filter", "type=volume", "--filter", "volume=data", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}")
	if events != "volume create data local\nvolume destroy data local\n" {
		t.Errorf("volume events: %q", events)
	}
}

// TestVolumeBadInput feeds bad mounts to run and create: one clear line,
// exit 125, and no box or volume left behind.
func TestVolumeBadInput(t *testing.T) {
	needE2E(t)
	host := t.TempDir()
	before := ok(t, e2e.root, "volume", "ls", "-q")
	boxesBefore := ok(t, e2e.root, "ps", "-aq")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "-v", "vbad-a:/a", "-v", "bad!name:/x", e2e.image, "true"}, "invalid volume name"},
		{[]string{"create", "-v", "x:/x", e2e.image}, "invalid volume name"},
		{[]string{"run", "--rm", "-v", "vbad-a:rel", e2e.image, "true"}, "not an absolute path"},
		{[]string{"run", "--rm", "-v", "vbad-a:/", e2e.image, "true"}, "cannot mount over /"},
		{[]string{"run", "--rm", "--mount", "type=bind,src=" + filepath.Join(host, "missing") + ",dst=/x", e2e.image, "true"}, "bind source path does not exist"},
		{[]string{"run", "--rm", "--mount", "type=bind,src=" + host + ",dst=/x,bogus=1", e2e.image, "true"}, `unknown key "bogus"`},
		{[]string{"run", "--rm", "-v", "vbad-a:/x:rw,ro", e2e.image, "true"}, "ro and rw exclude each other"},
		{[]string{"run", "--rm", "-v", "vbad-a:/x", "--tmpfs", "/x", e2e.image, "true"}, "duplicate mount point: /x"},
		{[]string{"run", "--rm", "--tmpfs", "/t:size=lots", e2e.image, "true"}, "invalid tmpfs"},
		{[]string{"run", "--rm", "--mount", "type=volume,src=vbad-a,dst=/x,volume-opt=type=nfs", e2e.image, "true"}, "type=none,o=bind,device=DIR"},
	} {
		failsWith(t, a3s(t, tt.args...), 125, tt.want)
	}
	// A box whose name is taken fails after its volumes were made: they
	// go again.
	ok(t, e2e.root, "create", "--name", "vbad-taken", e2e.image)
	t.Cleanup(func() { a3s(t, "rm", "vbad-taken") })
	failsWith(t, a3s(t, "run", "--rm", "--name", "vbad-taken", "-v", "vbad-rollback:/x", e2e.image, "true"), 125, "already in use")
	if after := ok(t, e2e.root, "volume", "ls", "-q"); after != before {
		t.Errorf("volumes before:\n%s\nafter:\n%s", before, after)
	}
	if ok(t, e2e.root, "ps", "-aq", "--filter", "name=vbad-taken") == "" {
		t.Fatal("the box holding the name is gone")
	}
	if after := ok(t, e2e.root, "ps", "-aq", "--filter", "name=^vbad-[^t]"); after != "" {
		t.Errorf("boxes left behind: %q (before: %q)", after, boxesBefore)
	}
	if _, err := os.Stat(filepath.Join(host, "missing")); err == nil {
		t.Error("--mount type=bind made its missing source")
	}
}

// volumeImage imports an image with a VOLUME holding a file owned by
// 1000:1000, for seeding.
func volumeImage(t *testing.T) string {
	t.Helper()
	var links []imagetest.Entry
	for _, app := range []string{"sleep", "touch", "stat", "mount", "grep", "echo", "ls", "id"} {
		links = append(links, imagetest.Symlink("bin/"+app, "busybox"))
	}
	tarball := rootfsTarball(t, "volumes", append(links,
		imagetest.Dir("data", 0o750).Owned(1000, 1000),
		imagetest.File("data/seed", 0o640, "seeded\n").Owned(1000, 1000),
	)...)
	ok(t, e2e.root, "import", "-c", "VOLUME /data", "-c", `CMD ["sleep", "600"]`, tarball, "vt-volimage:1")
	return "vt-volimage:1"
}

// TestVolumeBoxes runs two boxes on one volume and checks what Docker
// users rely on: writes seen across boxes, read-only mounts, bind mounts
// of host directories, tmpfs, seeding from the image, rm -v, refusals of
// volume rm, and data that outlives its boxes.
func TestVolumeBoxes(t *testing.T) {
	needE2E(t)
	img := volumeImage(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hello"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a3s(t, "volume", "rm", "-f", "vt-shared", "vt-seeded", "vt-roseed") })
	a := runDetached(t, "vt-a", "-v", "vt-shared:/shared", "-v", host+":/host", "--tmpfs", "/scratch:size=8m",
		"--mount", "type=volume,src=vt-shared,dst=/ro-shared,readonly", img)
	b := runDetached(t, "vt-b", "-v", "vt-shared:/shared", "-v", "vt-seeded:/data", "-v", "vt-shared:/ro2:ro", img)
	sh := func(box, script string) result {
		t.Helper()
		return a3s(t, "exec", box, "sh", "-c", script)
	}
	want := func(r result, stdout string) {
		t.Helper()
		if r.code != 0 || r.stdout != stdout {
			t.Errorf("code %d stdout %q stderr %q; want %q", r.code, r.stdout, r.stderr, stdout)
		}
	}

	// One volume, two running boxes: each sees the other's writes.
	want(sh("vt-a", "echo from-a > /shared/a"), "")
	want(sh("vt-b", "cat /shared/a; echo from-b > /shared/b"), "from-a\n")
	want(sh("vt-a", "cat /shared/b /ro-shared/b"), "from-b\nfrom-b\n")

	// Read-only, however it was asked for, is read-only in the guest.
	for _, c := range []struct{ box, path string }{{"vt-a", "/ro-shared/x"}, {"vt-b", "/ro2/x"}} {
		if r := sh(c.box, "touch "+c.path); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("touch %s in %s: code %d stderr %q", c.path, c.box, r.code, r.stderr)
		}
	}

	// A bind mount shows the host's files and takes the box's writes.
	want(sh("vt-a", "cat /host/hello; echo from-box > /host/written"), "from host\n")
	if got, err := os.ReadFile(filepath.Join(host, "written")); err != nil || string(got) != "from-box\n" {
		t.Errorf("the box's write on the host: %q %v", got, err)
	}

	// --tmpfs is a tmpfs of the size asked.
	want(sh("vt-a", "stat -f -c %T /scratch; grep -o ' /scratch tmpfs [^ ]*' /proc/mounts"), "tmpfs\n /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k,inode64\n")

	// The image's VOLUME seeds a new volume, anonymous (vt-a) or named
	// (vt-b), with owners and modes.
	want(sh("vt-a", "stat -c '%u:%g %a' /data /data/seed; cat /data/seed"), "1000:1000 750\n1000:1000 640\nseeded\n")
	want(sh("vt-b", "stat -c '%u:%g %a' /data /data/seed; cat /data/seed"), "1000:1000 750\n1000:1000 640\nseeded\n")

	// inspect shows the mounts in Docker's shape.
	var mounts []map[string]any
	if err := json.Unmarshal([]byte(field(t, "vt-a", "{{json .Mounts}}")), &mounts); err != nil {
		t.Fatal(err)
	}
	byDest := map[string]map[string]any{}
	for _, m := range mounts {
		byDest[m["Destination"].(string)] = m
	}
	anon, _ := byDest["/data"]["Name"].(string)
	for dest, w := range map[string]string{
		"/shared":    "volume vt-shared true local " + filepath.Join(e2e.root, "volumes", "vt-shared", "_data"),
		"/ro-shared": "volume vt-shared false local " + filepath.Join(e2e.root, "volumes", "vt-shared", "_data"),
		"/host":      "bind <nil> true <nil> " + host,
		"/scratch":   "tmpfs <nil> true <nil> ",
		"/data":      "volume " + anon + " true local " + filepath.Join(e2e.root, "volumes", anon, "_data"),
	} {
		m := byDest[dest]
		if got := fmt.Sprintf("%v %v %v %v %v", m["Type"], m["Name"], m["RW"], m["Driver"], m["Source"]); got != w {
			t.Errorf("inspect mount %s: %s, want %s", dest, got, w)
		}
	}
	if len(anon) != 64 {
		t.Fatalf("the image's VOLUME got no anonymous volume: %v", mounts)
	}

	// ps finds boxes by volume name or mount point.
	ids := func(args ...string) string {
		out := strings.Fields(ok(t, e2e.root, append([]string{"ps", "-q", "--no-trunc"}, args...)...))
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	both := []string{a, b}
	sort.Strings(both)
	if got := ids("--filter", "volume=vt-shared"); got != strings.Join(both, " ") {
		t.Errorf("ps --filter volume=vt-shared: %q, want %q", got, both)
	}
	if got := ids("--filter", "volume=/scratch"); got != a {
		t.Errorf("ps --filter volume=/scratch: %q, want %s", got, a)
	}

	// A volume in use, running or not, is not removed.
	failsWith(t, a3s(t, "volume", "rm", "vt-shared"), 1, "in use by boxes vt-a ("+a[:12]+"), vt-b ("+b[:12]+")")
	ok(t, e2e.root, "rm", "-f", "-v", "vt-a")
	if r := a3s(t, "volume", "inspect", anon); r.code != 1 {
		t.Errorf("rm -v kept the anonymous volume %s", anon)
	}

	// The share's bind mounts live in QEMU's mount namespace alone: the
	// host sees none while the box runs, and a killed supervisor (its VM
	// dies with it) leaves none; the next command repairs the box.
	noHostMounts := func(when string) {
		t.Helper()
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), e2e.root) {
			t.Errorf("%s: mounts under the root on the host:\n%s", when, mi)
		}
	}
	noHostMounts("while boxes run")
	vmm, sup := boxPIDs(t, b)
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the VM to die with its supervisor", func() bool { return syscall.Kill(vmm, 0) != nil })
	ok(t, e2e.root, "ps", "-a")
	if st := field(t, "vt-b", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 255" {
		t.Errorf("vt-b after its supervisor was killed: %s", st)
	}
	noHostMounts("after a supervisor was killed")

	// A stopped box's volumes are mounted for its file operations: a copy
	// to a path on one lands in the volume, a copy from one reads it.
	ok(t, e2e.root, "cp", filepath.Join(host, "hello"), "vt-b:/shared/copied")
	if got, err := os.ReadFile(filepath.Join(e2e.root, "volumes", "vt-shared", "_data", "copied")); err != nil || string(got) != "from host\n" {
		t.Errorf("cp into a stopped box's volume: the volume holds %q %v", got, err)
	}
	back := t.TempDir()
	ok(t, e2e.root, "cp", "vt-b:/shared/a", back)
	if got, err := os.ReadFile(filepath.Join(back, "a")); err != nil || string(got) != "from-a\n" {
		t.Errorf("cp from a stopped box's volume: %q %v", got, err)
	}
	noHostMounts("after file operations on a stopped box")
	failsWith(t, a3s(t, "volume", "rm", "vt-shared"), 1, "in use by box vt-b ("+b[:12]+")")
	ok(t, e2e.root, "rm", "-v", "vt-b")

	// Named volumes outlive their boxes; a --rm box takes its anonymous
	// volume (the image's /data) with it. An empty volume mounted
	// read-only is seeded all the same (here with the image's /etc).
	ok(t, e2e.root, "volume", "create", "vt-roseed")
	before := ok(t, e2e.root, "volume", "ls", "-q")
	want(a3s(t, "run", "--rm", "-v", "vt-shared:/shared", "-v", "vt-roseed:/etc:ro", img, "sh", "-c",
		"cat /shared/a /shared/b /data/seed /etc/what; touch /etc/x 2>/dev/null || echo read-only"), "from-a\nfrom-b\nseeded\nvolumes\nread-only\n")
	if after := ok(t, e2e.root, "volume", "ls", "-q"); after != before {
		t.Errorf("a --rm box left volumes: before %q after %q", before, after)
	}
	ok(t, e2e.root, "volume", "rm", "vt-shared", "vt-seeded", "vt-roseed")
}

// TestVolumeStack applies a stack with a named volume, a relative bind
// mount and a tmpfs, deletes it (keeping the volume), then deletes its
// volumes; a stack whose external volume is missing changes nothing.
func TestVolumeStack(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site", "index"), []byte("site\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "vstack.yaml")
	stack := fmt.Sprintf(`name: vstack
boxes:
  db:
    image: %s
    command: ["sh", "-c", "cat /site/index > /data/f && exec sleep 600"]
    volumes: [data:/data, ./site:/site:ro]
    tmpfs: /run/x
volumes:
  data:
    labels: {tier: db}
`, e2e.image)
	if err := os.WriteFile(file, []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	r := a3sIn(t, root, "apply", "-f", file, "--wait")
	if r.code != 0 || strings.Contains(r.stderr, "not supported") {
		t.Fatalf("apply: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := ok(t, root, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project=vstack", "--filter", "label=tier=db"); got != "vstack_data\n" {
		t.Fatalf("the stack's volume: %q", got)
	}
	data := filepath.Join(root, "volumes", "vstack_data", "_data", "f")
	waitFor(t, time.Minute, "the box's write to its volume", func() bool {
		b, _ := os.ReadFile(data)
		return string(b) == "site\n"
	})
	if r := a3sIn(t, root, "exec", "vstack-db-1", "sh", "-c", "stat -f -c %T /run/x; touch /site/x"); r.stdout != "tmpfs\n" || !strings.Contains(r.stderr, "Read-only") {
		t.Errorf("tmpfs and read-only bind in a stack's box: %q %q", r.stdout, r.stderr)
	}
	ok(t, root, "delete", "-f", file)
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("delete without -v removed the stack's volume: %v", err)
	}
	if out := ok(t, root, "delete", "-v", "vstack"); !strings.Contains(out, "volume vstack_data: removed") {
		t.Errorf("delete -v: %q", out)
	}
	if out := ok(t, root, "volume", "ls", "-q"); out != "" {
		t.Errorf("volumes left after delete -v: %q", out)
	}

	ext := filepath.Join(dir, "ext.yaml")
	if err := os.WriteFile(ext, []byte(fmt.Sprintf("name: vext\nboxes:\n  app:\n    image: %s\n    volumes: [shared:/s]\nvolumes:\n  shared:\n    external: true\n", e2e.image)), 0o644); err != nil {
		t.Fatal(err)
	}
	failsWith(t, a3sIn(t, root, "apply", "-f", ext), 1, ext+`:7: volumes.shared: external volume "shared" does not exist`)
	if out := ok(t, root, "stacks"); strings.Contains(out, "vext") {
		t.Errorf("a failed apply stored its stack: %q", out)
	}
}
