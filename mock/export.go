package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// Export returns the tenant's state as fixtures: every identity, with its levels, rights and
// whether it is enabled, and every token with its secret and times, from one consistent state.
// Fixtures loaded from an export (WithFixtureData, Seed or POST /__admin/fixtures into a tenant
// made from no fixtures) answer every list, filter and token exchange as this tenant does. No
// bearer token, signing key or admin token is part of it.
func (t *Tenant) Export() Fixtures { return fixturesOf(t.db.Dump()) }

// fixturesOf is the fixture document of a store's identities and tokens.
func fixturesOf(ids []store.Identity, pats []store.PAT) Fixtures {
	f := Fixtures{Identities: make([]Identity, len(ids)), PersonalAccessTokens: make([]PAT, len(pats))}
	for i, id := range ids {
		f.Identities[i] = fromStoreIdentity(id)
		f.Identities[i].UserLevels = orEmpty(f.Identities[i].UserLevels)
		f.Identities[i].Rights = orEmpty(f.Identities[i].Rights)
	}
	for i, p := range pats {
		f.PersonalAccessTokens[i] = fromStorePAT(p)
		f.PersonalAccessTokens[i].Scope = orEmpty(f.PersonalAccessTokens[i].Scope)
	}
	return f
}

// orEmpty writes a missing list as [] rather than null, so that a document reads the same in
// YAML and JSON.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// adminExport answers the tenant's state as a fixture document: YAML, or JSON for a client that
// accepts application/json and not YAML.
func adminExport(t *Tenant, r *http.Request) (int, any, error) {
	f := t.Export()
	if wantsJSON(r.Header.Get("Accept")) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, document{"application/json", b.Bytes()}, nil
	}
	var b bytes.Buffer
	name := "the root tenant"
	if t.name != "" {
		name = fmt.Sprintf("tenant %s", t.name)
	}
	fmt.Fprintf(&b, "# iscmock fixtures: the state of %s. Load them with --fixtures or POST /__admin/fixtures.\n", name)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, document{"application/yaml", b.Bytes()}, nil
}

// wantsJSON reports whether an Accept header names JSON and no YAML.
func wantsJSON(accept string) bool {
	json, yml := false, false
	for _, part := range strings.Split(accept, ",") {
		switch mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part)); mt {
		case "application/json":
			json = true
		case "application/yaml", "application/x-yaml", "text/yaml":
			yml = true
		}
	}
	return json && !yml
}

// document is an admin answer that is not JSON of the admin API's own: its bytes as they are.
type document struct {
	contentType string
	data        []byte
}
