package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

// A box's network side. At create the box joins its networks (an
// address on each, kept until it leaves or is removed). Its supervisor
// binds its published ports, makes one tap per NIC slot (network.Slots)
// and plugs the slots in use into their networks' bridges before the VM
// boots with a NIC per tap; Setup tells the guest each slot's address and
// the default route, and starts its DNS relay, whose queries the
// supervisor answers (network.Resolver). Connect and disconnect on a
// running box plug or unplug a spare slot and send the guest the new set
// (a Network message).

// wantsNone reports a box created with --network none: no NIC at all.
func wantsNone(b *spec.Box) bool {
	return len(b.Networks) == 1 && b.Networks[0].Name == network.NoneName
}

// attachments are the networks a new box joins: those it names, else the
// default one.
func attachments(b *spec.Box) []network.Attachment {
	if wantsNone(b) {
		return nil
	}
	if len(b.Networks) == 0 {
		return []network.Attachment{{Network: network.DefaultName}}
	}
	out := make([]network.Attachment, len(b.Networks))
	for i, n := range b.Networks {
		out[i] = network.Attachment{Network: n.Name, Aliases: n.Aliases, IP: n.IPv4Address}
	}
	return out
}

// checkNetworks refuses, before anything is made, a box whose networks
// or ports cannot be had: an unknown network, host, none among others,
// more networks than slots, an address taken or outside the subnet, or a
// host port in use.
func (r *Runtime) checkNetworks(b *spec.Box) error {
	for _, n := range b.Networks {
		if n.Name == network.NoneName && len(b.Networks) > 1 {
			return errors.New("network none cannot be combined with other networks")
		}
	}
	if wantsNone(b) {
		if len(b.Ports) > 0 {
			return errors.New("published ports need a network: a box on network none has no NIC")
		}
		return nil
	}
	if r.Networks == nil {
		return nil
	}
	if !network.Privileged() {
		if len(b.Networks) > 0 || len(b.Ports) > 0 {
			return fmt.Errorf("--network and -p: %w", network.ErrPrivileged)
		}
		return nil
	}
	if err := r.Networks.Check(attachments(b)); err != nil {
		return err
	}
	return network.CheckFree(b.Ports)
}

// joinNetworks makes a new box's endpoints. A box that names no network
// joins the default one, when this process may make bridges; otherwise it
// gets none, with a warning.
func (r *Runtime) joinNetworks(ctx context.Context, rec *BoxRecord) error {
	atts := attachments(&rec.Spec)
	if len(atts) == 0 || r.Networks == nil {
		return nil
	}
	if len(rec.Spec.Networks) == 0 && !network.Privileged() {
		r.warnf("box %s has no network: %v", rec.Name, network.ErrPrivileged)
		return nil
	}
	_, err := r.Networks.Attach(ctx, rec.ID, atts)
	return err
}

// boxNet is a running box's network, held by its supervisor.
type boxNet struct {
	r    *Runtime
	rec  *BoxRecord
	taps []*os.File // one per slot; none for a box without NICs
	pub  *network.Publisher

	mu         sync.Mutex
	members    []network.Membership
	gen        int    // counts plugs: changes of members
	sentGen    int    // the gen the guest's Setup was made from
	configured *Guest // the guest that has had its Setup
}

// openNet binds the box's ports and makes its taps, all or nothing.
func (r *Runtime) openNet(rec *BoxRecord) (*boxNet, error) {
	n := &boxNet{r: r, rec: rec}
	if r.Networks == nil || wantsNone(&rec.Spec) {
		return n, nil
	}
	pub, err := network.Publish(rec.Spec.Ports, n.target)
	if err != nil {
		return nil, err
	}
	n.pub = pub
	if !network.Privileged() {
		if len(rec.Spec.Ports) > 0 {
			n.close()
			return nil, network.ErrPrivileged
		}
		return n, nil
	}
	for slot := 0; slot < network.Slots; slot++ {
		f, err := network.OpenTap(network.TapName(r.root, rec.ID, slot))
		if err != nil {
			n.close()
			return nil, err
		}
		n.taps = append(n.taps, f)
	}
	return n, nil
}

// close unbinds the ports and drops the taps (the kernel removes a tap
// once the VMM's copy is closed too).
func (n *boxNet) close() {
	if n.pub != nil {
		n.pub.Close()
	}
	for _, f := range n.taps {
		f.Close()
	}
	n.taps = nil
}

// bindings are the published ports as bound.
func (n *boxNet) bindings() []network.Binding {
	if n.pub == nil {
		return nil
	}
	return n.pub.Bindings()
}

// nics are the VM's network devices.
func (n *boxNet) nics() []vmm.NIC {
	out := make([]vmm.NIC, len(n.taps))
	for i, f := range n.taps {
		out[i] = vmm.NIC{Tap: f, MAC: network.SlotMAC(n.rec.ID, i)}
	}
	return out
}

// target is the box's address for its published ports: on its first
// network.
func (n *boxNet) target() (netip.Addr, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.members) == 0 {
		return netip.Addr{}, false
	}
	return n.members[0].Endpoint.IP, true
}

// plug reads the box's networks and plugs each slot's tap into its
// network's bridge, or leaves it spare.
func (n *boxNet) plug(ctx context.Context) error {
	if len(n.taps) == 0 {
		return nil
	}
	ms, err := n.r.Networks.Memberships(n.rec.ID)
	if err != nil {
		return err
	}
	nets := make([]*network.Network, len(ms))
	bySlot := map[int]network.Membership{}
	for i, m := range ms {
		nets[i] = m.Network
		bySlot[m.Endpoint.Slot] = m
	}
	// A slot leaves its bridge before the sync drops its tap's
	// anti-spoofing rules, and joins one only after the sync made them:
	// no tap is ever on a bridge unguarded.
	for slot := range n.taps {
		if _, ok := bySlot[slot]; !ok {
			if err := network.UnplugTap(network.TapName(n.r.root, n.rec.ID, slot)); err != nil {
				return err
			}
		}
	}
	if err := n.r.Networks.EnsureUp(ctx, nets); err != nil {
		return err
	}
	for slot, m := range bySlot {
		if slot >= len(n.taps) {
			continue
		}
		if err := network.PlugTap(network.TapName(n.r.root, n.rec.ID, slot), m.Network.Bridge); err != nil {
			return err
		}
	}
	n.mu.Lock()
	n.members = ms
	n.gen++
	n.mu.Unlock()
	return nil
}

// interfaces is what the guest is to make of its slots.
func (n *boxNet) interfaces() []proto.Interface {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]proto.Interface, len(n.taps))
	for i := range out {
		out[i] = proto.Interface{MAC: network.SlotMAC(n.rec.ID, i), Name: fmt.Sprintf("eth%d", i)}
	}
	routed := false
	for _, m := range n.members {
		i := &out[m.Endpoint.Slot]
		i.Address = m.Network.Prefix(m.Endpoint).String()
		if !routed && !m.Network.Internal {
			i.Gateway, routed = m.Network.Gateway.String(), true
		}
	}
	return out
}

// setup fills in the network part of the guest's Setup and starts
// answering the guest's DNS queries.
func (n *boxNet) setup(ctx context.Context, g *Guest, s *proto.Setup) error {
	b := &n.rec.Spec
	if len(n.taps) == 0 {
		// No NICs: the box's own name servers, if it gave any.
		s.DNS = slices.Clone(b.DNS)
		hosts, err := extraHosts(b.ExtraHosts, netip.Addr{})
		s.Hosts = append(s.Hosts, hosts...)
		return err
	}
	if err := n.plug(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	var gateway netip.Addr
	if len(n.members) > 0 {
		m := n.members[0]
		gateway = m.Network.Gateway
		s.Hosts = []proto.HostLine{{IP: m.Endpoint.IP.String(), Names: []string{n.rec.Hostname}}}
	}
	n.mu.Unlock()
	hosts, err := extraHosts(b.ExtraHosts, gateway)
	if err != nil {
		return err
	}
	s.Hosts = append(s.Hosts, hosts...)
	s.Interfaces = n.interfaces()
	n.mu.Lock()
	n.sentGen = n.gen
	n.mu.Unlock()
	s.DNSRelay = network.DNSRelayAddr
	host := network.HostResolvConf()
	s.DNS, s.DNSSearch, s.DNSOptions = []string{network.DNSRelayAddr}, host.Search, host.Options
	upstreams := host.Nameservers
	if len(b.DNS) > 0 {
		upstreams = b.DNS
	}
	res := &network.Resolver{
		Store: n.r.Networks, Box: n.r.boxNameState, Upstreams: network.ServerAddrs(upstreams), Search: host.Search,
	}
	go g.serveStreams(func(q []byte) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		return res.Answer(ctx, n.rec.ID, q)
	})
	return nil
}

// setConfigured records that g has had its Setup; a connect or
// disconnect that came while Setup was on its way is sent now.
func (n *boxNet) setConfigured(ctx context.Context, g *Guest) error {
	n.mu.Lock()
	n.configured = g
	stale := len(n.taps) > 0 && n.gen != n.sentGen
	n.mu.Unlock()
	if !stale {
		return nil
	}
	return g.request(ctx, &proto.Network{Interfaces: n.interfaces()})
}

// refresh follows a connect or disconnect: the slots are plugged anew and
// the running guest, if it has had its Setup, gets the new set.
func (n *boxNet) refresh(ctx context.Context, g *Guest) error {
	if len(n.taps) == 0 {
		return fmt.Errorf("box %s has no network devices (it was made with --network none)", n.rec.Name)
	}
	if err := n.plug(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	live := g != nil && n.configured == g
	n.mu.Unlock()
	if !live {
		return nil // the next Setup carries it
	}
	if err := g.request(ctx, &proto.Network{Interfaces: n.interfaces()}); err != nil {
		return fmt.Errorf("configure the box's interfaces: %w", err)
	}
	return nil
}

// extraHosts turns --add-host entries into hosts lines; host-gateway is
// the gateway of the box's first network.
func extraHosts(entries []string, gateway netip.Addr) ([]proto.HostLine, error) {
	var out []proto.HostLine
	for _, e := range entries {
		host, ip, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf("invalid extra host %q: want HOST:IP", e)
		}
		if ip == "host-gateway" {
			if !gateway.IsValid() {
				return nil, fmt.Errorf("extra host %s: host-gateway needs a network", host)
			}
			ip = gateway.String()
		}
		out = append(out, proto.HostLine{IP: strings.Trim(ip, "[]"), Names: []string{host}})
	}
	return out, nil
}

// boxNameState says a box's name and whether its VM runs, for name
// resolution.
func (r *Runtime) boxNameState(id string) (name string, running, ok bool) {
	b, err := r.readBox(id)
	if err != nil {
		return "", false, false
	}
	return b.Name, b.State.Running(), true
}

// refreshNetwork is the supervisor's answer to a connect or disconnect.
func (s *supervisor) refreshNetwork(ctx context.Context) error {
	s.mu.Lock()
	g := s.guest
	s.mu.Unlock()
	return s.net.refresh(ctx, g)
}

// NotifyNetwork tells box id's supervisor, if one runs, that the box's
// networks changed.
func (r *Runtime) NotifyNetwork(ctx context.Context, id string) error {
	_, err := r.request(ctx, id, &supRequest{Op: "network"})
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	return err
}

// Connect joins box b to a network, running or not: a running box gets
// the network on a spare NIC slot at once, a stopped one at its next
// start. Nothing is left of a connect that fails.
func (r *Runtime) Connect(ctx context.Context, b *Box, att network.Attachment) (network.Membership, error) {
	if wantsNone(&b.Spec) {
		return network.Membership{}, fmt.Errorf("box %s was created with --network none and has no network device", b.Name)
	}
	m, err := r.Networks.Connect(ctx, b.ID, att)
	if err != nil {
		return m, err
	}
	if err := r.NotifyNetwork(ctx, b.ID); err != nil {
		if _, derr := r.Networks.Disconnect(context.Background(), m.Network.ID, b.ID); derr == nil {
			_ = r.NotifyNetwork(context.Background(), b.ID)
		}
		return m, fmt.Errorf("connect box %s to network %s: %w", b.Name, m.Network.Name, err)
	}
	return m, nil
}

// Disconnect takes box boxID off a network; a running box loses the
// network's NIC at once. force takes the box off even when its
// supervisor cannot be told (the box then loses it at its next start).
func (r *Runtime) Disconnect(ctx context.Context, netRef, boxID string, force bool) error {
	m, err := r.Networks.Disconnect(ctx, netRef, boxID)
	if err != nil {
		return err
	}
	if err := r.NotifyNetwork(ctx, boxID); err != nil && !force {
		// Put the endpoint back as it was, address and slot included.
		if _, rerr := r.Networks.Restore(context.Background(), m); rerr == nil {
			_ = r.NotifyNetwork(context.Background(), boxID)
		}
		return fmt.Errorf("disconnect from network %s: %w", m.Network.Name, err)
	}
	return nil
}
