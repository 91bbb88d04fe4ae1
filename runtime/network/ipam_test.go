package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNextSubnet(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		taken []used
		want  string
	}{
		{nil, "10.89.0.0/24"},
		{[]used{{p("10.89.0.0/24"), ""}, {p("10.89.1.0/25"), ""}}, "10.89.2.0/24"},
		{[]used{{p("10.89.0.0/16"), ""}}, "10.90.0.0/24"},
		{[]used{{p("10.0.0.0/8"), ""}}, ""},
		{[]used{{p("10.89.0.77/32"), ""}}, "10.89.1.0/24"},
	}
	for _, tt := range tests {
		got, err := nextSubnet(tt.taken)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "no free subnet") {
				t.Errorf("taken %v: %v %v, want no free subnet", tt.taken, got, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("taken %v: %v %v, want %s", tt.taken, got, err, tt.want)
		}
	}
}

func TestNextAddr(t *testing.T) {
	n := &Network{Name: "n", Subnet: netip.MustParsePrefix("10.1.0.0/30"), Gateway: netip.MustParseAddr("10.1.0.1"), Endpoints: map[string]*Endpoint{}}
	a, err := nextAddr(n)
	if err != nil || a.String() != "10.1.0.2" {
		t.Fatalf("first: %v %v", a, err)
	}
	n.Endpoints["x"] = &Endpoint{IP: a}
	if _, err := nextAddr(n); err == nil || !strings.Contains(err.Error(), "every address") {
		t.Fatalf("full /30: %v", err)
	}
	// A gateway that is not the first address leaves the first free.
	n = &Network{Name: "n", Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.254"), Endpoints: map[string]*Endpoint{}}
	if a, _ := nextAddr(n); a.String() != "10.1.0.1" {
		t.Fatalf("got %v", a)
	}
}

func TestPlanSubnet(t *testing.T) {
	taken := []used{{netip.MustParsePrefix("192.0.2.0/24"), "host interface eth0"}}
	if _, _, err := planSubnet("192.0.2.128/25", "", taken); err == nil || !strings.Contains(err.Error(), "overlapping subnet: 192.0.2.128/25 overlaps 192.0.2.0/24 of host interface eth0") {
		t.Fatalf("overlap: %v", err)
	}
	p, gw, err := planSubnet("172.30.0.0/16", "172.30.9.9", taken)
	if err != nil || p.String() != "172.30.0.0/16" || gw.String() != "172.30.9.9" {
		t.Fatalf("%v %v %v", p, gw, err)
	}
	if _, _, err := planSubnet("172.30.0.0/31", "", nil); err == nil || !strings.Contains(err.Error(), "at most /30") {
		t.Fatalf("/31: %v", err)
	}
	if _, _, err := planSubnet("fd00::/64", "", nil); err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Fatalf("IPv6: %v", err)
	}
}
