//go:build hostileguest

package main

// A hostile guest, for the end-to-end tests only: guestinit as it is,
// plus an attack a guest root who replaced guestinit could make on the
// host through the channel. `a3s-box exec BOX a3s-hostile-flood [N]`
// opens N streams (600 by default) with raw yamux frames, not held back
// by the library's courtesy of waiting for an open to be accepted, each
// carrying a frame header with a huge or bulk length field and little
// or none of its payload, and closes none of them. Each stream stays
// within yamux's initial window, so the session itself stays valid and
// the box goes on answering.

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// rawChannel interleaves whole raw frames with the yamux library's, on
// the frame boundaries of what the library writes.
type rawChannel struct {
	io.ReadWriteCloser
	mu      sync.Mutex // held from the first byte of a library frame to its last
	readMu  sync.Mutex // held to stop reading from the host
	hdr     []byte     // the library frame's header so far
	body    int        // its body bytes still to come
	inFrame bool
}

const (
	yamuxHeader = 12
	yamuxData   = 0
	yamuxPing   = 2
	yamuxSYN    = 1
	// yamux's initial stream window: a stream may carry this much before
	// the host grants more, and no more without breaking the session.
	initialWindow = 256 << 10
)

var flood = &rawChannel{}

func init() {
	channelHook = func(c io.ReadWriteCloser) io.ReadWriteCloser {
		flood.ReadWriteCloser = c
		return flood
	}
	execHook = func(ex *proto.Exec, w *proto.Writer) *proto.Exit {
		if len(ex.Args) > 0 && ex.Args[0] == "a3s-hostile-ping" {
			return pingFlood(ex.Args[1:], w)
		}
		if len(ex.Args) == 0 || ex.Args[0] != "a3s-hostile-flood" {
			return nil
		}
		n := 600
		if len(ex.Args) > 1 {
			n, _ = strconv.Atoi(ex.Args[1])
		}
		_ = w.Message(&proto.Started{PID: 1})
		start := time.Now()
		sent, err := flood.streams(n)
		msg := fmt.Sprintf("opened %d streams, sent %d KiB in %s\n", n, sent>>10, time.Since(start).Round(time.Millisecond))
		if err != nil {
			msg += "flood: " + err.Error() + "\n"
		}
		_ = w.Frame(proto.TypeStdout, []byte(msg))
		return &proto.Exit{}
	}
}

func (c *rawChannel) Read(p []byte) (int, error) {
	c.readMu.Lock()
	c.readMu.Unlock()
	return c.ReadWriteCloser.Read(p)
}

// pingFlood stops reading from the host for a while, so that what the
// host sends backs up, and meanwhile sends n yamux pings (args: n,
// seconds), each of which a host that answers pings would answer from a
// goroutine waiting to send.
func pingFlood(args []string, w *proto.Writer) *proto.Exit {
	n, secs := 1000000, 10
	if len(args) > 1 {
		n, _ = strconv.Atoi(args[0])
		secs, _ = strconv.Atoi(args[1])
	}
	_ = w.Message(&proto.Started{PID: 1})
	start := time.Now()
	flood.readMu.Lock()
	const batch = 4096
	buf := make([]byte, 0, batch*yamuxHeader)
	var err error
	for i := 0; i < n && err == nil; i += batch {
		buf = buf[:0]
		for j := i; j < min(n, i+batch); j++ {
			hdr := make([]byte, yamuxHeader)
			hdr[1] = yamuxPing
			binary.BigEndian.PutUint16(hdr[2:], yamuxSYN)
			binary.BigEndian.PutUint32(hdr[8:], uint32(j))
			buf = append(buf, hdr...)
		}
		err = flood.raw(buf)
	}
	sentIn := time.Since(start)
	time.Sleep(time.Duration(secs)*time.Second - sentIn)
	flood.readMu.Unlock()
	msg := fmt.Sprintf("sent %d pings in %s, read nothing for %ds\n", n, sentIn.Round(time.Millisecond), secs)
	if err != nil {
		msg += "ping flood: " + err.Error() + "\n"
	}
	_ = w.Frame(proto.TypeStdout, []byte(msg))
	return &proto.Exit{}
}

func (c *rawChannel) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if !c.inFrame {
			c.mu.Lock()
			c.inFrame = true
		}
		var k int
		if len(c.hdr) < yamuxHeader {
			k = min(yamuxHeader-len(c.hdr), len(p))
			c.hdr = append(c.hdr, p[:k]...)
			if len(c.hdr) == yamuxHeader && c.hdr[1] == yamuxData {
				c.body = int(binary.BigEndian.Uint32(c.hdr[8:]))
			}
		} else {
			k = min(c.body, len(p))
			c.body -= k
		}
		m, err := c.ReadWriteCloser.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		if len(c.hdr) == yamuxHeader && c.body == 0 {
			c.hdr, c.inFrame = c.hdr[:0], false
			c.mu.Unlock()
		}
	}
	return n, nil
}

// raw writes one whole frame between the library's.
func (c *rawChannel) raw(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.ReadWriteCloser.Write(frame)
	return err
}

// streams opens n streams the host never asked for and returns how
// many bytes they carried.
func (c *rawChannel) streams(n int) (int, error) {
	sent := 0
	filler := make([]byte, initialWindow)
	for i := range n {
		var body []byte
		switch i % 4 {
		case 0: // a DNS query of 4 GiB, none of it sent
			body = frameHeader(proto.TypeDNSQuery, 0xffffffff)
		case 1: // a bulk frame on a DNS stream, a window's worth of it sent
			body = append(frameHeader(proto.TypeProcData, proto.MaxPayload), filler[:initialWindow-5]...)
		case 2: // a whole DNS query announced, half of it sent, then nothing
			body = append(frameHeader(proto.TypeDNSQuery, proto.MaxControlPayload), filler[:proto.MaxControlPayload/2]...)
		case 3: // a data frame of 1 MiB, a window's worth of it sent
			body = append(frameHeader(proto.TypeData, proto.MaxPayload), filler[:initialWindow-5]...)
		}
		// Server stream IDs are even; these stay clear of the library's.
		id := uint32(1<<30 + 2*i)
		hdr := make([]byte, yamuxHeader, yamuxHeader+len(body))
		hdr[1] = yamuxData
		binary.BigEndian.PutUint16(hdr[2:], yamuxSYN)
		binary.BigEndian.PutUint32(hdr[4:], id)
		binary.BigEndian.PutUint32(hdr[8:], uint32(len(body)))
		if err := c.raw(append(hdr, body...)); err != nil {
			return sent, err
		}
		sent += len(body)
	}
	return sent, nil
}

func frameHeader(t proto.Type, n uint32) []byte {
	b := []byte{byte(t), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], n)
	return b
}
