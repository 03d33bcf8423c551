package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// referenceView is GetPersonalAccessTokenResponse as encoding/json writes it: what appendPAT must
// reproduce byte for byte.
type referenceView struct {
	ID                         string    `json:"id"`
	Name                       string    `json:"name"`
	Scope                      []string  `json:"scope"`
	Owner                      ownerView `json:"owner"`
	Created                    string    `json:"created"`
	LastUsed                   *string   `json:"lastUsed"`
	Managed                    bool      `json:"managed"`
	AccessTokenValiditySeconds int       `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string   `json:"expirationDate"`
	UserAwareTokenNeverExpires *bool     `json:"userAwareTokenNeverExpires,omitempty"`
}

// referenceCreated is CreatePersonalAccessTokenResponse as encoding/json writes it.
type referenceCreated struct {
	ID                         string    `json:"id"`
	Secret                     string    `json:"secret"`
	Scope                      []string  `json:"scope"`
	Name                       string    `json:"name"`
	Owner                      ownerView `json:"owner"`
	Created                    string    `json:"created"`
	AccessTokenValiditySeconds int       `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string   `json:"expirationDate"`
}

func reference(v Version, p store.PAT, o ownerView) []byte {
	r := referenceView{ID: p.ID, Name: p.Name, Scope: p.Scope, Owner: o, Created: ms(p.Created),
		LastUsed: nullable(p.LastUsed), Managed: p.Managed, AccessTokenValiditySeconds: p.AccessTokenValiditySeconds,
		ExpirationDate: nullable(p.ExpirationDate)}
	if v.NeverExpire {
		r.UserAwareTokenNeverExpires = &p.UserAwareTokenNeverExpires
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}

// hostileStrings need escaping, each in its own way.
var hostileStrings = []string{"", "plain", `"quoted" \back\slash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf-8 \xe2\x82", "\u00e9\xc3"}

// TestViewsMatchEncodingJSON: the hand-written token JSON is what encoding/json writes, in every
// version, for hostile text, null and empty scopes, and null and non-null times.
func TestViewsMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 5, 17, 9, 12, 44, 119e6, time.UTC)
	for _, v := range Versions {
		for i, text := range hostileStrings {
			p := store.PAT{ID: text, Name: text + "name", OwnerID: "o", Scope: []string{text, "sp:scopes:all"},
				AccessTokenValiditySeconds: 15 + i, Created: at, Managed: i%2 == 0, UserAwareTokenNeverExpires: i%3 == 0}
			switch i % 3 {
			case 0:
				p.LastUsed, p.Scope = at.Add(time.Hour), nil
			case 1:
				p.ExpirationDate, p.Scope = at.AddDate(1, 0, 0).In(time.FixedZone("x", 3600)), []string{}
			}
			o := ownerView{Type: "IDENTITY", ID: text, Name: text}
			want := reference(v, p, o)
			if got := appendPAT(nil, v, &p, o); string(got) != string(want) {
				t.Errorf("%s, %q:\n got %s\nwant %s", v.Name, text, got, want)
			}
			p.Secret = text + "secret"
			want, _ = json.Marshal(referenceCreated{ID: p.ID, Secret: p.Secret, Scope: p.Scope, Name: p.Name, Owner: o,
				Created: ms(p.Created), AccessTokenValiditySeconds: p.AccessTokenValiditySeconds, ExpirationDate: nullable(p.ExpirationDate)})
			if got := (&createdPAT{pat: p, owner: o}).appendJSON(nil); string(got) != string(want) {
				t.Errorf("created, %q:\n got %s\nwant %s", text, got, want)
			}
		}
	}
}

// TestTimesMatchFormat: timestamps are written as time formats them, whatever the year, zone or
// precision.
func TestTimesMatchFormat(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6_999_999, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("x", -7*3600)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.UnixMilli(1_780_000_000_123),
	} {
		want := `"` + ms(at) + `"`
		if got := appendTime(nil, at); string(got) != want {
			t.Errorf("%v: got %s, want %s", at, got, want)
		}
	}
}

// FuzzAppendString: any string, valid UTF-8 or not, is written as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range hostileStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
