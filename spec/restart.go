package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Restart policy names, as Docker spells them.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy says when a box that has exited is started again.
type RestartPolicy struct {
	Name string // "" means RestartNo
	// MaxRetries bounds on-failure restarts; 0 means no bound.
	MaxRetries int
}

// ParseRestartPolicy reads Docker's --restart notation: no, always,
// unless-stopped, on-failure or on-failure:N.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", RestartNo, RestartAlways, RestartUnlessStopped:
		if hasCount {
			return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: maximum retry count is only allowed with on-failure", s)
		}
	case RestartOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: maximum retry count must be a non-negative integer", s)
			}
			p.MaxRetries = n
		}
	default:
		return RestartPolicy{}, fmt.Errorf("invalid restart policy %q: want no, always, unless-stopped or on-failure[:max-retries]", s)
	}
	if p.Name == "" {
		p.Name = RestartNo
	}
	return p, nil
}

// String gives the policy in --restart notation.
func (p RestartPolicy) String() string {
	if p.Name == "" {
		return RestartNo
	}
	if p.Name == RestartOnFailure && p.MaxRetries > 0 {
		return fmt.Sprintf("%s:%d", p.Name, p.MaxRetries)
	}
	return p.Name
}

// IsZero reports a policy nobody set.
func (p RestartPolicy) IsZero() bool { return p.Name == "" || p.Name == RestartNo }

// MarshalJSON writes the policy as compose does: one string.
func (p RestartPolicy) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalText reads the policy in --restart notation.
func (p *RestartPolicy) UnmarshalText(b []byte) error {
	v, err := ParseRestartPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// UnmarshalJSON reads the policy as one string.
func (p *RestartPolicy) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("restart policy must be a string such as \"on-failure:3\"")
	}
	v, err := ParseRestartPolicy(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}
