package api

import (
	"bytes"
	"encoding/json"
	"strings"
)

// A JSON body is checked by encoding/json (json.Valid) and then walked here member by member:
// quicker than decoding it through reflection, and exact where encoding/json is lenient (member
// names in any case, a member given twice). Every walk has a fuzz target holding it to what
// encoding/json reads.

// memberName is a member's name from its JSON string, escapes resolved.
func memberName(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	var name string
	_ = json.Unmarshal(raw, &name) // a valid JSON string: cannot fail
	return []byte(name)
}

// walk steps through a JSON text that json.Valid accepted, so it needs to check nothing.
type walk struct {
	b []byte
	i int
}

// next skips white space and returns the byte that follows.
func (w *walk) next() byte {
	for ; w.i < len(w.b); w.i++ {
		if c := w.b[w.i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// value returns the next value and moves past it.
func (w *walk) value() []byte {
	w.next()
	start := w.i
	switch w.b[w.i] {
	case '"':
		w.skipString()
	case '{', '[':
		for depth := 0; ; {
			switch w.b[w.i] {
			case '"':
				w.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				break
			}
		}
	default: // a number, true, false or null
		for w.i < len(w.b) && !strings.ContainsRune(",:]} \t\n\r", rune(w.b[w.i])) {
			w.i++
		}
	}
	return w.b[start:w.i]
}

// skipString moves past the string that starts at w.i.
func (w *walk) skipString() {
	for w.i++; w.b[w.i] != '"'; w.i++ {
		if w.b[w.i] == '\\' {
			w.i++
		}
	}
	w.i++
}

// jsonString is the string a JSON value holds, if it is a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil
}
