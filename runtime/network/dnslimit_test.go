package network

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at    time.Duration
		asks  int
		grant int
	}{
		{0, 5, 3},                      // a full burst, then nothing
		{100 * time.Millisecond, 3, 1}, // 10/s: one more in 100 ms
		{time.Hour, 5, 3},              // refills to the burst, no more
	}
	var b bucket
	for i, s := range steps {
		got := 0
		for range s.asks {
			if b.allow(t0.Add(s.at), 10, 3) {
				got++
			}
		}
		if got != s.grant {
			t.Errorf("step %d: %d of %d allowed, want %d", i, got, s.asks, s.grant)
		}
	}
}

func TestResolverDropsAFlood(t *testing.T) {
	r, ids := dnsWorld(t)
	q := buildQuery(t, "a.", dnsmessage.TypeA)
	answered := 0
	for range 3 * dnsBurst {
		if r.Answer(context.Background(), ids["b"], q) != nil {
			answered++
		}
	}
	// The loop takes well under a second: the burst and about as many as
	// accrue meanwhile.
	if answered < dnsBurst || answered > dnsBurst+dnsRate {
		t.Fatalf("%d of %d queries answered, want the burst of %d and little more", answered, 3*dnsBurst, dnsBurst)
	}
}

func TestNetCache(t *testing.T) {
	r, ids := dnsWorld(t)
	s := r.Store
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(s.dir, old, old); err != nil {
		t.Fatal(err)
	}
	var c netCache
	first, err := c.list(s, time.Now())
	if err != nil || len(first) != 2 {
		t.Fatalf("list: %d networks, %v", len(first), err)
	}
	if again, _ := c.list(s, time.Now()); &again[0] != &first[0] {
		t.Fatal("a settled folder was read again")
	}
	// A record written changes the folder: read again, not cached while
	// the change is recent.
	if err := s.Release(context.Background(), ids["c"]); err != nil {
		t.Fatal(err)
	}
	now, _ := c.list(s, time.Now())
	if len(endpointsOf(now)) != 3 {
		t.Fatalf("after a detach the listing has %d endpoints, want 3", len(endpointsOf(now)))
	}
	if c.nets != nil {
		t.Fatal("a listing of a folder changed just now was cached")
	}
}

func endpointsOf(nets []*Network) []string {
	var ids []string
	for _, n := range nets {
		for id := range n.Endpoints {
			ids = append(ids, id)
		}
	}
	return ids
}
