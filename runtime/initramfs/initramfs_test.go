package initramfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// fakeKernel writes a modules directory shaped like Debian's: a few
// modules, their depmod indexes, and built-in code with aliases.
func fakeKernel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.1.0-99-amd64")
	files := map[string]string{
		"modules.dep": `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/drivers/unrelated.ko:
kernel/fs/btrfs/btrfs.ko:
`,
		"modules.softdep": `# Soft dependencies extracted from modules themselves.
softdep ext4 pre: crypto-crc32c
softdep jbd2 pre: crypto-crc32c
softdep 9p post: ghost-alias
softdep btrfs pre: crypto-xxhash64
`,
		"modules.alias": `# Aliases extracted from modules themselves.
alias crypto-crc32c crc32c_generic
alias crc32c crc32c_generic
alias crypto-crc32c crc32c-intel
alias fs-9p* 9p
alias fs-unrelated unrelated
`,
		"modules.builtin":         "kernel/net/unix/unix.ko\nkernel/crypto/xxhash_generic.ko\n",
		"modules.builtin.modinfo": "xxhash_generic.alias=crypto-xxhash64\x00xxhash_generic.license=GPL\x00unix.alias=net-pf-1\x00",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(files["modules.dep"]), "\n") {
		p, _, _ := strings.Cut(line, ":")
		f := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("module "+p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestClosure(t *testing.T) {
	ix, err := readModIndex(fakeKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		wanted      []string
		wantNames   []string
		wantDep     string
		wantSoftdep string
		wantErr     error
	}{
		{
			name:      "dependencies and aliased softdeps",
			wanted:    []string{"ext4"},
			wantNames: []string{"ext4", "mbcache", "jbd2", "crc16", "crc32c_generic", "crc32c_intel"},
			wantDep: `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
`,
			wantSoftdep: "softdep ext4 pre: crc32c_generic crc32c_intel\nsoftdep jbd2 pre: crc32c_generic crc32c_intel\n",
		},
		{
			name:      "aliases, dashes, built-ins, unresolvable softdeps",
			wanted:    []string{"fs-9p", "unix", "net-pf-1", "crc32c-generic"},
			wantNames: []string{"crc32c_generic", "9p", "9pnet", "netfs"},
			wantDep: `kernel/crypto/crc32c_generic.ko:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko:
`,
		},
		{
			name:      "softdep on built-in code",
			wanted:    []string{"btrfs"},
			wantNames: []string{"btrfs"},
			wantDep:   "kernel/fs/btrfs/btrfs.ko:\n",
		},
		{name: "nothing wanted", wanted: []string{}},
		{name: "unknown module", wanted: []string{"overlay", "nosuch"}, wantErr: ErrNoModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ix.closure(tt.wanted)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("closure error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := s.names()
			if !slices.Equal(got, tt.wantNames) {
				t.Errorf("names = %q, want %q", got, tt.wantNames)
			}
			if d := string(s.depFile()); d != tt.wantDep {
				t.Errorf("modules.dep =\n%s\nwant\n%s", d, tt.wantDep)
			}
			soft := strings.SplitN(string(s.softdepFile()), "\n", 2)
			if !strings.HasPrefix(soft[0], "#") || soft[1] != tt.wantSoftdep {
				t.Errorf("modules.softdep =\n%s\nwant a comment and\n%s", s.softdepFile(), tt.wantSoftdep)
			}
		})
	}
}

func TestReadModIndexErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no modules.dep":          {},
		"modules.dep line":        {"modules.dep": "kernel/a.ko\n"},
		"modules.dep duplicate":   {"modules.dep": "a.ko:\nb/a.ko:\n"},
		"modules.softdep keyword": {"modules.dep": "a.ko:\n", "modules.softdep": "soft a pre: b\n"},
		"modules.alias fields":    {"modules.dep": "a.ko:\n", "modules.alias": "alias a\n"},
		"path out of the tree":    {"modules.dep": "../../../init.ko:\n"},
		"absolute dependency":     {"modules.dep": "a.ko: /etc/shadow\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for n, body := range files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := readModIndex(dir); err == nil {
				t.Fatal("readModIndex succeeded")
			}
		})
	}
}

func TestBuild(t *testing.T) {
	modDir := fakeKernel(t)
	initBin := filepath.Join(t.TempDir(), "guestinit")
	if err := os.WriteFile(initBin, []byte("\x7fELF guestinit"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{ModulesDir: modDir, Init: initBin, Modules: []string{"ext4", "overlay"}}
	var a, b bytes.Buffer
	if err := Build(context.Background(), opts, &a); err != nil {
		t.Fatal(err)
	}
	if err := Build(context.Background(), opts, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two builds of the same inputs differ")
	}
	entries, err := readNewc(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cpioEntry{}
	var names []string
	for _, e := range entries {
		if _, dup := got[e.name]; dup {
			t.Errorf("%s twice in the archive", e.name)
		}
		got[e.name] = e
		names = append(names, e.name)
		if e.mtime != 0 {
			t.Errorf("%s: mtime %d, want 0 for a reproducible archive", e.name, e.mtime)
		}
		if parent := filepath.Dir(e.name); parent != "." && got[parent].mode&syscall.S_IFMT != syscall.S_IFDIR {
			t.Errorf("%s comes before its directory %s", e.name, parent)
		}
	}
	const rel = "lib/modules/6.1.0-99-amd64/"
	want := map[string]struct {
		mode uint32
		data string
	}{
		"init":                         {syscall.S_IFREG | 0o755, "\x7fELF guestinit"},
		"dev/console":                  {syscall.S_IFCHR | 0o600, ""},
		"tmp":                          {syscall.S_IFDIR | syscall.S_ISVTX | 0o777, ""},
		"proc":                         {syscall.S_IFDIR | 0o555, ""},
		rel + "kernel/fs/ext4/ext4.ko": {syscall.S_IFREG | 0o644, "module kernel/fs/ext4/ext4.ko"},
		rel + "kernel/arch/x86/crypto/crc32c-intel.ko": {syscall.S_IFREG | 0o644, "module kernel/arch/x86/crypto/crc32c-intel.ko"},
		rel + "kernel/fs/overlayfs/overlay.ko":         {syscall.S_IFREG | 0o644, "module kernel/fs/overlayfs/overlay.ko"},
		rel + "modules.softdep": {syscall.S_IFREG | 0o644, "# Soft dependencies of the modules in this initramfs, aliases resolved.\n" +
			"softdep ext4 pre: crc32c_generic crc32c_intel\nsoftdep jbd2 pre: crc32c_generic crc32c_intel\n"},
	}
	for name, w := range want {
		e, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the archive", name)
			continue
		}
		if e.mode != w.mode || e.data != w.data {
			t.Errorf("%s: mode %o data %q, want mode %o data %q", name, e.mode, e.data, w.mode, w.data)
		}
	}
	if c := got["dev/console"]; c.rmaj != 5 || c.rmin != 1 {
		t.Errorf("dev/console is %d:%d, want 5:1", c.rmaj, c.rmin)
	}
	for _, absent := range []string{rel + "kernel/fs/9p/9p.ko", rel + "kernel/drivers/unrelated.ko", rel + "modules.alias"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s is in the archive but not wanted", absent)
		}
	}
	var kos []string
	for _, n := range names {
		if strings.HasSuffix(n, ".ko") {
			kos = append(kos, n)
		}
	}
	if len(kos) != 7 || !strings.Contains(got[rel+"modules.dep"].data, "kernel/fs/overlayfs/overlay.ko:\n") ||
		strings.Count(got[rel+"modules.dep"].data, "\n") != len(kos) {
		t.Errorf("modules %q do not match modules.dep:\n%s", kos, got[rel+"modules.dep"].data)
	}
}

func TestBuildErrors(t *testing.T) {
	modDir := fakeKernel(t)
	initBin := filepath.Join(t.TempDir(), "guestinit")
	os.WriteFile(initBin, []byte("init"), 0o755)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		opts Options
		want string
	}{
		{"no init", context.Background(), Options{ModulesDir: modDir}, "need the init binary"},
		{"init missing", context.Background(), Options{ModulesDir: modDir, Init: initBin + ".nope", Modules: []string{}}, "no such file"},
		{"init is a directory", context.Background(), Options{ModulesDir: modDir, Init: modDir, Modules: []string{}}, "not a regular file"},
		{"modules dir without modules.dep", context.Background(), Options{ModulesDir: t.TempDir(), Init: initBin}, "modules.dep"},
		{"unknown module", context.Background(), Options{ModulesDir: modDir, Init: initBin, Modules: []string{"nosuch"}}, "module nosuch: no such module"},
		{"default modules not in this kernel", context.Background(), Options{ModulesDir: modDir, Init: initBin}, "virtio_mmio"},
		{"release with a slash", context.Background(), Options{ModulesDir: modDir, Init: initBin, Release: "../x"}, "not a plain name"},
		{"canceled", canceled, Options{ModulesDir: modDir, Init: initBin, Modules: []string{}}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Build(tt.ctx, tt.opts, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzClosure feeds arbitrary module indexes to the parsers and checks
// that any closure they accept is closed under hard dependencies and
// keeps every module inside the modules directory.
func FuzzClosure(f *testing.F) {
	f.Add("kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\nkernel/fs/jbd2/jbd2.ko:\nkernel/crypto/crc32c_generic.ko:\n",
		"softdep ext4 pre: crypto-crc32c\n", "alias crypto-crc32c crc32c_generic\n", "ext4")
	f.Add("a.ko: b.ko\nb.ko: a.ko\n", "softdep a post: a\n", "alias x* a\n", "x1 b")
	f.Add("../a.ko:\n", "", "alias [ a\n", "a")
	f.Fuzz(func(t *testing.T, dep, softdep, alias, wanted string) {
		ix := &modIndex{path: map[string]string{}, deps: map[string][]string{},
			pre: map[string][]string{}, post: map[string][]string{}, builtin: map[string]bool{}}
		if ix.parseDep(strings.NewReader(dep)) != nil || ix.parseSoftdep(strings.NewReader(softdep)) != nil ||
			ix.parseAlias(strings.NewReader(alias)) != nil {
			return
		}
		s, err := ix.closure(strings.Fields(wanted))
		if err != nil {
			return
		}
		names := s.names()
		for _, m := range names {
			if !filepath.IsLocal(ix.path[m]) {
				t.Fatalf("module %s at %q, outside the modules directory", m, ix.path[m])
			}
			for _, d := range ix.deps[m] {
				if !s.in[d] {
					t.Fatalf("module %s in the closure without its dependency %s", m, d)
				}
			}
			for _, d := range append(s.pre[m], s.post[m]...) {
				if !s.in[d] {
					t.Fatalf("module %s has softdep %s outside the closure", m, d)
				}
			}
		}
		if got := strings.Count(string(s.depFile()), "\n"); got != len(names) {
			t.Fatalf("modules.dep has %d lines for %d modules", got, len(names))
		}
	})
}
