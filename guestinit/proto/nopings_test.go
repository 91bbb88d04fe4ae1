package proto

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"testing/iotest"
)

// yamuxFrame is one yamux frame; a data frame carries body.
func yamuxFrame(typ uint8, flags uint16, id, length uint32, body []byte) []byte {
	b := make([]byte, yamuxHeaderLen, yamuxHeaderLen+len(body))
	b[1] = typ
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], length)
	return append(b, body...)
}

// withoutPings is what noPings should pass of in: every frame but the
// pings, parsed in one go over the whole input.
func withoutPings(in []byte) []byte {
	var out []byte
	for len(in) >= yamuxHeaderLen {
		n := 0
		if in[1] == yamuxTypeData {
			n = int(min(uint64(binary.BigEndian.Uint32(in[8:12])), uint64(len(in)-yamuxHeaderLen)))
		}
		if in[1] != yamuxTypePing {
			out = append(out, in[:yamuxHeaderLen+n]...)
		}
		in = in[yamuxHeaderLen+n:]
	}
	return out
}

// readFiltered is what the host's session reads of in, delivered whole
// or one byte at a time.
func readFiltered(in []byte, oneByte bool) ([]byte, error) {
	var r io.Reader = bytes.NewReader(in)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	return io.ReadAll(dropPings(struct {
		io.Reader
		io.WriteCloser
	}{r, nil}))
}

func TestDropPings(t *testing.T) {
	data := yamuxFrame(yamuxTypeData, 1, 2, 5, []byte("hello"))
	ping := yamuxFrame(yamuxTypePing, 1, 0, 7, nil)
	update := yamuxFrame(1, 2, 2, 1<<20, nil)
	// A data frame whose body looks like a ping header passes whole.
	tricky := yamuxFrame(yamuxTypeData, 0, 4, yamuxHeaderLen, ping)
	tests := []struct {
		name string
		in   [][]byte
		want [][]byte
	}{
		{"no pings", [][]byte{data, update}, [][]byte{data, update}},
		{"pings dropped", [][]byte{ping, data, ping, ping, update, ping}, [][]byte{data, update}},
		{"only pings", [][]byte{ping, ping}, nil},
		{"a ping inside a data body", [][]byte{tricky, ping}, [][]byte{tricky}},
		{"empty data frame", [][]byte{yamuxFrame(yamuxTypeData, 4, 2, 0, nil), ping}, [][]byte{yamuxFrame(yamuxTypeData, 4, 2, 0, nil)}},
	}
	for _, tt := range tests {
		for _, one := range []bool{false, true} {
			name := tt.name
			if one {
				name += "/one byte at a time"
			}
			t.Run(name, func(t *testing.T) {
				got, err := readFiltered(bytes.Join(tt.in, nil), one)
				if err != nil {
					t.Fatal(err)
				}
				if want := bytes.Join(tt.want, nil); !bytes.Equal(got, want) {
					t.Fatalf("got %x\nwant %x", got, want)
				}
			})
		}
	}
}

// FuzzDropPings checks the filter against a reference parse of the whole
// input: the same frames but the pings, however the bytes arrive.
func FuzzDropPings(f *testing.F) {
	f.Add(bytes.Join([][]byte{
		yamuxFrame(yamuxTypeData, 1, 2, 3, []byte("abc")),
		yamuxFrame(yamuxTypePing, 1, 0, 9, nil),
		yamuxFrame(1, 2, 2, 100, nil),
	}, nil), false)
	f.Add(yamuxFrame(yamuxTypeData, 0, 2, 1<<30, []byte("short")), true)
	f.Fuzz(func(t *testing.T, in []byte, oneByte bool) {
		got, err := readFiltered(in, oneByte)
		if err != nil {
			t.Fatal(err)
		}
		if want := withoutPings(in); !bytes.Equal(got, want) {
			t.Fatalf("got %x\nwant %x", got, want)
		}
	})
}
