package spec

import (
	"fmt"
	"net/netip"
)

// NetworkDriver is the one network driver: a Linux bridge per network.
const NetworkDriver = "bridge"

// ParseSubnet reads an IPv4 subnet in CIDR notation. The address must be
// the subnet's first (10.1.2.0/24, not 10.1.2.3/24), and the subnet must
// leave room for a gateway and at least one box.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q: want an IPv4 CIDR such as 10.1.2.0/24", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q: only IPv4 subnets are supported", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q: it should be %s", s, p.Masked())
	}
	if p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q: a /%d leaves no room for a gateway and a box (at most /30)", s, p.Bits())
	}
	return p, nil
}

// ParseHostAddr reads an IPv4 address that must be a host address of
// subnet: inside it, and neither its first (network) nor its last
// (broadcast) address. what names the address in messages.
func ParseHostAddr(what, s string, subnet netip.Prefix) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("invalid %s %q: want an IPv4 address", what, s)
	}
	if !subnet.Contains(a) {
		return netip.Addr{}, fmt.Errorf("invalid %s %s: not in subnet %s", what, a, subnet)
	}
	if a == subnet.Addr() || a == LastAddr(subnet) {
		return netip.Addr{}, fmt.Errorf("invalid %s %s: the network or broadcast address of %s", what, a, subnet)
	}
	return a, nil
}

// LastAddr is the last (broadcast) address of an IPv4 subnet.
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// NetworkName is the machine name of the stack's network key: the name
// its declaration gives, else the key itself for an external network (it
// exists outside the stack under that name), else "<stack>_<key>", as
// compose names a project's networks. Undeclared "default" is
// "<stack>_default".
func (s *Stack) NetworkName(key string) string {
	n, ok := s.Networks[key]
	switch {
	case ok && n.Name != "":
		return n.Name
	case ok && n.External:
		return key
	}
	return s.Name + "_" + key
}

// ValidHostname reports whether h can be a host name (a box's, or an
// alias on a network).
func ValidHostname(h string) bool { return validHostname(h) }
