package api

import (
	"time"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// The JSON shapes of the spec's PAT schemas, fields in the documents' order.

type ownerView struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// patView is GetPersonalAccessTokenResponse: list items and patch results.
type patView struct {
	ID                         string    `json:"id"`
	Name                       string    `json:"name"`
	Scope                      []string  `json:"scope"`
	Owner                      ownerView `json:"owner"`
	Created                    string    `json:"created"`
	LastUsed                   *string   `json:"lastUsed"`
	Managed                    bool      `json:"managed"`
	AccessTokenValiditySeconds int       `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string   `json:"expirationDate"`
	// Only v2025 on have the field; older versions omit it.
	UserAwareTokenNeverExpires *bool `json:"userAwareTokenNeverExpires,omitempty"`
}

// createdView is CreatePersonalAccessTokenResponse, the only answer that carries the secret.
type createdView struct {
	ID                         string    `json:"id"`
	Secret                     string    `json:"secret"`
	Scope                      []string  `json:"scope"`
	Name                       string    `json:"name"`
	Owner                      ownerView `json:"owner"`
	Created                    string    `json:"created"`
	AccessTokenValiditySeconds int       `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string   `json:"expirationDate"`
}

// msLayout is a timestamp as ISC writes it: UTC, to the millisecond.
const msLayout = "2006-01-02T15:04:05.000Z07:00"

func ms(t time.Time) string { return t.UTC().Format(msLayout) }

// nullable maps the store's zero time to JSON null.
func nullable(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ms(t)
	return &s
}

// truncate brings a time to the precision ISC stores.
func truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func (s *Service) owner(id string) ownerView {
	o, _ := s.Store.Identity(id)
	return ownerView{Type: "IDENTITY", ID: id, Name: o.Name}
}

func view(v Version, p store.PAT, owner ownerView) patView {
	out := patView{
		ID: p.ID, Name: p.Name, Scope: p.Scope, Owner: owner, Created: ms(p.Created),
		LastUsed: nullable(p.LastUsed), Managed: p.Managed, AccessTokenValiditySeconds: p.AccessTokenValiditySeconds,
		ExpirationDate: nullable(p.ExpirationDate),
	}
	if v.NeverExpire {
		out.UserAwareTokenNeverExpires = &p.UserAwareTokenNeverExpires
	}
	return out
}

func (s *Service) createdView(p store.PAT) createdView {
	return createdView{
		ID: p.ID, Secret: p.Secret, Scope: p.Scope, Name: p.Name, Owner: s.owner(p.OwnerID),
		Created: ms(p.Created), AccessTokenValiditySeconds: p.AccessTokenValiditySeconds,
		ExpirationDate: nullable(p.ExpirationDate),
	}
}
