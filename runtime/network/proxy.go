package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// Published ports: the box's supervisor listens on the host address and
// port and relays each TCP connection, and each UDP client's datagrams, to
// the box's address on its first network. The supervisor lives as long as
// the box (across the restarts its policy makes), so the ports stay bound
// while the VM reboots; a connection that arrives meanwhile is refused.
// The relay is the kernel's TCP stack on both sides: a stream in each
// direction, copied with splice, and each direction's end passed on as a
// half-close, so a client that shuts its sending side still gets the
// whole answer.

// Binding is one published port as bound: HostPort is the real port, also
// for a port asked as 0 (any free one).
type Binding struct {
	HostIP        string `json:"hostIp"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// String is Docker's `port` notation of where the port is bound.
func (b Binding) String() string {
	ip := b.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(b.HostPort)))
}

// udpIdle is how long a UDP client's flow lives without a datagram.
const udpIdle = 60 * time.Second

// dialTimeout bounds the connection to the box.
const dialTimeout = 5 * time.Second

// Publisher holds a box's published ports.
type Publisher struct {
	target   func() (netip.Addr, bool)
	mu       sync.Mutex
	closers  []io.Closer
	bindings []Binding
	wg       sync.WaitGroup
	done     chan struct{}
}

// Publish binds every port, or none: a port that cannot be bound (in use,
// no such address) fails the whole publish with a line that names it.
// target gives the box's address at the time of each connection.
func Publish(ports []spec.Port, target func() (netip.Addr, bool)) (*Publisher, error) {
	p := &Publisher{target: target, done: make(chan struct{})}
	for _, port := range ports {
		if err := p.bind(port); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// CheckFree reports the first port that cannot be bound now, for a box
// being created: no box is made that cannot start. (Its supervisor binds
// for real.)
func CheckFree(ports []spec.Port) error {
	p, err := Publish(ports, func() (netip.Addr, bool) { return netip.Addr{}, false })
	if err != nil {
		return err
	}
	p.Close()
	return nil
}

// Bindings are the ports as bound.
func (p *Publisher) Bindings() []Binding {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Binding(nil), p.bindings...)
}

func listenAddr(port spec.Port) string {
	return net.JoinHostPort(port.HostIP, strconv.Itoa(int(port.HostPort)))
}

func (p *Publisher) bind(port spec.Port) error {
	addr := listenAddr(port)
	what := fmt.Sprintf("publish %s", port)
	b := Binding{HostIP: port.HostIP, ContainerPort: port.ContainerPort, Protocol: port.Proto()}
	switch port.Proto() {
	case "tcp":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", what, bindError(err))
		}
		b.HostPort = uint16(ln.Addr().(*net.TCPAddr).Port)
		p.add(ln, b)
		p.wg.Add(1)
		go p.serveTCP(ln, port.ContainerPort)
	case "udp":
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", what, bindError(err))
		}
		b.HostPort = uint16(conn.LocalAddr().(*net.UDPAddr).Port)
		p.add(conn, b)
		p.wg.Add(1)
		go p.serveUDP(conn.(*net.UDPConn), port.ContainerPort)
	default:
		return fmt.Errorf("%s: unknown protocol", what)
	}
	return nil
}

// bindError keeps the cause of a failed bind, without Go's "listen tcp"
// framing.
func bindError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se interface{ Unwrap() error }
		if errors.As(oe.Err, &se) {
			return fmt.Errorf("bind %s: %w", oe.Addr, se.Unwrap())
		}
		return fmt.Errorf("bind %s: %w", oe.Addr, oe.Err)
	}
	return err
}

func (p *Publisher) add(c io.Closer, b Binding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closers = append(p.closers, c)
	p.bindings = append(p.bindings, b)
}

// Close unbinds every port and ends every relay.
func (p *Publisher) Close() {
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
	}
	close(p.done)
	closers := p.closers
	p.closers = nil
	p.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	p.wg.Wait()
}

func (p *Publisher) boxAddr(port uint16) (string, bool) {
	ip, ok := p.target()
	if !ok {
		return "", false
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port))), true
}

func (p *Publisher) serveTCP(ln net.Listener, port uint16) {
	defer p.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			p.relayTCP(c.(*net.TCPConn), port)
		}()
	}
}

// relayTCP joins a client to the box's port until both directions end.
func (p *Publisher) relayTCP(client *net.TCPConn, port uint16) {
	defer client.Close()
	addr, ok := p.boxAddr(port)
	if !ok {
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return
	}
	box := c.(*net.TCPConn)
	defer box.Close()
	stop := make(chan struct{})
	go func() {
		select {
		case <-p.done:
			client.Close()
			box.Close()
		case <-stop:
		}
	}()
	defer close(stop)
	Splice(client, box)
}

// Splice copies both ways between two TCP connections until each side has
// ended its sending, passing each end on as a half-close.
func Splice(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src *net.TCPConn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.CloseWrite()
	}
	go half(a, b)
	go half(b, a)
	wg.Wait()
}

// udpFlow is one UDP client's conversation with the box.
type udpFlow struct {
	conn *net.UDPConn // connected to the box
	last atomic.Int64 // when the client last sent, Unix nanoseconds
}

func (p *Publisher) serveUDP(ln *net.UDPConn, port uint16) {
	defer p.wg.Done()
	var mu sync.Mutex
	flows := map[netip.AddrPort]*udpFlow{}
	defer func() {
		mu.Lock()
		for _, f := range flows {
			f.conn.Close()
		}
		mu.Unlock()
	}()
	buf := make([]byte, 65535)
	for {
		n, client, err := ln.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		mu.Lock()
		f := flows[client]
		if f == nil {
			f = p.newFlow(ln, client, port, func() {
				mu.Lock()
				delete(flows, client)
				mu.Unlock()
			})
			if f == nil {
				mu.Unlock()
				continue
			}
			flows[client] = f
		}
		f.last.Store(time.Now().UnixNano())
		mu.Unlock()
		_, _ = f.conn.Write(buf[:n])
	}
}

// newFlow connects a UDP socket to the box for client; its replies go back
// to client from the published port until the flow has been idle for
// udpIdle.
func (p *Publisher) newFlow(ln *net.UDPConn, client netip.AddrPort, port uint16, gone func()) *udpFlow {
	addr, ok := p.boxAddr(port)
	if !ok {
		return nil
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil
	}
	f := &udpFlow{conn: c.(*net.UDPConn)}
	f.last.Store(time.Now().UnixNano())
	go func() {
		defer gone()
		defer f.conn.Close()
		buf := make([]byte, 65535)
		for {
			f.conn.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := f.conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					// Idle only if the client sent nothing meanwhile.
					if time.Since(time.Unix(0, f.last.Load())) < udpIdle {
						continue
					}
					return
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // ICMP unreachable while the box boots: keep the flow
			}
			if _, err := ln.WriteToUDPAddrPort(buf[:n], client); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return f
}
