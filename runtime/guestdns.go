package runtime

import (
	"io"
	"net"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// guestStreamsMax is how many streams the guest opens (DNS queries from
// the box's relay) the host serves at once. The guest is hostile and
// yamux grants every stream the session's window, so this cap is what
// bounds the memory a guest's streams can hold in the supervisor:
// guestStreamsMax served streams of at most proto.MaxStreamWindow
// buffered each (twice that allocated, as a bytes.Buffer grows), plus a
// frame of proto.MaxControlPayload each, plus proto.AcceptBacklog
// waiting streams of at most yamux's initial 256 KiB window (twice
// that allocated): 4 x (8 MiB + 64 KiB) + 16 x 512 KiB, about 40 MiB.
// A relay asks one query at a time per client, so four serve a box's
// resolver well.
const guestStreamsMax = 4

// dnsStreamTimeout bounds a DNS stream from its accept to its answer.
const dnsStreamTimeout = 15 * time.Second

// serveStreams answers the streams the guest opens, each one DNS query
// from the box's relay, until the session ends. It accepts a stream only
// when one of guestStreamsMax slots is free: the others wait in yamux's
// backlog, and yamux resets at once any stream the full backlog cannot
// take.
func (g *Guest) serveStreams(answer func(q []byte) []byte) {
	slots := make(chan struct{}, guestStreamsMax)
	for {
		slots <- struct{}{}
		st, err := g.sess.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { <-slots }()
			serveDNSQuery(st, answer)
		}()
	}
}

// serveDNSQuery answers the one DNS query st carries, then holds st's
// slot until the stream is gone from the session.
func serveDNSQuery(st net.Conn, answer func(q []byte) []byte) {
	defer drainClose(st)
	st.SetDeadline(time.Now().Add(dnsStreamTimeout))
	f, err := proto.ReadFrameLimit(st, proto.MaxControlPayload)
	if err != nil || f.Type != proto.TypeDNSQuery {
		return
	}
	if a := answer(f.Payload); a != nil {
		_ = proto.WriteFrame(st, proto.TypeDNSReply, a)
	}
}

// drainClose closes a stream the guest opened and reads what it still
// sends into nothing until the guest closes its end too or yamux drops
// the stream (proto.StreamCloseTimeout after our close). A stream merely
// closed on our side would stay in the session for that long with its
// window's worth buffered, and a guest opening stream after stream would
// hold that much for each: draining keeps the stream's slot taken, and
// its buffer empty, until it is gone.
func drainClose(st net.Conn) {
	st.Close()
	st.SetDeadline(time.Now().Add(proto.StreamCloseTimeout + time.Second))
	_, _ = io.Copy(io.Discard, st)
}
