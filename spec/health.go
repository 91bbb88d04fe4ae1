package spec

import (
	"encoding/json"
	"fmt"
	"time"
)

// Healthcheck is a command run inside the box to tell whether it works:
// Docker's HEALTHCHECK and compose's healthcheck.
type Healthcheck struct {
	// Test is ["CMD", arg...], ["CMD-SHELL", "cmd"] or ["NONE"], as in
	// Docker; an empty Test inherits the image's.
	Test          []string `json:"test,omitempty"`
	Interval      Duration `json:"interval,omitempty"`
	Timeout       Duration `json:"timeout,omitempty"`
	StartPeriod   Duration `json:"start_period,omitempty"`
	StartInterval Duration `json:"start_interval,omitempty"`
	Retries       int      `json:"retries,omitempty"`
	Disable       bool     `json:"disable,omitempty"`
}

// Docker's health check defaults.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
)

// Duration is a time.Duration written as Go's duration string ("1m30s"),
// the notation compose and Docker's flags use.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, or a number of nanoseconds as
// Docker's API writes it.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if json.Unmarshal(b, &n) != nil {
			return fmt.Errorf("duration must be a string such as \"30s\"")
		}
		*d = Duration(n)
		return nil
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalText reads a duration string, as stack files write it: a bare
// number would be nanoseconds, so it is refused rather than guessed at.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q: want a non-negative value with a unit, such as 30s or 1m30s", b)
	}
	*d = Duration(v)
	return nil
}

// checkHealthTest checks a health check's test: ["CMD", arg...],
// ["CMD-SHELL", command], ["NONE"] or empty (the image's).
func checkHealthTest(t []string) error {
	if len(t) == 0 {
		return nil
	}
	switch t[0] {
	case "CMD":
		if len(t) < 2 {
			return fmt.Errorf("test [\"CMD\"] names no command")
		}
	case "CMD-SHELL":
		if len(t) != 2 {
			return fmt.Errorf("test [\"CMD-SHELL\", ...] takes exactly one command string")
		}
	case "NONE":
		if len(t) != 1 {
			return fmt.Errorf("test [\"NONE\"] takes nothing more")
		}
	default:
		return fmt.Errorf("test must start with CMD, CMD-SHELL or NONE, not %q (or be a string run by the shell)", t[0])
	}
	return nil
}
