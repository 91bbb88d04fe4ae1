package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/internal/statefile"
	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCanonicalAndFamiliar(t *testing.T) {
	tests := []struct{ in, full, familiar string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"},
		{"user/app", "docker.io/user/app:latest", "user/app:latest"},
		{"127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000/test/busybox:1"},
		{"localhost/x@sha256:" + strings.Repeat("a", 64), "localhost/x@sha256:" + strings.Repeat("a", 64), "localhost/x@sha256:" + strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		full, err := Canonical(tt.in)
		if err != nil || full != tt.full {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.in, full, err, tt.full)
		}
		if f := Familiar(full); f != tt.familiar {
			t.Errorf("Familiar(%q) = %q, want %q", full, f, tt.familiar)
		}
	}
	var ie *InvalidReferenceError
	if _, err := Canonical("UPPER::bad"); !errors.As(err, &ie) {
		t.Errorf("Canonical of a bad reference: %v", err)
	}
}

func TestApplyChanges(t *testing.T) {
	var cfg v1.Config
	err := ApplyChanges(&cfg, []string{
		`CMD ["echo", "hi there"]`,
		`ENTRYPOINT /bin/run --flag`,
		`ENV A=1 B="two words"`,
		`ENV LEGACY some value`,
		`LABEL tier=web "owner=a b"`,
		`EXPOSE 80 53/udp`,
		`VOLUME ["/data"]`,
		`USER app`,
		`WORKDIR /srv`,
		`STOPSIGNAL SIGINT`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Cmd:          []string{"echo", "hi there"},
		Entrypoint:   []string{"/bin/sh", "-c", "/bin/run --flag"},
		Env:          []string{"A=1", "B=two words", "LEGACY=some value"},
		Labels:       map[string]string{"tier": "web", "owner": "a b"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
		User:         "app",
		WorkingDir:   "/srv",
		StopSignal:   "SIGINT",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	for _, bad := range []string{"RUN make", "LABEL novalue", `ENV A="unterminated`, "USER"} {
		if err := ApplyChanges(&v1.Config{}, []string{bad}); err == nil {
			t.Errorf("change %q accepted", bad)
		}
	}
}

// pulled is a store holding the busybox test image as ref.
func pulled(t *testing.T) (*Store, string) {
	t.Helper()
	addr := serve(t, map[string]v1.Image{"test/busybox:1": busyboxImage(t)})
	s := openStore(t, t.TempDir())
	ref := addr + "/test/busybox:1"
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, ref
}

func blobCount(t *testing.T, s *Store) int {
	t.Helper()
	entries, _ := os.ReadDir(s.path("blobs", "sha256"))
	return len(entries)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s, ref := pulled(t)
	ctx := context.Background()
	img, err := s.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{ref}); err != nil {
		t.Fatal(err)
	}
	again := openStore(t, t.TempDir())
	loaded, err := again.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Names) != 1 || loaded.Names[0] != ref {
		t.Fatalf("loaded %+v", loaded)
	}
	got, err := again.Get(ctx, ref)
	if err != nil || got.Digest != img.Digest || got.ID != img.ID {
		t.Fatalf("after load: %+v %v; want digest %s", got, err, img.Digest)
	}
	// The docker-archive half alone loads to the same image ID.
	dockerOnly := filterTar(t, buf.Bytes(), func(name string) bool { return name != "index.json" && name != "oci-layout" })
	third := openStore(t, t.TempDir())
	if _, err := third.Load(ctx, bytes.NewReader(dockerOnly)); err != nil {
		t.Fatal(err)
	}
	if got, err := third.Get(ctx, ref); err != nil || got.ID != img.ID {
		t.Fatalf("docker-archive half: %+v %v", got, err)
	}
	if _, err := third.Rootfs(ctx, mustGet(t, third, ref)); err != nil {
		t.Fatalf("rootfs of a docker-archive load: %v", err)
	}
}

func mustGet(t *testing.T, s *Store, ref string) *Image {
	t.Helper()
	img, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func filterTar(t *testing.T, b []byte, keep func(string) bool) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !keep(h.Name) {
			continue
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.Close()
	return out.Bytes()
}

func TestLoadFailureLeavesNoBlob(t *testing.T) {
	s, ref := pulled(t)
	ctx := context.Background()
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{ref}); err != nil {
		t.Fatal(err)
	}
	empty := openStore(t, t.TempDir())
	// Every blob arrives, then manifest.json names a layer that is not there.
	broken := filterTar(t, buf.Bytes(), func(n string) bool { return n != "index.json" && n != "oci-layout" })
	broken = bytes.Replace(broken, []byte(`"Layers":["blobs/sha256/`), []byte(`"Layers":["blobs/sha256/0`), 1)
	_, err := empty.Load(ctx, bytes.NewReader(broken))
	if !errors.Is(err, ErrBadArchive) {
		t.Fatalf("load: %v, want ErrBadArchive", err)
	}
	if n := blobCount(t, empty); n != 0 {
		t.Fatalf("%d blobs left by a failed load", n)
	}
}

func TestRemoveAndCollect(t *testing.T) {
	s, ref := pulled(t)
	ctx := context.Background()
	img := mustGet(t, s, ref)
	if err := s.Tag(ctx, ref, "other:1"); err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.Rootfs(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	s.InUse = func() ([]BoxImage, error) { return []BoxImage{{Box: strings.Repeat("c", 64), Digest: img.Digest}}, nil }

	// A name with another beside it is only untagged.
	rm, err := s.Remove(ctx, "other:1", false)
	if err != nil || len(rm.Deleted) != 0 || !reflect.DeepEqual(rm.Untagged, []string{"docker.io/library/other:1"}) {
		t.Fatalf("remove other:1: %+v %v", rm, err)
	}
	// The last name of an image a box uses: refused, then forced.
	if _, err := s.Remove(ctx, ref, false); !errors.Is(err, ErrConflict) {
		t.Fatalf("remove of a used image: %v", err)
	}
	if _, err := s.Remove(ctx, ref, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rootfs); err != nil {
		t.Fatalf("rootfs of a used image removed: %v", err)
	}
	s.InUse = nil
	rm, err = s.Prune(ctx, false, nil)
	if err != nil || len(rm.Deleted) != 1 || rm.Deleted[0] != img.ID || rm.Freed < img.Size {
		t.Fatalf("prune: %+v %v", rm, err)
	}
	if _, err := os.Stat(rootfs); err == nil {
		t.Fatal("rootfs outlived its image and its boxes")
	}
	if n := blobCount(t, s); n != 0 {
		t.Fatalf("%d blobs left", n)
	}
}

func TestCollectWaitsForWriters(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	d, _, err := s.storeBlob(strings.NewReader("unreferenced"))
	if err != nil {
		t.Fatal(err)
	}
	// A pull in progress holds the gc lock shared: nothing is collected.
	writer, err := statefile.AcquireShared(ctx, s.path(gcLock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Collect(ctx); err != nil || !s.hasBlob(d) {
		t.Fatalf("collect during a write removed a blob (%v)", err)
	}
	writer.Release()
	if _, err := s.Collect(ctx); err != nil || s.hasBlob(d) {
		t.Fatalf("collect left an unreferenced blob (%v)", err)
	}
}

func TestImportChecksEntries(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	good, err := it.Tar([]it.Entry{it.Dir("etc", 0o755), it.File("etc/hostname", 0o644, "box\n")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Import(ctx, bytes.NewReader(good), ImportOptions{Ref: "imported:1", Changes: []string{"CMD cat /etc/hostname"}, Source: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != "docker.io/library/imported:1" || strings.Join(img.Config.Cmd, " ") != "/bin/sh -c cat /etc/hostname" ||
		img.File.History[0].Comment != "Imported from -" || len(img.File.RootFS.DiffIDs) != 1 {
		t.Fatalf("imported %+v", img)
	}
	if _, err := s.Rootfs(ctx, img); err != nil {
		t.Fatal(err)
	}
	before := blobCount(t, s)
	for name, entries := range map[string][]it.Entry{
		"dotdot":   {it.File("../x", 0o644, "x")},
		"absolute": {it.File("/etc/x", 0o644, "x")},
		"hardlink": {it.File("a", 0o644, "x"), it.Hardlink("b", "../../a")},
	} {
		b, err := it.Tar(entries)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(ctx, bytes.NewReader(b), ImportOptions{Ref: "bad:1", Source: name}); !errors.Is(err, ErrEscape) {
			t.Errorf("%s: %v, want ErrEscape", name, err)
		}
	}
	if n := blobCount(t, s); n != before {
		t.Fatalf("failed imports left %d blobs", n-before)
	}
	if _, err := s.Get(ctx, "bad:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed import named an image: %v", err)
	}
}

func TestFindByID(t *testing.T) {
	s, ref := pulled(t)
	img := mustGet(t, s, ref)
	for _, name := range []string{img.ID.String(), img.ID.Hex, img.ID.Hex[:12], img.Digest.String()} {
		got, err := s.Get(context.Background(), name)
		if err != nil || got.Digest != img.Digest || got.Ref != "" {
			t.Errorf("Get(%q) = %+v, %v", name, got, err)
		}
	}
	if _, err := s.Get(context.Background(), "ffffffffffff"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ID: %v", err)
	}
}
