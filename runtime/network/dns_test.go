package network

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsWorld is a store with boxes a (n1, alias www), b (n1), c (n2) and
// d (n1, stopped).
func dnsWorld(t testing.TB) (*Resolver, map[string]string) {
	t.Helper()
	ctx := context.Background()
	s, _ := testStore(t)
	s.Create(ctx, Config{Name: "n1", Subnet: "10.9.1.0/24"})
	s.Create(ctx, Config{Name: "n2", Subnet: "10.9.2.0/24"})
	ids := map[string]string{}
	names := map[string]string{}
	for _, b := range []struct{ name, net, alias string }{{"a", "n1", "www"}, {"b", "n1", ""}, {"c", "n2", ""}, {"d", "n1", ""}} {
		id := strings.Repeat(b.name, 64)
		ids[b.name], names[id] = id, b.name
		var aliases []string
		if b.alias != "" {
			aliases = []string{b.alias}
		}
		if _, err := s.Attach(ctx, id, []Attachment{{Network: b.net, Aliases: aliases}}); err != nil {
			t.Fatal(err)
		}
	}
	r := &Resolver{Store: s, Search: []string{"corp.example"}, Timeout: 300 * time.Millisecond}
	r.Box = func(id string) (string, bool, bool) {
		n, ok := names[id]
		return n, ok && n != "d", ok
	}
	return r, ids
}

func buildQuery(t testing.TB, name string, typ dnsmessage.Type) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x4242, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// answer parses a reply into its rcode and A records.
func answer(t *testing.T, msg []byte) (dnsmessage.RCode, []string) {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if m.ID != 0x4242 || !m.Response {
		t.Fatalf("reply header %+v", m.Header)
	}
	var ips []string
	for _, a := range m.Answers {
		if r, ok := a.Body.(*dnsmessage.AResource); ok {
			ips = append(ips, netip.AddrFrom4(r.A).String())
		}
	}
	return m.RCode, ips
}

func TestResolverLocalNames(t *testing.T) {
	r, ids := dnsWorld(t)
	ctx := context.Background()
	tests := []struct {
		from, name string
		typ        dnsmessage.Type
		rcode      dnsmessage.RCode
		ips        string
	}{
		{"b", "a.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "10.9.1.2"},
		{"b", "WWW.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "10.9.1.2"},
		{"b", ids["a"][:12] + ".", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "10.9.1.2"},
		{"b", "a.corp.example.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "10.9.1.2"},
		{"a", "a.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "10.9.1.2"},
		{"b", "a.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, ""},
		{"c", "a.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""}, // another network
		{"b", "c.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""},
		{"b", "d.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""}, // not running
		{"b", "nosuch.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""},
		{"b", "example.org.", dnsmessage.TypeA, dnsmessage.RCodeServerFailure, ""}, // no upstream
	}
	for _, tt := range tests {
		rc, ips := answer(t, r.Answer(ctx, ids[tt.from], buildQuery(t, tt.name, tt.typ)))
		if rc != tt.rcode || strings.Join(ips, ",") != tt.ips {
			t.Errorf("%s asks %s %v: %v %v, want %v %q", tt.from, tt.name, tt.typ, rc, ips, tt.rcode, tt.ips)
		}
	}
}

// fakeUpstream answers every A query with 192.0.2.7; over UDP it says
// the answer is truncated when truncate is set, as a large answer would.
func fakeUpstream(t *testing.T, truncate bool) string {
	t.Helper()
	respond := func(q []byte, tc bool) []byte {
		var p dnsmessage.Parser
		h, _ := p.Start(q)
		qs, _ := p.AllQuestions()
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Truncated: tc})
		b.StartQuestions()
		b.Question(qs[0])
		b.StartAnswers()
		if !tc {
			b.AResource(dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET}, dnsmessage.AResource{A: [4]byte{192, 0, 2, 7}})
		}
		out, _ := b.Finish()
		return out
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(respond(buf[:n], truncate), from)
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var l [2]byte
			c.Read(l[:])
			q := make([]byte, int(l[0])<<8|int(l[1]))
			c.Read(q)
			a := respond(q, false)
			c.Write(append([]byte{byte(len(a) >> 8), byte(len(a))}, a...))
			c.Close()
		}
	}()
	return addr
}

func TestResolverForwards(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		r, ids := dnsWorld(t)
		// A dead server first: the next one answers.
		r.Upstreams = []string{"127.0.0.1:1", fakeUpstream(t, truncate)}
		rc, ips := answer(t, r.Answer(context.Background(), ids["b"], buildQuery(t, "example.org.", dnsmessage.TypeA)))
		if rc != dnsmessage.RCodeSuccess || strings.Join(ips, ",") != "192.0.2.7" {
			t.Errorf("truncate %v: %v %v", truncate, rc, ips)
		}
	}
}

func TestResolverMalformed(t *testing.T) {
	r, ids := dnsWorld(t)
	if got := r.Answer(context.Background(), ids["b"], []byte{1, 2, 3}); got != nil {
		t.Fatalf("answered %x to three bytes", got)
	}
	// A header with no question: FORMERR.
	q := []byte{0x42, 0x42, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if rc, _ := answer(t, r.Answer(context.Background(), ids["b"], q)); rc != dnsmessage.RCodeFormatError {
		t.Fatalf("rcode %v", rc)
	}
}

func TestParseResolvConf(t *testing.T) {
	c := ParseResolvConf("# comment\nnameserver 10.0.0.1\nnameserver bad\nnameserver ::1 # v6\nsearch a.example b.example\noptions ndots:2 edns0\n")
	if strings.Join(c.Nameservers, ",") != "10.0.0.1,::1" || strings.Join(c.Search, ",") != "a.example,b.example" || strings.Join(c.Options, ",") != "ndots:2,edns0" {
		t.Fatalf("%+v", c)
	}
	if got := strings.Join(ServerAddrs(c.Nameservers), ","); got != "10.0.0.1:53,[::1]:53" {
		t.Fatalf("server addresses %s", got)
	}
}

// FuzzResolver feeds the resolver what a box could send: it must never
// panic, and whatever it answers must parse, with the query's ID.
func FuzzResolver(f *testing.F) {
	f.Add(buildQuery(f, "a.", dnsmessage.TypeA))
	f.Add(buildQuery(f, "www.corp.example.", dnsmessage.TypeAAAA))
	f.Add(buildQuery(f, "example.org.", dnsmessage.TypeMX))
	f.Add([]byte{0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c})
	f.Add([]byte{0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	r, ids := dnsWorld(f)
	r.Rate, r.Burst = 1e12, 1e12 // every input answered, not dropped
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := r.Answer(context.Background(), ids["b"], msg)
		if out == nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(out); err != nil {
			t.Fatalf("answer to %x does not parse: %v", msg, err)
		}
		if len(msg) >= 2 && m.ID != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Fatalf("answer ID %x for query %x", m.ID, msg)
		}
	})
}
