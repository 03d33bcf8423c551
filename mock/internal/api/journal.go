package api

import (
	"net/url"
	"strings"
)

// maxJournalQuery bounds the query a journal entry keeps.
const maxJournalQuery = 1024

// journalQuery is the raw query as the journal keeps it: client_secret masked (the token endpoint
// takes its parameters from the query too, in any encoding), cut at maxJournalQuery bytes.
func journalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	switch {
	case err != nil && strings.Contains(strings.ToLower(raw), "secret"):
		return "(not kept: a query that does not parse and may hold a secret)"
	case q.Has("client_secret"):
		q.Set("client_secret", "***")
		raw = q.Encode()
	}
	if len(raw) > maxJournalQuery {
		raw = strings.ToValidUTF8(raw[:maxJournalQuery], "") + "…"
	}
	return raw
}
