package vmm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The guest's serial console is text the guest controls: a loop that
// prints forever would fill the host's disk. QEMU writes it to a pipe
// and the supervisor keeps it in console.log, which never grows past
// ConsoleLimit: when full it becomes console.log.1 (replacing the one
// before) and a new console.log starts, so at most twice the limit is
// kept and the start of a failed boot and the latest output both
// survive one rotation.

// ConsoleLimit bounds console.log.
const ConsoleLimit = 4 << 20

// consoleLog copies a guest console into dir/console.log.
type consoleLog struct {
	dir   string
	limit int64
	f     *os.File
	n     int64
}

func openConsoleLog(dir string, limit int64) (*consoleLog, error) {
	c := &consoleLog{dir: dir, limit: limit}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *consoleLog) path() string { return filepath.Join(c.dir, "console.log") }

func (c *consoleLog) open() error {
	f, err := os.OpenFile(c.path(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("console log: %w", err)
	}
	c.f, c.n = f, 0
	return nil
}

func (c *consoleLog) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if c.n >= c.limit {
			c.f.Close()
			if err := os.Rename(c.path(), c.path()+".1"); err != nil {
				return written, fmt.Errorf("console log: %w", err)
			}
			if err := c.open(); err != nil {
				return written, err
			}
		}
		chunk := p
		if room := c.limit - c.n; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := c.f.Write(chunk)
		written += n
		c.n += int64(n)
		if err != nil {
			return written, fmt.Errorf("console log: %w", err)
		}
		p = p[n:]
	}
	return written, nil
}

// copyFrom keeps r's bytes until it ends; a log that cannot be written
// drains r all the same, so the guest never blocks on its console.
func (c *consoleLog) copyFrom(r io.Reader) {
	if _, err := io.Copy(c, r); err != nil {
		_, _ = io.Copy(io.Discard, r)
	}
	c.f.Close()
}
