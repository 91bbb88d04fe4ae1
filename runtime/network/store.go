package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

// host is what the store does to the machine; a fake stands in for it in
// unit tests.
type host interface {
	privileged() bool
	// taken lists the IPv4 prefixes of the host's interfaces and routes.
	taken() ([]used, error)
	ensureBridge(root string, n *Network) error
	removeBridge(name string) error
	// syncRules makes root's firewall chains match nets (none removes
	// them).
	syncRules(root string, nets []*Network) error
	// bridges lists a3s-box bridges on the host: device name, root and
	// network ID from its alias.
	bridges() ([]hostBridge, error)
	// ruleRoots lists the roots that have firewall chains on the host.
	ruleRoots() ([]string, error)
	// objects lists what exists on the host of root: its bridges, the
	// taps among tapNames, and its firewall chains and jumps.
	objects(root string, tapNames []string) ([]HostObject, error)
}

type hostBridge struct{ Name, Root, ID string }

// Store is a root's networks.
type Store struct {
	root string
	dir  string
	host host
	// BoxName names a box in messages (a network in use names its
	// boxes); nil shows short IDs.
	BoxName func(id string) string
	// Event hears of each change once it is made: create, destroy, and
	// connect and disconnect with the box's ID; nil hears nothing.
	Event func(n *Network, action, boxID string)
}

// emit tells Event of a change.
func (s *Store) emit(n *Network, action, boxID string) {
	if s.Event != nil && n != nil {
		s.Event(n, action, boxID)
	}
}

// Open returns the store of the a3s-box root directory root.
func Open(root string) *Store {
	root, _ = filepath.Abs(root)
	return &Store{root: root, dir: filepath.Join(root, "networks"), host: linuxHost{}}
}

// Root is the a3s-box root the store belongs to.
func (s *Store) Root() string { return s.root }

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }

// hostLockPath serializes subnet choice and bridge creation across every
// a3s-box root of the host: two roots must not pick the same subnet.
func hostLockPath() string {
	if fi, err := os.Stat("/run/lock"); err == nil && fi.IsDir() {
		return "/run/lock/a3s-box-network.lock"
	}
	return filepath.Join(os.TempDir(), "a3s-box-network.lock")
}

// locked runs fn under the store's lock; withHost takes the host-wide lock
// first (always in that order).
func (s *Store) locked(ctx context.Context, withHost bool, fn func() error) error {
	if withHost {
		hl, err := statefile.Acquire(ctx, hostLockPath())
		if err != nil {
			return fmt.Errorf("network lock: %w", err)
		}
		defer hl.Release()
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("networks: %w", err)
	}
	l, err := statefile.Acquire(ctx, filepath.Join(s.dir, "lock"))
	if err != nil {
		return fmt.Errorf("network lock: %w", err)
	}
	defer l.Release()
	return fn()
}

// List returns every network, by name.
func (s *Store) List() ([]*Network, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []*Network
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if n, err := s.read(id); err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Store) read(id string) (*Network, error) {
	var n Network
	if err := statefile.ReadJSON(s.path(id), &n); err != nil || n.ID != id {
		return nil, fmt.Errorf("network %s %w", id, ErrNotFound)
	}
	if n.Endpoints == nil {
		n.Endpoints = map[string]*Endpoint{}
	}
	return &n, nil
}

func (s *Store) write(n *Network) error {
	if err := statefile.WriteJSON(s.path(n.ID), n); err != nil {
		return fmt.Errorf("write network %s: %w", n.Name, err)
	}
	return nil
}

// Get finds a network by name, full ID or unique ID prefix, as Docker
// does.
func (s *Store) Get(ref string) (*Network, error) {
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	return find(nets, ref)
}

func find(nets []*Network, ref string) (*Network, error) {
	var prefixed []*Network
	for _, n := range nets {
		if n.ID == ref || n.Name == ref {
			return n, nil
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	if len(prefixed) > 1 {
		return nil, fmt.Errorf("network %s is ambiguous (%d matches)", ref, len(prefixed))
	}
	return nil, fmt.Errorf("network %s %w", ref, ErrNotFound)
}

// Config is what network create takes.
type Config struct {
	Name     string
	Driver   string // "" or "bridge"
	Subnet   string // CIDR; empty picks one from the pool
	Gateway  string // empty: the subnet's first address
	Internal bool
	Labels   map[string]string
	// Options are the driver options (network create -o): only
	// HostAccessOption.
	Options map[string]string
}

// HostAccessOption, set to true, opens the host to a network's boxes:
// its own addresses (the gateway's and every other interface's, where
// the host's services listen) and the link-local range (a cloud's
// instance metadata). Without it a box reaches the host only by the
// replies to the host's own connections (published ports), which is
// what a box given to untrusted code needs.
const HostAccessOption = "a3s-box.network.host_access"

// parseOptions reads network create's driver options.
func parseOptions(opts map[string]string) (hostAccess bool, err error) {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v := opts[k]
		if k != HostAccessOption {
			return false, fmt.Errorf("network option %q is not supported (the one option is %s=true|false)", k, HostAccessOption)
		}
		switch v {
		case "true", "1":
			hostAccess = true
		case "false", "0", "":
			hostAccess = false
		default:
			return false, fmt.Errorf("network option %s=%q: want true or false", k, v)
		}
	}
	return hostAccess, nil
}

// Create makes a network: its record, its bridge and its firewall rules,
// all or nothing.
func (s *Store) Create(ctx context.Context, c Config) (*Network, error) {
	switch c.Name {
	case DefaultName, NoneName, HostName:
		return nil, fmt.Errorf("%w: %s is a pre-defined network", ErrExists, c.Name)
	}
	n, err := s.create(ctx, c, false)
	if err == nil {
		s.emit(n, "create", "")
	}
	return n, err
}

// Default returns the default network, making it on first use.
func (s *Store) Default(ctx context.Context) (*Network, error) {
	if n, err := s.Get(DefaultName); err == nil {
		return n, nil
	}
	return s.create(ctx, Config{Name: DefaultName}, true)
}

func (s *Store) create(ctx context.Context, c Config, reuse bool) (*Network, error) {
	if err := spec.CheckName("network", c.Name); err != nil {
		return nil, err
	}
	if c.Driver != "" && c.Driver != Driver {
		return nil, fmt.Errorf("invalid driver %q: a3s-box networks are %s networks", c.Driver, Driver)
	}
	hostAccess, err := parseOptions(c.Options)
	if err != nil {
		return nil, err
	}
	if !s.host.privileged() {
		return nil, fmt.Errorf("create network %s: %w", c.Name, ErrPrivileged)
	}
	var out *Network
	err = s.locked(ctx, true, func() error {
		nets, err := s.List()
		if err != nil {
			return err
		}
		if n, err := find(nets, c.Name); err == nil && n.Name == c.Name {
			if reuse {
				out = n
				return nil
			}
			return fmt.Errorf("%w: network with name %s already exists", ErrExists, c.Name)
		}
		taken, err := s.takenWith(nets)
		if err != nil {
			return err
		}
		p, gw, err := planSubnet(c.Subnet, c.Gateway, taken)
		if err != nil {
			return err
		}
		id := newID()
		if c.Name == DefaultName {
			id = DefaultID(s.root)
		}
		n := &Network{
			ID: id, Name: c.Name, Driver: Driver, Subnet: p, Gateway: gw, Internal: c.Internal,
			HostAccess: hostAccess, Labels: maps.Clone(c.Labels), Created: time.Now().UTC(), Bridge: BridgeName(s.root, id),
			Endpoints: map[string]*Endpoint{},
		}
		// The bridge comes first: a crash before the record is written
		// leaves a bridge that names a network without a record, which
		// the next clean-up removes.
		if err := s.host.ensureBridge(s.root, n); err != nil {
			_ = s.host.removeBridge(n.Bridge)
			return fmt.Errorf("create network %s: %w", c.Name, err)
		}
		if err := s.write(n); err != nil {
			_ = s.host.removeBridge(n.Bridge)
			return err
		}
		if err := s.host.syncRules(s.root, append(nets, n)); err != nil {
			os.Remove(s.path(n.ID))
			_ = s.host.removeBridge(n.Bridge)
			_ = s.host.syncRules(s.root, nets)
			return fmt.Errorf("create network %s: %w", c.Name, err)
		}
		out = n
		return nil
	})
	return out, err
}

// takenWith is every prefix a new network must not overlap: the root's
// networks and the host's interfaces and routes.
func (s *Store) takenWith(nets []*Network) ([]used, error) {
	var out []used
	for _, n := range nets {
		out = append(out, used{n.Subnet, fmt.Sprintf("network %s", n.Name)})
	}
	hostUsed, err := s.host.taken()
	if err != nil {
		return nil, err
	}
	return append(out, hostUsed...), nil
}

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// inUse says which boxes a network still has.
func (s *Store) inUse(n *Network) error {
	var names []string
	for _, e := range n.SortedEndpoints() {
		name := e.BoxID[:12]
		if s.BoxName != nil {
			if bn := s.BoxName(e.BoxID); bn != "" {
				name = bn
			}
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Errorf("error while removing network %s: %w (%s): remove or disconnect them first", n.Name, ErrInUse, strings.Join(names, ", "))
}

// Remove deletes a network that no box is on: its bridge, rules and
// record.
func (s *Store) Remove(ctx context.Context, ref string) (*Network, error) {
	var out *Network
	err := s.locked(ctx, false, func() error {
		nets, err := s.List()
		if err != nil {
			return err
		}
		n, err := find(nets, ref)
		if err != nil {
			return err
		}
		if n.Name == DefaultName {
			return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
		}
		if len(n.Endpoints) > 0 {
			return s.inUse(n)
		}
		out = n
		return s.removeLocked(n, nets)
	})
	if err == nil {
		s.emit(out, "destroy", "")
	}
	return out, err
}

// removeLocked deletes n; the caller holds the lock.
func (s *Store) removeLocked(n *Network, nets []*Network) error {
	if err := os.Remove(s.path(n.ID)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	rest := slices.DeleteFunc(slices.Clone(nets), func(o *Network) bool { return o.ID == n.ID })
	// The record is gone: what follows is clean-up the next command
	// repeats if it fails now.
	if err := s.host.removeBridge(n.Bridge); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return s.host.syncRules(s.root, rest)
}

// Prune removes every network no box is on that keep does not keep, and
// returns their names. The default network is not named, as Docker never
// prunes it; but when no box is on it its bridge and rules go too, so a
// pruned root leaves nothing on the host: the default network comes
// back, with the same ID, on its next use (Networks lists it meanwhile).
func (s *Store) Prune(ctx context.Context, keep func(*Network) bool) ([]string, error) {
	var names []string
	var removed []*Network
	err := s.locked(ctx, false, func() error {
		nets, err := s.List()
		if err != nil {
			return err
		}
		for _, n := range slices.Clone(nets) {
			if len(n.Endpoints) > 0 || (keep != nil && keep(n)) {
				continue
			}
			if err := s.removeLocked(n, nets); err != nil {
				return err
			}
			nets = slices.DeleteFunc(nets, func(o *Network) bool { return o.ID == n.ID })
			if n.Name != DefaultName {
				names = append(names, n.Name)
				removed = append(removed, n)
			}
		}
		return nil
	})
	for _, n := range removed {
		s.emit(n, "destroy", "")
	}
	return names, err
}

// resolve finds the network an attachment names, making the default one
// on first use.
func (s *Store) resolve(ctx context.Context, ref string) (*Network, error) {
	switch ref {
	case "", DefaultName:
		return s.Default(ctx)
	case HostName:
		return nil, errors.New("network host: a box is a virtual machine with its own kernel and cannot share the host's network stack; publish ports with -p instead")
	case NoneName:
		return nil, errors.New("network none cannot be combined with other networks")
	}
	return s.Get(ref)
}

// Attach joins a new box to the networks it was created with, on slots
// 0, 1, ... in order: all of them or none.
func (s *Store) Attach(ctx context.Context, boxID string, atts []Attachment) ([]Membership, error) {
	if len(atts) > Slots {
		return nil, fmt.Errorf("%w: a box joins at most %d networks, not %d", ErrNoSlot, Slots, len(atts))
	}
	ids := make([]string, len(atts))
	for i, a := range atts {
		n, err := s.resolve(ctx, a.Network)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ids[:i], n.ID) {
			return nil, fmt.Errorf("network %s is named twice", n.Name)
		}
		ids[i] = n.ID
	}
	var out []Membership
	err := s.locked(ctx, false, func() error {
		var changed []*Network
		for i, a := range atts {
			n, err := s.read(ids[i])
			if err != nil {
				return err
			}
			e, err := s.endpoint(n, boxID, i, a)
			if err != nil {
				return err
			}
			n.Endpoints[boxID] = e
			changed = append(changed, n)
			out = append(out, Membership{n, e})
		}
		for i, n := range changed {
			if err := s.write(n); err != nil {
				for _, done := range changed[:i] {
					delete(done.Endpoints, boxID)
					_ = s.write(done)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		s.emit(m.Network, "connect", boxID)
	}
	return out, nil
}

// endpoint makes box's endpoint on n at slot.
func (s *Store) endpoint(n *Network, boxID string, slot int, a Attachment) (*Endpoint, error) {
	if _, ok := n.Endpoints[boxID]; ok {
		return nil, fmt.Errorf("%w to network %s", ErrMember, n.Name)
	}
	for _, al := range a.Aliases {
		if !spec.ValidHostname(al) {
			return nil, fmt.Errorf("invalid alias %q: want a host name", al)
		}
	}
	var ip, err = nextAddr(n)
	if a.IP != "" {
		ip, err = fixedAddr(n, a.IP)
	}
	if err != nil {
		return nil, err
	}
	return &Endpoint{ID: newID(), BoxID: boxID, IP: ip, Slot: slot, MAC: SlotMAC(boxID, slot), Aliases: slices.Clone(a.Aliases)}, nil
}

// Connect joins an existing box to a network on its lowest free slot.
func (s *Store) Connect(ctx context.Context, boxID string, a Attachment) (Membership, error) {
	target, err := s.resolve(ctx, a.Network)
	if err != nil {
		return Membership{}, err
	}
	var out Membership
	err = s.locked(ctx, false, func() error {
		nets, err := s.List()
		if err != nil {
			return err
		}
		busy := map[int]bool{}
		var n *Network
		for _, o := range nets {
			if e, ok := o.Endpoints[boxID]; ok {
				busy[e.Slot] = true
			}
			if o.ID == target.ID {
				n = o
			}
		}
		if n == nil {
			return fmt.Errorf("network %s %w", a.Network, ErrNotFound)
		}
		if _, ok := n.Endpoints[boxID]; ok {
			return fmt.Errorf("%w to network %s", ErrMember, n.Name)
		}
		slot := -1
		for i := 0; i < Slots; i++ {
			if !busy[i] {
				slot = i
				break
			}
		}
		if slot < 0 {
			return fmt.Errorf("%w: the box is on %d networks already, the most a box can join (disconnect one first)", ErrNoSlot, Slots)
		}
		e, err := s.endpoint(n, boxID, slot, a)
		if err != nil {
			return err
		}
		n.Endpoints[boxID] = e
		if err := s.write(n); err != nil {
			return err
		}
		out = Membership{n, e}
		return nil
	})
	if err == nil {
		s.emit(out.Network, "connect", boxID)
	}
	return out, err
}

// Disconnect takes a box off a network.
func (s *Store) Disconnect(ctx context.Context, ref, boxID string) (Membership, error) {
	var out Membership
	err := s.locked(ctx, false, func() error {
		n, err := s.Get(ref)
		if err != nil {
			return err
		}
		e, ok := n.Endpoints[boxID]
		if !ok {
			return fmt.Errorf("%w to network %s", ErrNotMember, n.Name)
		}
		delete(n.Endpoints, boxID)
		out = Membership{n, e}
		return s.write(n)
	})
	if err == nil {
		s.emit(out.Network, "disconnect", boxID)
	}
	return out, err
}

// Release takes a removed box off every network, freeing its addresses.
func (s *Store) Release(ctx context.Context, boxID string) error {
	nets, err := s.List()
	if err != nil || !slices.ContainsFunc(nets, func(n *Network) bool { return n.Endpoints[boxID] != nil }) {
		return err
	}
	var left []*Network
	err = s.locked(ctx, false, func() error {
		nets, err := s.List()
		if err != nil {
			return err
		}
		for _, n := range nets {
			if _, ok := n.Endpoints[boxID]; ok {
				delete(n.Endpoints, boxID)
				if err := s.write(n); err != nil {
					return err
				}
				left = append(left, n)
			}
		}
		return nil
	})
	for _, n := range left {
		s.emit(n, "disconnect", boxID)
	}
	return err
}

// Memberships lists the networks box is on, by slot.
func (s *Store) Memberships(boxID string) ([]Membership, error) {
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	return membershipsIn(nets, boxID), nil
}

func membershipsIn(nets []*Network, boxID string) []Membership {
	var out []Membership
	for _, n := range nets {
		if e, ok := n.Endpoints[boxID]; ok {
			out = append(out, Membership{n, e})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint.Slot < out[j].Endpoint.Slot })
	return out
}

// Index maps every box on a network to its memberships, for listings.
func (s *Store) Index() (map[string][]Membership, error) {
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	out := map[string][]Membership{}
	for _, n := range nets {
		for id := range n.Endpoints {
			if _, done := out[id]; !done {
				out[id] = membershipsIn(nets, id)
			}
		}
	}
	return out, nil
}

// EnsureUp makes sure the host side of the root's networks is there for a
// box about to start on nets: bridges made again where they went missing
// (a host reboot), and the firewall rules of every network of the root.
// It also clears what deleted roots left on the host.
func (s *Store) EnsureUp(ctx context.Context, nets []*Network) error {
	if len(nets) == 0 {
		return nil
	}
	if !s.host.privileged() {
		return ErrPrivileged
	}
	return s.locked(ctx, true, func() error {
		s.gcLocked()
		all, err := s.List()
		if err != nil {
			return err
		}
		for _, want := range nets {
			n, err := find(all, want.ID)
			if err != nil {
				return fmt.Errorf("network %s was removed", want.Name)
			}
			if err := s.host.ensureBridge(s.root, n); err != nil {
				return fmt.Errorf("network %s: %w", n.Name, err)
			}
		}
		return s.host.syncRules(s.root, all)
	})
}

// Repair makes the host match the root's records: every bridge, every
// rule, and clears what deleted roots left. Network verbs run it first,
// so a crash halfway through one is repaired by the next.
func (s *Store) Repair(ctx context.Context) error {
	if !s.host.privileged() {
		return nil
	}
	return s.locked(ctx, true, func() error {
		s.gcLocked()
		all, err := s.List()
		if err != nil {
			return err
		}
		for _, n := range all {
			if err := s.host.ensureBridge(s.root, n); err != nil {
				return fmt.Errorf("network %s: %w", n.Name, err)
			}
		}
		return s.host.syncRules(s.root, all)
	})
}

// gcLocked removes bridges and rules whose network record is gone: left
// by a crash, or by a root directory deleted with its networks (test
// roots). The caller holds the host-wide lock, under which every bridge
// is made together with its record.
func (s *Store) gcLocked() {
	brs, err := s.host.bridges()
	if err != nil {
		return
	}
	for _, b := range brs {
		if _, err := os.Stat(filepath.Join(b.Root, "networks", b.ID+".json")); os.IsNotExist(err) {
			_ = s.host.removeBridge(b.Name)
		}
	}
	roots, err := s.host.ruleRoots()
	if err != nil {
		return
	}
	for _, root := range roots {
		if root == s.root {
			continue
		}
		if other := Open(root); !other.hasNetworks() {
			_ = s.host.syncRules(root, nil)
		}
	}
}

func (s *Store) hasNetworks() bool {
	nets, err := s.List()
	return err == nil && len(nets) > 0
}

// Check refuses attachments that cannot be had, before anything is made:
// host, none among others, more than Slots networks, a network that does
// not exist, one named twice, a bad alias, or an address outside the
// subnet or taken.
func (s *Store) Check(atts []Attachment) error {
	if len(atts) > Slots {
		return fmt.Errorf("%w: a box joins at most %d networks, not %d", ErrNoSlot, Slots, len(atts))
	}
	nets, err := s.List()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range atts {
		switch a.Network {
		case HostName, NoneName:
			_, err := s.resolve(context.Background(), a.Network)
			return err
		}
		for _, al := range a.Aliases {
			if !spec.ValidHostname(al) {
				return fmt.Errorf("invalid alias %q: want a host name", al)
			}
		}
		n, err := find(nets, a.Network)
		if err != nil {
			if a.Network == DefaultName {
				continue // made on first use
			}
			return err
		}
		if seen[n.ID] {
			return fmt.Errorf("network %s is named twice", n.Name)
		}
		seen[n.ID] = true
		if a.IP != "" {
			if _, err := fixedAddr(n, a.IP); err != nil {
				return err
			}
		}
	}
	return nil
}

// Privileged reports whether this process may make bridges and taps.
func Privileged() bool { return linuxHost{}.privileged() }

// Restore puts back an endpoint a failed disconnect took away.
func (s *Store) Restore(ctx context.Context, m Membership) (Membership, error) {
	err := s.locked(ctx, false, func() error {
		n, err := s.read(m.Network.ID)
		if err != nil {
			return err
		}
		if _, ok := n.Endpoints[m.Endpoint.BoxID]; ok {
			return nil
		}
		n.Endpoints[m.Endpoint.BoxID] = m.Endpoint
		m.Network = n
		return s.write(n)
	})
	if err == nil {
		s.emit(m.Network, "connect", m.Endpoint.BoxID)
	}
	return m, err
}

// NoneID is the ID `network ls` shows for the none network, which has no
// record: stable per root.
func NoneID(root string) string { return hashHex("none", root) }

// DefaultID is the default network's ID: fixed per root, so that the
// listings show the same ID before its first use (when it has no record,
// no subnet and no bridge yet) and after.
func DefaultID(root string) string { return hashHex(DefaultName, root) }
