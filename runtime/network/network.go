// Package network gives boxes their networks: one Linux bridge per
// network on the host, a tap device per NIC slot of a box enslaved to the
// bridge of the network it joins, address management (subnets from a pool,
// addresses within a subnet, kept for as long as the box belongs to the
// network), the firewall rules that isolate networks from each other and
// masquerade their way out, name resolution for boxes, and published
// ports (a userspace proxy run by each box's supervisor).
//
// Networks are records under <root>/networks, one JSON file each, written
// atomically under <root>/networks/lock. The host side (bridges, rules)
// follows the records: it is made when a network is created, made again
// when it went missing (a host reboot), and a crash halfway is repaired by
// the next command.
package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"time"
)

// Slots is how many NICs every networked box has. A microvm machine has 8
// virtio-mmio transports; a box uses 2 for its disks and 1 for its
// control channel, a volume share 1 and the memory balloon 1, which leaves
// 3. QEMU's microvm machine cannot hotplug a device, so a box gets all its
// slots at boot, and network connect and disconnect on a running box
// enslave and release a slot's tap.
const Slots = 3

// Names with a meaning of their own.
const (
	// DefaultName is the network boxes join when they name none, as
	// Docker's default bridge.
	DefaultName = "bridge"
	// NoneName gives a box no NIC at all.
	NoneName = "none"
	// HostName is Docker's host network, which a microVM cannot join.
	HostName = "host"
)

// Driver is the one driver a3s-box networks have.
const Driver = "bridge"

// Errors callers decide on.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("network already exists")
	ErrInUse      = errors.New("network has active endpoints")
	ErrOverlap    = errors.New("overlapping subnet")
	ErrNoSlot     = errors.New("no free network slot")
	ErrAddrInUse  = errors.New("address already in use")
	ErrNotMember  = errors.New("box is not connected")
	ErrMember     = errors.New("box is already connected")
	ErrPrivileged = errors.New("bridge networking needs root (CAP_NET_ADMIN)")
)

// Network is one network's record.
type Network struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Driver   string       `json:"driver"`
	Subnet   netip.Prefix `json:"subnet"`
	Gateway  netip.Addr   `json:"gateway"`
	Internal bool         `json:"internal,omitempty"`
	// HostAccess lets the network's boxes reach the host's own addresses
	// and link-local ones (HostAccessOption); without it they reach
	// neither.
	HostAccess bool              `json:"hostAccess,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Created    time.Time         `json:"created"`
	// Bridge is the host's bridge device for the network.
	Bridge string `json:"bridge"`
	// Endpoints are the boxes on the network, by box ID.
	Endpoints map[string]*Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is one box's membership of a network.
type Endpoint struct {
	ID    string     `json:"id"`
	BoxID string     `json:"boxId"`
	IP    netip.Addr `json:"ip"`
	// Slot is the box's NIC that carries the network; MAC is that NIC's.
	Slot    int      `json:"slot"`
	MAC     string   `json:"mac"`
	Aliases []string `json:"aliases,omitempty"`
}

// Prefix is the endpoint's address with the network's prefix length.
func (n *Network) Prefix(e *Endpoint) netip.Prefix {
	return netip.PrefixFrom(e.IP, n.Subnet.Bits())
}

// SortedEndpoints lists the network's endpoints by address.
func (n *Network) SortedEndpoints() []*Endpoint {
	out := make([]*Endpoint, 0, len(n.Endpoints))
	for _, e := range n.Endpoints {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

// Attachment is a request to join a network.
type Attachment struct {
	Network string   // name, ID or unique ID prefix
	Aliases []string // extra names the box answers to on this network
	IP      string   // a fixed address; empty for the next free one
}

// Membership is one network a box is on, with its endpoint.
type Membership struct {
	Network  *Network
	Endpoint *Endpoint
}

// hashHex is the hex SHA-256 of parts joined by NUL bytes.
func hashHex(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Device name prefixes. Bridges of every a3s-box root share bridgePrefix,
// so the firewall isolates networks of different roots from each other
// with one wildcard.
const (
	bridgePrefix = "a3sb"
	tapPrefix    = "a3st"
)

// BridgeName is the bridge device of network id under root: unique per
// root and network, within IFNAMSIZ (15 characters).
func BridgeName(root, id string) string {
	return bridgePrefix + hashHex(root, id)[:11]
}

// TapName is the tap device of slot of box id under root.
func TapName(root, boxID string, slot int) string {
	return fmt.Sprintf("%s%s%d", tapPrefix, hashHex(root, boxID)[:10], slot)
}

// SlotMAC is the MAC address of a box's NIC slot: locally administered,
// unicast, and fixed for the box's life, as its NICs are made at boot.
func SlotMAC(boxID string, slot int) string {
	h := hashHex(boxID, fmt.Sprint(slot))
	b, _ := hex.DecodeString(h[:10])
	return net.HardwareAddr(append([]byte{0x02}, b...)).String()
}

// bridgeMAC is a bridge's fixed MAC: a Linux bridge otherwise takes its
// lowest port's, which changes as boxes come and go and leaves the boxes'
// ARP caches pointing at a MAC the gateway no longer has.
func bridgeMAC(root, id string) net.HardwareAddr {
	b, _ := hex.DecodeString(hashHex("bridge", root, id)[:10])
	return net.HardwareAddr(append([]byte{0x02}, b...))
}

// rootKey names a root in host-wide places (chains): short and unique.
func rootKey(root string) string { return hashHex(filepath.Clean(root))[:10] }
