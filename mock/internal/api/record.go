package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/journal"
)

// The journal keeps what each side of an exchange said, headers and bodies, bounded, and masked
// as it is recorded, so that no secret or bearer token is ever in it: Authorization as its
// token's fingerprint, client_secret in queries and token requests, secret in create answers,
// access_token in token answers.

// masked stands for a secret the journal does not keep.
const masked = "<masked>"

// capture keeps the first journal.MaxBody bytes of what passes through it, and counts the rest.
type capture struct {
	buf    *[]byte // from captures, returned when the exchange is recorded
	n      int
	shared string // what was written, when it was bytes that never change (share)
}

var captures = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// share tells the capture that b, about to be written whole, never changes (a memo's answer), so
// that the journal keeps b itself rather than a copy.
func (c *capture) share(b []byte) {
	if c.n == 0 && len(b) > 0 {
		c.shared = unsafe.String(unsafe.SliceData(b), len(b))
	}
}

func (c *capture) write(p []byte) {
	if c.shared != "" {
		if c.n == 0 && len(p) == len(c.shared) && unsafe.SliceData(p) == unsafe.StringData(c.shared) {
			c.n = len(p)
			return
		}
		c.shared = "" // not what was shared after all: copied as any other
	}
	c.n += len(p)
	if c.buf == nil {
		c.buf = captures.Get().(*[]byte)
	}
	if room := journal.MaxBody + 1 - len(*c.buf); room > 0 { // one byte more: cut and marked later
		*c.buf = append(*c.buf, p[:min(len(p), room)]...)
	}
}

// rest captures the start of what the handler left unread of a request's body (a refused request
// is not read): the journal keeps what was sent. Its size is the body's declared length.
func (c *capture) rest(r *http.Request) {
	body, ok := r.Body.(capturedBody)
	if !ok || c.n > journal.MaxBody {
		return
	}
	if c.buf == nil {
		c.buf = captures.Get().(*[]byte)
	}
	// Read straight into the buffer: so far it holds every byte read (c.n of them).
	for c.n <= journal.MaxBody {
		b := *c.buf
		if len(b) == cap(b) {
			b = slices.Grow(b, 4<<10)
		}
		n, err := body.ReadCloser.Read(b[len(b):min(cap(b), journal.MaxBody+1)])
		*c.buf, c.n = b[:len(b)+n], c.n+n
		if err != nil || n == 0 {
			break
		}
	}
	c.n = max(c.n, int(r.ContentLength))
}

// message is what was captured, the secrets in it masked, as a side of the exchange with its
// headers; it gives the buffer back.
func (c *capture) message(h http.Header, secrets []string, bearer knownBearer) journal.Message {
	m := journal.Message{Headers: headerLines(h, bearer)}
	if c.n > journal.MaxBody {
		m.Size = c.n // what the journal keeps of it is cut, marked with this
	}
	m.Body = c.text(secrets)
	return m
}

// text is what was captured, with the secrets in it masked; it gives the buffer back.
func (c *capture) text(secrets []string) string {
	s := c.shared
	if c.buf != nil {
		s = string(*c.buf)
		*c.buf = (*c.buf)[:0]
		if cap(*c.buf) <= 2*journal.MaxBody {
			captures.Put(c.buf)
		}
		c.buf = nil
	}
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, masked)
		}
	}
	return s
}

// knownBearer is a bearer token the exchange has hashed already, to verify it: masked by its
// fingerprint at no further cost.
type knownBearer struct {
	token  string
	digest auth.Digest
}

// capturedBody passes a request body to the handler, keeping what it reads.
type capturedBody struct {
	io.ReadCloser
	c *capture
}

func (b capturedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.write(p[:n])
	return n, err
}

// headerLines writes headers as "Name: value" lines, sorted, credentials masked.
func headerLines(h http.Header, bearer knownBearer) string {
	if len(h) == 0 {
		return ""
	}
	var room [32]string // names, sorted: on the stack for any usual request
	names, size := room[:0], 0
	for k, vs := range h {
		names = append(names, k)
		for _, v := range vs {
			size += len(k) + len(v) + 3
		}
	}
	slices.Sort(names)
	var b strings.Builder
	b.Grow(min(size, journal.MaxHeaders+256)) // one allocation: masks only shorten values
	for _, k := range names {
		for _, v := range h[k] {
			if b.Len() > journal.MaxHeaders {
				return b.String() // the journal cuts and marks it
			}
			b.WriteString(k)
			b.WriteString(": ")
			writeMasked(&b, k, v, bearer)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// writeMasked writes a header's value as the journal keeps it: a credential by its fingerprint (a
// bearer token) or its client id alone (HTTP Basic), a cookie not at all.
func writeMasked(b *strings.Builder, name, value string, bearer knownBearer) {
	switch name {
	case "Authorization", "Proxy-Authorization": // canonical: http.Header's keys are
		scheme, rest, _ := strings.Cut(value, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case strings.EqualFold(scheme, "Bearer") && rest != "":
			digest := bearer.digest
			if rest != bearer.token {
				digest = auth.DigestOf(rest)
			}
			var fp [32]byte
			b.WriteString(scheme)
			b.WriteByte(' ')
			b.Write(digest.AppendFingerprint(fp[:0]))
			return
		case strings.EqualFold(scheme, "Basic"):
			if id, _, ok := basicCredentials(rest); ok {
				b.WriteString(scheme + " " + id + ":" + masked)
				return
			}
		case rest == "":
			b.WriteString(value) // a scheme and nothing else holds no secret
			return
		}
		b.WriteString(masked)
	case "Cookie", "Set-Cookie":
		b.WriteString(masked)
	default:
		b.WriteString(value)
	}
}

func basicCredentials(encoded string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// tokenRequestBody is what the journal keeps of a token request's body: the parameters read from
// it, client_secret masked, never the body itself, which may spell a secret any way (multipart).
func tokenRequestBody(ex *exchange, r *http.Request) string {
	if ex.formErr != nil || !ex.formRead || len(r.PostForm) == 0 {
		return ""
	}
	form := url.Values{}
	for k, v := range r.PostForm {
		if strings.EqualFold(k, "client_secret") {
			v = []string{masked}
		}
		form[k] = v
	}
	return form.Encode()
}
