// Command netbench measures boxes' network throughput: TCP from one box
// to another on a network, and from the host to a box through a published
// port (and to the box's address, without the port proxy), beside the same
// transfer over the host's loopback.
//
// It is also the program that runs in the boxes (its subcommands sink,
// send and udp-echo), so both ends of every transfer are the same code: it
// must be built static (CGO_ENABLED=0), as the boxes have no libc.
package main

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// subcommands run in the boxes, at both ends of every transfer.
var subcommands = map[string]func(args []string) error{"sink": sink, "send": sendCmd, "udp-echo": udpEcho}

func main() {
	if len(os.Args) > 1 {
		if sub, ok := subcommands[os.Args[1]]; ok {
			benchrig.Exit("netbench", sub(os.Args[2:]))
			return
		}
	}
	fs := flag.NewFlagSet("netbench", flag.ContinueOnError)
	dir := fs.String("dir", "out", "directory holding a3s-box and the guest files")
	runs := fs.Int("runs", 3, "transfers per path; the median is shown")
	size := fs.Int64("mib", 64, "MiB per transfer")
	benchrig.Exit("netbench", fs.Parse(os.Args[1:]))
	benchrig.Main("netbench", *dir, func(ctx context.Context, rig *benchrig.Rig) error { return bench(ctx, rig, *runs, *size) })
}

// sink PORT: accepts connections for ever; reads each to its end, then
// answers the byte count, so that the sender's clock covers the whole
// transfer.
func sink(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: netbench sink PORT")
	}
	ln, err := net.Listen("tcp", ":"+args[0])
	if err != nil {
		return err
	}
	return serveSink(ln)
}

func serveSink(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			n, _ := io.Copy(io.Discard, c)
			fmt.Fprintf(c, "%d\n", n)
		}()
	}
}

// result is one transfer.
type result struct {
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

func (r result) mbps() float64 { return float64(r.Bytes) / r.Seconds / 1e6 }

// sendCmd ADDR BYTES: one transfer, printed as JSON.
func sendCmd(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: netbench send HOST:PORT BYTES")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return err
	}
	r, err := send(args[0], n)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// send writes n bytes to addr, ends its side, and waits for the sink's
// count.
func send(addr string, n int64) (result, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	for left := n; left > 0; {
		chunk := buf
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		w, err := c.Write(chunk)
		if err != nil {
			return result{}, err
		}
		left -= int64(w)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return result{}, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return result{}, fmt.Errorf("no count from the sink: %w", err)
	}
	got, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if got != n {
		return result{}, fmt.Errorf("the sink got %d bytes of %d", got, n)
	}
	return result{Bytes: n, Seconds: time.Since(start).Seconds()}, nil
}

// udpEcho PORT: answers every datagram with itself.
func udpEcho(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: netbench udp-echo PORT")
	}
	pc, err := net.ListenPacket("udp", ":"+args[0])
	if err != nil {
		return err
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		_, _ = pc.WriteTo(buf[:n], from)
	}
}

// Image is the busybox test image with this program as
// /usr/local/bin/netbench, exposing port 80/tcp (for -P).
func Image(bin []byte) (v1.Image, error) {
	base, err := imagetest.Busybox()
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}}}
	return imagetest.Extend(base, cfg, imagetest.File("usr/local/bin/netbench", 0o755, string(bin)))
}

// static reports whether the ELF file has no program interpreter.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

func bench(ctx context.Context, rig *benchrig.Rig, runs int, size int64) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := static(exe); err != nil {
		return err
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	img, err := Image(bin)
	if err != nil {
		return err
	}
	ref, err := rig.Serve("test/netbench:1", img)
	if err != nil {
		return err
	}
	a3s := func(args ...string) (string, error) { return rig.Run(ctx, args...) }
	if _, err := a3s("network", "create", "netbench"); err != nil {
		return err
	}
	if _, err := a3s("run", "-d", "--name", "nb-server", "--network", "netbench", "-p", "127.0.0.1::5001", ref, "netbench", "sink", "5001"); err != nil {
		return err
	}
	if _, err := a3s("run", "-d", "--name", "nb-client", "--network", "netbench", ref, "sleep", "1000000"); err != nil {
		return err
	}
	published, err := a3s("port", "nb-server", "5001")
	if err != nil {
		return err
	}
	boxIP, err := a3s("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "nb-server")
	if err != nil {
		return err
	}
	n := size << 20
	// The sink is up once a small transfer goes through.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := send(published, 1); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the box's sink never answered on %s: %v", published, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	boxToBox := func() (result, error) {
		out, err := a3s("exec", "nb-client", "netbench", "send", "nb-server:5001", strconv.FormatInt(n, 10))
		if err != nil {
			return result{}, err
		}
		var r result
		return r, json.Unmarshal([]byte(out), &r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go serveSink(ln)
	paths := []struct {
		name string
		run  func() (result, error)
	}{
		{"host loopback (127.0.0.1)", func() (result, error) { return send(ln.Addr().String(), n) }},
		{"box to box on one network", boxToBox},
		{"host to box, published port", func() (result, error) { return send(published, n) }},
		// The same without the port proxy: what the proxy costs.
		{"host to box, its address", func() (result, error) { return send(net.JoinHostPort(boxIP, "5001"), n) }},
	}
	fmt.Printf("TCP throughput, %d MiB per transfer, median of %d (accel %s)\n", size, runs, "tcg")
	var loopback float64
	for i, p := range paths {
		var mbps []float64
		for j := 0; j < runs; j++ {
			r, err := p.run()
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			mbps = append(mbps, r.mbps())
		}
		m := benchrig.Median(mbps)
		if i == 0 {
			loopback = m
			fmt.Printf("  %-30s %9.1f MB/s\n", p.name, m)
			continue
		}
		fmt.Printf("  %-30s %9.1f MB/s  (%.4f of loopback)\n", p.name, m, m/loopback)
	}
	return nil
}
