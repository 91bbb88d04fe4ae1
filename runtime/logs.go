package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// A box's log is Docker's json-file shape: one JSON object per line of
// output, with its stream and time. It is rotated by size (--log-opt
// max-size, 10 MiB by default), keeping one older file (none with
// --log-opt max-file=1); --log-driver none keeps no log.
const (
	logMaxSize  = 10 << 20
	logMaxLine  = 16 << 10 // longer lines are split, as Docker does
	logFileName = "log.json"
)

// LogEntry is one line of a box's output.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func (r *Runtime) logPath(id string) string { return filepath.Join(r.boxDir(id), logFileName) }

// logWriter appends a box's output to its log, line by line per stream.
type logWriter struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	pending map[string][]byte // unterminated line per stream
	maxSize int64
	keepOld bool // rotation keeps the older file
}

// openLog opens a box's log as its --log-driver and --log-opt say; with
// none it is a writer that keeps nothing.
func openLog(path string, lc *spec.Logging) (*logWriter, error) {
	l := &logWriter{path: path, pending: map[string][]byte{}, maxSize: logMaxSize, keepOld: true}
	if lc != nil {
		if lc.Driver == "none" {
			return l, nil
		}
		if v, ok := lc.Options["max-size"]; ok {
			if n, err := spec.ParseBytes(v); err == nil && n > 0 {
				l.maxSize = n
			}
		}
		l.keepOld = lc.Options["max-file"] != "1"
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open box log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	l.f, l.size = f, fi.Size()
	return l, nil
}

// write takes a chunk of one stream's output.
func (l *logWriter) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.pending[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 || i >= logMaxLine {
			if len(buf) < logMaxLine {
				break
			}
			i = logMaxLine - 1
		}
		l.append(stream, buf[:i+1])
		buf = buf[i+1:]
	}
	l.pending[stream] = append([]byte(nil), buf...)
}

// flush writes what is left of unterminated lines, at the process's end.
func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for stream, buf := range l.pending {
		if len(buf) > 0 {
			l.append(stream, buf)
		}
		delete(l.pending, stream)
	}
}

func (l *logWriter) append(stream string, line []byte) {
	if l.f == nil {
		return // --log-driver none
	}
	b, err := json.Marshal(&LogEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return
	}
	b = append(b, '\n')
	if l.size+int64(len(b)) > l.maxSize {
		l.rotate()
	}
	n, _ := l.f.Write(b)
	l.size += int64(n)
}

func (l *logWriter) rotate() {
	l.f.Close()
	if l.keepOld {
		_ = os.Rename(l.path, l.path+".1")
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		// Keep writing into the renamed file rather than losing output.
		f, _ = os.OpenFile(l.path+".1", os.O_WRONLY|os.O_APPEND, 0o600)
	}
	l.f, l.size = f, 0
}

func (l *logWriter) close() {
	l.flush()
	if l.f != nil {
		l.f.Close()
	}
}

// LogOptions selects the lines `logs` shows.
type LogOptions struct {
	Since, Until time.Time
	Tail         int // lines from the end; negative means all
	Follow       bool
}

// Logs calls fn for each selected line of box id's log. With Follow it
// goes on with new lines until ctx ends or running reports the box gone.
func (r *Runtime) Logs(ctx context.Context, id string, o LogOptions, running func() bool, fn func(*LogEntry) error) error {
	path := r.logPath(id)
	if err := readLogFiles(ctx, path, o, fn); err != nil {
		return err
	}
	if !o.Follow {
		return nil
	}
	return followLog(ctx, path, o, running, fn)
}

// readLogFiles gives the selected lines of the rotated file and the
// current one, oldest first.
func readLogFiles(ctx context.Context, path string, o LogOptions, fn func(*LogEntry) error) error {
	var entries []*LogEntry
	for _, p := range []string{path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("read logs: %w", err)
		}
		entries = append(entries, parseLog(b, o)...)
	}
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func parseLog(b []byte, o LogOptions) []*LogEntry {
	var out []*LogEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e LogEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || !o.selects(&e) {
			continue
		}
		out = append(out, &e)
	}
	return out
}

func (o *LogOptions) selects(e *LogEntry) bool {
	return !e.Time.Before(o.Since) && (o.Until.IsZero() || !e.Time.After(o.Until))
}

// followLog reads what is appended to the log after its current end,
// following it across a rotation, until the box stops.
func followLog(ctx context.Context, path string, o LogOptions, running func() bool, fn func(*LogEntry) error) error {
	f, err := os.Open(path)
	if err != nil {
		if !os.IsNotExist(err) {
			return fmt.Errorf("follow logs: %w", err)
		}
		f, _ = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	}
	defer func() { f.Close() }()
	off, _ := f.Seek(0, io.SeekEnd)
	var partial []byte
	buf := make([]byte, 64<<10)
	for {
		// Asked before reading, so lines written before the box stopped
		// are all read before following ends.
		alive := running()
		n, _ := f.ReadAt(buf, off)
		if n > 0 {
			off += int64(n)
			partial = append(partial, buf[:n]...)
			for {
				i := bytes.IndexByte(partial, '\n')
				if i < 0 {
					break
				}
				var e LogEntry
				if json.Unmarshal(partial[:i], &e) == nil && o.selects(&e) {
					if err := fn(&e); err != nil {
						return err
					}
				}
				partial = partial[i+1:]
			}
			continue
		}
		if fi, err := os.Stat(path); err == nil && fi.Size() < off {
			// Rotated: the new file starts from nothing.
			f.Close()
			if f, err = os.Open(path); err != nil {
				return nil
			}
			off, partial = 0, nil
			continue
		}
		if !alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}
