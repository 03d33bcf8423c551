package api

import (
	"net/url"
	"strings"
)

// journalQuery is the raw query as the journal keeps it: client_secret masked (the token endpoint
// takes its parameters from the query too, in any encoding). The journal bounds its length.
func journalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	if !mayNameSecret(raw) { // most queries: kept as they are, without parsing them on every request
		return raw
	}
	q, err := url.ParseQuery(raw)
	switch {
	case err != nil && strings.Contains(strings.ToLower(raw), "secret"):
		return "(not kept: a query that does not parse and may hold a secret)"
	case q.Has("client_secret"):
		q.Set("client_secret", "***")
		raw = q.Encode()
	}
	return raw
}

// mayNameSecret reports whether a query could hold a client_secret, or fail to parse with one: it
// says "secret" in any case, or one of its keys is escaped and could spell it.
func mayNameSecret(raw string) bool {
	for i := 0; i+len("secret") <= len(raw); i++ {
		if strings.EqualFold(raw[i:i+len("secret")], "secret") {
			return true
		}
	}
	for pair := range strings.SplitSeq(raw, "&") {
		if k, _, _ := strings.Cut(pair, "="); strings.Contains(k, "%") {
			return true
		}
	}
	return false
}
