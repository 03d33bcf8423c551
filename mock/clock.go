package mock

import (
	"sync/atomic"
	"time"
)

// Clock is the server's only source of time: the real time plus an offset that a test moves, so
// tokens expire, lastUsed ages and expiration dates pass without sleeping.
type Clock struct {
	offset atomic.Int64 // nanoseconds added to the real time
	start  int64        // the offset Reset returns to
}

func newClock(start time.Time) *Clock {
	c := &Clock{}
	if !start.IsZero() {
		c.start = int64(time.Until(start))
	}
	c.offset.Store(c.start)
	return c
}

// Now returns the server's current time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d (backward for a negative d).
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Set moves the clock to t; it runs on from there.
func (c *Clock) Set(t time.Time) { c.offset.Store(int64(time.Until(t))) }

func (c *Clock) reset() { c.offset.Store(c.start) }
