package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	msgs := []any{
		&Hello{Protocol: Version, Version: "v1", Kernel: "6.1.0"},
		&Setup{Hostname: "box", Hosts: []HostLine{{IP: "10.0.2.2", Names: []string{"host"}}}, DNS: []string{"10.0.2.3"}},
		&Ack{},
		&Exec{Args: []string{"sh", "-c", "exit 3"}, Env: []string{"A=B"}, Dir: "/", User: "1000:1000", Main: true},
		&Started{PID: 42},
		&Exit{Code: 127, Error: "not found"},
		&Signal{Signal: 15},
		&Shutdown{},
		&Error{Message: "boom"},
		&ProcRequest{Files: []string{"/proc/meminfo"}, Procs: true, Cmdline: true},
		&ProcData{Files: map[string][]byte{"/proc/uptime": []byte("1.00 2.00\n")}, Procs: []ProcFiles{{PID: 7, UID: 1000, Stat: []byte("7 (sh) S")}}, More: true},
		&FSRequest{Op: FSPut, Path: "/srv", Name: "d", Dir: true, Owners: true},
		&FSInfo{Name: "d", Dir: true, Mode: 0o40755},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatalf("write %T: %v", m, err)
		}
	}
	for _, want := range msgs {
		f, err := ReadFrame(&buf)
		if err != nil {
			t.Fatalf("read %T: %v", want, err)
		}
		got, _ := messageType(want)
		if f.Type != got {
			t.Fatalf("type = %s, want %s", f.Type, got)
		}
	}
	if _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("after last frame: err = %v, want io.EOF", err)
	}
}

// header is a frame header announcing n bytes of type t.
func header(t Type, n uint32) []byte {
	return []byte{byte(t), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"empty", nil, MaxPayload, io.EOF},
		{"short header", []byte{1, 0}, MaxPayload, io.ErrUnexpectedEOF},
		{"type zero", []byte{0, 0, 0, 0, 0}, MaxPayload, ErrUnknownType},
		{"type past end", []byte{byte(typeEnd), 0, 0, 0, 0}, MaxPayload, ErrUnknownType},
		{"too large", header(TypeStdout, 0xffffffff), MaxPayload, ErrFrameTooLarge},
		{"control frame over its limit", header(TypeAck, MaxControlPayload+1), MaxPayload, ErrFrameTooLarge},
		{"dns query over its limit", header(TypeDNSQuery, MaxControlPayload+1), MaxPayload, ErrFrameTooLarge},
		{"bulk frame over its limit", header(TypeProcData, MaxPayload+1), MaxPayload, ErrFrameTooLarge},
		{"bulk frame on a control stream", header(TypeProcData, MaxControlPayload+1), MaxControlPayload, ErrFrameTooLarge},
		{"short payload", append(header(TypeStdout, 4), 'a'), MaxPayload, io.ErrUnexpectedEOF},
		{"announced and not sent", header(TypeData, MaxPayload), MaxPayload, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrameLimit(bytes.NewReader(tt.in), tt.limit)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFrameLimits(t *testing.T) {
	tests := []struct {
		t     Type
		limit int // ReadFrameLimit's
		size  int
		ok    bool
	}{
		{TypeHello, MaxPayload, MaxControlPayload, true},
		{TypeHello, MaxPayload, MaxControlPayload + 1, false},
		{TypeDNSQuery, MaxPayload, 65535, true},
		{TypeStdout, MaxControlPayload, CopyChunk, true},
		{TypeError, MaxPayload, MaxControlPayload + 1, false},
		{TypeData, MaxPayload, MaxPayload, true},
		{TypeData, MaxPayload, MaxPayload + 1, false},
		{TypeProcData, MaxPayload, MaxPayload, true},
		{TypeProcData, MaxControlPayload, MaxControlPayload, true},
		{TypeProcData, MaxControlPayload, MaxControlPayload + 1, false},
		{TypeExec, MaxPayload, MaxPayload, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d", tt.t, tt.limit, tt.size), func(t *testing.T) {
			in := append(header(tt.t, uint32(tt.size)), make([]byte, tt.size)...)
			f, err := ReadFrameLimit(bytes.NewReader(in), tt.limit)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok = %v", err, tt.ok)
			}
			if err == nil && (f.Type != tt.t || len(f.Payload) != tt.size) {
				t.Fatalf("got %s frame of %d bytes", f.Type, len(f.Payload))
			}
			werr := WriteFrame(io.Discard, tt.t, make([]byte, tt.size))
			if tt.limit == MaxPayload && tt.ok != (werr == nil) {
				t.Fatalf("write: err = %v, want ok = %v", werr, tt.ok)
			}
		})
	}
}

// TestReadFrameAllocatesAsBytesArrive shows that a length field alone
// does not make the reader allocate: a header announcing a full bulk
// frame followed by a few bytes costs about those bytes.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	tests := []struct {
		name string
		sent int
		max  uint64 // bytes allocated, at most
	}{
		{"header only", 0, 64 << 10},
		{"a few bytes", 100, 64 << 10},
		{"a quarter", MaxPayload / 4, MaxPayload/2 + 64<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(header(TypeData, MaxPayload), make([]byte, tt.sent)...)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 10 {
				if _, err := ReadFrame(bytes.NewReader(in)); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
				}
			}
			runtime.ReadMemStats(&after)
			if got := (after.TotalAlloc - before.TotalAlloc) / 10; got > tt.max {
				t.Fatalf("allocated %d bytes per read for %d bytes sent, want at most %d", got, tt.sent, tt.max)
			}
		})
	}
}

func TestDecodeErrorFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, &Error{Message: "no such user"}); err != nil {
		t.Fatal(err)
	}
	var ack Ack
	err := ReadMessage(&buf, &ack)
	var perr *Error
	if !errors.As(err, &perr) || perr.Message != "no such user" {
		t.Fatalf("err = %v, want the peer's *Error", err)
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	err := WriteFrame(io.Discard, TypeData, make([]byte, MaxPayload+1))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the decoder: it must never panic,
// never return a frame over its type's limit, and re-encode what it accepted to
// the same bytes.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	_ = WriteMessage(&seed, &Exec{Args: []string{"true"}})
	_ = WriteFrame(&seed, TypeStdout, []byte("hello"))
	f.Add(seed.Bytes())
	f.Add([]byte{byte(TypeExit), 0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(header(TypeAck, MaxControlPayload+1))
	f.Add(append(header(TypeData, MaxPayload), 'x'))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		consumed := 0
		for {
			fr, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(fr.Payload) > fr.Type.Limit() || len(fr.Payload) > MaxPayload {
				t.Fatalf("payload of %d bytes accepted", len(fr.Payload))
			}
			var out bytes.Buffer
			if err := WriteFrame(&out, fr.Type, fr.Payload); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			n := out.Len()
			if !bytes.Equal(out.Bytes(), data[consumed:consumed+n]) {
				t.Fatalf("re-encoded frame differs from input")
			}
			consumed += n
			for _, m := range []any{&Hello{}, &Exec{}, &Exit{}, &Setup{}, &FSRequest{}, &FSInfo{}} {
				_ = fr.Decode(m)
			}
		}
	})
}
