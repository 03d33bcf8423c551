package scenario

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/auth"
)

// WindowCount is one key's count in the rate limiter's current window.
type WindowCount struct {
	Key     string // the client id, a token's fingerprint, or "" for per: global
	Version string
	Count   int
}

// Window is the rate limiter's current window as of now.
type Window struct {
	Limit  RateLimit
	Start  time.Time
	Counts []WindowCount // largest first
}

// Window reports the limiter's current window with at most limit counts, the largest; ok is false
// when no rate limit runs. A window that has ended counts nothing.
func (e *Engine) Window(limit int) (w Window, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	running := e.limitUnder(e.sc)
	if running == nil {
		return Window{}, false
	}
	l := *running
	w = Window{Limit: l, Start: e.now().Truncate(l.Window)}
	if !w.Start.Equal(e.window) {
		return w, true
	}
	for k, n := range e.counts {
		key, version, _ := strings.Cut(k, "\x00")
		if l.Per == "token" {
			key = auth.Fingerprint(key) // the bearer token itself is a credential
		}
		w.Counts = append(w.Counts, WindowCount{Key: key, Version: version, Count: n})
	}
	slices.SortFunc(w.Counts, func(a, b WindowCount) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(a.Key, b.Key), strings.Compare(a.Version, b.Version))
	})
	if len(w.Counts) > limit {
		w.Counts = w.Counts[:limit]
	}
	return w, true
}
