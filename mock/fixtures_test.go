package mock_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iscmock/iscmock/mock"
)

func TestFixtureFiles(t *testing.T) {
	srv := mock.NewServer(t, mock.WithFixtures(filepath.Join("..", "testdata", "fixtures", "tenant.yaml")),
		mock.WithFixtures(filepath.Join("..", "testdata", "fixtures", "tenant.json")), mock.WithClock(start))

	yamlPAT, ok := srv.PAT("f0000000000000000000000000000001")
	want := mock.PAT{ID: "f0000000000000000000000000000001", Secret: strings.Repeat("1", 64), Name: "from a file",
		Owner: "2c9180867b50d088017b554662fb9001", Scope: []string{"sp:scopes:all"}, AccessTokenValiditySeconds: 120,
		Created: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), LastUsed: ptr(time.Date(2026, 2, 1, 0, 0, 0, 250e6, time.UTC)),
		ExpirationDate: ptr(time.Date(2026, 7, 5, 10, 0, 0, 0, time.UTC))}
	if diff := cmp.Diff(want, yamlPAT); !ok || diff != "" {
		t.Errorf("token from YAML (-want +got):\n%s", diff)
	}
	jsonPAT, _ := srv.PAT("f0000000000000000000000000000002")
	if jsonPAT.Name != "from JSON" || jsonPAT.ExpirationDate != nil || !jsonPAT.UserAwareTokenNeverExpires ||
		!jsonPAT.Created.Equal(time.Date(2026, 1, 5, 10, 0, 0, 123e6, time.UTC)) {
		t.Errorf("token from JSON: %+v", jsonPAT)
	}
	if id, _ := srv.Identity("2c9180867b50d088017b554662fb9001"); id.UserName != "fiona" {
		t.Errorf("identity %+v, want user name fiona", id)
	}
	var tok tokenJSON
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", ContentType: "application/x-www-form-urlencoded",
		Body: "grant_type=client_credentials&client_id=" + yamlPAT.ID + "&client_secret=" + yamlPAT.Secret}).wantStatus(t, http.StatusOK).decode(t, &tok)
	if tok.ExpiresIn != 120 || tok.UserName != "fiona" {
		t.Errorf("token %+v", tok)
	}
}

func TestDefaultTenant(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	if len(srv.Identities()) == 0 || len(srv.PATs()) == 0 {
		t.Fatal("the embedded default tenant is empty")
	}
	for _, p := range srv.PATs() {
		if p.Managed {
			continue
		}
		do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", ContentType: "application/x-www-form-urlencoded",
			Body: "grant_type=client_credentials&client_id=" + p.ID + "&client_secret=" + p.Secret}).wantStatus(t, http.StatusOK)
	}
}

func TestFixtureErrors(t *testing.T) {
	const owner = "2c9180867b50d088017b554662fb9003"
	head := "identities:\n  - id: " + owner + "\n    name: Owner\npersonalAccessTokens:\n  - id: f0000000000000000000000000000003\n    secret: s\n    owner: " + owner + "\n"
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"syntax", "identities: [", []string{"t.yaml: not valid YAML or JSON"}},
		{"top level not a mapping", "- a", []string{"t.yaml:1: : must be a mapping"}},
		{"unknown top-level field", "tokens: []", []string{"t.yaml:1: tokens: unknown field; known fields: identities, personalAccessTokens"}},
		{"unknown token field", head + "    name: x\n    colour: blue\n", []string{"t.yaml:9: personalAccessTokens[0].colour: unknown field"}},
		{"wrong type", head + "    name: x\n    accessTokenValiditySeconds: 1 hour\n", []string{"t.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds: cannot unmarshal !!str `1 hour` into int"}},
		{"mapping for a date", head + "    name: x\n    created: {at: 1}\n", []string{"t.yaml:9: personalAccessTokens[0].created: must be a single value"}},
		{"bad date", head + "    name: x\n    lastUsed: yesterday\n", []string{"t.yaml:9: personalAccessTokens[0].lastUsed:"}},
		{"scope not a list", head + "    name: x\n    scope: sp:scopes:all\n", []string{"t.yaml:9: personalAccessTokens[0].scope: must be a list"}},
		{"validity out of range", head + "    name: x\n    accessTokenValiditySeconds: 14\n", []string{"t.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds: must be between 15 and 43200; got 14"}},
		{"missing name", head, []string{"t.yaml:5: personalAccessTokens[0].name: is required"}},
		{"unknown owner", strings.Replace(head, "owner: "+owner, "owner: nobody", 1) + "    name: x\n", []string{"t.yaml:7: personalAccessTokens[0].owner: identity nobody is not in identities"}},
		{"duplicate name", head + "    name: x\n  - id: f0000000000000000000000000000004\n    secret: s\n    owner: " + owner + "\n    name: X\n",
			[]string{"t.yaml:12: personalAccessTokens[1].name: \"X\" is already the name of another token"}},
		{"duplicate identity", "identities:\n  - id: a\n    name: A\n  - id: a\n    name: B\n", []string{"t.yaml:4: identities[1].id: identity a is listed twice"}},
		{"bad identity id", "identities:\n  - id: a/b\n    name: A\n", []string{"t.yaml:2: identities[0].id: must be 1 to 64 letters"}},
		{"several problems at once", "identities:\n  - id: a\n  - id: b\n", []string{"t.yaml:2: identities[0].name: is required", "t.yaml:3: identities[1].name: is required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mock.ParseFixtures("t.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		path := filepath.Join("..", "testdata", "fixtures", "bad.yaml")
		_, err := mock.New(mock.WithFixtures(path))
		if err == nil || !strings.Contains(err.Error(), path+":9: personalAccessTokens[0].accessTokenValiditySeconds") {
			t.Errorf("error %v, want one naming %s, line 9 and the field", err, path)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := mock.New(mock.WithFixtures("no/such/file.yaml")); err == nil || !strings.Contains(err.Error(), "no/such/file.yaml") {
			t.Errorf("error %v, want one naming the file", err)
		}
	})
}

func TestSeedAndReset(t *testing.T) {
	srv := newServer(t)
	added := mock.PAT{ID: "b0000000000000000000000000000001", Secret: secret, Name: "seeded", Owner: userID}
	if err := srv.Seed(mock.Fixtures{PersonalAccessTokens: []mock.PAT{added}}); err != nil {
		t.Fatal(err)
	}
	got, ok := srv.PAT(added.ID)
	if !ok || got.AccessTokenValiditySeconds != 43200 || !cmp.Equal(got.Scope, []string{"sp:scopes:all"}) || got.ExpirationDate != nil ||
		!got.UserAwareTokenNeverExpires {
		t.Errorf("seeded %+v, want the defaults filled in", got)
	}
	before := srv.PATs()
	bad := mock.Fixtures{PersonalAccessTokens: []mock.PAT{
		{ID: "b0000000000000000000000000000002", Secret: secret, Name: "fine", Owner: userID},
		{ID: "b0000000000000000000000000000003", Secret: secret, Name: "SEEDED", Owner: userID},
	}}
	if err := srv.Seed(bad); err == nil || !strings.Contains(err.Error(), "b0000000000000000000000000000003: name already used") {
		t.Errorf("seeding a duplicate name: %v", err)
	}
	if diff := cmp.Diff(before, srv.PATs()); diff != "" {
		t.Errorf("a refused seed changed the tenant:\n%s", diff)
	}

	tok := token(t, srv, userID)
	do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok}).wantStatus(t, http.StatusNoContent)
	srv.Clock().Advance(48 * time.Hour)
	srv.Reset()
	if _, ok := srv.PAT(added.ID); ok {
		t.Error("Reset kept a seeded token")
	}
	if _, ok := srv.PAT(userPAT); !ok {
		t.Error("Reset did not bring back a deleted fixture token")
	}
	if now := srv.Clock().Now(); now.Before(start) || now.After(start.Add(time.Minute)) {
		t.Errorf("clock %v after Reset, want back near %v", now, start)
	}
}

// TestInspectionReturnsCopies: changing what PAT, PATs or Identity return changes nothing stored.
func TestInspectionReturnsCopies(t *testing.T) {
	srv := newServer(t)
	p, _ := srv.PAT(adminPAT)
	p.Scope[0] = "changed"
	srv.PATs()[0].Scope[0] = "changed"
	id, _ := srv.Identity(adminID)
	id.UserLevels[0] = "changed"
	if p, _ := srv.PAT(adminPAT); p.Scope[0] != "sp:scopes:all" {
		t.Errorf("scope %v", p.Scope)
	}
	if id, _ := srv.Identity(adminID); id.UserLevels[0] != "ORG_ADMIN" {
		t.Errorf("levels %v", id.UserLevels)
	}
	if other := newServer(t); other.PATs()[0].Scope[0] != "sp:scopes:all" {
		t.Error("a change reached another server")
	}
}

func TestClock(t *testing.T) {
	srv := newServer(t)
	c := srv.Clock()
	if now := c.Now(); now.Before(start) || now.After(start.Add(time.Minute)) {
		t.Fatalf("Now %v, want about %v", now, start)
	}
	c.Advance(25 * time.Hour)
	if now := c.Now(); now.Before(start.Add(25*time.Hour)) || now.After(start.Add(25*time.Hour+time.Minute)) {
		t.Errorf("after Advance: %v", now)
	}
	target := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(target)
	if now := c.Now(); now.Before(target) || now.After(target.Add(time.Minute)) {
		t.Errorf("after Set: %v", now)
	}
}

// TestDefaultTenantConstants: the constants name the embedded default tenant's people and the
// credentials of their tokens, so that a test can exchange them at /oauth/token as they are.
func TestDefaultTenantConstants(t *testing.T) {
	srv := newServer(t, mock.WithFixtures("../fixtures/default.yaml")) // the file itself, not the prototype
	for _, tc := range []struct {
		name, identity, clientID, secret string
		levels                           []string
	}{
		{"Alice Admin", mock.DefaultAdminID, mock.DefaultAdminClientID, mock.DefaultAdminClientSecret, []string{"ORG_ADMIN"}},
		{"Bob Builder", mock.DefaultUserID, mock.DefaultUserClientID, mock.DefaultUserClientSecret, nil},
		{"Carol Auditor", mock.DefaultAuditorID, mock.DefaultAuditorClientID, mock.DefaultAuditorClientSecret, []string{"HELPDESK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who, ok := srv.Identity(tc.identity)
			if !ok || who.Name != tc.name || !cmp.Equal(who.UserLevels, tc.levels, cmpopts.EquateEmpty()) {
				t.Errorf("identity %s: %+v, %v", tc.identity, who, ok)
			}
			pat, ok := srv.PAT(tc.clientID)
			if !ok || pat.Owner != tc.identity || pat.Secret != tc.secret {
				t.Errorf("token %s: owner %s, secret %s, %v", tc.clientID, pat.Owner, pat.Secret, ok)
			}
			creds := url.Values{"grant_type": {"client_credentials"}, "client_id": {tc.clientID}, "client_secret": {tc.secret}}
			do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: creds.Encode(), ContentType: "application/x-www-form-urlencoded"}).
				wantStatus(t, http.StatusOK)
		})
	}
}
