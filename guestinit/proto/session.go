package proto

import (
	"io"
	"time"

	"github.com/hashicorp/yamux"
)

// Session bounds. The guest is hostile, and everything it may make the
// host hold is bounded by these (see docs/architecture.md, "Threat
// model"): a stream the guest opens waits in a backlog of AcceptBacklog
// with at most the initial 256 KiB window buffered (yamux resets the
// rest at once), a stream the host has closed is forgotten
// StreamCloseTimeout later whatever the guest does, and no stream
// buffers more than its window, MaxStreamWindowSize.
const (
	// AcceptBacklog is how many streams the peer has opened that may
	// wait to be accepted.
	AcceptBacklog = 16
	// StreamCloseTimeout is how long a stream closed on one side waits
	// for the other's close before it is dropped (and reset).
	StreamCloseTimeout = 10 * time.Second
	// MaxStreamWindow is the most a stream's receiver grants, and so
	// buffers: bulk copies (cp, export) keep the link busy while window
	// updates make the round trip through an emulated guest. yamux has
	// one window for every stream of a session, so the host bounds how
	// many streams the guest may open instead (runtime/guestdns.go).
	MaxStreamWindow = 4 << 20
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
	c.AcceptBacklog = AcceptBacklog
	c.StreamCloseTimeout = StreamCloseTimeout
	c.MaxStreamWindowSize = MaxStreamWindow
	return c
}

// Client starts the host end of a session over conn. The guest's pings
// never reach it (noPings).
func Client(conn io.ReadWriteCloser) (*yamux.Session, error) {
	return yamux.Client(dropPings(conn), muxConfig())
}

// Server starts the guest end of a session over conn.
func Server(conn io.ReadWriteCloser) (*yamux.Session, error) {
	return yamux.Server(conn, muxConfig())
}
