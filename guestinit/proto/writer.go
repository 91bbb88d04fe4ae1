package proto

import (
	"io"
	"sync"
)

// CopyChunk is the most bytes Copy puts in one frame. A pipe or a
// terminal rarely yields more in one read, and a frame that small keeps
// interactive output and typing moving without waiting for a fuller one.
const CopyChunk = 32 << 10

// Writer writes frames onto one stream for several goroutines at once:
// in the guest, a process's output copiers and its Started and Exit; on
// the host, stdin, signals and resizes to a process, and a box's output
// and exit to each attached client. Each frame goes out in one Write
// under the Writer's lock, so frames never interleave.
//
// Once a Write to the stream fails, the Writer writes nothing more and
// returns that error: the failed Write may have sent part of a frame,
// after which the peer could not tell where the next one starts. A frame
// refused before anything is written (too large, not a message) leaves
// the stream usable.
type Writer struct {
	mu sync.Mutex
	s  failStop // guarded by mu
}

// NewWriter writes frames to w, typically a session stream or a
// supervisor's connection.
func NewWriter(w io.Writer) *Writer { return &Writer{s: failStop{w: w}} }

// failStop passes Writes to w until one fails, and then refuses every
// later one with that error.
type failStop struct {
	w   io.Writer
	err error
}

func (f *failStop) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
	}
	return n, err
}

// Frame writes one frame of type t.
func (w *Writer) Frame(t Type, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.s.err != nil {
		return w.s.err
	}
	return WriteFrame(&w.s, t, payload)
}

// Message writes one control message.
func (w *Writer) Message(m any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.s.err != nil {
		return w.s.err
	}
	return WriteMessage(&w.s, m)
}

// Copy sends what r yields as frames of type t, one frame per read of at
// most CopyChunk bytes, until r ends or the stream fails. Reads are not
// gathered: what a process wrote goes out as soon as it is read. Copy
// returns nil when r ends with io.EOF, else r's error (which the caller
// may act on: a detach, say) or the stream's.
func (w *Writer) Copy(t Type, r io.Reader) error {
	buf := make([]byte, CopyChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := w.Frame(t, buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
