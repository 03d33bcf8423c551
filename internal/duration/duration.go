// Package duration reads a duration wherever iscmock reads one (the admin clock, scenario files,
// command-line flags): Go's durations (250ms, 90s, 1h30m) and days (3d, 1d12h), a day being 24
// hours. One grammar everywhere, so that what the dashboard takes the API takes too.
package duration

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Parse reads an optional sign, then one or more decimal numbers each followed by a unit: ns, us
// (or µs), ms, s, m, h or d. "0" alone is zero.
func Parse(s string) (time.Duration, error) {
	rest, negative := strings.CutPrefix(s, "-")
	if !negative {
		rest = strings.TrimPrefix(rest, "+")
	}
	if rest == "0" {
		return 0, nil
	}
	if rest == "" {
		return 0, invalid(s)
	}
	var total float64
	var exact time.Duration // the sum as Go computes it, when no part is in days
	days := false
	for rest != "" {
		n := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if n <= 0 {
			return 0, invalid(s)
		}
		u := strings.IndexFunc(rest[n:], func(r rune) bool { return r == '.' || r >= '0' && r <= '9' })
		if u < 0 {
			u = len(rest) - n
		}
		number, unit := rest[:n], rest[n:n+u]
		rest = rest[n+u:]
		day := unit == "d"
		if day {
			unit = "h" // numbers as Go reads them, then 24 of them
		}
		d, err := time.ParseDuration(number + unit)
		if err != nil {
			return 0, invalid(s)
		}
		if day {
			days = true
			total += 24 * float64(d)
			continue
		}
		if exact > math.MaxInt64-d { // d is never negative: the sign is the whole duration's
			return 0, outOfRange(s)
		}
		total += float64(d)
		exact += d
	}
	if days && total >= 1<<63 { // in float64, math.MaxInt64 is 2⁶³ itself: no more fits
		return 0, outOfRange(s)
	}
	d := exact // Go's own arithmetic, to the nanosecond
	if days {
		d = time.Duration(math.Round(total))
	}
	if negative {
		d = -d
	}
	return d, nil
}

func invalid(s string) error {
	return fmt.Errorf("%q is not a duration such as 90s, 25h or 3d (units: ns, us, ms, s, m, h, d)", s)
}

func outOfRange(s string) error {
	return fmt.Errorf("%q is longer than the longest duration, about 106751d", s)
}
