package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/gorilla/mux"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/filter"
	"github.com/iscmock/iscmock/mock/internal/store"
)

var lastUsedField = filter.TimeField{Name: "lastUsed"}

// patchOptions bounds what "copy" may add, or a kilobyte of copies doubling /scope could fill memory.
var patchOptions = func() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.AccumulatedCopySizeLimit = maxBody
	return o
}()

// errNotUTF8 refuses bodies JSON cannot hold; encoding/json would quietly replace the bad bytes.
var errNotUTF8 = badRequest(codeBadContent, "The request body is not valid UTF-8.")

// filterCache keeps compiled filters: clients repeat the same few, and a Set is never changed.
var filterCache struct {
	sync.Mutex
	sets map[string]filter.Set
}

const maxCachedFilters = 256

// compiledFilter parses and compiles a lastUsed filter, or says in ISC's words what is wrong.
func compiledFilter(text string) (filter.Set, error) {
	filterCache.Lock()
	set, ok := filterCache.sets[text]
	filterCache.Unlock()
	if ok {
		return set, nil
	}
	expr, err := filter.Parse(text)
	if err != nil {
		return filter.Set{}, badRequest(codeBadContent, "filters: %v.", err)
	}
	if set, err = lastUsedField.Compile(expr); err != nil {
		return filter.Set{}, badRequest(codeIllegal, "filters: %v.", err)
	}
	filterCache.Lock()
	if len(filterCache.sets) >= maxCachedFilters || filterCache.sets == nil {
		filterCache.sets = make(map[string]filter.Set, maxCachedFilters)
	}
	filterCache.sets[text] = set
	filterCache.Unlock()
	return set, nil
}

// listPATs: GET {collection}?owner-id=&filters=
//
// owner-id=me needs my-read; an identity id, or none (the whole tenant), needs all-read. Managed
// tokens are listed only to callers with managed-read.
func (s *Service) listPATs(c *call) (any, error) {
	params := c.r.URL.Query()
	for _, p := range []string{"owner-id", "filters"} {
		if len(params[p]) > 1 {
			return nil, badRequest(codeBadContent, "Query parameter %s is given %d times; give it once.", p, len(params[p]))
		}
	}
	var q store.Query
	switch owner := params.Get("owner-id"); owner {
	case "me":
		if !c.rights.Has(auth.MyRead) {
			return nil, errForbidden
		}
		q.Owner = c.caller.ID
	default:
		if !c.rights.Has(auth.AllRead) {
			return nil, errForbidden
		}
		q.Owner = owner
	}
	if f := params.Get("filters"); f != "" {
		set, err := compiledFilter(f)
		if err != nil {
			return nil, err
		}
		q.LastUsed = &set
	}
	out := []patView{}
	// Most lists are the caller's own tokens: look each owner up once.
	owners := map[string]ownerView{c.caller.ID: {Type: "IDENTITY", ID: c.caller.ID, Name: c.caller.Name}}
	for _, p := range s.Store.List(q) {
		if p.Managed && !c.rights.Has(auth.ManagedRead) {
			continue
		}
		o, ok := owners[p.OwnerID]
		if !ok {
			o = s.owner(p.OwnerID)
			owners[p.OwnerID] = o
		}
		out = append(out, view(c.v, p, o))
	}
	return out, nil
}

// createPAT: POST {collection}. The token belongs to the caller; the secret is shown only here.
func (s *Service) createPAT(c *call) (any, error) {
	if !c.rights.Has(auth.MyManage) {
		return nil, errForbidden
	}
	if err := requireContentType(c.r, "application/json"); err != nil {
		return nil, err
	}
	body, err := readBody(c.r)
	if err != nil {
		return nil, err
	}
	f, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	created := truncate(c.now)
	p := store.PAT{ID: s.IDs.Hex(16), Secret: s.IDs.Hex(32), OwnerID: c.caller.ID, Created: created}
	if p.Name, err = parseName(f["name"]); err != nil {
		return nil, err
	}
	if p.Scope, err = parseScope(f["scope"], []string{store.DefaultScope}); err != nil {
		return nil, err
	}
	if p.AccessTokenValiditySeconds, err = parseValidity(f["accessTokenValiditySeconds"]); err != nil {
		return nil, err
	}
	if c.v.NeverExpire {
		if p.UserAwareTokenNeverExpires, err = parseBool("userAwareTokenNeverExpires", f["userAwareTokenNeverExpires"]); err != nil {
			return nil, err
		}
	}
	if p.ExpirationDate, err = parseExpiration(c.v, f["expirationDate"], c.now, created); err != nil {
		return nil, err
	}
	if p.ExpirationDate.IsZero() && !p.UserAwareTokenNeverExpires {
		return nil, badRequest(codeMissing, "userAwareTokenNeverExpires must be true when expirationDate is null or omitted (a token that never expires).")
	}
	if err := s.storeError(s.Store.Create(p, s.MaxTokensPerOwner), p.Name); err != nil {
		return nil, err
	}
	return s.createdView(p), nil
}

// patchPAT: PATCH {collection}/{id} with an RFC 6902 document. The patch is applied to a copy of
// the token's representation and the result validated as a whole, inside one store transaction:
// a rejected patch changes nothing. Only the owner may patch a token.
func (s *Service) patchPAT(c *call) (any, error) {
	if err := requireContentType(c.r, "application/json-patch+json"); err != nil {
		return nil, err
	}
	body, err := readBody(c.r)
	if err != nil {
		return nil, err
	}
	patch, err := decodePatch(c.v, body)
	if err != nil {
		return nil, err
	}
	var name string
	updated, err := s.Store.Update(mux.Vars(c.r)["id"], func(p store.PAT) (store.PAT, error) {
		if p.OwnerID != c.caller.ID || !c.rights.Has(auth.MyManage) {
			return p, errForbidden
		}
		p, err := s.applyPatch(c, p, patch)
		name = p.Name
		return p, err
	})
	if err := s.storeError(err, name); err != nil {
		return nil, err
	}
	return view(c.v, updated, s.owner(updated.OwnerID)), nil
}

func (s *Service) applyPatch(c *call, p store.PAT, patch jsonpatch.Patch) (store.PAT, error) {
	doc, err := json.Marshal(view(c.v, p, s.owner(p.OwnerID)))
	if err != nil {
		return p, err
	}
	patched, err := patch.ApplyWithOptions(doc, patchOptions)
	if err != nil {
		return p, badRequest(codeIllegal, "The JSON Patch could not be applied: %v", err)
	}
	before, _ := decodeObject(doc)
	after, err := decodeObject(patched)
	if err != nil {
		return p, err
	}
	if p.Name, err = parseName(after["name"]); err != nil {
		return p, err
	}
	if p.Scope, err = parseScope(after["scope"], nil); err != nil {
		return p, err
	}
	if !c.v.NeverExpire {
		return p, nil
	}
	if p.UserAwareTokenNeverExpires, err = parseBool("userAwareTokenNeverExpires", after["userAwareTokenNeverExpires"]); err != nil {
		return p, err
	}
	if !bytes.Equal(before["expirationDate"], after["expirationDate"]) {
		if p.ExpirationDate, err = parseExpiration(c.v, after["expirationDate"], c.now, p.Created); err != nil {
			return p, err
		}
		if p.ExpirationDate.IsZero() && !(p.UserAwareTokenNeverExpires && touches(patch, "/userAwareTokenNeverExpires")) {
			return p, badRequest(codeMissing, "Setting expirationDate to null needs userAwareTokenNeverExpires set to true in the same request.")
		}
	}
	if p.ExpirationDate.IsZero() && !p.UserAwareTokenNeverExpires {
		return p, badRequest(codeIllegal, "userAwareTokenNeverExpires must stay true while expirationDate is null (a token that never expires).")
	}
	return p, nil
}

// deletePAT: DELETE {collection}/{id}. Deleting another identity's token needs all-manage.
func (s *Service) deletePAT(c *call) (any, error) {
	err := s.Store.Delete(mux.Vars(c.r)["id"], func(p store.PAT) error {
		need := auth.MyManage
		if p.OwnerID != c.caller.ID {
			need = auth.AllManage
		}
		if !c.rights.Has(need) {
			return errForbidden
		}
		return nil
	})
	return nil, s.storeError(err, "")
}

func (s *Service) storeError(err error, name string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrNameTaken):
		return badRequest(codeConflict, "name %q is already used by another personal access token of this owner.", name)
	case errors.Is(err, store.ErrOwnerLimit):
		return badRequest(codeLimit, "An identity can have at most %d personal access tokens.", s.MaxTokensPerOwner)
	}
	return err
}

// patchable lists the fields a version lets PATCH change.
func patchable(v Version) []string {
	if v.NeverExpire {
		return []string{"name", "scope", "expirationDate", "userAwareTokenNeverExpires"}
	}
	return []string{"name", "scope"}
}

// decodePatch parses an RFC 6902 document and checks every operation against what the version lets
// a client change; "test" may read any field.
func decodePatch(v Version, body []byte) (jsonpatch.Patch, error) {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '[' {
		return nil, badRequest(codeBadContent, "The request body must be a JSON Patch document: a JSON array of operations.")
	}
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  *string         `json:"path"`
		From  *string         `json:"from"`
		Value json.RawMessage `json:"value"` // nil when absent; JSON null is "null"
	}
	if err := json.Unmarshal(body, &ops); err != nil {
		return nil, badRequest(codeBadContent, "The request body is not a valid JSON Patch document: %v.", err)
	}
	fields := patchable(v)
	for i, op := range ops {
		switch op.Op {
		case "add", "replace", "test":
			if op.Value == nil {
				return nil, badRequest(codeBadContent, "Operation %d (%s) has no value.", i, op.Op)
			}
		case "move", "copy":
			if op.From == nil {
				return nil, badRequest(codeBadContent, "Operation %d (%s) has no from.", i, op.Op)
			}
			if op.Op == "move" && !under(*op.From, fields) {
				return nil, badRequest(codeIllegal, "Operation %d moves %s, which cannot be changed; patchable fields: %s.", i, *op.From, strings.Join(fields, ", "))
			}
		case "remove":
		default:
			return nil, badRequest(codeBadContent, "Operation %d has op %q; use add, remove, replace, move, copy or test.", i, op.Op)
		}
		if op.Path == nil {
			return nil, badRequest(codeBadContent, "Operation %d (%s) has no path.", i, op.Op)
		}
		if op.Op != "test" && !under(*op.Path, fields) {
			return nil, badRequest(codeIllegal, "Operation %d changes %s, which cannot be changed; patchable fields: %s.", i, *op.Path, strings.Join(fields, ", "))
		}
	}
	patch, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return nil, badRequest(codeBadContent, "The request body is not a valid JSON Patch document: %v.", err)
	}
	return patch, nil
}

// under reports whether a JSON pointer names one of the fields or something inside one.
func under(pointer string, fields []string) bool {
	for _, f := range fields {
		if pointer == "/"+f || strings.HasPrefix(pointer, "/"+f+"/") {
			return true
		}
	}
	return false
}

// touches reports whether the patch writes the pointer.
func touches(patch jsonpatch.Patch, pointer string) bool {
	for _, op := range patch {
		if path, _ := op.Path(); path == pointer && op.Kind() != "test" {
			return true
		}
	}
	return false
}

// decodeObject reads a JSON object into its members, undecoded, so that absent and null differ
// from a zero value. Unknown members are ignored, as ISC ignores them.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	var f map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f); err != nil || f == nil {
		return nil, badRequest(codeBadContent, "The request body must be a JSON object.%s", detail(err))
	}
	if dec.More() {
		return nil, badRequest(codeBadContent, "The request body has data after the JSON object.")
	}
	return f, nil
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
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", badRequest(codeBadContent, "name must be a string.")
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
		return nil, badRequest(codeBadContent, "scope must be an array of strings.")
	}
	for _, s := range scope {
		if strings.TrimSpace(s) == "" {
			return nil, badRequest(codeIllegal, "scope must not contain empty values.")
		}
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
		return 0, badRequest(codeBadContent, "accessTokenValiditySeconds must be an integer.")
	}
	v, err := n.Int64()
	if err != nil {
		return 0, badRequest(codeBadContent, "accessTokenValiditySeconds must be an integer.")
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
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, badRequest(codeBadContent, "%s must be a boolean.", field)
	}
	return b, nil
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
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return time.Time{}, badRequest(codeBadContent, "expirationDate must be a date-time string such as 2026-12-31T23:59:59.999Z.")
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, badRequest(codeBadContent, "expirationDate %q is not an ISO-8601 date-time such as 2026-12-31T23:59:59.999Z.", text)
	}
	t = truncate(t)
	if !t.After(now) {
		return time.Time{}, badRequest(codeIllegal, "expirationDate must be in the future; got %s.", text)
	}
	if !v.NeverExpire && t.After(legacyExpiry(created)) {
		return time.Time{}, badRequest(codeIllegal, "expirationDate must be between now and 6 months from the creation date (%s); got %s.",
			legacyExpiry(created).Format(msLayout), text)
	}
	return t, nil
}
