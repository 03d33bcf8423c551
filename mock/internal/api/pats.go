package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// listPATs: GET {collection}?owner-id=&filters=
//
// owner-id=me needs my-read; an identity id, or none (the whole tenant), needs all-read. Managed
// tokens are listed only to callers with managed-read.
func (s *Service) listPATs(c call) (any, error) {
	owner, err := queryParam(c.r.URL.RawQuery, "owner-id")
	if err != nil {
		return nil, err
	}
	filters, err := queryParam(c.r.URL.RawQuery, "filters")
	if err != nil {
		return nil, err
	}
	var q store.Query
	switch owner {
	case "me":
		if err := c.need(auth.MyRead, c.ex.route.op+" with owner-id=me"); err != nil {
			return nil, err
		}
		q.Owner = c.caller.ID
	case "":
		if err := c.need(auth.AllRead, c.ex.route.op+" without owner-id"); err != nil {
			return nil, err
		}
	default:
		if err := c.need(auth.AllRead, c.ex.route.op+" with owner-id="+owner+" (an identity's id, even the caller's own)"); err != nil {
			return nil, err
		}
		q.Owner = owner
	}
	if filters != "" {
		set, err := compiledFilter(filters)
		if err != nil {
			return nil, err
		}
		q.LastUsed = &set
	}
	managed := c.rights.Has(auth.ManagedRead)
	// The answer follows from the store's state and these parameters alone: clients that poll get
	// it made once per state.
	var buf [256]byte
	key := append(append(append(buf[:0], c.v.Name...), 0), q.Owner...)
	if managed {
		key = append(key, 0, 'm')
	}
	key = append(append(key, 0), filters...)
	return rawJSON(s.Store.Memo(key, func() []byte {
		caller, _ := s.Store.Identity(c.caller.ID)
		l := patList{s: s, v: c.v, caller: ownerView{Type: "IDENTITY", ID: caller.ID, Name: caller.Name}, q: q, managed: managed}
		return encode(l.appendJSON)
	})), nil
}

// queryParam is the value of a query parameter, as url.Values.Get has it ("" when absent), read
// without building url.Values. A parameter given twice is an error.
func queryParam(rawQuery, name string) (string, error) {
	var value string
	n := 0
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.Contains(pair, ";") { // url.ParseQuery drops these too
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != name {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		if n++; n == 1 {
			value = v
		}
	}
	if n > 1 {
		return "", badRequest(codeBadContent, "Query parameter %s is given %d times; give it once.", name, n)
	}
	return value, nil
}

// createPAT: POST {collection}. The token belongs to the caller; the secret is shown only here.
func (s *Service) createPAT(c call) (any, error) {
	if err := c.need(auth.MyManage, c.ex.route.op); err != nil {
		return nil, err
	}
	if err := requireContentType(c.r, "application/json"); err != nil {
		return nil, err
	}
	body, err := ReadBody(c.r)
	if err != nil {
		return nil, err
	}
	f, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	created := store.Millis(c.now)
	p := store.PAT{ID: s.IDs.Hex(16), Secret: s.IDs.Hex(32), OwnerID: c.caller.ID, Created: created}
	if p.Name, err = parseName(f["name"]); err != nil {
		return nil, err
	}
	if p.Scope, err = parseScope(f["scope"], store.DefaultScopes()); err != nil {
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
	if err := s.storeError(s.Store.Create(p, s.MaxTokensPerOwner), p.Name, p.ID); err != nil {
		return nil, err
	}
	c.ex.secrets = append(c.ex.secrets, p.Secret) // shown to the client only: not journaled
	return &createdPAT{pat: p, owner: ownerView{Type: "IDENTITY", ID: c.caller.ID, Name: c.caller.Name}}, nil
}

// patchPAT: PATCH {collection}/{id} with an RFC 6902 document. The patch is applied to a copy of
// the token's representation and the result validated as a whole, outside the store's write lock;
// it is committed only if the token did not change meanwhile (else applied again to the new
// state), so a rejected patch changes nothing and a long one holds up no other writer. Only the
// owner may patch a token.
func (s *Service) patchPAT(c call) (any, error) {
	if err := requireContentType(c.r, "application/json-patch+json"); err != nil {
		return nil, err
	}
	body, err := ReadBody(c.r)
	if err != nil {
		return nil, err
	}
	ops, err := decodePatch(c.v, body)
	if err != nil {
		return nil, err
	}
	var name string
	c.ex.lacked, c.ex.waived = nil, false // the update may run again, should the token change meanwhile
	updated, err := s.Store.Update(c.id, func(p store.PAT) (store.PAT, error) {
		if p.OwnerID != c.caller.ID {
			if err := c.refuse("ownership of the token (patch)", fmt.Sprintf("%s: token %s is identity %s's, and only its owner "+
				"may patch it; %s", c.ex.route.op, p.ID, p.OwnerID, c.who())); err != nil {
				return p, err
			}
		}
		if err := c.need(auth.MyManage, c.ex.route.op); err != nil {
			return p, err
		}
		p, err := s.applyPatch(c, p, ops)
		name = p.Name
		return p, err
	})
	if err := s.storeError(err, name, c.id); err != nil {
		return nil, err
	}
	return &patItem{v: c.v, pat: updated, owner: s.owner(updated.OwnerID)}, nil // another's, with soft rights
}

// deletePAT: DELETE {collection}/{id}. Deleting another identity's token needs all-manage.
func (s *Service) deletePAT(c call) (any, error) {
	err := s.Store.Delete(c.id, func(p store.PAT) error {
		if p.OwnerID != c.caller.ID {
			return c.need(auth.AllManage, fmt.Sprintf("%s of another identity's token (%s's)", c.ex.route.op, p.OwnerID))
		}
		return c.need(auth.MyManage, c.ex.route.op+" of the caller's own token")
	})
	return nil, s.storeError(err, "", c.id)
}

// storeError is the API's answer to a store's refusal of a write of the token id, named name.
func (s *Service) storeError(err error, name, id string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(fmt.Sprintf("no personal access token %s in this tenant", id))
	case errors.Is(err, store.ErrNameTaken):
		return badRequest(codeConflict, "name %q is already used by another personal access token of this owner.", name)
	case errors.Is(err, store.ErrOwnerLimit):
		return badRequest(codeLimit, "An identity can have at most %d personal access tokens.", s.MaxTokensPerOwner)
	}
	return err
}
