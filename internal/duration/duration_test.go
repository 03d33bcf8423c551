package duration

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  string // "" = parses
	}{
		{"90s", 90 * time.Second, ""},
		{"25h", 25 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"3d", 72 * time.Hour, ""},
		{"90d", 90 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"12h1d", 36 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"-2d", -48 * time.Hour, ""},
		{"+1d", 24 * time.Hour, ""},
		{"0", 0, ""},
		{"1µs", time.Microsecond, ""},
		{"106751d", 106751 * 24 * time.Hour, ""},
		{"106752d", 0, "longest"},
		{"9223372036854775807ns", math.MaxInt64, ""},
		{"1ns9223372036854775807ns", 0, "longest"}, // parts that fit, summing past the longest
		{"", 0, "not a duration"},
		{"3", 0, "not a duration"},
		{"d", 0, "not a duration"},
		{"3x", 0, "not a duration"},
		{"3 d", 0, "not a duration"},
		{"1d-2h", 0, "not a duration"},
		{"--1d", 0, "not a duration"},
		{"1..5d", 0, "not a duration"},
		{"3D", 0, "not a duration"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Parse(%q): %v", tc.in, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Parse(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.err)
			case got != tc.want:
				t.Fatalf("Parse(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzParse: without days, Parse reads what time.ParseDuration reads, to the same value, and
// refuses what it refuses; with days, a day is 24 hours.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"90s", "1h30m", "-1.5h", "3d", "1d12h", ".5s", "1e3s", "0", "+0", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if !strings.Contains(s, "d") {
			want, goErr := time.ParseDuration(s)
			if (err == nil) != (goErr == nil) || got != want {
				t.Fatalf("Parse(%q) = %v, %v; time.ParseDuration says %v, %v", s, got, err, want, goErr)
			}
			return
		}
		if err != nil {
			return
		}
		if hours, ok := strings.CutSuffix(s, "d"); ok && !strings.ContainsAny(hours, "dhmsnuµ") {
			h, err := time.ParseDuration(hours + "h")
			if err == nil && float64(h)*24 < 9e18 && got != 24*h {
				t.Fatalf("Parse(%q) = %v, want 24 × %v", s, got, h)
			}
		}
	})
}
