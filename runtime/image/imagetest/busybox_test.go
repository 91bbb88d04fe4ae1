package imagetest

import (
	"archive/tar"
	"io"
	"testing"
)

func TestBusybox(t *testing.T) {
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Fatalf("two builds differ (%s, %s): caches keyed by digest would miss", d1, d2)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "sh" ||
		len(cf.Config.Env) != 1 || cf.Config.Env[0] != "PATH="+DefaultPath {
		t.Fatalf("config %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	want := []struct {
		name string
		typ  byte
		mode int64
		uid  int
		link string
	}{
		{"bin/busybox", tar.TypeReg, 0o755, 0, ""},
		{"bin/notexec", tar.TypeReg, 0o644, 0, ""},
		{"usr/local/bin/hello", tar.TypeReg, 0o755, 0, ""},
		{"etc/passwd", tar.TypeReg, 0o644, 0, ""},
		{"etc/group", tar.TypeReg, 0o644, 0, ""},
		{"tmp/", tar.TypeDir, 0o1777, 0, ""},
		{"root/", tar.TypeDir, 0o700, 0, ""},
		{"home/app/", tar.TypeDir, 0o755, 1000, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/echo", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/true", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/uname", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/sleep", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/cat", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/id", tar.TypeSymlink, 0o777, 0, "busybox"},
		{"bin/ls", tar.TypeSymlink, 0o777, 0, "busybox"},
	}
	for _, w := range want {
		h := got[w.name]
		if h == nil || h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Linkname != w.link {
			t.Errorf("%s: %+v; want type %c mode %o uid %d link %q", w.name, h, w.typ, w.mode, w.uid, w.link)
		}
	}
}
