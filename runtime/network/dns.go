package network

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Name resolution. Every networked box's /etc/resolv.conf points at
// 127.0.0.11, where guestinit relays each query over the guest protocol
// to the box's supervisor, which answers it here: box names, their short
// IDs and their aliases resolve to their addresses on the networks the
// asking box shares with them, as long as they run; other names with a
// dot go to the host's name servers (or the box's --dns ones). Nothing
// is pushed to boxes when others come and go: every answer reads the
// network records as they are.

// DNSRelayAddr is where guestinit listens for the box's DNS queries,
// Docker's embedded DNS address.
const DNSRelayAddr = "127.0.0.11"

// localTTL is the TTL of answers about boxes: short, as boxes come and go.
const localTTL = 10

// maxDNSMessage bounds a DNS message over TCP (and what is read from an
// upstream).
const maxDNSMessage = 65535

// Resolver answers the DNS queries of boxes of one root.
type Resolver struct {
	Store *Store
	// Box gives a box's name and whether it runs; ok is false for a box
	// that no longer exists.
	Box func(id string) (name string, running, ok bool)
	// Upstreams are the name servers ("ip:port") other names go to.
	Upstreams []string
	// Search are the search domains the box's resolv.conf has: a query
	// for "web.<search>" also finds box web.
	Search []string
	// Timeout bounds one upstream exchange; 0 means 2 seconds.
	Timeout time.Duration
	// Rate and Burst bound the queries answered a second; 0 means
	// dnsRate and dnsBurst.
	Rate, Burst float64

	limit bucket
	nets  netCache
}

// query is the part of a DNS query the resolver needs.
type query struct {
	header   dnsmessage.Header
	question dnsmessage.Question
}

var errFormat = errors.New("malformed DNS query")

// parseQuery decodes a query from a box: untrusted bytes.
func parseQuery(msg []byte) (query, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return query{}, fmt.Errorf("%w: %v", errFormat, err)
	}
	q := query{header: h}
	if h.Response {
		return q, fmt.Errorf("%w: a response, not a query", errFormat)
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return q, fmt.Errorf("%w: want one question", errFormat)
	}
	q.question = qs[0]
	return q, nil
}

// reply builds a response to q.
func reply(q query, rcode dnsmessage.RCode, authoritative bool, ips []netip.Addr) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: q.header.ID, Response: true, OpCode: q.header.OpCode, Authoritative: authoritative,
		RecursionDesired: q.header.RecursionDesired, RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if q.question.Name.Length > 0 {
		_ = b.StartQuestions()
		_ = b.Question(q.question)
	}
	_ = b.StartAnswers()
	for _, ip := range ips {
		h := dnsmessage.ResourceHeader{Name: q.question.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: localTTL}
		_ = b.AResource(h, dnsmessage.AResource{A: ip.As4()})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// Answer answers one query of box boxID. It returns nil for bytes too
// broken to answer at all (no header).
func (r *Resolver) Answer(ctx context.Context, boxID string, msg []byte) []byte {
	if !r.limit.allow(time.Now(), cmp.Or(r.Rate, dnsRate), cmp.Or(r.Burst, dnsBurst)) {
		return nil
	}
	q, err := parseQuery(msg)
	if err != nil {
		if len(msg) < 12 {
			return nil
		}
		return reply(query{header: q.header}, dnsmessage.RCodeFormatError, false, nil)
	}
	if q.header.OpCode != 0 {
		return reply(q, dnsmessage.RCodeNotImplemented, false, nil)
	}
	name := strings.ToLower(strings.TrimSuffix(q.question.Name.String(), "."))
	if q.question.Class == dnsmessage.ClassINET || q.question.Class == dnsmessage.ClassANY {
		if ips, found := r.lookup(boxID, name); found {
			if q.question.Type != dnsmessage.TypeA && q.question.Type != dnsmessage.TypeALL {
				ips = nil // a box has no other records: NOERROR, no data
			}
			return reply(q, dnsmessage.RCodeSuccess, true, ips)
		}
	}
	if !strings.Contains(name, ".") {
		// A single label that is no box here: the world's name servers
		// know no such name either, and asking them only adds a delay.
		return reply(q, dnsmessage.RCodeNameError, true, nil)
	}
	if out := r.forward(ctx, msg, q); out != nil {
		return out
	}
	return reply(q, dnsmessage.RCodeServerFailure, false, nil)
}

// lookup finds name among the boxes that share a network with boxID.
func (r *Resolver) lookup(boxID, name string) ([]netip.Addr, bool) {
	candidates := []string{name}
	for _, s := range r.Search {
		if base, ok := strings.CutSuffix(name, "."+strings.ToLower(strings.Trim(s, "."))); ok && base != "" {
			candidates = append(candidates, base)
		}
	}
	nets, err := r.nets.list(r.Store, time.Now())
	if err != nil {
		return nil, false
	}
	type boxInfo struct {
		name    string
		running bool
	}
	boxes := map[string]boxInfo{}
	info := func(id string) boxInfo {
		if b, ok := boxes[id]; ok {
			return b
		}
		var b boxInfo
		if r.Box != nil {
			var ok bool
			if b.name, b.running, ok = r.Box(id); !ok {
				b = boxInfo{}
			}
		}
		boxes[id] = b
		return b
	}
	var ips []netip.Addr
	found := false
	for _, n := range nets {
		if _, member := n.Endpoints[boxID]; !member {
			continue
		}
		for _, e := range n.SortedEndpoints() {
			if !slices.ContainsFunc(candidates, func(c string) bool { return r.answersTo(e, info(e.BoxID).name, c) }) {
				continue
			}
			if !info(e.BoxID).running {
				continue
			}
			found = true
			if !slices.Contains(ips, e.IP) {
				ips = append(ips, e.IP)
			}
		}
	}
	return ips, found
}

// answersTo reports whether endpoint e (of box boxName) has name.
func (r *Resolver) answersTo(e *Endpoint, boxName, name string) bool {
	if name == "" {
		return false
	}
	if strings.EqualFold(boxName, name) || (len(name) == 12 && strings.HasPrefix(e.BoxID, name)) {
		return true
	}
	return slices.ContainsFunc(e.Aliases, func(a string) bool { return strings.EqualFold(a, name) })
}

// forward asks the upstream name servers, over UDP and again over TCP
// when the answer was truncated.
func (r *Resolver) forward(ctx context.Context, msg []byte, q query) []byte {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	for _, up := range r.Upstreams {
		out, err := exchange(ctx, "udp", up, msg, timeout)
		if err == nil && truncated(out) {
			out, err = exchange(ctx, "tcp", up, msg, timeout)
		}
		if err == nil && answers(out, q.header.ID) {
			return out
		}
	}
	return nil
}

func truncated(msg []byte) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	return err == nil && h.Truncated
}

// answers reports whether msg is a response with id.
func answers(msg []byte, id uint16) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	return err == nil && h.Response && h.ID == id
}

// exchange sends one query to a name server and reads its answer.
func exchange(ctx context.Context, network, server string, msg []byte, timeout time.Duration) ([]byte, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if network == "tcp" {
		return ExchangeStream(conn, msg)
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, maxDNSMessage)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// ExchangeStream sends msg over a DNS stream (TCP: two-byte length
// prefix) and reads one message back.
func ExchangeStream(rw io.ReadWriter, msg []byte) ([]byte, error) {
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	if _, err := rw.Write(buf); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(rw, l[:]); err != nil {
		return nil, err
	}
	out := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(rw, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResolvConf is what a resolv.conf says.
type ResolvConf struct {
	Nameservers []string
	Search      []string
	Options     []string
}

var (
	hostConfMu   sync.Mutex
	hostConf     ResolvConf
	hostConfTime time.Time
)

// HostResolvConf reads the host's /etc/resolv.conf (cached until it
// changes).
func HostResolvConf() ResolvConf {
	const p = "/etc/resolv.conf"
	hostConfMu.Lock()
	defer hostConfMu.Unlock()
	fi, err := os.Stat(p)
	if err != nil {
		return ResolvConf{}
	}
	if fi.ModTime().Equal(hostConfTime) {
		return hostConf
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ResolvConf{}
	}
	hostConf, hostConfTime = ParseResolvConf(string(b)), fi.ModTime()
	return hostConf
}

// ParseResolvConf reads resolv.conf text.
func ParseResolvConf(text string) ResolvConf {
	var c ResolvConf
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil {
				c.Nameservers = append(c.Nameservers, a.String())
			}
		case "search", "domain":
			c.Search = f[1:]
		case "options":
			c.Options = append(c.Options, f[1:]...)
		}
	}
	return c
}

// ServerAddrs turns name server addresses into "ip:53".
func ServerAddrs(ips []string) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip, "53"))
	}
	return out
}
