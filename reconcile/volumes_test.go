package reconcile

import (
	"context"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func TestStackBoxNamesVolumes(t *testing.T) {
	s := &spec.Stack{Name: "shop", Volumes: map[string]spec.Volume{"data": {}, "ext": {External: true}, "named": {Name: "shared"}},
		Boxes: map[string]spec.Box{"db": {Image: "busybox", Volumes: []spec.Mount{
			{Type: spec.MountVolume, Source: "data", Target: "/data"},
			{Type: spec.MountVolume, Source: "ext", Target: "/ext"},
			{Type: spec.MountVolume, Source: "named", Target: "/named"},
			{Type: spec.MountVolume, Target: "/anon"},
			{Type: spec.MountBind, Source: "/data", Target: "/host"},
		}}}}
	b := stackBox(s, "db")
	var got []string
	for _, m := range b.Volumes {
		got = append(got, m.Source)
	}
	if strings.Join(got, " ") != "shop_data ext shared  /data" {
		t.Errorf("sources %q", got)
	}
	if s.Boxes["db"].Volumes[0].Source != "data" {
		t.Error("stackBox changed the stack")
	}
	// The hash is the stack's, not the machine names': plan and apply agree.
	d := DesiredFromStack(s)
	if d[0].Spec.Volumes[0].Source != "shop_data" || d[0].Hash != ConfigHash(s, "db") {
		t.Errorf("desired %+v", d[0])
	}
}

func TestMissingVolumes(t *testing.T) {
	rt := newFakeRuntime()
	s := &spec.Stack{Name: "shop", File: "shop.yaml", Volumes: map[string]spec.Volume{"aa": {External: true}, "b": {External: true, Name: "bee"}, "c": {}}}
	err := MissingVolumes(rt, s)
	if errs := spec.Errors(err); len(errs) != 2 || !strings.Contains(errs[0].Error(), `shop.yaml: volumes.aa: external volume "aa" does not exist`) || !strings.Contains(errs[1].Error(), `external volume "bee"`) {
		t.Fatalf("MissingVolumes = %v", err)
	}
	for _, n := range []string{"aa", "bee"} {
		if err := rt.CreateVolume(context.Background(), n, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := MissingVolumes(rt, s); err != nil {
		t.Fatalf("MissingVolumes with the volumes made: %v", err)
	}
}
