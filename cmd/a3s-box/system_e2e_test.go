package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dfRows runs `system df --format json` and returns its rows by TYPE.
func dfRows(t *testing.T, root string) map[string]map[string]string {
	t.Helper()
	rows := map[string]map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(ok(t, root, "system", "df", "--format", "json")), "\n") {
		var r map[string]string
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("df json line %q: %v", line, err)
		}
		rows[r["Type"]] = r
	}
	return rows
}

// parseDockerSize reads a size df printed ("3.383MB").
func parseDockerSize(t *testing.T, s string) float64 {
	t.Helper()
	m := regexp.MustCompile(`^([0-9.]+)(B|kB|MB|GB)$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("size %q", s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return f * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
}

// du is what du(1) says the paths take, in bytes.
func du(t *testing.T, paths ...string) float64 {
	t.Helper()
	out, err := exec.Command("du", append([]string{"-s", "-c", "-B1"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("du %v: %v", paths, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	total, _ := strconv.ParseFloat(strings.Fields(lines[len(lines)-1])[0], 64)
	return total
}

func within(got, want, frac float64) bool { return math.Abs(got-want) <= frac*want }

// TestSystem checks info, version, df against du, and prune (answered n,
// then plain, then -a) on a root with a running box, a stopped one, an
// unused image and a dangling one (2 boots).
func TestSystem(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	ok(t, root, "network", "create", "--subnet", freeSubnet(t), "usednet")
	ok(t, root, "network", "create", "unusednet")
	ok(t, root, "volume", "create", "unusedvol")
	keep := strings.TrimSpace(ok(t, root, "run", "-d", "--name", "keep", "--network", "usednet", "-v", "usedvol:/data", e2e.image, "sleep", "1000"))
	t.Cleanup(func() {
		a3sIn(t, root, "rm", "-f", "keep")
		a3sIn(t, root, "network", "rm", "usednet", "unusednet")
	})
	if r := a3sIn(t, root, "run", "--name", "done", e2e.image, "sh", "-c", "head -c 3000000 /dev/urandom > /big"); r.code != 0 {
		t.Fatalf("run done: %d %q", r.code, r.stderr)
	}
	done := strings.TrimSpace(ok(t, root, "inspect", "-f", "{{.Id}}", "done"))
	ok(t, root, "import", rootfsTarball(t, "unused"), "unused:1")
	dangling := strings.TrimSpace(ok(t, root, "import", rootfsTarball(t, "dangling")))

	t.Run("info and version", func(t *testing.T) {
		got := ok(t, root, "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}} {{.Accelerator}} {{.Root}} {{.DockerRootDir}}")
		if want := "2 1 0 1 3 tcg " + root + " " + root + "\n"; got != want {
			t.Errorf("info: %q, want %q", got, want)
		}
		release, _ := os.ReadFile(filepath.Join(e2e.dir, "kernel.release"))
		text := ok(t, root, "info")
		for _, want := range []string{" Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 3\n",
			" Accelerator: tcg\n  Reason: set by A3S_BOX_ACCEL\n", " VMM: qemu-microvm ", " Guest Kernel: " + strings.TrimSpace(string(release)),
			" Root Dir: " + root + "\n"} {
			if !strings.Contains(text, want) {
				t.Errorf("info lacks %q:\n%s", want, text)
			}
		}
		if !regexp.MustCompile(` VMM: qemu-microvm \d+\.\d+`).MatchString(text) {
			t.Errorf("info has no QEMU version:\n%s", text)
		}
		v := ok(t, root, "version", "--format", "{{.Client.Version}} {{.Client.Protocol}} {{.GuestAgent.Version}} {{.GuestAgent.Protocol}} {{.GuestAgent.Kernel}}")
		f := strings.Fields(v)
		if len(f) != 5 || f[2] == "" || f[1] != f[3] || f[4] != strings.TrimSpace(string(release)) {
			t.Errorf("version: %q: want the guest agent's version, its protocol the client's, the guest kernel", v)
		}
		if got := ok(t, root, "system", "info", "--format", "{{.Root}}"); got != root+"\n" {
			t.Errorf("system info: %q", got)
		}
		if got := ok(t, root, "system", "events", "--since", "1h", "--until", "0s", "--filter", "container=keep", "--format", "{{.Action}}"); !strings.Contains(got, "start") {
			t.Errorf("system events: %q", got)
		}
	})

	t.Run("df agrees with du", func(t *testing.T) {
		rows := dfRows(t, root)
		images, boxes := rows["Images"], rows["Containers"]
		if images["TotalCount"] != "3" || images["Active"] != "1" || boxes["TotalCount"] != "2" || boxes["Active"] != "1" ||
			rows["Build Cache"]["Size"] != "0B" || rows["Local Volumes"] == nil {
			t.Fatalf("df rows: %v", rows)
		}
		imagesDu := du(t, filepath.Join(root, "images", "blobs"), filepath.Join(root, "images", "rootfs"))
		disks, _ := filepath.Glob(filepath.Join(root, "boxes", "*", "rw.ext4"))
		boxesDu := du(t, disks...)
		t.Logf("images: df %s, du %.0f; boxes: df %s (reclaimable %s), du %.0f", images["Size"], imagesDu, boxes["Size"], boxes["Reclaimable"], boxesDu)
		if got := parseDockerSize(t, images["Size"]); !within(got, imagesDu, 0.05) {
			t.Errorf("images: df says %s, du %.0f bytes", images["Size"], imagesDu)
		}
		if got := parseDockerSize(t, boxes["Size"]); len(disks) != 2 || !within(got, boxesDu, 0.05) {
			t.Errorf("boxes: df says %s, du %.0f bytes of %d disks", boxes["Size"], boxesDu, len(disks))
		}
		// The disks are sparse: 16 GiB each on paper.
		if fi, err := os.Stat(disks[0]); err != nil || fi.Size() < 1<<34 || boxesDu > 1e9 {
			t.Errorf("disk %s: %v bytes long, %.0f used", disks[0], fi.Size(), boxesDu)
		}
		// The stopped box wrote 3 MB: its disk is reclaimable.
		doneDu := du(t, filepath.Join(root, "boxes", done, "rw.ext4"))
		if r := boxes["Reclaimable"]; !within(parseDockerSize(t, strings.Fields(r)[0]), doneDu, 0.05) || doneDu < 3e6 {
			t.Errorf("boxes reclaimable %q, the stopped box's disk takes %.0f", r, doneDu)
		}
		v := ok(t, root, "system", "df", "-v")
		for _, want := range []string{"Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage: 0B", "unused ", " keep\n", " done\n"} {
			if !strings.Contains(v, want) {
				t.Errorf("df -v lacks %q:\n%s", want, v)
			}
		}
	})

	t.Run("prune answered n changes nothing", func(t *testing.T) {
		before := ok(t, root, "ps", "-a", "-q") + ok(t, root, "images", "-a", "-q") + storeState(t, root)
		r := call{root: root, stdin: strings.NewReader("n\n")}.run(t, "system", "prune", "-a", "--volumes")
		failsWith(t, r, 1, "system prune has been cancelled")
		if !strings.HasPrefix(r.stdout, "WARNING! This will remove:\n  - all stopped containers\n") || !strings.Contains(r.stdout, "Are you sure you want to continue? [y/N] ") {
			t.Errorf("prompt: %q", r.stdout)
		}
		if after := ok(t, root, "ps", "-a", "-q") + ok(t, root, "images", "-a", "-q") + storeState(t, root); after != before {
			t.Error("a cancelled prune changed something")
		}
	})

	t.Run("prune removes stopped boxes, unused networks and dangling images", func(t *testing.T) {
		out := ok(t, root, "system", "prune", "-f")
		t.Logf("system prune -f:\n%s", out)
		want := regexp.MustCompile(`^Deleted Containers:\n` + done + `\n\nDeleted Networks:\nunusednet\n\nDeleted Images:\ndeleted: ` + regexp.QuoteMeta(dangling) + `\n\nTotal reclaimed space: \S+B\n$`)
		if !want.MatchString(out) {
			t.Errorf("prune output:\n%s", out)
		}
		if got := ok(t, root, "ps", "-a", "--format", "{{.Names}}"); got != "keep\n" {
			t.Errorf("boxes after prune: %q", got)
		}
		if got := ok(t, root, "images", "--format", "{{.Repository}}"); !strings.Contains(got, "unused") {
			t.Errorf("prune without -a removed a named image: %q", got)
		}
		if got := ok(t, root, "network", "ls", "--format", "{{.Name}}"); got != "bridge\nnone\nusednet\n" {
			t.Errorf("networks after prune: %q", got)
		}
		if got := ok(t, root, "volume", "ls", "--format", "{{.Name}}"); got != "unusedvol\nusedvol\n" {
			t.Errorf("prune without --volumes removed a volume: %q", got)
		}
	})

	t.Run("prune -a --volumes leaves only what running boxes use", func(t *testing.T) {
		out := ok(t, root, "system", "prune", "-a", "--volumes", "-f")
		if !strings.Contains(out, "Deleted Images:\nuntagged: docker.io/library/unused:1\ndeleted: sha256:") || strings.Contains(out, "Deleted Containers:") ||
			!strings.Contains(out, "Deleted Volumes:\nunusedvol\n\n") {
			t.Errorf("prune -a --volumes output:\n%s", out)
		}
		if got := ok(t, root, "volume", "ls", "--format", "{{.Name}}"); got != "usedvol\n" {
			t.Errorf("volumes after prune -a --volumes: %q", got)
		}
		if got := ok(t, root, "ps", "-a", "-q", "--no-trunc"); got != keep+"\n" {
			t.Errorf("boxes: %q", got)
		}
		if got := ok(t, root, "images", "--format", "{{.Repository}}:{{.Tag}}"); got != e2e.image+"\n" {
			t.Errorf("images after prune -a: %q", got)
		}
		rootfs, _ := filepath.Glob(filepath.Join(root, "images", "rootfs", "*.ext4"))
		if len(rootfs) != 1 {
			t.Errorf("rootfs files: %v", rootfs)
		}
		rows := dfRows(t, root)
		if r := rows["Images"]; r["TotalCount"] != "1" || r["Active"] != "1" || r["Reclaimable"] != "0B (0%)" {
			t.Errorf("images after prune -a: %v", r)
		}
		if r := rows["Containers"]; r["TotalCount"] != "1" || r["Reclaimable"] != "0B (0%)" {
			t.Errorf("boxes after prune -a: %v", r)
		}
	})
}
