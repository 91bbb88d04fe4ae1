package main

import (
	"bytes"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsMsg builds a DNS message for name with n A records; an edns size
// above zero adds an OPT record advertising it.
func dnsMsg(t testing.TB, response bool, name string, n int, edns uint16) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: response, RecursionDesired: true})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	q := dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	must(b.Question(q))
	must(b.StartAnswers())
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		must(b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip.As4()}))
	}
	must(b.StartAdditionals())
	if edns > 0 {
		var h dnsmessage.ResourceHeader
		must(h.SetEDNS0(int(edns), dnsmessage.RCodeSuccess, false))
		must(b.OPTResource(h, dnsmessage.OPTResource{}))
	}
	out, err := b.Finish()
	must(err)
	return out
}

func TestFitUDP(t *testing.T) {
	const name = "many.example."
	big := dnsMsg(t, true, name, 60, 0) // 60 uncompressed A records: over 512 bytes
	if len(big) <= udpLimit {
		t.Fatalf("the big reply is only %d bytes", len(big))
	}
	for _, tt := range []struct {
		name         string
		query, reply []byte
		whole        bool // the reply goes back as it is
	}{
		{"small reply", dnsMsg(t, false, name, 0, 0), dnsMsg(t, true, name, 3, 0), true},
		{"big reply, plain query", dnsMsg(t, false, name, 0, 0), big, false},
		{"big reply, EDNS0 4096", dnsMsg(t, false, name, 0, 4096), big, true},
		{"big reply, EDNS0 below 512", dnsMsg(t, false, name, 0, 300), big, false},
		{"big reply, unreadable query", []byte("junk"), big, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := fitUDP(tt.query, tt.reply)
			if tt.whole {
				if !bytes.Equal(out, tt.reply) {
					t.Fatalf("reply changed: %d bytes, was %d", len(out), len(tt.reply))
				}
				return
			}
			if len(out) == 0 || len(out) > udpLimit {
				t.Fatalf("truncated reply of %d bytes", len(out))
			}
			var p dnsmessage.Parser
			h, err := p.Start(out)
			if err != nil || !h.Truncated || !h.Response || h.ID != 7 {
				t.Fatalf("header %+v, %v: want TC set and the reply's ID", h, err)
			}
			qs, err := p.AllQuestions()
			if err != nil || len(qs) != 1 || qs[0].Name.String() != name {
				t.Fatalf("questions %v, %v", qs, err)
			}
			if _, err := p.AnswerHeader(); err != dnsmessage.ErrSectionDone {
				t.Fatalf("a truncated reply kept answers: %v", err)
			}
		})
	}
	if out := fitUDP(dnsMsg(t, false, name, 0, 0), bytes.Repeat([]byte{0xff}, 600)); out != nil {
		t.Fatalf("an unreadable big reply went out: %d bytes", len(out))
	}
}

// FuzzFitUDP: whatever a box's process asks and the host answers, the
// relay sends the answer whole, a readable truncated one, or nothing.
func FuzzFitUDP(f *testing.F) {
	f.Add(dnsMsg(f, false, "a.example.", 0, 0), dnsMsg(f, true, "a.example.", 60, 0))
	f.Add(dnsMsg(f, false, "a.example.", 0, 1232), dnsMsg(f, true, "a.example.", 2, 0))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, query, reply []byte) {
		out := fitUDP(query, reply)
		if out == nil || bytes.Equal(out, reply) {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(out)
		if err != nil || !h.Truncated {
			t.Fatalf("sent %x: %+v %v", out, h, err)
		}
	})
}
