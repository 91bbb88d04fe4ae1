// Package capped holds a writer that keeps only the first bytes written to
// it: what a3s-box keeps of output it reports but must not let grow
// without bound (a VMM's stderr, a health check's output). Writes past
// the cap succeed and are dropped, so the writer never stalls a process.
package capped

import "bytes"

// Buffer keeps the first Max bytes written to it.
type Buffer struct {
	buf bytes.Buffer
	max int
}

// New returns a Buffer that keeps max bytes.
func New(max int) *Buffer { return &Buffer{max: max} }

func (b *Buffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// String is what was kept.
func (b *Buffer) String() string { return b.buf.String() }
