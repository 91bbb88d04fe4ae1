package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/mdlayher/vsock"
)

// openChannel returns the byte stream to the host: the named virtio-serial
// port when the box has one, otherwise the first AF_VSOCK connection.
func openChannel() (io.ReadWriteCloser, error) {
	if dev, err := findPort(proto.VirtioPortName); err == nil {
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dev, err)
		}
		return &portConn{f: f}, nil
	}
	l, err := vsock.Listen(proto.VsockPort, nil)
	if err != nil {
		return nil, fmt.Errorf("no virtio port %q and no vsock: %w", proto.VirtioPortName, err)
	}
	defer l.Close()
	return l.Accept()
}

// findPort maps a virtio-serial port name to its device node.
func findPort(name string) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		paths, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err == nil && strings.TrimSpace(string(b)) == name {
				return "/dev/" + filepath.Base(filepath.Dir(p)), nil
			}
		}
		if time.Now().After(deadline) {
			return "", errors.New("virtio port not found")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// portConn adapts a virtio-serial port to a stream. The port reads EOF
// while no host end is connected; that means "not yet", not "closed".
type portConn struct{ f *os.File }

func (c *portConn) Read(p []byte) (int, error) {
	for {
		n, err := c.f.Read(p)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *portConn) Write(p []byte) (int, error) { return c.f.Write(p) }
func (c *portConn) Close() error                { return c.f.Close() }
