package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes parses Docker's size notation: a number with an optional
// b, k, m, g or t suffix (case-insensitive, optional trailing "b" or "ib").
func ParseBytes(s string) (int64, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	in = strings.TrimSuffix(strings.TrimSuffix(in, "ib"), "b")
	mult := int64(1)
	if n := len(in); n > 0 {
		switch in[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			in = in[:n-1]
		}
	}
	v, err := strconv.ParseFloat(in, 64)
	if err != nil || v < 0 || in == "" {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	return int64(v * float64(mult)), nil
}
