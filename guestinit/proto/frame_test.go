package proto

import (
	"bytes"
	"errors"
	"io"
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

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short header", []byte{1, 0}, io.ErrUnexpectedEOF},
		{"type zero", []byte{0, 0, 0, 0, 0}, ErrUnknownType},
		{"type past end", []byte{byte(typeEnd), 0, 0, 0, 0}, ErrUnknownType},
		{"too large", []byte{byte(TypeStdout), 0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
		{"short payload", []byte{byte(TypeStdout), 0, 0, 0, 4, 'a'}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
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
	err := WriteFrame(io.Discard, TypeStdout, make([]byte, MaxPayload+1))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the decoder: it must never panic,
// never return a frame over MaxPayload, and re-encode what it accepted to
// the same bytes.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	_ = WriteMessage(&seed, &Exec{Args: []string{"true"}})
	_ = WriteFrame(&seed, TypeStdout, []byte("hello"))
	f.Add(seed.Bytes())
	f.Add([]byte{byte(TypeExit), 0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		consumed := 0
		for {
			fr, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(fr.Payload) > MaxPayload {
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
