package benchrig

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even takes the upper middle", []float64{4, 1, 3, 2}, 3},
		{"repeats", []float64{2, 2, 1, 2}, 2},
		{"negative", []float64{-1, -3, -2}, -2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := Median(in); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Median reordered its input: %v, was %v", in, tc.in)
			}
		})
	}
}

func TestSamples(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     Samples
		median time.Duration
		ms     float64
		print  string
	}{
		{"empty", nil, 0, 0, "[]"},
		{"odd", Samples{3 * time.Second, 1500 * time.Millisecond, 2 * time.Second}, 2 * time.Second, 2000, "[3s 1.5s 2s]"},
		{"even", Samples{40 * time.Millisecond, 10 * time.Millisecond}, 40 * time.Millisecond, 40, "[40ms 10ms]"},
		{"to the microsecond", Samples{1234567 * time.Nanosecond}, 1234567 * time.Nanosecond, 1.234, "[1.234567ms]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Median(); got != tc.median {
				t.Errorf("Median() = %v, want %v", got, tc.median)
			}
			if got := Ms(tc.in.Median()); got != tc.ms {
				t.Errorf("Ms(Median()) = %v, want %v", got, tc.ms)
			}
			// The result lines print samples with %v, as they printed a
			// []time.Duration before.
			if got := fmt.Sprintf("%v", tc.in); got != tc.print {
				t.Errorf("%%v = %q, want %q", got, tc.print)
			}
		})
	}
}

func TestSamplesTime(t *testing.T) {
	var s Samples
	if err := s.Time(func() error { time.Sleep(time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0] < time.Millisecond {
		t.Fatalf("after one run of 1 ms: %v", s)
	}
	boom := errors.New("boom")
	if err := s.Time(func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Time returned %v, want the run's error", err)
	}
	if len(s) != 1 {
		t.Fatalf("a failed run was counted: %v", s)
	}
}
