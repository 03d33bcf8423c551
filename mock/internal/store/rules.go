package store

import (
	"fmt"
	"strings"
	"time"
)

// Rules every token obeys, however it is created.
const (
	MinValidity     = 15
	MaxValidity     = 43200
	DefaultValidity = 43200
	DefaultScope    = "sp:scopes:all"
	// MaxNameLength is the mock's choice: ISC publishes no limit.
	MaxNameLength = 255
)

// DefaultScopes is the scope of a token that names none, a new list each call.
func DefaultScopes() []string { return []string{DefaultScope} }

// Millis brings a time to the precision ISC keeps every token time in: milliseconds, UTC.
func Millis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// NameProblem says what is wrong with a token name, or returns "" for a good one.
func NameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required and must not be blank"
	case len([]rune(name)) > MaxNameLength:
		return fmt.Sprintf("must be at most %d characters long", MaxNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "must not contain control characters"
	}
	return ""
}

// Bounds on the lists an identity or token holds (scope, userLevels, rights), which every access
// token carries: the mock's choice, as ISC publishes none (its scope names are under 64 characters).
// With them the largest access token stays under 32 KiB, well inside a server's header limit.
const (
	MaxListEntries = 100
	MaxEntryLength = 100
)

// ListProblem says what is wrong with a scope, user-level or rights list, or returns "" for a good
// one: at most MaxListEntries entries, each 1 to MaxEntryLength letters, digits or ":._-*".
func ListProblem(values []string) string {
	if len(values) > MaxListEntries {
		return fmt.Sprintf("must have at most %d entries; got %d", MaxListEntries, len(values))
	}
	for i, v := range values {
		switch {
		case strings.TrimSpace(v) == "":
			return "must not contain empty values"
		case len(v) > MaxEntryLength:
			return fmt.Sprintf("entry %d must be at most %d characters long; got %d", i, MaxEntryLength, len(v))
		case strings.ContainsFunc(v, func(r rune) bool { return !entryRune(r) }):
			return fmt.Sprintf("entry %d must hold only letters, digits and \":._-*\"; got %q", i, v)
		}
	}
	return ""
}

func entryRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(":._-*", r)
}
