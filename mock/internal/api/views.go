package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// The JSON shapes of the spec's PAT schemas, fields in the documents' order. Tokens, which every
// list carries by the page, are written by hand into the response buffer, exactly as encoding/json
// would write them (TestViewsMatchEncodingJSON holds them to it); the rarer answers are structs.

type ownerView struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// createdPAT is CreatePersonalAccessTokenResponse, the only answer that carries the secret.
type createdPAT struct {
	pat   store.PAT
	owner ownerView
}

func (c *createdPAT) appendJSON(b []byte) []byte {
	p := &c.pat
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"secret":`...)
	b = appendString(b, p.Secret)
	b = append(b, `,"scope":`...)
	b = appendStrings(b, p.Scope)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = appendOwner(append(b, `,"owner":`...), c.owner)
	b = append(b, `,"created":`...)
	b = appendTime(b, p.Created)
	b = append(b, `,"accessTokenValiditySeconds":`...)
	b = strconv.AppendInt(b, int64(p.AccessTokenValiditySeconds), 10)
	b = append(b, `,"expirationDate":`...)
	b = appendTime(b, p.ExpirationDate)
	return append(b, '}')
}

// patList is a list answer: GetPersonalAccessTokenResponse items, written as the store walks
// them. Owners other than the caller are looked up once each.
type patList struct {
	s       *Service
	v       Version
	caller  ownerView
	q       store.Query
	managed bool // managed tokens are shown
}

func (l *patList) appendJSON(b []byte) []byte {
	b = append(b, '[')
	first := true
	var others map[string]ownerView
	l.s.Store.Each(l.q, func(p store.PAT) {
		if p.Managed && !l.managed {
			return
		}
		o := l.caller
		if p.OwnerID != o.ID {
			var ok bool
			if o, ok = others[p.OwnerID]; !ok {
				if others == nil {
					others = map[string]ownerView{}
				}
				o = l.s.owner(p.OwnerID)
				others[p.OwnerID] = o
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendPAT(b, l.v, &p, o)
	})
	return append(b, ']')
}

// patItem is one GetPersonalAccessTokenResponse: a patch's answer.
type patItem struct {
	v     Version
	pat   store.PAT
	owner ownerView
}

func (it *patItem) appendJSON(b []byte) []byte { return appendPAT(b, it.v, &it.pat, it.owner) }

// appendPAT writes GetPersonalAccessTokenResponse; userAwareTokenNeverExpires only from v2025 on,
// as the schemas have it.
func appendPAT(b []byte, v Version, p *store.PAT, o ownerView) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"scope":`...)
	b = appendStrings(b, p.Scope)
	b = appendOwner(append(b, `,"owner":`...), o)
	b = append(b, `,"created":`...)
	b = appendTime(b, p.Created)
	b = append(b, `,"lastUsed":`...)
	b = appendTime(b, p.LastUsed)
	b = append(b, `,"managed":`...)
	b = strconv.AppendBool(b, p.Managed)
	b = append(b, `,"accessTokenValiditySeconds":`...)
	b = strconv.AppendInt(b, int64(p.AccessTokenValiditySeconds), 10)
	b = append(b, `,"expirationDate":`...)
	b = appendTime(b, p.ExpirationDate)
	if v.NeverExpire {
		b = append(b, `,"userAwareTokenNeverExpires":`...)
		b = strconv.AppendBool(b, p.UserAwareTokenNeverExpires)
	}
	return append(b, '}')
}

func appendOwner(b []byte, o ownerView) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, o.Type)
	b = append(b, `,"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, o.Name)
	return append(b, '}')
}

// appendTime writes a timestamp as ISC does, or null for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 { // outside the fixed-width years: as time formats them
		return append(t.AppendFormat(append(b, '"'), TimeLayout), '"')
	}
	hour, minute, second := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), minute, 2)
	b = appendDigits(append(b, ':'), second, 2)
	b = appendDigits(append(b, '.'), t.Nanosecond()/1e6, 3)
	return append(b, 'Z', '"')
}

// appendDigits writes n, which is not negative, in exactly width digits.
func appendDigits(b []byte, n, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		b = append(b, 0)
	}
	for i := len(b) - 1; width > 0; i, width = i-1, width-1 {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString writes s as encoding/json does by default: quotes, backslashes and control
// characters escaped, and also <, > and & (HTML-safe), U+2028 and U+2029, and invalid UTF-8 as
// U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[done:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[done:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// jsonSafe marks the ASCII bytes a JSON string holds as they are.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return safe
}()

// TimeLayout is a timestamp as ISC writes it: UTC, to the millisecond (the admin API writes it so too).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

func ms(t time.Time) string { return t.UTC().Format(TimeLayout) }

// nullable maps the store's zero time to JSON null.
func nullable(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ms(t)
	return &s
}

func (s *Service) owner(id string) ownerView {
	o, _ := s.Store.Identity(id)
	return ownerView{Type: "IDENTITY", ID: id, Name: o.Name}
}
