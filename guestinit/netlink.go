package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client: the few requests guestinit needs to set up
// the box's interfaces (the image has no `ip`). Each request asks for an
// acknowledgement and returns the kernel's error.

type rtnl struct {
	fd  int
	seq uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (c *rtnl) close() { unix.Close(c.fd) }

// attr appends one rtattr.
func attr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	var h [unix.SizeofRtAttr]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(l))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// request sends one message and waits for its acknowledgement.
func (c *rtnl) request(typ, flags uint16, body []byte) error {
	c.seq++
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(msg[8:], c.seq)
	msg = append(msg, body...)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != c.seq || m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return syscall.Errno(-code)
			}
			return nil
		}
	}
}

func ifinfo(index int, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(index)))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// linkSetUp brings a link up or down.
func (c *rtnl) linkSetUp(index int, up bool) error {
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	return c.request(unix.RTM_NEWLINK, 0, ifinfo(index, flags, unix.IFF_UP))
}

// linkRename names a link (it must be down).
func (c *rtnl) linkRename(index int, name string) error {
	b := attr(ifinfo(index, 0, 0), unix.IFLA_IFNAME, append([]byte(name), 0))
	return c.request(unix.RTM_NEWLINK, 0, b)
}

func ifaddr(index int, p netip.Prefix) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	b[1] = byte(p.Bits())
	b[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	ip := p.Addr().AsSlice()
	return attr(attr(b, unix.IFA_LOCAL, ip), unix.IFA_ADDRESS, ip)
}

// addrAdd gives a link an IPv4 address, with its broadcast address.
func (c *rtnl) addrAdd(index int, p netip.Prefix) error {
	b := ifaddr(index, p)
	bcast := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := binary.BigEndian.Uint32(bcast[:]) | host
	binary.BigEndian.PutUint32(bcast[:], v)
	b = attr(b, unix.IFA_BROADCAST, bcast[:])
	return c.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b)
}

func (c *rtnl) addrDel(index int, p netip.Prefix) error {
	return c.request(unix.RTM_DELADDR, 0, ifaddr(index, p))
}

func rtmsg() []byte {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = unix.AF_INET
	b[4] = unix.RT_TABLE_MAIN
	b[5] = unix.RTPROT_BOOT
	b[6] = unix.RT_SCOPE_UNIVERSE
	b[7] = unix.RTN_UNICAST
	return b
}

// defaultRoute points the default route at gw through link index.
func (c *rtnl) defaultRoute(index int, gw netip.Addr) error {
	b := attr(rtmsg(), unix.RTA_GATEWAY, gw.AsSlice())
	var oif [4]byte
	binary.NativeEndian.PutUint32(oif[:], uint32(index))
	b = attr(b, unix.RTA_OIF, oif[:])
	return c.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b)
}

// delDefaultRoute removes the default route, if there is one.
func (c *rtnl) delDefaultRoute() error {
	b := rtmsg()
	b[6] = unix.RT_SCOPE_NOWHERE
	err := c.request(unix.RTM_DELROUTE, 0, b)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}
