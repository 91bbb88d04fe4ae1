package network

import (
	"fmt"
	"net/netip"

	"github.com/a3s-box/a3s-box/spec"
)

// Address management: subnets come from a pool of /24s, addresses from
// the network's subnet. Both are pure functions of what is taken, so they
// are tested without a host.

// The pool: 10.89.0.0/24, 10.89.1.0/24, ... up to 10.99.255.0/24, a range
// few networks use (Docker takes 172.17-31 and 192.168, libvirt
// 192.168.122, Podman 10.88).
var (
	poolFirst = netip.MustParseAddr("10.89.0.0")
	poolLast  = netip.MustParseAddr("10.99.255.0")
)

const poolBits = 24

// used is a prefix something already has: a network of this root, an
// address of a host interface (other roots' bridges among them) or a host
// route.
type used struct {
	Prefix netip.Prefix
	By     string // for messages: `network "web"`, `host interface eth0`
}

// overlap finds what p overlaps.
func overlap(p netip.Prefix, taken []used) (used, bool) {
	for _, u := range taken {
		if u.Prefix.Overlaps(p) {
			return u, true
		}
	}
	return used{}, false
}

// nextSubnet is the first /24 of the pool that overlaps nothing taken.
func nextSubnet(taken []used) (netip.Prefix, error) {
	for a := poolFirst; !poolLast.Less(a); a = addN(a, 1<<(32-poolBits)) {
		p := netip.PrefixFrom(a, poolBits)
		if _, ok := overlap(p, taken); !ok {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free subnet left in a3s-box's pool (%s to %s/%d): remove unused networks or give --subnet", poolFirst, poolLast, poolBits)
}

// addN adds n to an IPv4 address.
func addN(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// firstHost is a subnet's first host address, the default gateway.
func firstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// nextAddr is the lowest host address of n's subnet that is neither the
// gateway nor taken by an endpoint.
func nextAddr(n *Network) (netip.Addr, error) {
	taken := map[netip.Addr]bool{n.Gateway: true}
	for _, e := range n.Endpoints {
		taken[e.IP] = true
	}
	last := spec.LastAddr(n.Subnet)
	for a := firstHost(n.Subnet); a.Less(last); a = a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network %s: every address of %s is taken", n.Name, n.Subnet)
}

// fixedAddr checks a requested address for an endpoint of n.
func fixedAddr(n *Network, s string) (netip.Addr, error) {
	a, err := spec.ParseHostAddr("IP address", s, n.Subnet)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if a == n.Gateway {
		return netip.Addr{}, fmt.Errorf("network %s: %s is the gateway: %w", n.Name, a, ErrAddrInUse)
	}
	for _, e := range n.Endpoints {
		if e.IP == a {
			return netip.Addr{}, fmt.Errorf("network %s: %s: %w", n.Name, a, ErrAddrInUse)
		}
	}
	return a, nil
}

// planSubnet settles a new network's subnet and gateway: the given ones
// after checking them (the subnet must overlap nothing taken), or the
// pool's next free /24 and its first address.
func planSubnet(subnet, gateway string, taken []used) (netip.Prefix, netip.Addr, error) {
	if subnet == "" {
		if gateway != "" {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("invalid gateway %s: a gateway needs --subnet", gateway)
		}
		p, err := nextSubnet(taken)
		if err != nil {
			return netip.Prefix{}, netip.Addr{}, err
		}
		return p, firstHost(p), nil
	}
	p, err := spec.ParseSubnet(subnet)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, err
	}
	gw := firstHost(p)
	if gateway != "" {
		if gw, err = spec.ParseHostAddr("gateway", gateway, p); err != nil {
			return netip.Prefix{}, netip.Addr{}, err
		}
	}
	if u, ok := overlap(p, taken); ok {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("%w: %s overlaps %s of %s", ErrOverlap, p, u.Prefix, u.By)
	}
	return p, gw, nil
}
