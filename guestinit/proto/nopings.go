package proto

import (
	"bufio"
	"encoding/binary"
	"io"
)

// yamux's framing (its spec.md): a 12-byte header of version, type,
// flags, stream ID and length; only a data frame's length counts bytes
// that follow it.
const (
	yamuxHeaderLen = 12
	yamuxTypeData  = 0
	yamuxTypePing  = 2
)

// noPings drops every yamux ping frame the guest sends before the
// host's session reads it. yamux answers each ping from a goroutine of
// its own, which waits up to ConnectionWriteTimeout to send the answer:
// a guest that stops reading its channel and sends pings, 12 bytes each,
// would make the host start a goroutine per ping, millions a second,
// and exhaust its memory. Neither end pings (keepalives are off, and
// nothing calls Session.Ping), so no ping has a use.
type noPings struct {
	io.ReadWriteCloser
	r    *bufio.Reader
	hdr  [yamuxHeaderLen]byte
	held int    // header bytes read so far
	out  []byte // a whole header not yet handed to the reader
	body uint32 // bytes of the current data frame still to pass
}

func dropPings(conn io.ReadWriteCloser) *noPings {
	return &noPings{ReadWriteCloser: conn, r: bufio.NewReaderSize(conn, 64<<10)}
}

func (c *noPings) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if c.body > 0 {
			n, err := c.r.Read(p[:min(uint32(len(p)), c.body)])
			c.body -= uint32(n)
			return n, err
		}
		n, err := c.r.Read(c.hdr[c.held:])
		c.held += n
		if c.held == yamuxHeaderLen {
			c.held = 0
			switch c.hdr[1] {
			case yamuxTypePing:
				continue
			case yamuxTypeData:
				c.body = binary.BigEndian.Uint32(c.hdr[8:])
			}
			c.out = c.hdr[:]
			continue
		}
		if err != nil {
			return 0, err
		}
	}
}
