package mock_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFilters(t *testing.T) {
	day := 24 * time.Hour
	userLastUsed := start.Add(-48 * time.Hour) // the user's token; the stale one was used 7 months ago
	cases := []struct {
		name   string
		owner  string
		filter string
		want   []string
	}{
		{"isnull", "", "lastUsed isnull", []string{expiredPAT, adminPAT, managedPAT}},
		{"le a day ago", "", "lastUsed le " + msTime(start.Add(-day)), []string{stalePAT, userPAT}},
		{"le a month ago", "", "lastUsed le " + msTime(start.Add(-30*day)), []string{stalePAT}},
		{"le is inclusive", "", "lastUsed le " + msTime(userLastUsed), []string{stalePAT, userPAT}},
		{"le a millisecond before", "", "lastUsed le " + msTime(userLastUsed.Add(-time.Millisecond)), []string{stalePAT}},
		{"le with an offset", "", "lastUsed le 2026-05-30T14:00:00+02:00", []string{stalePAT, userPAT}},
		{"stale or never used", "", "lastUsed le " + msTime(start.Add(-30*day)) + " or lastUsed isnull",
			[]string{stalePAT, expiredPAT, adminPAT, managedPAT}},
		{"not isnull", "", "not lastUsed isnull", []string{stalePAT, userPAT}},
		{"not le includes never used", "", "not lastUsed le " + msTime(start.Add(-30*day)), []string{expiredPAT, adminPAT, userPAT, managedPAT}},
		{"and not", "", "lastUsed le " + msTime(start.Add(-day)) + " and not lastUsed le " + msTime(start.Add(-30*day)), []string{userPAT}},
		{"not binds tighter than and, and than or", "", "not lastUsed isnull and lastUsed le " + msTime(start.Add(-30*day)) + " or lastUsed isnull and not lastUsed isnull",
			[]string{stalePAT}},
		{"parentheses", "", "not (lastUsed isnull or lastUsed le " + msTime(start.Add(-30*day)) + ")", []string{userPAT}},
		{"contradiction", "", "lastUsed isnull and not lastUsed isnull", []string{}},
		{"one owner", userID, "lastUsed isnull", []string{expiredPAT, managedPAT}},
		{"one owner, le", userID, "lastUsed le " + msTime(start), []string{stalePAT, userPAT}},
		{"empty filter", userID, "", []string{stalePAT, expiredPAT, userPAT, managedPAT}},
	}
	srv := newServer(t)
	tok := token(t, srv, adminID)
	for _, v := range versions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				q := url.Values{"filters": {tc.filter}}
				if tc.owner != "" {
					q.Set("owner-id", tc.owner)
				}
				if got := list(t, srv, v.path+"?"+q.Encode(), tok); !cmp.Equal(got, tc.want) {
					t.Errorf("filters=%s: %v, want %v", tc.filter, got, tc.want)
				}
			})
		}
	}
}

func TestFilterErrors(t *testing.T) {
	cases := []struct {
		name, filter, code string
		text               []string
	}{
		{"other field", `name eq "x"`, "400.1.3 Illegal value", []string{`field "name" cannot be filtered`, "lastUsed (le, isnull)", "position 1"}},
		{"eq on lastUsed", "lastUsed eq 2026-01-01T00:00:00Z", "400.1.3 Illegal value", []string{`operator "eq" is not supported for lastUsed`}},
		{"gt on lastUsed", "lastUsed isnull or lastUsed gt 2026-01-01T00:00:00Z", "400.1.3 Illegal value", []string{`operator "gt"`, "position 20"}},
		{"pr postfix", "lastUsed pr", "400.1.3 Illegal value", []string{`operator "pr"`}},
		{"pr prefix", "pr lastUsed", "400.1.3 Illegal value", []string{`operator "pr"`}},
		{"in", `lastUsed in ("a","b")`, "400.1.3 Illegal value", []string{`operator "in"`}},
		{"quoted date", `lastUsed le "2026-01-01T00:00:00Z"`, "400.1.3 Illegal value", []string{"unquoted date-time", "position 13"}},
		{"not a date", "lastUsed le yesterday", "400.1.3 Illegal value", []string{`"yesterday" is not a date-time`}},
		{"date without time", "lastUsed le 2026-01-01", "400.1.3 Illegal value", []string{"is not a date-time"}},
		{"missing value", "lastUsed le", "400.1 Bad Request Content", []string{"position 12", "expected a value"}},
		{"missing operator", "lastUsed", "400.1 Bad Request Content", []string{"position 9", "expected an operator"}},
		{"upper-case operator", "lastUsed LE 2026-01-01T00:00:00Z", "400.1 Bad Request Content", []string{`unknown operator "LE" (operators are lower case)`, "position 10"}},
		{"upper-case AND", "lastUsed isnull AND lastUsed isnull", "400.1 Bad Request Content", []string{`unexpected "AND"`, "position 17"}},
		{"unclosed parenthesis", "(lastUsed isnull", "400.1 Bad Request Content", []string{"expected ')'", "position 17"}},
		{"dangling and", "lastUsed isnull and", "400.1 Bad Request Content", []string{"expected a field name", "position 20"}},
		{"unterminated string", `lastUsed le "2026`, "400.1 Bad Request Content", []string{"unterminated string", "position 13"}},
		{"stray parenthesis", "lastUsed isnull)", "400.1 Bad Request Content", []string{`unexpected ")"`, "position 16"}},
	}
	srv := newServer(t)
	tok := token(t, srv, adminID)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?" + url.Values{"filters": {tc.filter}}.Encode(), Token: tok}).
				wantError(t, http.StatusBadRequest, tc.code, append([]string{"filters: "}, tc.text...)...)
		})
	}
	t.Run("filters given twice", func(t *testing.T) {
		do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?filters=lastUsed+isnull&filters=lastUsed+isnull", Token: tok}).
			wantError(t, http.StatusBadRequest, "400.1 Bad Request Content", "filters is given 2 times")
	})
}
