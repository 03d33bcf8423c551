package scenario

import (
	"testing"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"/v3/personal-access-tokens", "/v3/personal-access-tokens", true},
		{"/v3/personal-access-tokens", "/v3/personal-access-tokens/x", false},
		{"/v3/personal-access-tokens/*", "/v3/personal-access-tokens/abc", true},
		{"/v3/personal-access-tokens/*", "/v3/personal-access-tokens/", true},
		{"/v*/personal-access-tokens", "/v2025/personal-access-tokens", true},
		{"/v*/personal-access-tokens", "/beta/personal-access-tokens", false},
		{"*", "/anything/at/all", true},
		{"*/v1/*", "/personal-access-tokens/v1/x", true},
		{"/a*a", "/a", false},
		{"/a*b*c", "/abbc", true},
		{"/a*b*c", "/acb", false},
	}
	for _, tc := range cases {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
