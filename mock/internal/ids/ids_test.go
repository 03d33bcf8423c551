package ids

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"2c9180867b50d088017b554662fb281e": true,
		"ci-run_1":                         true,
		strings.Repeat("a", 64):            true,
		"":                                 false,
		strings.Repeat("a", 65):            false,
		"a/b":                              false,
		"a.b":                              false,
		"é":                                false,
		"a b":                              false,
	} {
		if got := Valid(s); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestHex(t *testing.T) {
	for _, n := range []int{1, 16, 32, 33, 100} {
		a, b := New(7), New(7)
		got := a.Hex(n)
		if len(got) != 2*n || strings.Trim(got, "0123456789abcdef") != "" {
			t.Errorf("Hex(%d) = %q, want %d lower-case hex characters", n, got, 2*n)
		}
		if again := b.Hex(n); again != got {
			t.Errorf("Hex(%d) from the same seed = %q, then %q", n, got, again)
		}
		if next := a.Hex(n); next == got {
			t.Errorf("Hex(%d) gave %q twice in a row", n, got)
		}
	}
}
