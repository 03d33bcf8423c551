package mock

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The range the clock may show: ISC's dates are all after 1970, and an offset from the real time
// must fit in a time.Duration.
var (
	clockMin = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	clockMax = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Clock is the server's only source of time: the real time plus an offset that a test moves, so
// tokens expire, lastUsed ages and expiration dates pass without sleeping. It shows times from
// 1970-01-01 to 2200-01-01 (UTC).
type Clock struct {
	offset atomic.Int64 // nanoseconds added to the real time
	start  int64        // the offset Reset returns to
	// change makes a move of the clock a change of the tenant's state, kept with it in a state
	// directory; nil when nothing is kept.
	change func(func() error) error
}

func newClock(start time.Time) (*Clock, error) {
	c := &Clock{}
	if !start.IsZero() {
		if err := clockRange(start); err != nil {
			return nil, err
		}
		c.start = int64(time.Until(start))
	}
	c.offset.Store(c.start)
	return c, nil
}

func clockRange(t time.Time) error {
	if t.Before(clockMin) || !t.Before(clockMax) {
		return fmt.Errorf("iscmock: the clock runs from %s to %s; %s is outside", clockMin.Format(time.RFC3339), clockMax.Format(time.RFC3339), t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// Now returns the server's current time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d (backward for a negative d). If that would take it outside
// 1970-01-01 to 2200-01-01, it returns an error and the clock stays where it was.
func (c *Clock) Advance(d time.Duration) error {
	return c.move(func() error {
		for {
			off := c.offset.Load()
			if err := clockRange(time.Now().Add(time.Duration(off)).Add(d)); err != nil {
				return err
			}
			// In range, off+d is less than the range's length from the real time: it cannot overflow.
			if c.offset.CompareAndSwap(off, off+int64(d)) {
				return nil
			}
		}
	})
}

// move runs a move of the clock, as a change of the tenant's state when that is kept.
func (c *Clock) move(fn func() error) error {
	if c.change == nil {
		return fn()
	}
	return c.change(fn)
}

// Set moves the clock to t; it runs on from there. For a t outside 1970-01-01 to 2200-01-01 it
// returns an error and the clock stays where it was.
func (c *Clock) Set(t time.Time) error {
	return c.move(func() error {
		if err := clockRange(t); err != nil {
			return err
		}
		c.offset.Store(int64(time.Until(t)))
		return nil
	})
}

func (c *Clock) reset() { c.offset.Store(c.start) }
