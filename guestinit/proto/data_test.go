package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDataRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewDataWriter(&buf)
	want := strings.Repeat("01234567", DataChunk/4) // two frames' worth
	for _, part := range []string{"a", want, "", "tail"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	frames := 0
	for r := bytes.NewReader(buf.Bytes()); ; frames++ {
		f, err := ReadFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil || len(f.Payload) > DataChunk {
			t.Fatalf("frame %d: %v, %d bytes", frames, err, len(f.Payload))
		}
	}
	if frames != 4 { // three data frames and the end
		t.Fatalf("%d frames, want 4", frames)
	}
	got, err := io.ReadAll(NewDataReader(&buf))
	if err != nil || string(got) != "a"+want+"tail" {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}

func TestDataReaderEnds(t *testing.T) {
	var cut, failed, odd bytes.Buffer
	_ = WriteFrame(&cut, TypeData, []byte("partial"))
	_ = WriteFrame(&failed, TypeData, []byte("partial"))
	_ = WriteMessage(&failed, &Error{Message: "disk full", Code: ErrNotFound})
	_ = WriteMessage(&odd, &Exit{Code: 1})
	tests := []struct {
		name string
		in   []byte
		want func(error) bool
	}{
		{"cut", cut.Bytes(), func(err error) bool { return errors.Is(err, ErrDataCut) }},
		{"guest error", failed.Bytes(), func(err error) bool {
			var e *Error
			return errors.As(err, &e) && e.Message == "disk full" && e.Code == ErrNotFound
		}},
		{"other frame", odd.Bytes(), func(err error) bool { return err != nil && strings.Contains(err.Error(), "unexpected exit frame") }},
		{"oversized", []byte{byte(TypeData), 0xff, 0xff, 0xff, 0xff}, func(err error) bool { return errors.Is(err, ErrFrameTooLarge) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(NewDataReader(bytes.NewReader(tt.in)))
			if !tt.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// FuzzDataReader feeds arbitrary bytes to the data stream decoder: it must
// never panic, and what it returns is exactly the Data payloads before the
// first other frame.
func FuzzDataReader(f *testing.F) {
	var seed bytes.Buffer
	w := NewDataWriter(&seed)
	_, _ = w.Write([]byte("some bytes"))
	_ = w.Close()
	f.Add(seed.Bytes())
	f.Add([]byte{byte(TypeError), 0, 0, 0, 2, '{', '}'})
	f.Add([]byte{byte(TypeData), 0, 0, 0, 9, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(NewDataReader(bytes.NewReader(data)))
		// The Data payloads up to the first other frame, a cut last one
		// as far as it goes.
		var want []byte
		rest := data
		for len(rest) >= headerLen && Type(rest[0]) == TypeData {
			n := int(binary.BigEndian.Uint32(rest[1:headerLen]))
			if n > MaxPayload {
				break
			}
			rest = rest[headerLen:]
			want = append(want, rest[:min(n, len(rest))]...)
			rest = rest[min(n, len(rest)):]
		}
		if !bytes.HasPrefix(want, got) {
			t.Fatalf("read %q, not a prefix of the frames' %q", got, want)
		}
		if err == nil && len(got) != len(want) {
			t.Fatalf("a whole stream read %d of %d bytes", len(got), len(want))
		}
	})
}
