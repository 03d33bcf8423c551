// Package mock is an in-memory SailPoint Identity Security Cloud tenant for tests: the Personal
// Access Tokens API in every version (beta, v3, v2024, v2025, v2026 and /personal-access-tokens/v1),
// the /oauth/token endpoint, signed bearer tokens and rights-based 403s.
//
// In a test:
//
//	srv := mock.NewServer(t)                          // the embedded default tenant; closed with the test
//	client := yourpkg.NewClient(srv.URL(), "86f1dc6fe8f54414950454cbb11278fa", "1d1bef2b…")
//	srv.Clock().Advance(25 * time.Hour)               // expire tokens, age lastUsed, without sleeping
//	p, ok := srv.PAT(id)                              // inspect state directly
//
// Build a tenant of your own with WithFixtures (a YAML or JSON file) or WithFixtureData, seed more
// with Seed, and put everything back with Reset.
package mock
