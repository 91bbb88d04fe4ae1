package main

// End-to-end tests: they drive the built a3s-box binary, which boots real
// microVMs from images served by an in-process registry on 127.0.0.1.
// `make test` builds the binary, the guest kernel and the initramfs and
// points A3S_BOX_E2E_DIR at them.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var e2e struct {
	dir      string // a3s-box, vmlinuz, initramfs.img
	registry string // host:port
	image    string // the busybox test image reference
	root     string // state directory shared by tests that need no root of their own
	skip     string
}

func TestMain(m *testing.M) {
	os.Exit(runE2E(m))
}

func runE2E(m *testing.M) int {
	e2e.dir = os.Getenv("A3S_BOX_E2E_DIR")
	if e2e.dir == "" {
		e2e.skip = "A3S_BOX_E2E_DIR is not set: run `make test`"
		return m.Run()
	}
	img, err := imagetest.Busybox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build test image:", err)
		return 1
	}
	bad, err := escapingImage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build escaping image:", err)
		return 1
	}
	addr, stop, err := imagetest.Serve(map[string]v1.Image{"test/busybox:1": img, "test/escape:1": bad})
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve registry:", err)
		return 1
	}
	defer stop()
	e2e.registry, e2e.image = addr, addr+"/test/busybox:1"
	// After every root is gone: their bridges and firewall rules go too.
	defer cleanHost(e2e.dir)
	root, err := os.MkdirTemp("", "a3s-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	e2e.root = root
	// Pull once up front, so tests that compare stderr see no pull progress.
	warm := command(context.Background(), root, "run", "--rm", e2e.image, "true")
	if out, err := warm.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "warm-up run: %v: %s\n", err, out)
		return 1
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func needE2E(t *testing.T) {
	t.Helper()
	if e2e.skip != "" {
		t.Skip(e2e.skip)
	}
}

// command prepares the a3s-box binary with root as its state directory.
func command(ctx context.Context, root string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(e2e.dir, "a3s-box"), args...)
	cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+root, "A3S_BOX_ACCEL=tcg")
	return cmd
}

func a3sIn(t *testing.T, root string, args ...string) result {
	t.Helper()
	return call{root: root}.run(t, args...)
}

func a3s(t *testing.T, args ...string) result {
	t.Helper()
	return a3sIn(t, e2e.root, args...)
}

func TestRunStreamsAndExitStatus(t *testing.T) {
	needE2E(t)
	r := a3s(t, "run", "--rm", e2e.image, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.stdout != "out\n" || r.stderr != "err\n" || r.code != 3 {
		t.Fatalf("stdout %q stderr %q code %d; want out, err, 3", r.stdout, r.stderr, r.code)
	}
}

func TestRunGuestKernel(t *testing.T) {
	needE2E(t)
	r := a3s(t, "run", "--rm", e2e.image, "uname", "-r")
	want, err := os.ReadFile(filepath.Join(e2e.dir, "kernel.release"))
	if err != nil {
		t.Fatal(err)
	}
	var host syscall.Utsname
	_ = syscall.Uname(&host)
	got := strings.TrimSpace(r.stdout)
	if r.code != 0 || got != strings.TrimSpace(string(want)) {
		t.Fatalf("uname -r = %q (code %d, stderr %q), want the guest kernel %q", got, r.code, r.stderr, want)
	}
	if got == utsString(host.Release) {
		t.Fatalf("uname -r in the box is the host's release %q", got)
	}
}

func utsString(a [65]int8) string {
	var b strings.Builder
	for _, c := range a {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

func TestRunExitCodes(t *testing.T) {
	needE2E(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
		within  time.Duration
	}{
		{"command not found", []string{"run", "--rm", e2e.image, "no-such-command"}, 127, "no-such-command", 0},
		{"not executable", []string{"run", "--rm", e2e.image, "/bin/notexec"}, 126, "permission denied", 0},
		{"malformed reference", []string{"run", "--rm", "UPPER/Case::bad", "true"}, 125, "UPPER/Case::bad", 5 * time.Second},
		{"unreachable registry", []string{"run", "--rm", "127.0.0.1:1/nothing/here:1", "true"}, 125, "127.0.0.1:1", 15 * time.Second},
		{"unknown flag", []string{"run", "--no-such-flag", e2e.image}, 125, "unknown flag", 5 * time.Second},
		{"relative workdir", []string{"run", "--rm", "-w", "rel", e2e.image, "true"}, 125, "absolute path", 0},
		{"unknown user", []string{"run", "--rm", "-u", "nobody-here", e2e.image, "true"}, 126, "nobody-here", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a3s(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.message) {
				t.Fatalf("code %d stderr %q; want %d naming %q", r.code, r.stderr, tt.code, tt.message)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
				t.Errorf("error is not short: %q", r.stderr)
			}
			if tt.within > 0 && r.took > tt.within {
				t.Fatalf("took %s, want under %s", r.took, tt.within)
			}
		})
	}
}

// TestFailedStartStaysCreated runs a box whose first start fails: as in
// Docker it stays created, with the start's code and error, and a stack
// apply tries it again rather than leaving it exited.
func TestFailedStartStaysCreated(t *testing.T) {
	needE2E(t)
	r := a3s(t, "run", "-d", "--name", "failed-start", e2e.image, "no-such-command")
	t.Cleanup(func() { a3s(t, "rm", "-f", "failed-start") })
	if r.code != 127 {
		t.Fatalf("run -d of a missing command: code %d stderr %q, want 127", r.code, r.stderr)
	}
	got := strings.TrimSpace(ok(t, e2e.root, "ps", "-a", "--filter", "name=failed-start", "--format", "{{.Status}}"))
	st := strings.TrimSpace(ok(t, e2e.root, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "failed-start"))
	if got != "Created" || st != "created 127" {
		t.Fatalf("after a failed first start: ps %q, inspect %q; want Created, created 127", got, st)
	}
}

func TestRunConfig(t *testing.T) {
	needE2E(t)
	envFile := filepath.Join(t.TempDir(), "box.env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=file value\nA=from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := a3s(t, "run", "--rm", "-e", "A=from-flag", "--env-file", envFile, "-w", "/work/dir",
		"-u", "app", "--hostname", "boxhost", "--cpus", "2", "-m", "256m", "--name", "cfgbox",
		e2e.image, "sh", "-c", `echo "$A|$FROM_FILE|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOME|$PATH|$(nproc)"`)
	want := "from-flag|file value|/work/dir|1000:1000|boxhost|/home/app|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|2\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("code %d stdout %q stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	r = a3s(t, "run", "--rm", "--entrypoint", "echo", e2e.image, "entry", "point")
	if r.code != 0 || r.stdout != "entry point\n" {
		t.Fatalf("--entrypoint: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = a3s(t, "run", "--rm", "-u", "4242:4343", e2e.image, "id")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "uid=4242 gid=4343") {
		t.Fatalf("-u uid:gid: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestRunReusesCachedRootfs runs an image twice: the second run needs no
// registry (the registry is told to fail) and reuses the rootfs file.
func TestRunReusesCachedRootfs(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	r := a3sIn(t, root, "run", "--rm", e2e.image, "true")
	if r.code != 0 {
		t.Fatalf("first run: code %d stderr %q", r.code, r.stderr)
	}
	before := rootfsFiles(t, root)
	if len(before) != 1 {
		t.Fatalf("want one cached rootfs after the first run, got %v", before)
	}
	r = a3sIn(t, root, "run", "--rm", e2e.image, "true")
	if r.code != 0 {
		t.Fatalf("second run: code %d stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "Unable to find image") {
		t.Fatalf("second run pulled again: %q", r.stderr)
	}
	after := rootfsFiles(t, root)
	for p, fi := range before {
		if a, ok := after[p]; !ok || !os.SameFile(fi, a) || !a.ModTime().Equal(fi.ModTime()) {
			t.Fatalf("rootfs %s was rebuilt", p)
		}
	}
	if len(after) != 1 {
		t.Fatalf("rootfs files after second run: %v", after)
	}
}

func rootfsFiles(t *testing.T, root string) map[string]os.FileInfo {
	t.Helper()
	out := map[string]os.FileInfo{}
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.HasSuffix(p, ".ext4") && !strings.Contains(p, "/boxes/") {
			out[p] = fi
		}
		return nil
	})
	return out
}

// TestRunSignalTeardown sends SIGINT and SIGTERM to foreground runs and
// checks nothing is left: no QEMU process, socket, box directory or lock.
func TestRunSignalTeardown(t *testing.T) {
	needE2E(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			root := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := command(ctx, root, "run", "--rm", e2e.image, "sh", "-c", "echo ready; sleep 600")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 6)
			if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
				t.Fatalf("box never became ready: %q %v; stderr %q", buf, err, stderr.String())
			}
			qemu := qemuPIDs(t, root)
			if len(qemu) != 1 {
				t.Fatalf("want one QEMU process for the box, found %v", qemu)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != 128+int(sig) {
				t.Fatalf("exit code %d (%v), want %d; stderr %q", code, err, 128+int(sig), stderr.String())
			}
			assertNothingLeft(t, root, qemu)
		})
	}
}

// TestRunSignalDuringBoot interrupts a run before the guest is ready.
func TestRunSignalDuringBoot(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	// Cache the image first, so the signal lands during the boot.
	if r := a3sIn(t, root, "run", "--rm", e2e.image, "true"); r.code != 0 {
		t.Fatalf("warm-up: %d %q", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := command(ctx, root, "run", "--rm", e2e.image, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var qemu []int
	for deadline := time.Now().Add(30 * time.Second); len(qemu) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		qemu = qemuPIDs(t, root)
	}
	if len(qemu) == 0 {
		t.Fatal("QEMU never started")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Fatalf("exit code %d, want 143", code)
	}
	assertNothingLeft(t, root, qemu)
}

func assertNothingLeft(t *testing.T, root string, qemu []int) {
	t.Helper()
	for _, pid := range qemu {
		if syscall.Kill(pid, 0) == nil {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
				t.Errorf("QEMU %d still running", pid)
			}
		}
	}
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if fi.Mode()&os.ModeSocket != 0 {
			t.Errorf("socket left behind: %s", p)
		}
		if strings.Contains(p, "/boxes/") && fi.IsDir() && filepath.Base(filepath.Dir(p)) == "boxes" {
			t.Errorf("box directory left behind: %s", p)
		}
		return nil
	})
	// The root lock must be free: another process can take it at once.
	cmd := command(context.Background(), root, "info", "--format", "{{.Root}}")
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("info after teardown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("state lock still held after teardown")
	}
}

// qemuPIDs lists QEMU processes of boxes under root: QEMU's command
// line names only descriptors, but it inherits A3S_BOX_ROOT.
func qemuPIDs(t *testing.T, root string) []int {
	t.Helper()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), "qemu-system") && slices.Contains(strings.Split(string(env), "\x00"), "A3S_BOX_ROOT="+root) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestRunRefusesEscapingLayer pulls an image whose layer tries to write
// outside the rootfs: the run fails with a clear error and nothing lands
// outside the store.
func TestRunRefusesEscapingLayer(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	r := a3sIn(t, root, "run", "--rm", e2e.registry+"/test/escape:1", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "escape") {
		t.Fatalf("code %d stderr %q; want 125 naming the escaping entry", r.code, r.stderr)
	}
	for _, p := range []string{"/escape-a3s-e2e", filepath.Join(filepath.Dir(root), "escape-a3s-e2e")} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s was written outside the rootfs", p)
		}
	}
	if files := rootfsFiles(t, root); len(files) != 0 {
		t.Fatalf("a rootfs was built from an escaping layer: %v", files)
	}
}

// escapingImage has a layer that climbs out of the rootfs through `..`
// after a legitimate file, so a half-written rootfs would be visible.
func escapingImage() (v1.Image, error) {
	l, err := imagetest.Layer([]imagetest.Entry{
		imagetest.Dir("bin", 0o755),
		imagetest.File("bin/ok", 0o644, "fine\n"),
		imagetest.File("../../../../../../escape-a3s-e2e", 0o644, "escaped\n"),
	})
	if err != nil {
		return nil, err
	}
	return imagetest.Image(v1.Config{Cmd: []string{"true"}}, l)
}
