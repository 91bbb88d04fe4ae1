package main

import "golang.org/x/net/dns/dnsmessage"

// udpLimit is the largest DNS message a UDP client takes unless its
// query says more (RFC 1035 4.2.1).
const udpLimit = 512

// fitUDP returns reply as it may go back to a UDP client that sent
// query: whole when it fits the size the query allows (512 bytes, or the
// payload size of its EDNS0 OPT record), else its header and question
// alone with TC set, so the client asks again over TCP, where the relay
// sends the whole answer. Both messages come from untrusted parties (a
// box's process, the host's upstream servers): nothing that fails to
// parse is sent.
func fitUDP(query, reply []byte) []byte {
	limit := udpLimit
	var p dnsmessage.Parser
	if _, err := p.Start(query); err == nil && p.SkipAllQuestions() == nil && p.SkipAllAnswers() == nil && p.SkipAllAuthorities() == nil {
		for {
			h, err := p.AdditionalHeader()
			if err != nil {
				break
			}
			if h.Type == dnsmessage.TypeOPT && int(h.Class) > limit {
				limit = int(h.Class)
			}
			if p.SkipAdditional() != nil {
				break
			}
		}
	}
	if len(reply) <= limit {
		return reply
	}
	h, err := p.Start(reply)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil
	}
	h.Truncated = true
	b := dnsmessage.NewBuilder(make([]byte, 0, udpLimit), h)
	b.EnableCompression()
	if b.StartQuestions() != nil {
		return nil
	}
	for _, q := range qs {
		if b.Question(q) != nil {
			return nil
		}
	}
	out, err := b.Finish()
	if err != nil || len(out) > limit {
		return nil
	}
	return out
}
