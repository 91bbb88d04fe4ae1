package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolveUser(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	group := filepath.Join(dir, "group")
	must(t, os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nbroken:x:y\n"), 0o644))
	must(t, os.WriteFile(group, []byte("root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n"), 0o644))
	tests := []struct {
		spec    string
		want    *user
		wantErr bool
	}{
		{"", &user{uid: 0, gid: 0, home: "/root"}, false},
		{"root", &user{uid: 0, gid: 0, home: "/root"}, false},
		{"app", &user{uid: 1000, gid: 1000, groups: []uint32{10, 29}, home: "/home/app"}, false},
		{"1000", &user{uid: 1000, gid: 1000, groups: []uint32{10, 29}, home: "/home/app"}, false},
		{"1000:10", &user{uid: 1000, gid: 10, home: "/home/app"}, false},
		{"app:wheel", &user{uid: 1000, gid: 10, home: "/home/app"}, false},
		{"4242", &user{uid: 4242, gid: 0, home: "/"}, false},
		{"4242:4242", &user{uid: 4242, gid: 4242, home: "/"}, false},
		{"nobody", nil, true},
		{"app:nogroup", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser(tt.spec, passwd, group)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	u, err := resolveUser("123:456", "/nonexistent/passwd", "/nonexistent/group")
	if err != nil || u.uid != 123 || u.gid != 456 {
		t.Fatalf("got %+v, %v", u, err)
	}
	if _, err := resolveUser("app", "/nonexistent/passwd", "/nonexistent/group"); err == nil {
		t.Fatal("a user name without a passwd file resolved")
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(bin, "data"), []byte("x"), 0o644))
	tests := []struct {
		name     string
		want     string
		wantCode int
	}{
		{"tool", filepath.Join(bin, "tool"), 0},
		{"data", "", 127},
		{"missing", "", 127},
		{filepath.Join(bin, "data"), filepath.Join(bin, "data"), 0}, // execve then says EACCES: 126
		{filepath.Join(bin, "nope"), "", 127},
		{bin, "", 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookPath(tt.name, bin, "/")
			if tt.wantCode != 0 {
				se, ok := err.(*startError)
				if !ok || se.code != tt.wantCode {
					t.Fatalf("err = %v, want code %d", err, tt.wantCode)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	got := withDefaults([]string{"A=1"}, &user{home: "/home/app"})
	want := []string{"A=1", "PATH=" + defaultPath, "HOME=/home/app"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got = withDefaults([]string{"PATH=/x", "HOME=/h"}, &user{home: "/home/app"})
	if !reflect.DeepEqual(got, []string{"PATH=/x", "HOME=/h"}) {
		t.Fatalf("overrode the box's own PATH/HOME: %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
