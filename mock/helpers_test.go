package mock_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/mock"
)

// The test tenant: an org admin, an end user with four tokens of every kind, and an auditor: an
// end user given the right to read every token.
const (
	adminID   = "2c9180867b50d088017b554662fb2001"
	userID    = "2c9180867b50d088017b554662fb2002"
	auditorID = "2c9180867b50d088017b554662fb2003"

	adminPAT   = "a0000000000000000000000000000001"
	userPAT    = "a0000000000000000000000000000002"
	managedPAT = "a0000000000000000000000000000003"
	stalePAT   = "a0000000000000000000000000000004"
	expiredPAT = "a0000000000000000000000000000005"

	secret = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"
)

// start is where every test's clock begins.
var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func testFixtures() mock.Fixtures {
	return mock.Fixtures{
		Identities: []mock.Identity{
			{ID: adminID, Name: "Ada Admin", UserLevels: []string{"ORG_ADMIN"}},
			{ID: userID, Name: "Uma User"},
			{ID: auditorID, Name: "Otto Auditor", Rights: []string{"idn:all-personal-access-tokens:read"}},
		},
		PersonalAccessTokens: []mock.PAT{
			{ID: adminPAT, Secret: secret, Name: "admin ci", Owner: adminID, Created: start.AddDate(0, -3, 0)},
			{ID: userPAT, Secret: secret, Name: "user laptop", Owner: userID, Created: start.AddDate(0, -2, 0),
				LastUsed: ptr(start.Add(-48 * time.Hour)), ExpirationDate: ptr(start.AddDate(0, 3, 0)),
				AccessTokenValiditySeconds: 600, Scope: []string{"sp:my-personal-access-tokens:manage"}},
			{ID: managedPAT, Secret: secret, Name: "workflow", Owner: userID, Created: start.AddDate(0, -1, 0), Managed: true},
			{ID: stalePAT, Secret: secret, Name: "old script", Owner: userID, Created: start.AddDate(-1, 0, 0),
				LastUsed: ptr(start.AddDate(0, -7, 0))},
			{ID: expiredPAT, Secret: secret, Name: "expired", Owner: userID, Created: start.AddDate(-1, 0, 0),
				ExpirationDate: ptr(start.Add(-time.Hour))},
		},
	}
}

// newServer starts the test tenant with the clock at start.
func newServer(t *testing.T, opts ...mock.Option) *mock.Server {
	t.Helper()
	return mock.NewServer(t, append([]mock.Option{mock.WithFixtureData(testFixtures()), mock.WithClock(start)}, opts...)...)
}

// token mints a bearer token for the identity with the given scopes (default sp:scopes:all).
func token(t *testing.T, srv interface {
	AccessToken(string, ...string) (string, error)
}, identity string, scope ...string) string {
	t.Helper()
	tok, err := srv.AccessToken(identity, scope...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// request describes one HTTP call; ContentType defaults to the one the method's operation takes.
type request struct {
	Method      string
	Path        string
	Token       string
	Body        string
	ContentType string
	Header      http.Header
	// Unchecked skips the conformance check, for answers a scenario scripts.
	Unchecked bool
}

func do(t *testing.T, srv *mock.Server, r request) response {
	t.Helper()
	res, err := send(srv, r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// send makes the request; an error is one of the transport (or of the conformance check).
func send(srv *mock.Server, r request) (response, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, srv.URL()+r.Path, body)
	if err != nil {
		return response{}, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	ct := r.ContentType
	if ct == "" && r.Body != "" {
		ct = map[string]string{http.MethodPatch: "application/json-patch+json", http.MethodPost: "application/json"}[r.Method]
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	client := http.DefaultClient
	if r.Unchecked {
		client = &http.Client{Transport: conformance.Unchecked}
	}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// wantStatus fails the test unless the response has the status.
func (r response) wantStatus(t *testing.T, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// iscMessage is ErrorMessageDto.
type iscMessage struct {
	Locale       string `json:"locale"`
	LocaleOrigin string `json:"localeOrigin"`
	Text         string `json:"text"`
}

// iscError is ErrorResponseDto.
type iscError struct {
	DetailCode string       `json:"detailCode"`
	TrackingID string       `json:"trackingId"`
	Messages   []iscMessage `json:"messages"`
	Causes     []iscMessage `json:"causes"`
}

// errorText is an error's first message and the mock's explanation of it, one a line.
func (r response) errorText(e iscError) string {
	var lines []string
	if len(e.Messages) > 0 {
		lines = append(lines, e.Messages[0].Text)
	}
	return strings.Join(append(lines, r.Header.Get("Iscmock-Cause")), "\n")
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// wantError checks an ErrorResponseDto: status, detailCode, a trackingId equal to the
// SLPT-Request-ID header, and the text, which with the Iscmock-Cause header contains every one of want.
// A 400 says its text twice, en-US by default and in the request's undetermined locale, as ISC's
// do; other statuses once.
func (r response) wantError(t *testing.T, status int, code string, want ...string) {
	t.Helper()
	r.wantStatus(t, status)
	var e iscError
	r.decode(t, &e)
	if e.DetailCode != code {
		t.Errorf("detailCode %q, want %q", e.DetailCode, code)
	}
	if id := r.Header.Get("SLPT-Request-ID"); !hex32.MatchString(id) || e.TrackingID != id {
		t.Errorf("trackingId %q, SLPT-Request-ID %q: want equal, 32 hex", e.TrackingID, id)
	}
	if len(e.Messages) == 0 {
		t.Fatalf("no messages in %s", r.Body)
	}
	text := e.Messages[0].Text
	wantMessages := []iscMessage{{"en-US", "DEFAULT", text}}
	if status == http.StatusBadRequest {
		wantMessages = append(wantMessages, iscMessage{"und", "REQUEST", text})
		if e.Causes == nil || len(e.Causes) != 0 {
			t.Errorf("causes %v in %s, want [] as ISC's 400s have", e.Causes, r.Body)
		}
	}
	if !slices.Equal(e.Messages, wantMessages) {
		t.Fatalf("messages %+v, want %+v", e.Messages, wantMessages)
	}
	for _, w := range want {
		if text := r.errorText(e); !strings.Contains(text, w) {
			t.Errorf("text %q does not contain %q", text, w)
		}
	}
}

// patJSON is a token as the API shows it.
type patJSON struct {
	ID     string   `json:"id"`
	Secret *string  `json:"secret"`
	Name   string   `json:"name"`
	Scope  []string `json:"scope"`
	Owner  struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"owner"`
	Created                    string  `json:"created"`
	LastUsed                   *string `json:"lastUsed"`
	Managed                    bool    `json:"managed"`
	AccessTokenValiditySeconds int     `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string `json:"expirationDate"`
	UserAwareTokenNeverExpires *bool   `json:"userAwareTokenNeverExpires"`
}

// list returns the ids of the tokens a list call answers, in order.
func list(t *testing.T, srv *mock.Server, path, tok string) []string {
	t.Helper()
	var pats []patJSON
	do(t, srv, request{Method: http.MethodGet, Path: path, Token: tok}).wantStatus(t, http.StatusOK).decode(t, &pats)
	ids := []string{}
	for _, p := range pats {
		ids = append(ids, p.ID)
	}
	return ids
}

// apiVersion is an API version: its name, collection path and expiry rules.
type apiVersion struct {
	name, path  string
	neverExpire bool // v2025 on
}

var versions = []apiVersion{
	{"beta", "/beta/personal-access-tokens", false},
	{"v3", "/v3/personal-access-tokens", false},
	{"v2024", "/v2024/personal-access-tokens", false},
	{"v2025", "/v2025/personal-access-tokens", true},
	{"v2026", "/v2026/personal-access-tokens", true},
	{"v1", "/personal-access-tokens/v1", true},
}

// msTime formats a time as ISC does.
func msTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// serveDirect serves a request through Handler() in process, with no connection.
func serveDirect(srv *mock.Server, method, path, tok, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}
