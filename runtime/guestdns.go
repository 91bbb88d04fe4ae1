package runtime

import (
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// serveStreams answers the streams the guest opens, each one DNS query
// from the box's relay, until the session ends.
func (g *Guest) serveStreams(answer func(q []byte) []byte) {
	for {
		st, err := g.sess.Accept()
		if err != nil {
			return
		}
		go func() {
			defer st.Close()
			st.SetDeadline(time.Now().Add(15 * time.Second))
			f, err := proto.ReadFrame(st)
			if err != nil || f.Type != proto.TypeDNSQuery {
				return
			}
			if a := answer(f.Payload); a != nil {
				_ = proto.WriteFrame(st, proto.TypeDNSReply, a)
			}
		}()
	}
}
