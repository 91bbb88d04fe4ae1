package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/a3s-box/a3s-box/runtime/initramfs"
)

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":              {},
		"ext4":          {"ext4"},
		" ext4, 9p,,x ": {"ext4", "9p", "x"},
	} {
		if got := splitList(in); !slices.Equal(got, want) || got == nil {
			t.Errorf("splitList(%q) = %#v, want %#v", in, got, want)
		}
	}
}

// TestRunReplacesOutputOnlyOnSuccess checks that a failed build leaves the
// previous initramfs in place and a good one replaces it whole.
func TestRunReplacesOutputOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	modDir := filepath.Join(dir, "6.1.0-1-amd64")
	initBin := filepath.Join(dir, "guestinit")
	out := filepath.Join(dir, "initramfs.img")
	for name, body := range map[string]string{
		filepath.Join(modDir, "modules.dep"): "kernel/a.ko:\n",
		filepath.Join(modDir, "kernel/a.ko"): "module a",
		initBin:                              "init",
		out:                                  "previous",
	} {
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()

	err := run(ctx, initramfs.Options{ModulesDir: modDir, Init: initBin, Modules: []string{"nosuch"}}, out)
	if err == nil {
		t.Fatal("run with an unknown module succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Fatalf("failed run changed the output to %q", b)
	}

	opts := initramfs.Options{ModulesDir: modDir, Init: initBin, Modules: []string{"a"}}
	if err := run(ctx, opts, out); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := initramfs.Build(ctx, opts, &want); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("output is %d bytes, not the %d-byte archive", len(b), want.Len())
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 {
		t.Fatalf("%d files beside the output, want the 3 inputs and output: %v", len(ents), ents)
	}
}
