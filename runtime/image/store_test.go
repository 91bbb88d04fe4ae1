package image

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var busybox struct {
	once sync.Once
	img  v1.Image
	err  error
}

func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	busybox.once.Do(func() { busybox.img, busybox.err = it.Busybox() })
	if busybox.err != nil {
		t.Fatal(busybox.err)
	}
	return busybox.img
}

// serve runs a registry holding images for the test's duration.
func serve(t *testing.T, images map[string]v1.Image) string {
	t.Helper()
	addr, stop, err := it.Serve(images)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func imageOf(t *testing.T, cfg v1.Config, layers ...[]it.Entry) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, entries := range layers {
		l, err := it.Layer(entries)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := it.Image(cfg, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPullGetRootfs(t *testing.T) {
	bb := busyboxImage(t)
	addr := serve(t, map[string]v1.Image{"test/busybox:1": bb})
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	ref := addr + "/test/busybox:1"

	if _, err := s.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before pull: err = %v, want ErrNotFound", err)
	}
	var progress bytes.Buffer
	img, err := s.Pull(ctx, ref, PullOptions{Progress: LineProgress(&progress)})
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := bb.Digest()
	wantID, _ := bb.ConfigName()
	layers, _ := bb.Layers()
	layerDigest, _ := layers[0].Digest()
	if img.Ref != ref || img.Digest != wantDigest || img.ID != wantID {
		t.Fatalf("image %s %s %s; want %s %s %s", img.Ref, img.Digest, img.ID, ref, wantDigest, wantID)
	}
	if strings.Join(img.Config.Cmd, " ") != "sh" || strings.Join(img.Config.Env, " ") != "PATH="+it.DefaultPath {
		t.Fatalf("config %+v", img.Config)
	}
	for _, line := range []string{"1: Pulling from test/busybox", ShortID(layerDigest) + ": Pull complete", "Digest: " + wantDigest.String(), "Status: Downloaded newer image for " + ref} {
		if !strings.Contains(progress.String(), line+"\n") {
			t.Errorf("progress lacks %q:\n%s", line, progress.String())
		}
	}

	got, err := openStore(t, s.dir).Get(ctx, ref)
	if err != nil || got.Digest != img.Digest || got.ID != img.ID || got.Ref != ref {
		t.Fatalf("Get after pull = %+v, %v", got, err)
	}

	start := time.Now()
	path, err := s.Rootfs(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Rootfs (flatten + mkfs.ext4) took %v", time.Since(start))
	if filepath.Dir(path) != s.path(rootfsDir) || filepath.Base(path) != "sha256-"+img.Digest.Hex+".ext4" {
		t.Fatalf("rootfs at %s", path)
	}
	if leftover := names(t, s.path(tmpDir)); len(leftover) != 0 {
		t.Fatalf("work files left behind: %v", leftover)
	}
	checkExt4(t, path, map[string]string{
		"cat /etc/passwd":          "app:x:1000:1000:app:/home/app:/bin/sh",
		"cat /usr/local/bin/hello": it.Greeting,
		"stat /tmp":                "Mode:  01777",
		"stat /home/app":           "User:  1000   Group:  1000",
		"stat /bin/notexec":        "Mode:  0644",
		"stat /bin/sh":             "Type: symlink",
		"ls /bin":                  " uname ",
	})

	before, _ := os.Stat(path)
	start = time.Now()
	again, err := openStore(t, s.dir).Rootfs(ctx, got)
	if err != nil || again != path {
		t.Fatalf("second Rootfs = %s, %v", again, err)
	}
	t.Logf("cached Rootfs took %v", time.Since(start))
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) || s.builds.Load() != 1 {
		t.Fatalf("the cached rootfs was rebuilt (builds %d)", s.builds.Load())
	}
}

// checkExt4 runs debugfs requests against an ext4 image and expects each
// output to contain a string.
func checkExt4(t *testing.T, img string, want map[string]string) {
	t.Helper()
	out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput()
	if err != nil {
		t.Fatalf("e2fsck %s: %v\n%s", img, err, out)
	}
	for req, w := range want {
		out, err := exec.Command("debugfs", "-R", req, img).CombinedOutput()
		if err != nil || !strings.Contains(string(out), w) {
			t.Errorf("debugfs %q: %v; output lacks %q:\n%s", req, err, w, out)
		}
	}
}

func TestPullAgainIsUpToDate(t *testing.T) {
	addr := serve(t, map[string]v1.Image{"test/busybox:1": busyboxImage(t), "test/busybox:latest": busyboxImage(t)})
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.Pull(ctx, addr+"/test/busybox:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	img, err := s.Pull(ctx, addr+"/test/busybox", PullOptions{Progress: LineProgress(&progress)})
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != addr+"/test/busybox:latest" {
		t.Fatalf("ref %q: the default tag is latest", img.Ref)
	}
	if !strings.Contains(progress.String(), ": Already exists\n") {
		t.Fatalf("shared layer downloaded again:\n%s", progress.String())
	}
	progress.Reset()
	if _, err := s.Pull(ctx, addr+"/test/busybox:1", PullOptions{Progress: LineProgress(&progress)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Status: Image is up to date for "+addr+"/test/busybox:1\n") {
		t.Fatalf("second pull:\n%s", progress.String())
	}
	// One manifest in the layout, two names for it.
	idx, err := layout.Path(s.dir).ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Digest != img.Digest {
		t.Fatalf("layout index = %+v, %v", m, err)
	}
	refs, err := s.readRefs()
	if err != nil || len(refs.Refs) != 2 {
		t.Fatalf("refs = %+v, %v", refs, err)
	}
}

func TestPullChoosesLinuxAmd64FromIndex(t *testing.T) {
	amd := imageOf(t, v1.Config{Cmd: []string{"amd64"}}, []it.Entry{it.File("arch", 0o644, "amd64")})
	arm := imageOf(t, v1.Config{Cmd: []string{"arm64"}}, []it.Entry{it.File("arch", 0o644, "arm64")})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	addr := serve(t, nil)
	ref, _ := name.ParseReference(addr + "/multi:1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	img, err := openStore(t, t.TempDir()).Pull(context.Background(), ref.String(), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := amd.Digest()
	if img.Digest != want || strings.Join(img.Config.Cmd, "") != "amd64" {
		t.Fatalf("pulled %s %v, want the amd64 image %s", img.Digest, img.Config.Cmd, want)
	}
}

func TestInvalidReference(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, ref := range []string{"UPPER/Case::bad", "", "a b", "repo@sha256:nothex"} {
		for verb, call := range map[string]func() error{
			"Get":  func() error { _, err := s.Get(context.Background(), ref); return err },
			"Pull": func() error { _, err := s.Pull(context.Background(), ref, PullOptions{}); return err },
		} {
			err := call()
			var ire *InvalidReferenceError
			if !errors.As(err, &ire) || err.Error() != "invalid reference format: "+ref {
				t.Errorf("%s(%q): err = %v, want InvalidReferenceError", verb, ref, err)
			}
		}
	}
}

func TestPullUnreachableFailsFast(t *testing.T) {
	// A listener that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tests := []struct {
		name    string
		ref     string
		timeout time.Duration // on the caller's context; 0 for none
		within  time.Duration
	}{
		{"closed port", "127.0.0.1:1/nothing/here:1", 0, 5 * time.Second},
		{"silent registry, caller deadline", silent.Addr().String() + "/nothing/here:1", 300 * time.Millisecond, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := openStore(t, t.TempDir()).Pull(ctx, tc.ref, PullOptions{})
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tc.ref) {
				t.Fatalf("err = %v; want an error naming %s", err, tc.ref)
			}
			if took > tc.within {
				t.Fatalf("took %v, want under %v", took, tc.within)
			}
		})
	}
}

func TestPlainHTTPAllowed(t *testing.T) {
	tests := []struct {
		host     string
		insecure []string
		want     bool
	}{
		{"localhost:5000", nil, true},
		{"127.0.0.1:5000", nil, true},
		{"127.1.2.3", nil, true},
		{"[::1]:5000", nil, true},
		{"10.1.2.3:5000", nil, false},
		{"192.168.1.1", nil, false},
		{"registry.local:5000", nil, false},
		{"registry.example.com", nil, false},
		{"10.1.2.3:5000", []string{"10.1.2.3:5000"}, true},
		{"10.1.2.3:5000", []string{"10.1.2.3"}, true},
		{"10.1.2.3:5001", []string{"10.1.2.3:5000"}, false},
		{"Registry.Local:5000", []string{"registry.local:5000"}, true},
	}
	for _, tc := range tests {
		if got := plainHTTPAllowed(tc.host, tc.insecure); got != tc.want {
			t.Errorf("plainHTTPAllowed(%q, %v) = %v, want %v", tc.host, tc.insecure, got, tc.want)
		}
	}
	// The guard answers before dialling anything.
	req, _ := http.NewRequest("GET", "http://10.255.255.1:5000/v2/", nil)
	start := time.Now()
	if _, err := newTransport(nil).RoundTrip(req); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") || time.Since(start) > time.Second {
		t.Fatalf("RoundTrip over plain HTTP to a private address: %v", err)
	}
}

func TestPullInsecureListedRegistry(t *testing.T) {
	addr := serve(t, map[string]v1.Image{"test/busybox:1": busyboxImage(t)})
	// "localhost" is loopback; listing it insecure must also work.
	_, port, _ := net.SplitHostPort(addr)
	ref := "localhost:" + port + "/test/busybox:1"
	img, err := openStore(t, t.TempDir()).Pull(context.Background(), ref, PullOptions{Insecure: []string{"localhost:" + port}})
	if err != nil || img.Ref != ref {
		t.Fatalf("Pull(%s) = %+v, %v", ref, img, err)
	}
}

func TestRootfsConcurrentBuildsOnce(t *testing.T) {
	addr := serve(t, map[string]v1.Image{"test/busybox:1": busyboxImage(t)})
	dir := t.TempDir()
	img, err := openStore(t, dir).Pull(context.Background(), addr+"/test/busybox:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Separate Stores take separate flocks, as separate processes would.
	const n = 6
	stores := make([]*Store, n)
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range stores {
		stores[i] = openStore(t, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = stores[i].Rootfs(context.Background(), img)
		}()
	}
	wg.Wait()
	var builds int64
	for i := range stores {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("Rootfs %d = %s, %v; first = %s", i, paths[i], errs[i], paths[0])
		}
		builds += stores[i].builds.Load()
	}
	if builds != 1 {
		t.Fatalf("built %d times, want once", builds)
	}
}

func TestRootfsRefusesBadImages(t *testing.T) {
	big := strings.Repeat("z", 256<<10)
	tests := []struct {
		name   string
		layers [][]it.Entry
		limit  int64
		want   error
		msg    string
	}{
		{"escaping entry", [][]it.Entry{{it.File("ok", 0o644, "x")}, {it.File("../../escape-a3s-test", 0o644, "x")}}, 0, ErrEscape, `layer 2 `},
		{"escaping symlink", [][]it.Entry{{it.Symlink("up", "../../.."), it.File("up/escape-a3s-test", 0o644, "x")}}, 0, ErrEscape, `symlink target "../../.."`},
		{"over the extraction limit", [][]it.Entry{{it.File("big", 0o644, big)}}, 64 << 10, ErrTooLarge, "extraction limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, map[string]v1.Image{"bad:1": imageOf(t, v1.Config{}, tc.layers...)})
			base := t.TempDir()
			s := openStore(t, filepath.Join(base, "images"))
			if tc.limit > 0 {
				s.MaxExtractBytes = tc.limit
			}
			img, err := s.Pull(context.Background(), addr+"/bad:1", PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Rootfs(context.Background(), img)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), img.Ref) {
				t.Fatalf("err = %v; want %v mentioning %q and the image", err, tc.want, tc.msg)
			}
			if got := names(t, base); strings.Join(got, ",") != "images" {
				t.Fatalf("written beside the store: %v", got)
			}
			if got := names(t, s.path(tmpDir)); len(got) != 0 {
				t.Fatalf("work files left behind: %v", got)
			}
			for _, e := range names(t, s.path(rootfsDir)) {
				if strings.HasSuffix(e, ".ext4") {
					t.Fatalf("a rootfs was built: %s", e)
				}
			}
		})
	}
}

func TestRootfsRejectsForgedDigest(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, h := range []v1.Hash{{Algorithm: "sha256", Hex: "../../etc"}, {Algorithm: "../x", Hex: strings.Repeat("a", 64)}, {}} {
		if _, err := s.Rootfs(context.Background(), &Image{Ref: "forged", Digest: h}); err == nil || !strings.Contains(err.Error(), "invalid digest") {
			t.Errorf("Rootfs(%v) err = %v, want invalid digest", h, err)
		}
	}
}

// Concurrent writers of the references, as concurrent pulls in separate
// processes would be, lose no update.
func TestTagConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	var wg sync.WaitGroup
	for i := range 8 {
		s := openStore(t, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				ref := "example.com/r" + string(rune('a'+i)) + ":" + string(rune('0'+j))
				if err := s.tag(context.Background(), ref, v1.Descriptor{Digest: d, Size: 1}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	s := openStore(t, dir)
	refs, err := s.readRefs()
	if err != nil || len(refs.Refs) != 40 {
		t.Fatalf("%d references, %v; want 40", len(refs.Refs), err)
	}
	idx, err := s.readIndex()
	if err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index %+v, %v; want the manifest once", idx, err)
	}
}
