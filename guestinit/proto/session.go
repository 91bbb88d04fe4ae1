package proto

import (
	"io"
	"time"

	"github.com/hashicorp/yamux"
)

// muxConfig tunes yamux for a link that may be slow to answer: under TCG a
// busy guest can stall for seconds, so keepalives would tear down healthy
// sessions. Liveness is the VMM process's business instead.
func muxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.EnableKeepAlive = false
	c.ConnectionWriteTimeout = 30 * time.Second
	c.StreamOpenTimeout = 30 * time.Second
	c.LogOutput = io.Discard
	// A stream's window grows to this: bulk copies (cp, export) keep
	// the link busy while window updates make the round trip through
	// an emulated guest.
	c.MaxStreamWindowSize = 4 << 20
	return c
}

// Client starts the host end of a session over conn.
func Client(conn io.ReadWriteCloser) (*yamux.Session, error) {
	return yamux.Client(conn, muxConfig())
}

// Server starts the guest end of a session over conn.
func Server(conn io.ReadWriteCloser) (*yamux.Session, error) {
	return yamux.Server(conn, muxConfig())
}
