package network

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeHost records what the store asks of the machine.
type fakeHost struct {
	hostUsed []used
	made     map[string]bool
	rules    map[string][]*Network // by root
	failRule bool
}

func newFakeHost() *fakeHost {
	return &fakeHost{made: map[string]bool{}, rules: map[string][]*Network{}}
}

func (h *fakeHost) privileged() bool       { return true }
func (h *fakeHost) taken() ([]used, error) { return h.hostUsed, nil }
func (h *fakeHost) ensureBridge(root string, n *Network) error {
	h.made[n.Bridge] = true
	return nil
}
func (h *fakeHost) removeBridge(name string) error { delete(h.made, name); return nil }
func (h *fakeHost) objects(root string, _ []string) ([]HostObject, error) {
	var out []HostObject
	for _, b := range h.madeList() {
		out = append(out, HostObject{Kind: "bridge", Name: b})
	}
	if len(h.rules[root]) > 0 {
		out = append(out, HostObject{Kind: "chain", Name: chainsOf(root).fwd})
	}
	return out, nil
}
func (h *fakeHost) syncRules(root string, nets []*Network) error {
	if h.failRule && len(nets) > 0 {
		return errors.New("iptables failed")
	}
	h.rules[root] = nets
	return nil
}
func (h *fakeHost) madeList() []string {
	var out []string
	for b := range h.made {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}
func (h *fakeHost) bridges() ([]hostBridge, error) { return nil, nil }
func (h *fakeHost) ruleRoots() ([]string, error)   { return nil, nil }

func testStore(t testing.TB) (*Store, *fakeHost) {
	t.Helper()
	h := newFakeHost()
	s := Open(t.TempDir())
	s.host = h
	return s, h
}

func TestCreateListRemove(t *testing.T) {
	ctx := context.Background()
	s, h := testStore(t)
	h.hostUsed = []used{{netip.MustParsePrefix("10.89.0.0/24"), "host interface eth1"}}
	a, err := s.Create(ctx, Config{Name: "a", Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Subnet.String() != "10.89.1.0/24" || a.Gateway.String() != "10.89.1.1" {
		t.Fatalf("subnet %s gateway %s; want the pool's first free /24 after the host's", a.Subnet, a.Gateway)
	}
	if !h.made[a.Bridge] || len(a.Bridge) > 15 || len(h.rules[s.Root()]) != 1 {
		t.Fatalf("bridge %q made %v, rules %v", a.Bridge, h.made[a.Bridge], h.rules)
	}
	b, err := s.Create(ctx, Config{Name: "b", Subnet: "192.168.7.0/24", Gateway: "192.168.7.254", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Gateway.String() != "192.168.7.254" || !b.Internal || b.HostAccess {
		t.Fatalf("b = %+v", b)
	}
	opened, err := s.Create(ctx, Config{Name: "open", Options: map[string]string{HostAccessOption: "true"}})
	if err != nil || !opened.HostAccess {
		t.Fatalf("create with host access: %+v, %v", opened, err)
	}
	if got, _ := s.Get("open"); !got.HostAccess {
		t.Fatalf("host access not recorded: %+v", got)
	}
	if _, err := s.Remove(ctx, "open"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{Name: "a"}, "already exists"},
		{Config{Name: "c", Subnet: "192.168.7.128/25"}, "overlapping subnet: 192.168.7.128/25 overlaps 192.168.7.0/24 of network b"},
		{Config{Name: "c", Subnet: "10.89.0.0/16"}, "overlaps"},
		{Config{Name: "c", Subnet: "10.1.2.3/24"}, "it should be 10.1.2.0/24"},
		{Config{Name: "c", Subnet: "nonsense"}, "invalid subnet"},
		{Config{Name: "c", Subnet: "10.7.0.0/24", Gateway: "10.8.0.1"}, "not in subnet"},
		{Config{Name: "c", Subnet: "10.7.0.0/24", Gateway: "10.7.0.255"}, "broadcast"},
		{Config{Name: "c", Gateway: "10.7.0.1"}, "needs --subnet"},
		{Config{Name: "c", Driver: "overlay"}, "invalid driver"},
		{Config{Name: "bad name!"}, "invalid network name"},
		{Config{Name: "none"}, "pre-defined"},
		{Config{Name: "host"}, "pre-defined"},
		{Config{Name: "c", Options: map[string]string{"com.docker.network.bridge.name": "br0"}}, "not supported"},
		{Config{Name: "c", Options: map[string]string{HostAccessOption: "maybe"}}, "want true or false"},
	} {
		if _, err := s.Create(ctx, tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("create %+v: %v, want %q", tt.c, err, tt.want)
		}
	}
	nets, _ := s.List()
	if len(nets) != 2 || nets[0].Name != "a" || nets[1].Name != "b" {
		t.Fatalf("list: %v", nets)
	}
	if got, err := s.Get(a.ID[:6]); err != nil || got.ID != a.ID {
		t.Fatalf("get by prefix: %v %v", got, err)
	}
	if _, err := s.Get("zzz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if _, err := s.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if h.made[a.Bridge] || len(h.rules[s.Root()]) != 1 {
		t.Fatalf("after rm: bridges %v rules %v", h.madeList(), h.rules[s.Root()])
	}
}

// A create whose firewall rules fail leaves nothing: no record, no bridge.
func TestCreateFailureLeavesNothing(t *testing.T) {
	s, h := testStore(t)
	h.failRule = true
	if _, err := s.Create(context.Background(), Config{Name: "a"}); err == nil {
		t.Fatal("create succeeded")
	}
	nets, _ := s.List()
	if len(nets) != 0 || len(h.made) != 0 {
		t.Fatalf("left %v and bridges %v", nets, h.madeList())
	}
}

func TestAttachConnectDisconnect(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	s.BoxName = func(id string) string { return "box-" + id[:3] }
	n1, _ := s.Create(ctx, Config{Name: "n1", Subnet: "10.5.0.0/29"})
	s.Create(ctx, Config{Name: "n2"})
	box := strings.Repeat("a", 64)
	other := strings.Repeat("b", 64)
	ms, err := s.Attach(ctx, box, []Attachment{{Network: "n1", Aliases: []string{"web"}}, {Network: "bridge"}})
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Endpoint.IP.String() != "10.5.0.2" || ms[0].Endpoint.Slot != 0 || ms[1].Endpoint.Slot != 1 || ms[1].Network.Name != DefaultName {
		t.Fatalf("attach: %+v %+v", ms[0].Endpoint, ms[1])
	}
	if ms[0].Endpoint.MAC != SlotMAC(box, 0) {
		t.Fatalf("MAC %s, want the slot's", ms[0].Endpoint.MAC)
	}
	// A fixed address, then the next free one skips it.
	if _, err := s.Attach(ctx, other, []Attachment{{Network: "n1", IP: "10.5.0.3"}}); err != nil {
		t.Fatal(err)
	}
	third := strings.Repeat("c", 64)
	for _, tt := range []struct {
		atts []Attachment
		want string
	}{
		{[]Attachment{{Network: "n1", IP: "10.5.0.3"}}, "already in use"},
		{[]Attachment{{Network: "n1", IP: "10.5.0.1"}}, "gateway"},
		{[]Attachment{{Network: "n1", IP: "10.6.0.9"}}, "not in subnet"},
		{[]Attachment{{Network: "nope"}}, "not found"},
		{[]Attachment{{Network: "host"}}, "cannot share the host's network stack"},
		{[]Attachment{{Network: "n1"}, {Network: "n1"}}, "named twice"},
		{[]Attachment{{Network: "n1", Aliases: []string{"bad alias"}}}, "invalid alias"},
		{[]Attachment{{Network: "n1"}, {Network: "n2"}, {Network: "bridge"}, {Network: "n2"}}, "at most 3"},
	} {
		if err := s.Check(tt.atts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("check %+v: %v, want %q", tt.atts, err, tt.want)
		}
		if _, err := s.Attach(ctx, third, tt.atts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("attach %+v: %v, want %q", tt.atts, err, tt.want)
		}
	}
	if ms, _ := s.Memberships(third); len(ms) != 0 {
		t.Fatalf("failed attaches left %v", ms)
	}
	m, err := s.Connect(ctx, other, Attachment{Network: "n2"})
	if err != nil || m.Endpoint.Slot != 1 {
		t.Fatalf("connect: %+v %v", m.Endpoint, err)
	}
	if _, err := s.Connect(ctx, other, Attachment{Network: "n2"}); !errors.Is(err, ErrMember) {
		t.Fatalf("connect twice: %v", err)
	}
	if _, err := s.Connect(ctx, box, Attachment{Network: "n2"}); err != nil {
		t.Fatal(err)
	}
	// box has all its slots now.
	n3, _ := s.Create(ctx, Config{Name: "n3"})
	if _, err := s.Connect(ctx, box, Attachment{Network: "n3"}); !errors.Is(err, ErrNoSlot) {
		t.Fatalf("a fourth network: %v", err)
	}
	// Freeing slot 0 lets the next connect have it.
	if _, err := s.Disconnect(ctx, "n1", box); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Connect(ctx, box, Attachment{Network: n3.ID}); err != nil || m.Endpoint.Slot != 0 {
		t.Fatalf("reconnect: %+v %v", m.Endpoint, err)
	}
	if _, err := s.Disconnect(ctx, "n1", box); !errors.Is(err, ErrNotMember) {
		t.Fatalf("disconnect twice: %v", err)
	}
	if _, err := s.Remove(ctx, "n2"); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "box-aaa") {
		t.Fatalf("remove in use: %v", err)
	}
	if _, err := s.Remove(ctx, DefaultName); err == nil {
		t.Fatal("removed the default network")
	}
	idx, _ := s.Index()
	if len(idx[box]) != 3 || len(idx[other]) != 2 {
		t.Fatalf("index: %v", idx)
	}
	if err := s.Release(ctx, box); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, other); err != nil {
		t.Fatal(err)
	}
	pruned, err := s.Prune(ctx, func(n *Network) bool { return n.Name == "n3" })
	if err != nil || !slices.Equal(pruned, []string{"n1", "n2"}) {
		t.Fatalf("prune: %v %v", pruned, err)
	}
	nets, _ := s.List()
	var names []string
	for _, n := range nets {
		names = append(names, n.Name)
	}
	// The unused default network went too, unnamed, with its bridge.
	if !slices.Equal(names, []string{"n3"}) {
		t.Fatalf("left %v", names)
	}
	if objs, _ := s.HostObjects(nil); len(objs) != 2 || objs[0].Name != BridgeName(s.root, nets[0].ID) {
		t.Fatalf("host objects after prune: %+v", objs)
	}
	_ = n1
}

// Restore puts an endpoint back with its address and slot.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	s.Create(ctx, Config{Name: "n"})
	box := strings.Repeat("d", 64)
	m, _ := s.Connect(ctx, box, Attachment{Network: "n"})
	gone, _ := s.Disconnect(ctx, "n", box)
	if _, err := s.Restore(ctx, gone); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Memberships(box)
	if len(ms) != 1 || ms[0].Endpoint.IP != m.Endpoint.IP || ms[0].Endpoint.Slot != m.Endpoint.Slot {
		t.Fatalf("restored %+v, want %+v", ms, m.Endpoint)
	}
}

func TestNames(t *testing.T) {
	root := "/var/lib/a3s-box"
	id := strings.Repeat("e", 64)
	if b := BridgeName(root, id); len(b) > 15 || !strings.HasPrefix(b, bridgePrefix) || b == BridgeName("/other", id) {
		t.Fatalf("bridge name %q", b)
	}
	for slot := 0; slot < Slots; slot++ {
		if n := TapName(root, id, slot); len(n) > 15 || !strings.HasPrefix(n, tapPrefix) {
			t.Fatalf("tap name %q", n)
		}
	}
	if TapName(root, id, 0) == TapName(root, id, 1) || SlotMAC(id, 0) == SlotMAC(id, 1) {
		t.Fatal("slots share a name or MAC")
	}
	if mac := SlotMAC(id, 2); !strings.HasPrefix(mac, "02:") || len(mac) != 17 {
		t.Fatalf("MAC %q is not a locally administered unicast address", mac)
	}
}

// The store's records survive a reopen, as written.
func TestRecordsOnDisk(t *testing.T) {
	ctx := context.Background()
	s, h := testStore(t)
	n, _ := s.Create(ctx, Config{Name: "n"})
	if _, err := os.Stat(filepath.Join(s.Root(), "networks", n.ID+".json")); err != nil {
		t.Fatal(err)
	}
	again := Open(s.Root())
	again.host = h
	got, err := again.Get("n")
	if err != nil || got.Subnet != n.Subnet || got.Bridge != n.Bridge {
		t.Fatalf("reopened: %+v %v", got, err)
	}
}
