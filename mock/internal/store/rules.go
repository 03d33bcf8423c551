package store

import (
	"fmt"
	"strings"
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
