package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto/kmod"
)

// debianDep is the modules.dep a Debian 6.1 initramfs carries, listed in
// depmod's order, which is not a load order.
const debianDep = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/crypto/crc32c_generic.ko:
`

func TestModuleOrder(t *testing.T) {
	tests := []struct {
		name          string
		dep, softdep  string
		want          []string
		wantErrSubstr string
	}{
		{
			name: "dependencies first, whatever the file order",
			dep:  "a.ko: b.ko c.ko\nb.ko: c.ko\nc.ko:\n",
			want: []string{"c.ko", "b.ko", "a.ko"},
		},
		{
			name: "shared dependencies load once",
			dep:  "x/a.ko: x/c.ko\nx/b.ko: x/c.ko\nx/c.ko:\n",
			want: []string{"x/c.ko", "x/a.ko", "x/b.ko"},
		},
		{
			name:    "softdep pre loads before, post right after",
			dep:     "b.ko:\nc.ko:\na.ko:\n",
			softdep: "softdep b pre: c post: a\n",
			want:    []string{"c.ko", "b.ko", "a.ko"},
		},
		{
			name:    "softdeps on absent modules are ignored",
			dep:     "fs/ext4.ko:\n",
			softdep: "softdep ext4 pre: crc32c_generic post: ghost\nsoftdep ghost pre: ext4\n",
			want:    []string{"fs/ext4.ko"},
		},
		{
			name:    "dashes and underscores are one",
			dep:     "crypto/crc32c-intel.ko:\nfs/foo_bar.ko:\n",
			softdep: "softdep foo-bar pre: crc32c_intel\n",
			want:    []string{"crypto/crc32c-intel.ko", "fs/foo_bar.ko"},
		},
		{
			name:    "words before pre: are ignored, lines add up",
			dep:     "d.ko:\nc.ko:\nb.ko:\na.ko:\n",
			softdep: "softdep d c\nsoftdep d pre: b\nsoftdep d pre: a\n",
			want:    []string{"b.ko", "a.ko", "d.ko", "c.ko"},
		},
		{
			name:    "soft cycle loads both",
			dep:     "a.ko:\nb.ko:\n",
			softdep: "softdep a pre: b\nsoftdep b pre: a\n",
			want:    []string{"b.ko", "a.ko"},
		},
		{
			name: "comments, blank lines and compressed modules",
			dep:  "# generated\n\n  a.ko.xz: b.ko.zst\nb.ko.zst:\n",
			want: []string{"b.ko.zst", "a.ko.xz"},
		},
		{
			name:    "debian ext4 with its crc32c softdep",
			dep:     debianDep,
			softdep: "# Soft dependencies\nsoftdep ext4 pre: crc32c_generic\nsoftdep jbd2 pre: crc32c_generic\n",
			want: []string{
				"kernel/crypto/crc32c_generic.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko",
				"kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko",
				"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
				"kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko",
				"kernel/drivers/net/virtio_net.ko",
			},
		},
		{name: "empty", want: nil},
		{name: "line without colon", dep: "a.ko\n", wantErrSubstr: "line 1"},
		{name: "module listed twice", dep: "a.ko:\nx/a.ko:\n", wantErrSubstr: "a listed twice"},
		{name: "missing hard dependency", dep: "a.ko: b.ko\n", wantErrSubstr: "module a: dependency b: not in modules.dep"},
		{name: "hard cycle", dep: "a.ko: b.ko\nb.ko: a.ko\n", wantErrSubstr: "cycle"},
		{name: "bad softdep line", dep: "a.ko:\n", softdep: "alias x a\n", wantErrSubstr: "modules.softdep: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := moduleOrder(strings.NewReader(tt.dep), strings.NewReader(tt.softdep))
			if tt.wantErrSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
					t.Fatalf("moduleOrder error = %v, want one containing %q", err, tt.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("moduleOrder: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("moduleOrder =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

// FuzzModuleOrder checks, for any modules.dep and modules.softdep that
// moduleOrder accepts, that every module is loaded exactly once and after
// all of its dependencies.
func FuzzModuleOrder(f *testing.F) {
	f.Add(debianDep, "softdep ext4 pre: crc32c_generic\n")
	f.Add("a.ko: b.ko c.ko\nb.ko: c.ko\nc.ko:\n", "softdep c pre: a post: b\n")
	f.Add("a.ko: b.ko\nb.ko: a.ko\n", "")
	f.Add("a-b.ko:\na_b.ko:\n", "softdep a pre: pre: post:\n")
	f.Fuzz(func(t *testing.T, dep, softdep string) {
		order, err := moduleOrder(strings.NewReader(dep), strings.NewReader(softdep))
		if err != nil {
			return
		}
		pos := map[string]int{}
		for i, p := range order {
			if _, dup := pos[kmod.Name(p)]; dup {
				t.Fatalf("module %s loaded twice: %q", p, order)
			}
			pos[kmod.Name(p)] = i
		}
		_ = kmod.Lines(strings.NewReader(dep), func(_ int, line string) error {
			p, rest, _ := strings.Cut(line, ":")
			m := kmod.Name(p)
			at, ok := pos[m]
			if !ok {
				t.Fatalf("module %s of modules.dep not loaded: %q", m, order)
			}
			for _, d := range strings.Fields(rest) {
				if pos[kmod.Name(d)] >= at {
					t.Fatalf("module %s loaded before its dependency %s: %q", m, d, order)
				}
			}
			return nil
		})
	})
}
