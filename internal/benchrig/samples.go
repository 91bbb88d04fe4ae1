package benchrig

import (
	"cmp"
	"slices"
	"time"
)

// Samples are the times of repeated runs of one thing. They print as a
// []time.Duration does (e.g. [3.1s 3.2s]), which the result lines show.
type Samples []time.Duration

// Time runs f and, when it succeeds, adds how long it took.
func (s *Samples) Time(f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return err
	}
	*s = append(*s, time.Since(start))
	return nil
}

// Median is the samples' median.
func (s Samples) Median() time.Duration { return Median(s) }

// Median is the middle value of v, the upper of the two middle ones when
// there is an even number, and the zero value when v is empty. v is left
// as it is.
func Median[S ~[]E, E cmp.Ordered](v S) E {
	if len(v) == 0 {
		var zero E
		return zero
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// Ms is d in milliseconds, to the microsecond.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
