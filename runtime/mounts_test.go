package runtime

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
)

func TestBoxMounts(t *testing.T) {
	host := t.TempDir()
	b := &spec.Box{
		Volumes: []spec.Mount{
			{Type: spec.MountVolume, Source: "data", Target: "/data/", ReadOnly: true, VolumeLabels: map[string]string{"a": "b"}},
			{Type: spec.MountVolume, Target: "/anon"},
			{Type: spec.MountBind, Source: host + "/", Target: "/host", NoCreate: true},
			{Type: spec.MountBind, Source: filepath.Join(host, "new"), Target: "/new"},
		},
		Tmpfs: []spec.Tmpfs{{Target: "/t", Size: 1 << 20, Mode: 0o700, Options: []string{"ro", "exec"}}},
	}
	image := map[string]struct{}{"/data": {}, "/var/lib/x": {}, "relative": {}, "/": {}}
	ms, err := boxMounts(b, image)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 6 {
		t.Fatalf("%d mounts, want 6: %+v", len(ms), ms)
	}
	if m := ms[0]; m.Type != spec.MountVolume || m.Name != "data" || m.Destination != "/data" || !m.ReadOnly || m.Anonymous || m.create.Labels["a"] != "b" {
		t.Errorf("named volume: %+v", m)
	}
	if m := ms[1]; m.Type != spec.MountVolume || len(m.Name) != 64 || !m.Anonymous || !m.create.Anonymous {
		t.Errorf("anonymous volume: %+v", m)
	}
	if m := ms[2]; m.Type != spec.MountBind || m.Source != host || !m.NoCreate {
		t.Errorf("bind: %+v", m)
	}
	if m := ms[4]; m.Type != spec.MountTmpfs || !m.ReadOnly || strings.Join(m.Tmpfs, ",") != "size=1048576,mode=700,exec" {
		t.Errorf("tmpfs: %+v", m)
	}
	// The image's /data is covered by the box's volume; /var/lib/x gets
	// an anonymous volume; paths that cannot be mount points are skipped.
	if m := ms[5]; m.Destination != "/var/lib/x" || !m.Anonymous {
		t.Errorf("image volume: %+v", m)
	}

	for _, tt := range []struct {
		v   spec.Mount
		err string
	}{
		{spec.Mount{Type: spec.MountVolume, Source: "x", Target: "/x"}, "invalid volume name"},
		{spec.Mount{Type: spec.MountVolume, Source: "bad!name", Target: "/x"}, "invalid volume name"},
		{spec.Mount{Type: spec.MountBind, Source: filepath.Join(host, "missing"), Target: "/x", NoCreate: true}, "bind source path does not exist"},
		{spec.Mount{Type: spec.MountVolume, Source: "ok", Target: "x"}, "not an absolute path"},
	} {
		if _, err := boxMounts(&spec.Box{Volumes: []spec.Mount{tt.v}}, nil); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("boxMounts(%+v) = %v, want an error naming %q", tt.v, err, tt.err)
		}
	}
}

func TestPrepareShare(t *testing.T) {
	root := t.TempDir()
	vs, err := volume.Open(filepath.Join(root, "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.Update(context.Background(), func(tx *volume.Tx) error {
		_, _, err := tx.Create("data", volume.Options{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r := &Runtime{root: root, runBase: filepath.Join(root, "run"), Volumes: vs}
	host := t.TempDir()
	file := filepath.Join(host, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &BoxRecord{ID: strings.Repeat("a", 64), Mounts: []Mount{
		{Type: spec.MountVolume, Name: "data", Destination: "/data"},
		{Type: spec.MountBind, Source: filepath.Join(host, "made"), Destination: "/made", ReadOnly: true},
		{Type: spec.MountBind, Source: file, Destination: "/etc/file", NoCopy: true},
		{Type: spec.MountTmpfs, Destination: "/t", Tmpfs: []string{"size=1024"}},
		{Type: spec.MountVolume, Name: "data", Destination: "/data2", NoCopy: true},
		{Type: spec.MountVolume, Name: "data", Destination: "/ro", ReadOnly: true},
	}}
	sh, mounts, err := r.prepareShare(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(host, "made")); err != nil || !fi.IsDir() {
		t.Errorf("a missing -v source was not made a directory: %v", err)
	}
	// The read-only volume is empty and to be seeded: writable on the
	// host for this boot.
	if len(sh.Binds) != 5 || sh.Binds[0].Source != filepath.Join(root, "volumes", "data", "_data") || !sh.Binds[1].ReadOnly || sh.Binds[4].ReadOnly {
		t.Errorf("binds: %+v", sh.Binds)
	}
	if fi, err := os.Stat(filepath.Join(sh.Dir, "m2")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("a file's entry is not a file: %v", err)
	}
	want := []proto.Mount{
		{Type: proto.MountBind, Source: "m0", Target: "/data", Seed: true},
		{Type: proto.MountBind, Source: "m1", Target: "/made", ReadOnly: true},
		{Type: proto.MountBind, Source: "m2", Target: "/etc/file"},
		{Type: proto.MountTmpfs, Target: "/t", Options: []string{"size=1024"}},
		{Type: proto.MountBind, Source: "m4", Target: "/data2"},
		{Type: proto.MountBind, Source: "m5", Target: "/ro", ReadOnly: true, Seed: true},
	}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("mounts:\n%+v\nwant\n%+v", mounts, want)
	}
	// Once it holds data, read-only is read-only on the host too.
	if err := os.WriteFile(filepath.Join(root, "volumes", "data", "_data", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if sh, _, err = r.prepareShare(rec, nil); err != nil || !sh.Binds[4].ReadOnly {
		t.Errorf("read-only volume with data: %+v %v", sh.Binds[4], err)
	}
	// A second boot starts from an empty share; a --mount bind whose
	// source went away fails the boot.
	if _, _, err := r.prepareShare(rec, nil); err != nil {
		t.Fatalf("second prepare: %v", err)
	}
	rec.Mounts = append(rec.Mounts, Mount{Type: spec.MountBind, Source: filepath.Join(host, "gone"), Destination: "/gone", NoCreate: true})
	if _, _, err := r.prepareShare(rec, nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing --mount source: %v", err)
	}
	if err := clearShare(sh.Dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(sh.Dir); len(entries) != 0 {
		t.Errorf("share not cleared: %v", entries)
	}
}
