package network

import (
	"os"
	"sync"
	"time"
)

// A box's DNS queries cost the host file reads and, for outside names,
// upstream exchanges, and the box may send them as fast as it likes: the
// resolver answers at most dnsRate a second per box, with bursts of
// dnsBurst (a resolver's retries after a slow upstream, a build's burst
// of lookups), and drops the rest unanswered, the cheapest thing to do
// under a flood; a guest's resolver retries a dropped query.
const (
	dnsRate  = 200
	dnsBurst = 400
)

// bucket is a token bucket: tokens accrue at rate a second up to burst.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (b *bucket) allow(now time.Time, rate, burst float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// settle is how long the networks folder must be unchanged before its
// listing is cached: a write within the file system's timestamp
// granularity of the last one leaves the mtime as it was, so a listing
// taken that recently may already be stale.
const settle = time.Second

// netCache is the resolver's copy of the network records, good while
// the networks folder's mtime (changed by every record's rename into
// it) stays what it was.
type netCache struct {
	mu    sync.Mutex
	mtime time.Time
	nets  []*Network
}

func (c *netCache) list(s *Store, now time.Time) ([]*Network, error) {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return s.List()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nets != nil && fi.ModTime().Equal(c.mtime) {
		return c.nets, nil
	}
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	c.nets, c.mtime = nil, time.Time{}
	if now.Sub(fi.ModTime()) > settle {
		c.nets, c.mtime = nets, fi.ModTime()
	}
	return nets, nil
}
