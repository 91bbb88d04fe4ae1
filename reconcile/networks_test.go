package reconcile

import (
	"reflect"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func TestMachineBoxNetworks(t *testing.T) {
	s := &spec.Stack{
		Name: "shop",
		Boxes: map[string]spec.Box{
			"web": {Image: "busybox"},
			"api": {Image: "busybox", Networks: []spec.NetworkAttachment{
				{Name: "back", Aliases: []string{"api", "api.internal"}, IPv4Address: "10.1.2.5"},
				{Name: "ext"}, {Name: spec.DefaultNetwork},
			}},
		},
		Networks: map[string]spec.Network{
			"back": {Subnet: "10.1.2.0/24"},
			"ext":  {External: true},
		},
	}
	want := map[string][]spec.NetworkAttachment{
		"web": {{Name: "shop_default", Aliases: []string{"web"}}},
		"api": {
			{Name: "shop_back", Aliases: []string{"api", "api.internal"}, IPv4Address: "10.1.2.5"},
			{Name: "ext", Aliases: []string{"api"}},
			{Name: "shop_default", Aliases: []string{"api"}},
		},
	}
	for name, w := range want {
		if got := machineBox(s, s.Name, name).Networks; !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %+v, want %+v", name, got, w)
		}
	}
	// The implicit stack's boxes name machine networks already.
	imp := &spec.Stack{Name: ImplicitStack, Boxes: map[string]spec.Box{"x": {Networks: []spec.NetworkAttachment{{Name: "front"}}}}}
	if got := machineBox(imp, ImplicitStack, "x").Networks; len(got) != 1 || got[0].Name != "front" || got[0].Aliases != nil {
		t.Errorf("implicit: %+v", got)
	}
	// The desired state the planner and executor get has machine names;
	// the stored stack keeps its keys.
	d := DesiredFromStack(s)
	if d[0].Name != "api" || d[0].Spec.Networks[0].Name != "shop_back" || s.Boxes["api"].Networks[0].Name != "back" {
		t.Errorf("desired %+v, stack %+v", d[0].Spec.Networks, s.Boxes["api"].Networks)
	}
}
