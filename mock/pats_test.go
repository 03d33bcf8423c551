package mock_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// TestLifecycle runs create, list, patch and delete in every version, checking each answer and the
// state after it.
func TestLifecycle(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			srv := newServer(t)
			tok := token(t, srv, userID)

			body := `{"name":"rotation","scope":["sp:my-personal-access-tokens:read"],"accessTokenValiditySeconds":900,"expirationDate":"2026-07-01T00:00:00.123Z"}`
			res := do(t, srv, request{Method: http.MethodPost, Path: v.path, Token: tok, Body: body}).wantStatus(t, http.StatusOK)
			var created patJSON
			res.decode(t, &created)
			if !hex32.MatchString(created.ID) || created.Secret == nil || len(*created.Secret) != 64 {
				t.Fatalf("id %q secret %v: want 32 and 64 hex characters", created.ID, created.Secret)
			}
			if created.Name != "rotation" || created.AccessTokenValiditySeconds != 900 ||
				created.Owner.Type != "IDENTITY" || created.Owner.ID != userID || created.Owner.Name != "Uma User" ||
				created.ExpirationDate == nil || *created.ExpirationDate != "2026-07-01T00:00:00.123Z" ||
				!cmp.Equal(created.Scope, []string{"sp:my-personal-access-tokens:read"}) {
				t.Errorf("created %s", res.Body)
			}
			for _, key := range []string{"lastUsed", "managed", "userAwareTokenNeverExpires"} {
				if strings.Contains(string(res.Body), `"`+key+`"`) {
					t.Errorf("create response has %s, which CreatePersonalAccessTokenResponse lacks: %s", key, res.Body)
				}
			}
			stored, ok := srv.PAT(created.ID)
			if !ok || stored.Secret != *created.Secret || stored.Name != "rotation" {
				t.Fatalf("stored %+v, %v", stored, ok)
			}

			var listed []patJSON
			res = do(t, srv, request{Method: http.MethodGet, Path: v.path + "?owner-id=me", Token: tok}).wantStatus(t, http.StatusOK)
			res.decode(t, &listed)
			ids := []string{}
			for _, p := range listed {
				ids = append(ids, p.ID)
				if p.Secret != nil {
					t.Errorf("list shows the secret of %s", p.ID)
				}
				if (p.UserAwareTokenNeverExpires != nil) != v.neverExpire {
					t.Errorf("%s: userAwareTokenNeverExpires present=%v in %s", p.ID, p.UserAwareTokenNeverExpires != nil, v.name)
				}
			}
			if want := []string{stalePAT, expiredPAT, userPAT, created.ID}; !cmp.Equal(ids, want) {
				t.Errorf("listed %v, want %v (oldest first, managed hidden)", ids, want)
			}

			patch := `[{"op":"replace","path":"/name","value":"rotated"},{"op":"add","path":"/scope/-","value":"sp:my-personal-access-tokens:manage"}]`
			var patched patJSON
			res = do(t, srv, request{Method: http.MethodPatch, Path: v.path + "/" + created.ID, Token: tok, Body: patch}).wantStatus(t, http.StatusOK)
			res.decode(t, &patched)
			if patched.Name != "rotated" || !cmp.Equal(patched.Scope, []string{"sp:my-personal-access-tokens:read", "sp:my-personal-access-tokens:manage"}) ||
				patched.Secret != nil || patched.Created != created.Created {
				t.Errorf("patched %s", res.Body)
			}
			if p, _ := srv.PAT(created.ID); p.Name != "rotated" || len(p.Scope) != 2 {
				t.Errorf("stored after patch %+v", p)
			}

			res = do(t, srv, request{Method: http.MethodDelete, Path: v.path + "/" + created.ID, Token: tok}).wantStatus(t, http.StatusNoContent)
			if len(res.Body) != 0 {
				t.Errorf("delete body %q, want empty", res.Body)
			}
			if _, ok := srv.PAT(created.ID); ok {
				t.Error("token still stored after delete")
			}
			do(t, srv, request{Method: http.MethodDelete, Path: v.path + "/" + created.ID, Token: tok}).
				wantError(t, http.StatusNotFound, "404 Not found", "did not find")
		})
	}
}

func TestCreateDefaults(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			srv := newServer(t)
			body := `{"name":"defaults"}`
			if v.neverExpire {
				body = `{"name":"defaults","userAwareTokenNeverExpires":true}`
			}
			var p patJSON
			do(t, srv, request{Method: http.MethodPost, Path: v.path, Token: token(t, srv, userID), Body: body}).
				wantStatus(t, http.StatusOK).decode(t, &p)
			created, err := time.Parse(time.RFC3339, p.Created)
			if err != nil || created.Before(start) || created.After(start.Add(time.Minute)) {
				t.Fatalf("created %q: want the mock clock's now, %s", p.Created, start)
			}
			if !cmp.Equal(p.Scope, []string{"sp:scopes:all"}) || p.AccessTokenValiditySeconds != 43200 {
				t.Errorf("scope %v validity %d, want [sp:scopes:all] 43200", p.Scope, p.AccessTokenValiditySeconds)
			}
			var want *string
			if !v.neverExpire {
				want = ptr(msTime(created.AddDate(0, 6, 0)))
			}
			if !cmp.Equal(p.ExpirationDate, want) {
				t.Errorf("expirationDate %v, want %v", deref(p.ExpirationDate), deref(want))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestNeverExpiringShownAsNull: a token without an expiry shows expirationDate null in every
// version, also those whose document calls the field non-nullable.
func TestNeverExpiringShownAsNull(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			srv := newServer(t)
			var pats []patJSON
			do(t, srv, request{Method: http.MethodGet, Path: v.path + "?owner-id=" + adminID, Token: token(t, srv, adminID)}).
				wantStatus(t, http.StatusOK).decode(t, &pats)
			if len(pats) != 1 || pats[0].ID != adminPAT || pats[0].ExpirationDate != nil {
				t.Fatalf("got %+v, want the admin's never-expiring token with expirationDate null", pats)
			}
		})
	}
}

func TestCommonHeaders(t *testing.T) {
	srv := newServer(t)
	res := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID)})
	want := map[string]string{
		"Cache-Control":                 "no-cache, no-store, must-revalidate",
		"Content-Type":                  "application/json",
		"Access-Control-Expose-Headers": "Retry-After,Connection,SLPT-Request-ID,Date,X-Zuul-ServiceId",
		"X-Robots-Tag":                  "noindex",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if !hex32.MatchString(res.Header.Get("SLPT-Request-ID")) {
		t.Errorf("SLPT-Request-ID %q, want 32 hex", res.Header.Get("SLPT-Request-ID"))
	}
	other := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID)})
	if other.Header.Get("SLPT-Request-ID") == res.Header.Get("SLPT-Request-ID") {
		t.Error("two requests share a request id")
	}
}

// TestOwnerLimit: ten tokens per owner by default, managed ones not counted; configurable.
func TestOwnerLimit(t *testing.T) {
	tests := []struct {
		name      string
		limit     *int
		extra     int // tokens the user can create beyond its three unmanaged ones
		unlimited bool
	}{
		{name: "default 10", extra: 7},
		{name: "limit 5", limit: ptr(5), extra: 2},
		{name: "unlimited", limit: ptr(0), extra: 30, unlimited: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var srv = newServer(t)
			if tc.limit != nil {
				srv = newServer(t, mock.WithMaxTokensPerOwner(*tc.limit))
			}
			tok := token(t, srv, userID)
			for i := range tc.extra {
				do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok,
					Body: fmt.Sprintf(`{"name":"t%d"}`, i)}).wantStatus(t, http.StatusOK)
			}
			if tc.unlimited {
				return
			}
			before := len(srv.PATs())
			do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: `{"name":"one too many"}`}).
				wantError(t, http.StatusBadRequest, "400.1.4 Limit violation", "at most")
			if after := len(srv.PATs()); after != before {
				t.Errorf("%d tokens after a refused create, want %d", after, before)
			}
			// Another owner is not affected.
			do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, adminID), Body: `{"name":"t0"}`}).
				wantStatus(t, http.StatusOK)
		})
	}
}

func TestListOrderAndScopes(t *testing.T) {
	srv := newServer(t)
	all := list(t, srv, "/v3/personal-access-tokens", token(t, srv, adminID))
	want := []string{stalePAT, expiredPAT, adminPAT, userPAT, managedPAT}
	if !cmp.Equal(all, want) {
		t.Errorf("whole tenant %v, want %v", all, want)
	}
	if got := list(t, srv, "/v3/personal-access-tokens?owner-id=nobody", token(t, srv, adminID)); len(got) != 0 {
		t.Errorf("unknown owner: %v, want []", got)
	}
	if !slices.Equal(list(t, srv, "/v3/personal-access-tokens?owner-id=", token(t, srv, adminID)), want) {
		t.Error("an empty owner-id should list the whole tenant")
	}
}

// TestListFollowsEveryChange: lists are made once per state of the tenant, so a list right after
// any change, through the API or not, must show it.
func TestListFollowsEveryChange(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, userID)
	const path = "/v2025/personal-access-tokens?owner-id=me"
	names := func() []string {
		t.Helper()
		var pats []patJSON
		do(t, srv, request{Method: http.MethodGet, Path: path, Token: tok}).wantStatus(t, http.StatusOK).decode(t, &pats)
		out := []string{}
		for _, p := range pats {
			used := "never"
			if p.LastUsed != nil {
				used = "used"
			}
			out = append(out, p.Owner.Name+"/"+p.Name+"/"+used)
		}
		return out
	}
	want := []string{"Uma User/old script/used", "Uma User/expired/never", "Uma User/user laptop/used"}
	check := func(step string) {
		t.Helper()
		if got := names(); !cmp.Equal(got, want) {
			t.Errorf("after %s: %v, want %v", step, got, want)
		}
	}
	check("start")
	check("a second list")

	var created patJSON
	do(t, srv, request{Method: http.MethodPost, Path: "/v2025/personal-access-tokens", Token: tok,
		Body: `{"name":"new","userAwareTokenNeverExpires":true}`}).wantStatus(t, http.StatusOK).decode(t, &created)
	want = append(want, "Uma User/new/never")
	check("create")

	do(t, srv, request{Method: http.MethodPatch, Path: "/v2025/personal-access-tokens/" + created.ID, Token: tok,
		Body: `[{"op":"replace","path":"/name","value":"renamed"}]`}).wantStatus(t, http.StatusOK)
	want[3] = "Uma User/renamed/never"
	check("patch")

	if err := srv.Seed(mock.Fixtures{Identities: []mock.Identity{{ID: userID, Name: "Uma Renamed"}}}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = strings.Replace(want[i], "Uma User", "Uma Renamed", 1)
	}
	check("seeding the owner anew")

	do(t, srv, request{Method: http.MethodDelete, Path: "/v2025/personal-access-tokens/" + created.ID, Token: tok}).wantStatus(t, http.StatusNoContent)
	want = want[:3]
	check("delete")

	srv.Reset()
	want = []string{"Uma User/old script/used", "Uma User/expired/never", "Uma User/user laptop/used"}
	check("reset")
}
