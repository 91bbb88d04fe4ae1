package runtime

import (
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// Docker's restart backoff: the delay starts at 100 ms and doubles with
// every restart up to a minute; a run that lasted 10 s resets it.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// shouldRestart decides, by Docker's rules, whether a box whose main
// process ended with code is started again. restarts counts the restarts
// so far; manual is a stop or kill by the user.
func shouldRestart(p spec.RestartPolicy, code, restarts int, manual bool) bool {
	if manual {
		return false
	}
	switch p.Name {
	case spec.RestartAlways, spec.RestartUnlessStopped:
		return true
	case spec.RestartOnFailure:
		return code != 0 && (p.MaxRetries == 0 || restarts < p.MaxRetries)
	}
	return false
}

// backoff is the delay before the next restart.
type backoff struct{ delay time.Duration }

// next returns how long to wait after a run that lasted ran.
func (b *backoff) next(ran time.Duration) time.Duration {
	if ran >= backoffReset || b.delay == 0 {
		b.delay = backoffStart
		return b.delay
	}
	b.delay *= 2
	if b.delay > backoffMax {
		b.delay = backoffMax
	}
	return b.delay
}
