package spec

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMount(t *testing.T) {
	tests := []struct {
		in    string
		want  Mount
		tmpfs *Tmpfs
		err   string
	}{
		{in: "type=bind,source=/h,target=/b", want: Mount{Type: MountBind, Source: "/h", Target: "/b", NoCreate: true}},
		{in: "type=bind,src=/h,dst=/b,readonly,bind-create-src", want: Mount{Type: MountBind, Source: "/h", Target: "/b", ReadOnly: true}},
		{in: "type=bind,src=/h,destination=/b,ro=false,bind-propagation=rprivate", want: Mount{Type: MountBind, Source: "/h", Target: "/b", NoCreate: true}},
		{in: "source=data,target=/d", want: Mount{Type: MountVolume, Source: "data", Target: "/d"}},
		{in: "target=/anon", want: Mount{Type: MountVolume, Target: "/anon"}},
		{in: `type=volume,src=data,dst=/d,volume-nocopy,volume-opt=type=none,"volume-opt=o=bind",volume-label=a=b,volume-driver=local,consistency=cached`,
			want: Mount{Type: MountVolume, Source: "data", Target: "/d", NoCopy: true,
				VolumeOptions: map[string]string{"type": "none", "o": "bind"}, VolumeLabels: map[string]string{"a": "b"}}},
		{in: "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700,readonly=true", tmpfs: &Tmpfs{Target: "/t", Size: 1 << 20, Mode: 0o700, Options: []string{"ro"}}},
		{in: "type=bind,source=/h,target=/b,foo=1", err: `unknown key "foo"`},
		{in: "type=bind,target=/b", err: "needs a source"},
		{in: "type=volume,source=/h,target=/b", err: "use type=bind"},
		{in: "type=tmpfs,source=x,target=/t", err: "has no source"},
		{in: "type=bind,source=/h", err: "target is required"},
		{in: "type=nfs,target=/b", err: `type "nfs"`},
		{in: "type=bind,source=/h,target=/b,tmpfs-size=1m", err: "tmpfs-size is for type=tmpfs"},
		{in: "type=bind,source=/h,target=/b,bind-propagation=rshared", err: "only rprivate"},
		{in: "type=volume,target=/b,volume-driver=nfs", err: "local driver only"},
		{in: "type=bind,source=/h,target=/b,readonly=maybe", err: "want true or false"},
		{in: "type=bind,source=/h,target=/b,target=/c", err: "given twice"},
		{in: "type=bind,source", err: "not a key=value pair"},
		{in: `type=bind,"source=/h`, err: "invalid --mount"},
	}
	for _, tt := range tests {
		m, tmp, err := ParseMount(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseMount(%q) = %+v, %+v, %v; want an error naming %q", tt.in, m, tmp, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(m, tt.want) || !reflect.DeepEqual(tmp, tt.tmpfs) {
			t.Errorf("ParseMount(%q) = %+v, %+v, %v; want %+v, %+v", tt.in, m, tmp, err, tt.want, tt.tmpfs)
		}
	}
}

func TestCheckMounts(t *testing.T) {
	tests := []struct {
		box Box
		err string
	}{
		{Box{Volumes: []Mount{{Type: MountVolume, Source: "a", Target: "/a"}, {Type: MountBind, Source: "/h", Target: "/h"}}, Tmpfs: []Tmpfs{{Target: "/t"}}}, ""},
		{Box{Volumes: []Mount{{Type: MountVolume, Source: "a", Target: "rel"}}}, "not an absolute path"},
		{Box{Volumes: []Mount{{Type: MountVolume, Source: "a", Target: "/"}}}, "cannot mount over /"},
		{Box{Volumes: []Mount{{Type: MountVolume, Source: "a", Target: "/a"}}, Tmpfs: []Tmpfs{{Target: "/a/"}}}, "duplicate mount point: /a"},
		{Box{Volumes: []Mount{{Type: MountBind, Source: "rel", Target: "/a"}}}, "not an absolute path"},
		{Box{Tmpfs: []Tmpfs{{Target: "/t", Options: []string{"huge"}}}}, `option "huge"`},
	}
	for _, tt := range tests {
		err := CheckMounts(&tt.box)
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CheckMounts(%+v) = %v; want %q", tt.box, err, tt.err)
		}
	}
}

func TestVolumeName(t *testing.T) {
	s := &Stack{Name: "shop", Volumes: map[string]Volume{"data": {}, "named": {Name: "x-data"}, "ext": {External: true}, "extnamed": {External: true, Name: "other"}}}
	for key, want := range map[string]string{"data": "shop_data", "named": "x-data", "ext": "ext", "extnamed": "other"} {
		if got := s.VolumeName(key); got != want {
			t.Errorf("VolumeName(%q) = %q, want %q", key, got, want)
		}
	}
}
