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
