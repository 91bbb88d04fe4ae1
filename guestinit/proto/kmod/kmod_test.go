package kmod

import (
	"reflect"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for file, want := range map[string]string{
		"kernel/fs/ext4/ext4.ko":               "ext4",
		"kernel/crypto/crc32c-intel.ko.xz":     "crc32c_intel",
		" kernel/drivers/virtio/virtio.ko.zst": "virtio",
		"9pnet_virtio.ko":                      "9pnet_virtio",
		"no-suffix":                            "no_suffix",
	} {
		if got := Name(file); got != want {
			t.Errorf("Name(%q) = %q, want %q", file, got, want)
		}
	}
}

// checkErr fails the test unless err is the error wanted (one containing
// want, or none when want is empty), and says whether to check the result.
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatal(err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error = %v, want one containing %q", err, want)
	}
	return want == ""
}

func TestReadDep(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Dep
		wantErr string
	}{
		{
			name: "file order, paths as written",
			in:   "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\nkernel/lib/crc16.ko:\n",
			want: []Dep{
				{Line: 1, Path: "kernel/fs/ext4/ext4.ko", Name: "ext4", Deps: []string{"kernel/lib/crc16.ko", "kernel/fs/jbd2/jbd2.ko"}},
				{Line: 2, Path: "kernel/lib/crc16.ko", Name: "crc16", Deps: []string{}},
			},
		},
		{
			name: "comments, blank lines and spaces",
			in:   "# depmod\n\n  a-b.ko.xz :  c.ko  \n",
			want: []Dep{{Line: 3, Path: "a-b.ko.xz", Name: "a_b", Deps: []string{"c.ko"}}},
		},
		{name: "empty", in: ""},
		{name: "no colon", in: "a.ko:\nb.ko\n", wantErr: "line 2: want"},
		{name: "no module", in: ": a.ko\n", wantErr: "line 1: want"},
		{name: "listed twice", in: "x/a-b.ko:\ny/a_b.ko:\n", wantErr: "line 2: module a_b listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadDep(strings.NewReader(tt.in))
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			for i := range got {
				if len(got[i].Deps) == 0 {
					got[i].Deps = []string{}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadDep =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestReadSoftdep(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		pre, post map[string][]string
		wantErr   string
	}{
		{
			name: "pre and post, names normalized",
			in:   "# Soft dependencies\nsoftdep ext4 pre: crc32c-generic post: foo_bar\n",
			pre:  map[string][]string{"ext4": {"crc32c_generic"}},
			post: map[string][]string{"ext4": {"foo_bar"}},
		},
		{
			name: "words before pre: ignored, lines add up",
			in:   "softdep d c\nsoftdep d pre: b\nsoftdep d-x pre: a\nsoftdep d pre: a\n",
			pre:  map[string][]string{"d": {"b", "a"}, "d_x": {"a"}},
			post: map[string][]string{},
		},
		{name: "empty", pre: map[string][]string{}, post: map[string][]string{}},
		{name: "not a softdep", in: "alias x a\n", wantErr: "line 1: want"},
		{name: "no module", in: "\nsoftdep\n", wantErr: "line 2: want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSoftdep(strings.NewReader(tt.in))
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if !reflect.DeepEqual(got.Pre, tt.pre) || !reflect.DeepEqual(got.Post, tt.post) {
				t.Errorf("ReadSoftdep = pre %v post %v, want pre %v post %v", got.Pre, got.Post, tt.pre, tt.post)
			}
		})
	}
}

// FuzzRead feeds arbitrary bytes to both readers: they must never panic,
// and what they accept must be well formed: every module once, named by
// its file, and only normalized names.
func FuzzRead(f *testing.F) {
	f.Add("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko\nkernel/lib/crc16.ko:\n", "softdep ext4 pre: crc32c-generic post: x\n")
	f.Add("# c\n\n a.ko.xz : b.ko\n", "softdep a b pre: pre: post:\n")
	f.Add("a.ko\n", "softdep\n")
	f.Fuzz(func(t *testing.T, dep, softdep string) {
		if deps, err := ReadDep(strings.NewReader(dep)); err == nil {
			seen := map[string]bool{}
			for _, d := range deps {
				if d.Path == "" || d.Name != Name(d.Path) || seen[d.Name] {
					t.Fatalf("bad module %+v in %+v", d, deps)
				}
				seen[d.Name] = true
				for _, q := range d.Deps {
					if q == "" || strings.TrimSpace(q) != q {
						t.Fatalf("module %s has dependency %q", d.Name, q)
					}
				}
			}
		}
		s, err := ReadSoftdep(strings.NewReader(softdep))
		if err != nil {
			return
		}
		for _, m := range []map[string][]string{s.Pre, s.Post} {
			for name, names := range m {
				for _, n := range append([]string{name}, names...) {
					if n == "" || Normalize(n) != n {
						t.Fatalf("name %q not normalized", n)
					}
				}
			}
		}
	})
}
