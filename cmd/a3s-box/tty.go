package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/a3s-box/a3s-box/runtime"
	"golang.org/x/term"
)

// defaultDetachKeys is Docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// parseDetachKeys reads Docker's --detach-keys notation: comma-separated
// single characters or ctrl-<char>.
func parseDetachKeys(s string) ([]byte, error) {
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case strings.HasPrefix(k, "ctrl-") && len(k) == 6:
			c := k[5]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c < '@' || c > '_' {
				return nil, fmt.Errorf("invalid detach key %q: want ctrl-<a-z, @, [, \\, ], ^ or _>", k)
			}
			keys = append(keys, c&0x1f)
		default:
			return nil, fmt.Errorf("invalid detach keys %q: want e.g. %s", s, defaultDetachKeys)
		}
	}
	return keys, nil
}

// detachReader passes input through until the detach sequence is typed;
// a partial sequence is held back and sent on if the next key breaks it.
type detachReader struct {
	r       io.Reader
	keys    []byte
	matched int
	out     []byte
}

func (d *detachReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		buf := make([]byte, len(p))
		n, err := d.r.Read(buf)
		for _, b := range buf[:n] {
			if b == d.keys[d.matched] {
				d.matched++
				if d.matched == len(d.keys) {
					return 0, runtime.ErrDetached
				}
				continue
			}
			d.out = append(d.out, d.keys[:d.matched]...)
			d.matched = 0
			if b == d.keys[0] {
				d.matched = 1
				continue
			}
			d.out = append(d.out, b)
		}
		if err != nil {
			if len(d.out) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// terminal is the host side of a session with a TTY: the local terminal
// in raw mode, its size, and its resizes.
type terminal struct {
	fd      int
	restore *term.State
	winch   chan os.Signal
}

// openTerminal puts stdin's terminal in raw mode. When stdin is not a
// terminal it returns nil (output still comes through the guest's pty).
func openTerminal(stdin io.Reader) (*terminal, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	t := &terminal{fd: int(f.Fd()), winch: make(chan os.Signal, 1)}
	st, err := term.MakeRaw(t.fd)
	if err != nil {
		return nil, fmt.Errorf("set the terminal to raw mode: %w", err)
	}
	t.restore = st
	signal.Notify(t.winch, syscall.SIGWINCH)
	return t, nil
}

// size is the terminal's rows and columns (0, 0 when unknown).
func (t *terminal) size() (uint16, uint16) {
	if t == nil {
		return 0, 0
	}
	w, h, err := term.GetSize(t.fd)
	if err != nil {
		return 0, 0
	}
	return uint16(h), uint16(w)
}

// watchResize calls fn with every new size until the terminal is closed.
func (t *terminal) watchResize(fn func(rows, cols uint16)) {
	if t == nil {
		return
	}
	go func() {
		for range t.winch {
			fn(t.size())
		}
	}()
}

func (t *terminal) close() {
	if t == nil {
		return
	}
	signal.Stop(t.winch)
	close(t.winch)
	_ = term.Restore(t.fd, t.restore)
}
