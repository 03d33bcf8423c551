package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/iscmock/iscmock/mock/internal/journal"
)

// Error is a failed request's answer. Its status picks the body shape ISC uses: ErrorResponseDto for
// most, {"error"} for bearer-token 401s, {"error","error_description"} at /oauth/token, {"message"}
// for 429.
type Error struct {
	Status int
	Code   string // detailCode of an ErrorResponseDto; the OAuth error code at /oauth/token
	Text   string
	// Cause says more than ISC's fixed Text. The body stays ISC's: the mock's explanation goes in
	// the Iscmock-Cause header and the request log.
	Cause string
	oauth bool
}

// Error reads "404 Not found: text" or "400.1.4 Limit violation: text": the status once, as
// ISC's detail codes start with it, and in front of an OAuth code ("401 invalid_client: text").
func (e *Error) Error() string {
	status := strconv.Itoa(e.Status)
	if !strings.HasPrefix(e.Code, status) {
		return strings.TrimSpace(status+" "+e.Code) + ": " + e.Text
	}
	return e.Code + ": " + e.Text
}

// detailCodes ISC uses in ErrorResponseDto (spec examples and captured answers); the PAT-specific
// choices are the mock's.
const (
	codeSyntax     = "400.0 Bad request syntax"
	codeBadContent = "400.1 Bad Request Content"
	codeMissing    = "400.1.0 Required Data Missing Or Empty"
	codeIllegal    = "400.1.3 Illegal value"
	codeLimit      = "400.1.4 Limit violation"
	codeConflict   = "400.1.409 Reference conflict"
)

var (
	errForbidden = &Error{Status: http.StatusForbidden, Code: "403 Forbidden",
		Text: "The server understood the request but refuses to authorize it."}
	errNotFound = &Error{Status: http.StatusNotFound, Code: "404 Not found",
		Text: "The server did not find a current representation for the target resource."}
	errInternal = &Error{Status: http.StatusInternalServerError, Code: "500.0 Internal Fault",
		Text: "An internal fault occurred."}
	errTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "413 Payload Too Large",
		Text: fmt.Sprintf("The request body is larger than %d bytes.", MaxBody)}
)

func badRequest(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Text: fmt.Sprintf(format, args...)}
}

// unparsable is ISC's 400 for a body it cannot parse (syntax, or a value of the wrong type): its
// text is always the same, so the mock says what it could not parse in its Cause.
func unparsable(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeSyntax, Text: "The request could not be parsed.",
		Cause: fmt.Sprintf(format, args...)}
}

func unauthorized(reason string) *Error {
	return &Error{Status: http.StatusUnauthorized, Text: reason}
}

func oauthError(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Text: description, oauth: true}
}

func unsupportedMediaType(want string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: "415 Unsupported Media Type",
		Text: fmt.Sprintf("Content-Type must be %s.", want)}
}

func methodNotAllowed(method string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: "405 Method Not Allowed",
		Text: fmt.Sprintf("Request method '%s' is not supported.", method)}
}

type errorMessage struct {
	Locale       string `json:"locale"`
	LocaleOrigin string `json:"localeOrigin"`
	Text         string `json:"text"`
}

type errorResponse struct {
	DetailCode string         `json:"detailCode"`
	TrackingID string         `json:"trackingId"`
	Messages   []errorMessage `json:"messages"`
	Causes     []errorMessage `json:"causes,omitzero"` // nil: omitted; empty: []
}

// writeError is the one place that writes ISC's error bodies.
func writeError(w http.ResponseWriter, requestID string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		// Not the API's own refusal (a state directory that could not keep a write): ISC's 500,
		// with what went wrong in the mock's cause.
		internal := *errInternal
		internal.Cause = err.Error()
		e = &internal
	}
	var body any
	switch {
	case e.oauth:
		body = map[string]string{"error": e.Code, "error_description": e.Text}
	case e.Status == http.StatusUnauthorized:
		body = map[string]string{"error": e.Text}
	case e.Status == http.StatusTooManyRequests:
		body = map[string]string{"message": " Rate Limit Exceeded "}
	default:
		r := errorResponse{DetailCode: e.Code, TrackingID: requestID,
			Messages: []errorMessage{{Locale: "en-US", LocaleOrigin: "DEFAULT", Text: e.Text}}}
		if e.Status == http.StatusBadRequest {
			// ISC's 400s say it twice, the second time in the request's locale (undetermined: the
			// mock reads no Accept-Language), and carry a causes list, empty in every capture.
			r.Messages = append(r.Messages, errorMessage{Locale: "und", LocaleOrigin: "REQUEST", Text: e.Text})
			r.Causes = []errorMessage{}
		}
		body = r
	}
	cause := e.Cause
	if cause == "" && e.Status == http.StatusBadRequest {
		cause = e.Text // the mock's own text, which says what is wrong
	}
	if cause != "" {
		setCause(w.Header(), cause)
	}
	writeJSON(w, e.Status, body)
}

// CauseHeader carries the mock's explanation of every answer that is not the API working normally,
// one line a person reads at once, where ISC's text says little ("The server understood the
// request but refuses to authorize it."): ISC sends no such header.
const CauseHeader = "Iscmock-Cause"

// setCause sets the cause header. A cause may quote what a request sent (a path, an id), so what is
// not printable ASCII is written escaped, and what is long is cut: a header cannot carry it as is.
func setCause(h http.Header, cause string) {
	var b strings.Builder
	for _, r := range cause {
		switch {
		case b.Len() >= journal.MaxCause:
			b.WriteString("...")
			h.Set(CauseHeader, b.String())
			return
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	h.Set(CauseHeader, b.String())
}

// NotFound is ISC's 404 with a text of the caller's.
func NotFound(text string) error {
	return &Error{Status: http.StatusNotFound, Code: errNotFound.Code, Text: text}
}

// LimitError is a 400 for a limit the request would pass.
func LimitError(text string) error { return badRequest(codeLimit, "%s", text) }

// Conflict is a 400 for a name that clashes with another.
func Conflict(text string) error { return badRequest(codeConflict, "%s", text) }
