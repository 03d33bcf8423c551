package mock

import (
	"encoding/json"
	"time"

	"github.com/iscmock/iscmock/internal/duration"
)

// RateLimitStats is the rate limit and how its current window is spent.
type RateLimitStats struct {
	Requests    int
	Window      time.Duration
	Per         string
	WindowStart time.Time // on the tenant's clock
	// Counts are the busiest keys of the current window, largest first, at most maxWindowCounts.
	Counts []WindowCount
}

// WindowCount is how many requests one key made in the current window, for one API version.
type WindowCount struct {
	// Key is the client id (per: client), the token's fingerprint (per: token: "sha256:" and
	// twelve hex digits, never the token) or "" (per: global).
	Key     string `json:"key"`
	Version string `json:"version"`
	Count   int    `json:"count"`
}

// maxWindowCounts bounds the counts a report lists, however many clients call.
const maxWindowCounts = 100

// rateLimitJSON is RateLimitStats as the admin API shows it, durations as in scenario files.
type rateLimitJSON struct {
	Requests    int           `json:"requests"`
	Window      string        `json:"window"`
	Per         string        `json:"per"`
	WindowStart time.Time     `json:"windowStart"`
	WindowEnd   time.Time     `json:"windowEnd"`
	Counts      []WindowCount `json:"counts"`
}

func (r RateLimitStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(rateLimitJSON{r.Requests, r.Window.String(), r.Per, r.WindowStart, r.WindowStart.Add(r.Window), r.Counts})
}

func (r *RateLimitStats) UnmarshalJSON(b []byte) error {
	var j rateLimitJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	window, err := duration.Parse(j.Window)
	if err != nil {
		return err
	}
	*r = RateLimitStats{Requests: j.Requests, Window: window, Per: j.Per, WindowStart: j.WindowStart, Counts: j.Counts}
	return nil
}

func (t *Tenant) rateLimitStats() *RateLimitStats {
	w, ok := t.faults.Window(maxWindowCounts)
	if !ok {
		return nil
	}
	out := &RateLimitStats{Requests: w.Limit.Requests, Window: w.Limit.Window, Per: w.Limit.Per,
		WindowStart: w.Start.UTC(), Counts: []WindowCount{}}
	for _, c := range w.Counts {
		out.Counts = append(out.Counts, WindowCount{Key: c.Key, Version: c.Version, Count: c.Count})
	}
	return out
}
