package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linuxHost does the store's work on the machine over rtnetlink, and the
// firewall's with iptables (firewall.go).
type linuxHost struct{}

func (linuxHost) privileged() bool { return os.Geteuid() == 0 }

func (linuxHost) taken() ([]used, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list host interfaces: %w", err)
	}
	names := map[int]string{}
	var out []used
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if p, ok := prefixOf(a.IPNet); ok {
				out = append(out, used{p.Masked(), "host interface " + l.Attrs().Name})
			}
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if !ok || p.Bits() == 0 {
			continue // the default route overlaps everything
		}
		out = append(out, used{p.Masked(), "a host route via " + names[r.LinkIndex]})
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a, bits), true
}

// aliasPrefix starts the alias of every a3s-box bridge; the alias names
// the root and network, so a bridge whose network is gone is found and
// removed even when its root directory was deleted.
const aliasPrefix = "a3s-box:"

func bridgeAlias(root, id string) string { return aliasPrefix + id + ":" + root }

func (linuxHost) ensureBridge(root string, n *Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, HardwareAddr: bridgeMAC(root, n.ID)}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
	}
	if link.Type() != "bridge" {
		return fmt.Errorf("%s is a %s device, not an a3s-box bridge", n.Bridge, link.Type())
	}
	if link.Attrs().Alias != bridgeAlias(root, n.ID) {
		if err := netlink.LinkSetAlias(link, bridgeAlias(root, n.ID)); err != nil {
			return fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
	}
	// Boxes speak IPv4 only; an IPv6 link-local address would only add
	// router solicitations to every bridge.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+n.Bridge+"/disable_ipv6", []byte("1"), 0)
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.Gateway.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("bridge %s: address %s: %w", n.Bridge, addr.IPNet, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge %s up: %w", n.Bridge, err)
	}
	return nil
}

func (linuxHost) removeBridge(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find bridge %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

func (linuxHost) bridges() ([]hostBridge, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	var out []hostBridge
	for _, l := range links {
		a := l.Attrs()
		rest, ok := strings.CutPrefix(a.Alias, aliasPrefix)
		if !ok || !strings.HasPrefix(a.Name, bridgePrefix) {
			continue
		}
		id, root, ok := strings.Cut(rest, ":")
		if ok && len(id) == 64 && root != "" {
			out = append(out, hostBridge{Name: a.Name, Root: root, ID: id})
		}
	}
	return out, nil
}

// OpenTap makes tap device name for a box's NIC slot and returns its file,
// which the VMM is given. The tap is not persistent: it lives while the
// file is open in the supervisor or the VMM, so no crash leaves it behind.
// It has a virtio-net header, so the guest's offloads (checksums, TSO)
// reach the host.
func OpenTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create tap %s: %w", name, err)
	}
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0)
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// PlugTap enslaves a tap to a network's bridge and brings it up.
func PlugTap(tap, bridge string) error {
	t, err := netlink.LinkByName(tap)
	if err != nil {
		return fmt.Errorf("find tap %s: %w", tap, err)
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", bridge, err)
	}
	if t.Attrs().MasterIndex != br.Attrs().Index {
		if err := netlink.LinkSetMasterByIndex(t, br.Attrs().Index); err != nil {
			return fmt.Errorf("plug %s into %s: %w", tap, bridge, err)
		}
	}
	if err := netlink.LinkSetUp(t); err != nil {
		return fmt.Errorf("tap %s up: %w", tap, err)
	}
	return nil
}

// UnplugTap takes a tap off its bridge and down: a spare slot.
func UnplugTap(tap string) error {
	t, err := netlink.LinkByName(tap)
	if err != nil {
		return fmt.Errorf("find tap %s: %w", tap, err)
	}
	if err := netlink.LinkSetDown(t); err != nil {
		return fmt.Errorf("tap %s down: %w", tap, err)
	}
	if t.Attrs().MasterIndex != 0 {
		if err := netlink.LinkSetNoMaster(t); err != nil {
			return fmt.Errorf("unplug %s: %w", tap, err)
		}
	}
	return nil
}
