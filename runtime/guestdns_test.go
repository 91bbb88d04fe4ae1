package runtime

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// yamuxFrame is one raw yamux frame (version 0) from the guest's end:
// a hostile guest writes these itself, not held back by the library's
// courtesy of waiting for its opens to be accepted.
func yamuxFrame(typ uint8, flags uint16, id uint32, body []byte, length uint32) []byte {
	b := make([]byte, 12, 12+len(body))
	b[1] = typ
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], length)
	return append(b, body...)
}

const (
	yamuxData, yamuxWindowUpdate        = 0, 1
	yamuxSYN, yamuxFIN           uint16 = 1, 4
)

// TestServeStreamsBounded floods the host with streams the way a hostile
// guest can: hundreds opened at once, each announcing a frame it never
// finishes, none closed. The host must hold no more of them than its
// served slots and yamux's backlog, and must still answer a query once
// the flood has gone.
func TestServeStreamsBounded(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte // what each stream carries
	}{
		{"huge length, no data", []byte{byte(proto.TypeDNSQuery), 0xff, 0xff, 0xff, 0xff}},
		{"full control frame announced, half sent", append([]byte{byte(proto.TypeDNSQuery), 0, 1, 0, 0}, make([]byte, 32<<10)...)},
		{"bulk type on a DNS stream", append([]byte{byte(proto.TypeProcData), 0, 0x10, 0, 0}, make([]byte, 200<<10)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, guest := net.Pipe()
			defer guest.Close()
			guestSess, err := proto.Server(guest)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				ctl, err := guestSess.Accept()
				if err != nil {
					return
				}
				var h proto.Hello
				_ = proto.ReadMessage(ctl, &h)
				_ = proto.WriteMessage(ctl, &proto.Hello{Protocol: proto.Version})
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			g, err := Handshake(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			go g.serveStreams(func(q []byte) []byte { return q })

			const streams, firstID = 300, 1 << 20
			flooded := make(chan error, 1)
			go func() {
				for i := range uint32(streams) {
					f := yamuxFrame(yamuxData, yamuxSYN, firstID+2*i, tt.frame, uint32(len(tt.frame)))
					if _, err := guest.Write(f); err != nil {
						flooded <- err
						return
					}
				}
				flooded <- nil
			}()
			bound := 1 + guestStreamsMax + proto.AcceptBacklog
			most := 0
			deadline := time.After(3 * time.Second)
			for done := false; !done; {
				select {
				case err := <-flooded:
					if err != nil {
						t.Fatalf("flood: %v", err)
					}
					flooded = nil
				case <-deadline:
					done = true
				case <-time.After(5 * time.Millisecond):
				}
				most = max(most, g.sess.NumStreams())
				if most > bound {
					t.Fatalf("the host holds %d streams, want at most %d", most, bound)
				}
			}
			if flooded != nil {
				t.Fatal("the flood did not get through in 3s")
			}
			t.Logf("the host held at most %d streams", most)

			// The flood's streams close; a query is then answered.
			for i := range uint32(streams) {
				if _, err := guest.Write(yamuxFrame(yamuxWindowUpdate, yamuxFIN, firstID+2*i, nil, 0)); err != nil {
					t.Fatal(err)
				}
			}
			st, err := guestSess.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			st.SetDeadline(time.Now().Add(5 * time.Second))
			if err := proto.WriteFrame(st, proto.TypeDNSQuery, []byte("query")); err != nil {
				t.Fatal(err)
			}
			f, err := proto.ReadFrame(st)
			if err != nil || f.Type != proto.TypeDNSReply || string(f.Payload) != "query" {
				t.Fatalf("after the flood: %s frame %q, err %v", f.Type, f.Payload, err)
			}
		})
	}
}
