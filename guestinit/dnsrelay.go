package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/hashicorp/yamux"
	"golang.org/x/sys/unix"
)

// The DNS relay: the box's resolv.conf names 127.0.0.11, where guestinit
// listens on UDP and TCP port 53 and hands each query to the host on a
// stream of its own. The host (the box's supervisor) knows the boxes of
// the networks this box is on as they are at that moment, and forwards
// other names to the host's name servers.

// dnsTimeout bounds one query's round trip through the host.
const dnsTimeout = 10 * time.Second

// maxDNS bounds a DNS message.
const maxDNS = 65535

func startDNSRelay(ip string, sess *yamux.Session) error {
	// SO_REUSEADDR lets a DNS server in the box bind port 53 on every
	// address as well, if it asks for the same.
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(ip, "53")
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return fmt.Errorf("dns relay: %w", err)
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("dns relay: %w", err)
	}
	go relayUDP(pc, sess)
	go relayTCP(ln, sess)
	return nil
}

// askHost sends one query to the host and returns its answer.
func askHost(sess *yamux.Session, q []byte) ([]byte, error) {
	st, err := sess.Open()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	st.SetDeadline(time.Now().Add(dnsTimeout))
	if err := proto.WriteFrame(st, proto.TypeDNSQuery, q); err != nil {
		return nil, err
	}
	f, err := proto.ReadFrame(st)
	if err != nil {
		return nil, err
	}
	if f.Type != proto.TypeDNSReply {
		return nil, fmt.Errorf("dns relay: host sent %s", f.Type)
	}
	return f.Payload, nil
}

func relayUDP(pc net.PacketConn, sess *yamux.Session) {
	buf := make([]byte, maxDNS)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if sess.IsClosed() {
				return
			}
			continue
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if a, err := askHost(sess, q); err == nil && len(a) > 0 {
				if a = fitUDP(q, a); a != nil {
					_, _ = pc.WriteTo(a, from)
				}
			}
		}()
	}
}

func relayTCP(ln net.Listener, sess *yamux.Session) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if sess.IsClosed() {
				return
			}
			continue
		}
		go func() {
			defer c.Close()
			for {
				c.SetDeadline(time.Now().Add(dnsTimeout))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				a, err := askHost(sess, q)
				if err != nil || len(a) == 0 {
					return
				}
				out := make([]byte, 2+len(a))
				binary.BigEndian.PutUint16(out, uint16(len(a)))
				copy(out[2:], a)
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}
