package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// The box's network: the host gives every NIC slot (found by its MAC
// address) an address or none, and one of them the default route. Setup
// carries the first configuration; Network messages carry later ones
// (network connect and disconnect), and each is applied whole, so the
// guest ends up as the host says whatever it was before.

// setup applies Setup: the box's identity, then its interfaces, then the
// DNS relay, which needs loopback up.
func (g *guest) setup(s *proto.Setup) error {
	if s.MountsOnly {
		return applyMounts(s.Mounts)
	}
	if err := applySetup(s); err != nil {
		return err
	}
	if len(s.Interfaces) > 0 {
		if err := applyInterfaces(s.Interfaces, true); err != nil {
			return err
		}
	}
	if s.DNSRelay != "" && g.sess != nil {
		if err := startDNSRelay(s.DNSRelay, g.sess); err != nil {
			return err
		}
	}
	return nil
}

// replyNetwork applies a Network message and answers Ack or Error.
func replyNetwork(ctl net.Conn, f proto.Frame) {
	var n proto.Network
	err := f.Decode(&n)
	if err == nil {
		err = applyInterfaces(n.Interfaces, false)
	}
	if err != nil {
		_ = proto.WriteMessage(ctl, &proto.Error{Message: err.Error()})
		return
	}
	_ = proto.WriteMessage(ctl, &proto.Ack{})
}

// findNICs maps the wanted MAC addresses to their devices, waiting a
// little for devices still being probed.
func findNICs(ifs []proto.Interface) (map[string]net.Interface, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := map[string]net.Interface{}
		all, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("list interfaces: %w", err)
		}
		for _, i := range all {
			found[strings.ToLower(i.HardwareAddr.String())] = i
		}
		missing := ""
		for _, want := range ifs {
			if _, ok := found[strings.ToLower(want.MAC)]; !ok {
				missing = want.MAC
			}
		}
		if missing == "" {
			return found, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no network device with MAC address %s", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// applyInterfaces makes the box's interfaces match ifs. first names the
// devices after their slots (eth0 for slot 0...), which needs them down:
// only before anything uses them.
func applyInterfaces(ifs []proto.Interface, first bool) error {
	nics, err := findNICs(ifs)
	if err != nil {
		return err
	}
	nl, err := openRtnl()
	if err != nil {
		return err
	}
	defer nl.close()
	if first {
		// Announce addresses as interfaces come up, so neighbours that
		// knew an address under another box's MAC learn the new one.
		_ = os.WriteFile("/proc/sys/net/ipv4/conf/all/arp_notify", []byte("1"), 0)
		_ = os.WriteFile("/proc/sys/net/ipv4/conf/default/arp_notify", []byte("1"), 0)
		if err := renameNICs(nl, ifs, nics); err != nil {
			return err
		}
	}
	var route *proto.Interface
	for i := range ifs {
		want := &ifs[i]
		nic := nics[strings.ToLower(want.MAC)]
		if err := configureNIC(nl, nic, want); err != nil {
			return err
		}
		if want.Gateway != "" && want.Address != "" {
			route = want
		}
	}
	if route == nil {
		return nl.delDefaultRoute()
	}
	gw, err := netip.ParseAddr(route.Gateway)
	if err != nil {
		return fmt.Errorf("gateway %q: %w", route.Gateway, err)
	}
	if err := nl.defaultRoute(nics[strings.ToLower(route.MAC)].Index, gw); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

// renameNICs gives each device its slot's name, through temporary names
// so that two devices can swap.
func renameNICs(nl *rtnl, ifs []proto.Interface, nics map[string]net.Interface) error {
	var moves []proto.Interface
	for _, want := range ifs {
		if nic := nics[strings.ToLower(want.MAC)]; want.Name != "" && nic.Name != want.Name {
			moves = append(moves, want)
		}
	}
	for i, want := range moves {
		nic := nics[strings.ToLower(want.MAC)]
		_ = nl.linkSetUp(nic.Index, false)
		if err := nl.linkRename(nic.Index, fmt.Sprintf("a3stmp%d", i)); err != nil {
			return fmt.Errorf("rename %s: %w", nic.Name, err)
		}
	}
	for _, want := range moves {
		nic := nics[strings.ToLower(want.MAC)]
		if err := nl.linkRename(nic.Index, want.Name); err != nil {
			return fmt.Errorf("rename to %s: %w", want.Name, err)
		}
		nic.Name = want.Name
		nics[strings.ToLower(want.MAC)] = nic
	}
	return nil
}

// configureNIC gives one device its address and brings it up, or takes
// its addresses away and brings it down.
func configureNIC(nl *rtnl, nic net.Interface, want *proto.Interface) error {
	var p netip.Prefix
	if want.Address != "" {
		var err error
		if p, err = netip.ParsePrefix(want.Address); err != nil {
			return fmt.Errorf("%s: address %q: %w", nic.Name, want.Address, err)
		}
	}
	have := false
	addrs, _ := nic.Addrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP.To4())
		bits, _ := ipn.Mask.Size()
		cur := netip.PrefixFrom(ip, bits)
		if cur == p {
			have = true
			continue
		}
		if err := nl.addrDel(nic.Index, cur); err != nil {
			return fmt.Errorf("%s: remove %s: %w", nic.Name, cur, err)
		}
	}
	if !p.IsValid() {
		return nl.linkSetUp(nic.Index, false)
	}
	if !have {
		if err := nl.addrAdd(nic.Index, p); err != nil {
			return fmt.Errorf("%s: address %s: %w", nic.Name, p, err)
		}
	}
	if err := nl.linkSetUp(nic.Index, true); err != nil {
		return fmt.Errorf("%s up: %w", nic.Name, err)
	}
	return nil
}
