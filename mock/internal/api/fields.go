package api

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// Readers for the fields of a token's JSON, each refusing what ISC refuses in its words.

// errNotUTF8 refuses bodies JSON cannot hold; encoding/json would quietly replace the bad bytes.
var errNotUTF8 = unparsable("The request body is not valid UTF-8.")

// decodeObject reads a JSON object into its members, undecoded, so that absent and null differ
// from a zero value. Unknown members are ignored, as ISC ignores them; of a member given twice, the
// last counts, as encoding/json has it.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	w := walk{b: body}
	if !json.Valid(body) || w.next() != '{' {
		return nil, notAnObject(body)
	}
	f := make(map[string]json.RawMessage, 8)
	w.i++
	for w.next() != '}' {
		if len(f) > 0 {
			w.i++ // the comma
		}
		name := memberName(w.value())
		w.next()
		w.i++ // the colon
		f[fieldKey(name)] = w.value()
	}
	return f, nil
}

// fieldKey is a member's name as a key of decodeObject's map, without an allocation for the
// members of a token's representation.
func fieldKey(name []byte) string {
	if k, ok := fieldKeys[string(name)]; ok {
		return k
	}
	return string(name)
}

var fieldKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"id", "name", "owner", "created", "lastUsed", "managed", "scope",
		"accessTokenValiditySeconds", "expirationDate", "userAwareTokenNeverExpires"} {
		m[k] = k
	}
	return m
}()

// notAnObject says, in encoding/json's words, why a body is not one JSON object.
func notAnObject(body []byte) error {
	var f map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f); err != nil || f == nil {
		return unparsable("The request body must be a JSON object.%s", detail(err))
	}
	return unparsable("The request body has data after the JSON object.")
}

func detail(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error() + "."
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

func parseName(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", badRequest(codeMissing, "name is required.")
	}
	name, ok := jsonString(raw)
	if !ok {
		return "", unparsable("name must be a string.")
	}
	if problem := store.NameProblem(name); problem != "" {
		return "", badRequest(codeIllegal, "name %s.", problem)
	}
	return name, nil
}

// parseScope reads a scope list; null takes dflt, or is an error when dflt is nil.
func parseScope(raw json.RawMessage, dflt []string) ([]string, error) {
	if isNull(raw) && dflt != nil {
		return dflt, nil
	}
	var scope []string
	if err := json.Unmarshal(raw, &scope); err != nil || scope == nil {
		return nil, unparsable("scope must be an array of strings.")
	}
	if problem := store.ListProblem(scope); problem != "" {
		return nil, badRequest(codeIllegal, "scope %s.", problem)
	}
	return scope, nil
}

func parseValidity(raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return store.DefaultValidity, nil
	}
	var n json.Number
	// json.Number also takes a quoted number, which ISC's int32 field does not.
	if raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, unparsable("accessTokenValiditySeconds must be an integer.")
	}
	v, err := n.Int64()
	if err != nil {
		return 0, unparsable("accessTokenValiditySeconds must be an integer.")
	}
	if v < store.MinValidity || v > store.MaxValidity {
		return 0, badRequest(codeIllegal, "accessTokenValiditySeconds must be between %d and %d; got %d.", store.MinValidity, store.MaxValidity, v)
	}
	return int(v), nil
}

func parseBool(field string, raw json.RawMessage) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	switch string(raw) { // a value the walk took from checked JSON: no white space around it
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, unparsable("%s must be a boolean.", field)
}

// legacyExpiry is when a token expires by default, and at the latest, in beta, v3 and v2024.
func legacyExpiry(created time.Time) time.Time { return created.AddDate(0, 6, 0) }

// parseExpiration reads expirationDate. In beta, v3 and v2024 null means six months after
// creation, and a date must fall between now and that; from v2025 on null means never (the caller
// checks the acknowledgement) and a date must be in the future.
func parseExpiration(v Version, raw json.RawMessage, now, created time.Time) (time.Time, error) {
	if isNull(raw) {
		if v.NeverExpire {
			return time.Time{}, nil
		}
		return legacyExpiry(created), nil
	}
	text, ok := jsonString(raw)
	if !ok {
		return time.Time{}, unparsable("expirationDate must be a date-time string such as 2026-12-31T23:59:59.999Z.")
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, unparsable("expirationDate %q is not an ISO-8601 date-time such as 2026-12-31T23:59:59.999Z.", text)
	}
	t = store.Millis(t)
	if !t.After(now) {
		return time.Time{}, badRequest(codeIllegal, "expirationDate must be in the future; got %s.", text)
	}
	if !v.NeverExpire && t.After(legacyExpiry(created)) {
		return time.Time{}, badRequest(codeIllegal, "expirationDate must be between now and 6 months from the creation date (%s); got %s.",
			legacyExpiry(created).Format(TimeLayout), text)
	}
	return t, nil
}
