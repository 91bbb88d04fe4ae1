package network

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

func loopback() (netip.Addr, bool) { return netip.MustParseAddr("127.0.0.1"), true }

// A TCP client that sends a request and shuts its sending side gets the
// whole answer the box writes after reading to the end: the half-close
// reaches the box, and the box's data flows back after it.
func TestProxyTCPHalfClose(t *testing.T) {
	box, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	go func() {
		for {
			c, err := box.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, _ := io.ReadAll(c) // to the client's half-close
				c.Write(bytes.Repeat(req, 1000))
			}()
		}
	}()
	boxPort := uint16(box.Addr().(*net.TCPAddr).Port)
	p, err := Publish([]spec.Port{{HostIP: "127.0.0.1", ContainerPort: boxPort}}, loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := p.Bindings()
	if len(b) != 1 || b[0].HostPort == 0 || b[0].Protocol != "tcp" || b[0].String() != "127.0.0.1:"+itoa(b[0].HostPort) {
		t.Fatalf("bindings %+v", b)
	}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", b[0].String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		c.(*net.TCPConn).CloseWrite()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("ping"), 1000)) {
			t.Fatalf("got %d bytes, %v", len(got), err)
		}
	}
}

func itoa(n uint16) string { return strconv.Itoa(int(n)) }

func TestProxyUDPFlows(t *testing.T) {
	box, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := box.ReadFrom(buf)
			if err != nil {
				return
			}
			// The echo names the peer the box saw: one per client flow.
			box.WriteTo(append(buf[:n:n], []byte(" from "+from.String())...), from)
		}
	}()
	boxPort := uint16(box.LocalAddr().(*net.UDPAddr).Port)
	p, err := Publish([]spec.Port{{HostIP: "127.0.0.1", ContainerPort: boxPort, Protocol: "udp"}}, loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := p.Bindings()[0].String()
	peers := map[string]bool{}
	for i := 0; i < 2; i++ {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for j := 0; j < 2; j++ {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("hello"))
			buf := make([]byte, 2048)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "hello from ") {
				t.Fatalf("got %q", msg)
			}
			peers[msg] = true
		}
	}
	if len(peers) != 2 {
		t.Fatalf("two clients, two datagrams each, want two flows: %v", peers)
	}
}

// A port in use fails the whole publish, naming the port, and leaves the
// ports bound before it free again.
func TestPublishPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := uint16(busy.Addr().(*net.TCPAddr).Port)
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	freePort := uint16(free.Addr().(*net.TCPAddr).Port)
	free.Close()
	ports := []spec.Port{{HostIP: "127.0.0.1", HostPort: freePort, ContainerPort: 80}, {HostIP: "127.0.0.1", HostPort: busyPort, ContainerPort: 81}}
	err = CheckFree(ports)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "81/tcp") {
		t.Fatalf("publish: %v", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(freePort)))
	if err != nil {
		t.Fatalf("the first port stayed bound: %v", err)
	}
	ln.Close()
}
