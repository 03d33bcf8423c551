package api

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJournalQuery(t *testing.T) {
	for _, c := range []struct{ name, raw, want string }{
		{"empty", "", ""},
		{"kept as sent", "owner-id=me&filters=lastUsed%20isnull", "owner-id=me&filters=lastUsed%20isnull"},
		{"secret masked", "client_id=a&client_secret=s3cret&grant_type=client_credentials", "client_id=a&client_secret=%2A%2A%2A&grant_type=client_credentials"},
		{"secret encoded", "client%5Fsecret=s3cret", "client_secret=%2A%2A%2A"},
		{"secret spelled in escapes", "a=%3A&client_%73ecret=s3cret", "a=%3A&client_secret=%2A%2A%2A"},
		{"unreadable with a secret", "client_secret=s3cret&x=%zz", "(not kept: a query that does not parse and may hold a secret)"},
		{"unreadable without one", "x=%zz", "x=%zz"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := journalQuery(c.raw); got != c.want {
				t.Errorf("journalQuery(%q) = %q, want %q", c.raw, got, c.want)
			}
		})
	}
}

func FuzzJournalQuery(f *testing.F) {
	for _, s := range []string{"", "a=b", "client_secret=x", "client%5Fsecret=x&client_secret=y", "x=%zz&secret", strings.Repeat("é", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := journalQuery(raw)
		if utf8.ValidString(raw) && !utf8.ValidString(got) {
			t.Fatalf("%q became invalid UTF-8: %q", raw, got)
		}
		q, err := url.ParseQuery(raw)
		if err != nil || !q.Has("client_secret") || len(raw) > 256 {
			return
		}
		kept, err := url.ParseQuery(got)
		if err != nil {
			t.Fatalf("%q kept as %q, which does not parse: %v", raw, got, err)
		}
		for _, v := range kept["client_secret"] {
			if v != "***" {
				t.Fatalf("%q kept as %q: client_secret shown", raw, got)
			}
		}
	})
}
