package proto

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// reads is a reader that yields its reads as scripted, then ends with
// end (io.EOF when nil).
type reads struct {
	parts []string
	end   error
	// last, if set, comes with the last part rather than after it.
	last bool
}

func (r *reads) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		if r.end == nil {
			return 0, io.EOF
		}
		return 0, r.end
	}
	n := copy(p, r.parts[0])
	if n < len(r.parts[0]) {
		r.parts[0] = r.parts[0][n:]
		return n, nil
	}
	r.parts = r.parts[1:]
	if r.last && len(r.parts) == 0 {
		if r.end == nil {
			return n, io.EOF
		}
		return n, r.end
	}
	return n, nil
}

// frames decodes b back into frames, failing the test on a decode error.
func frames(t *testing.T, b []byte) []Frame {
	t.Helper()
	var out []Frame
	r := bytes.NewReader(b)
	for {
		f, err := ReadFrame(r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode frame %d: %v", len(out), err)
		}
		out = append(out, f)
	}
}

func TestWriterCopy(t *testing.T) {
	boom := errors.New("boom")
	big := strings.Repeat("0123456789abcdef", (2*CopyChunk+5)/16) + "01234"
	tests := []struct {
		name    string
		r       *reads
		want    []int // payload sizes, in order
		wantErr error
	}{
		{"large read split into chunks", &reads{parts: []string{big}}, []int{CopyChunk, CopyChunk, 5}, nil},
		{"exactly one chunk", &reads{parts: []string{big[:CopyChunk]}}, []int{CopyChunk}, nil},
		{"small reads not gathered", &reads{parts: []string{"a", "bc", "", "d"}}, []int{1, 2, 1}, nil},
		{"data with EOF sent", &reads{parts: []string{"tail"}, last: true}, []int{4}, nil},
		{"nothing to read", &reads{}, nil, nil},
		{"read error after data", &reads{parts: []string{"x"}, end: boom}, []int{1}, boom},
		{"data with a read error sent", &reads{parts: []string{"xy"}, end: boom, last: true}, []int{2}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Join(tt.r.parts, "")
			var buf bytes.Buffer
			err := NewWriter(&buf).Copy(TypeStdout, tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Copy error = %v, want %v", err, tt.wantErr)
			}
			var got []byte
			var sizes []int
			for _, f := range frames(t, buf.Bytes()) {
				if f.Type != TypeStdout {
					t.Fatalf("%s frame, want stdout", f.Type)
				}
				sizes = append(sizes, len(f.Payload))
				got = append(got, f.Payload...)
			}
			if string(got) != want {
				t.Errorf("frames carry %d bytes, want the %d read", len(got), len(want))
			}
			if len(sizes) != len(tt.want) {
				t.Fatalf("frame sizes %v, want %v", sizes, tt.want)
			}
			for i := range sizes {
				if sizes[i] != tt.want[i] {
					t.Fatalf("frame sizes %v, want %v", sizes, tt.want)
				}
			}
		})
	}
}

// failAfter takes n bytes, then half of the next Write (the rest of a
// frame lost on the way), and fails.
type failAfter struct {
	n      int
	buf    bytes.Buffer
	writes int // Writes called after the failure
	failed bool
}

var errStream = errors.New("stream broke")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.failed {
		f.writes++
		return 0, errStream
	}
	if len(p) <= f.n {
		f.n -= len(p)
		return f.buf.Write(p)
	}
	f.failed = true
	f.buf.Write(p[:len(p)/2])
	return len(p) / 2, errStream
}

func TestWriterStopsAfterAFailedWrite(t *testing.T) {
	first := len("stdout") + headerLen
	tests := []struct {
		name string
		then func(w *Writer) error
	}{
		{"frame", func(w *Writer) error { return w.Frame(TypeStdout, []byte("more")) }},
		{"message", func(w *Writer) error { return w.Message(&Exit{Code: 1}) }},
		{"copy", func(w *Writer) error { return w.Copy(TypeStdin, strings.NewReader("more")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failAfter{n: first}
			w := NewWriter(s)
			if err := w.Frame(TypeStdout, []byte("stdout")); err != nil {
				t.Fatal(err)
			}
			if err := w.Frame(TypeStderr, []byte("cut in half")); !errors.Is(err, errStream) {
				t.Fatalf("failing frame: err = %v, want %v", err, errStream)
			}
			if err := tt.then(w); !errors.Is(err, errStream) {
				t.Fatalf("after the failure: err = %v, want %v", err, errStream)
			}
			if s.writes != 0 {
				t.Fatalf("%d writes reached the stream after it failed", s.writes)
			}
		})
	}
}

func TestWriterRefusedFrameLeavesStreamUsable(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Frame(TypeStdout, make([]byte, MaxPayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	if err := w.Message(struct{}{}); err == nil {
		t.Fatal("a non-message was written")
	}
	if err := w.Message(&Exit{Code: 3}); err != nil {
		t.Fatal(err)
	}
	fs := frames(t, buf.Bytes())
	var exit Exit
	if len(fs) != 1 || fs[0].Decode(&exit) != nil || exit.Code != 3 {
		t.Fatalf("stream holds %d frames, want the one Exit", len(fs))
	}
}

// trickle writes one byte at a time and yields between bytes, so two
// unguarded frames would interleave.
type trickle struct{ buf bytes.Buffer }

func (t *trickle) Write(p []byte) (int, error) {
	for _, b := range p {
		t.buf.WriteByte(b)
		runtime.Gosched()
	}
	return len(p), nil
}

func TestWriterFramesDoNotInterleave(t *testing.T) {
	s := &trickle{}
	w := NewWriter(s)
	inputs := map[Type]string{
		TypeStdout: strings.Repeat("o", 3000),
		TypeStderr: strings.Repeat("e", 2000),
	}
	var wg sync.WaitGroup
	for typ, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One byte a read: many small frames, many chances to mix.
			if err := w.Copy(typ, &oneByte{s: in}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			_ = w.Message(&Signal{Signal: 15})
		}
	}()
	wg.Wait()
	got := map[Type]string{}
	for _, f := range frames(t, s.buf.Bytes()) {
		got[f.Type] += string(f.Payload)
	}
	for typ, in := range inputs {
		if got[typ] != in {
			t.Errorf("%s: %d bytes decoded, want %d", typ, len(got[typ]), len(in))
		}
	}
}

// oneByte reads s one byte at a time.
type oneByte struct {
	s string
	i int
}

func (o *oneByte) Read(p []byte) (int, error) {
	if o.i == len(o.s) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.s[o.i]
	o.i++
	return 1, nil
}
