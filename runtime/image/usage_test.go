package image

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestDiskUsage stores two images that share their first layer, one with
// a root filesystem and a box: sizes are du's, the shared layer counted
// once, and only the unused image's own files are reclaimable.
func TestDiskUsage(t *testing.T) {
	base := []it.Entry{it.Dir("bin", 0o755), it.File("bin/big", 0o644, strings.Repeat("x", 300<<10))}
	a := imageOf(t, v1.Config{Cmd: []string{"a"}}, base, []it.Entry{it.File("a", 0o644, strings.Repeat("a", 100<<10))})
	b := imageOf(t, v1.Config{Cmd: []string{"b"}}, base, []it.Entry{it.File("b", 0o644, strings.Repeat("b", 50<<10))})
	addr := serve(t, map[string]v1.Image{"t/a:1": a, "t/b:1": b})
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx := context.Background()
	for _, ref := range []string{"t/a:1", "t/b:1"} {
		if _, err := s.Pull(ctx, addr+"/"+ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	imgA := mustGet(t, s, addr+"/t/a:1")
	if _, err := s.Rootfs(ctx, imgA); err != nil {
		t.Fatal(err)
	}
	s.InUse = func() ([]BoxImage, error) {
		return []BoxImage{{Box: strings.Repeat("c", 64), Digest: imgA.Digest}}, nil
	}

	u, err := s.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	du := func(paths ...string) int64 {
		var n int64
		for _, p := range paths {
			_ = filepath.WalkDir(p, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
					n += allocated(p)
				}
				return nil
			})
		}
		return n
	}
	if want := du(filepath.Join(dir, "blobs"), filepath.Join(dir, "rootfs")); u.Total != want || want == 0 {
		t.Errorf("Total %d, du says %d", u.Total, want)
	}
	if len(u.Images) != 2 {
		t.Fatalf("%d images", len(u.Images))
	}
	by := map[string]*ImageUsage{}
	for _, iu := range u.Images {
		by[iu.Config.Cmd[0]] = iu
	}
	ua, ub := by["a"], by["b"]
	layers, _ := a.Layers()
	shared, _ := layers[0].Digest()
	sharedBytes := allocated(filepath.Join(dir, "blobs", "sha256", shared.Hex))
	rootfsA := allocated(filepath.Join(dir, "rootfs", imgA.Digest.Algorithm+"-"+imgA.Digest.Hex+".ext4"))
	switch {
	case ua.Boxes != 1 || ub.Boxes != 0:
		t.Errorf("boxes: a %d, b %d", ua.Boxes, ub.Boxes)
	case ua.Shared != sharedBytes || ub.Shared != sharedBytes || sharedBytes == 0:
		t.Errorf("shared: a %d, b %d, want the shared layer's %d", ua.Shared, ub.Shared, sharedBytes)
	case ua.Size+ub.Size-sharedBytes != u.Total:
		t.Errorf("sizes %d + %d less the shared %d != total %d", ua.Size, ub.Size, sharedBytes, u.Total)
	case ua.Size <= rootfsA || rootfsA == 0:
		t.Errorf("a's size %d does not hold its rootfs %d", ua.Size, rootfsA)
	case u.Reclaimable != ub.Size-ub.Shared:
		t.Errorf("reclaimable %d, want b's own files %d", u.Reclaimable, ub.Size-ub.Shared)
	}
}
