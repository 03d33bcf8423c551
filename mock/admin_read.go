package mock

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Read endpoints of the admin API that show a tenant's state as the dashboard does: identities
// with their token counts, tokens (never secrets) selected as the list operation selects them,
// and the journal read incrementally.

// withHeaders is an admin answer with headers of its own.
type withHeaders struct {
	header http.Header
	body   any
}

// requestJSON is a journal entry as the admin API shows it.
type requestJSON struct {
	RecordedRequest
	DurationMS float64 `json:"durationMs"`
}

// adminRequests lists the journal, oldest first, filtered: ?after=SEQ for the requests after one
// already seen, ?status= a status (403) or a class (4xx), ?identity=, ?client=, ?rule=,
// ?operation= (repeatable), ?waived=true; ?bodies=true adds each request's headers and bodies,
// which GET /__admin/requests/SEQ gives for one. Iscmock-Journal-Last is the last request's seq;
// Iscmock-Journal-Gone the seq up to which requests were dropped from the ring or cleared.
func adminRequests(t *Tenant, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	f := RequestFilter{Identity: q.Get("identity"), Client: q.Get("client"), Rule: q.Get("rule"), Operations: q["operation"]}
	if s := q.Get("after"); s != "" {
		var err error
		if f.After, err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, nil, adminFail(http.StatusBadRequest, "after: %q is not a request's seq (a whole number)", s)
		}
	}
	if s := q.Get("status"); s != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(s), "xx"))
		switch {
		case err == nil && len(s) == 3 && n >= 100 && n < 600:
			f.Status = n
		case err == nil && len(s) == 3 && n >= 1 && n <= 5:
			f.StatusClass = n
		default:
			return 0, nil, adminFail(http.StatusBadRequest, "status: %q is not a status (403) or a class of them (4xx)", s)
		}
	}
	waived, err := boolParam(q, "waived")
	if err != nil {
		return 0, nil, err
	}
	bodies, err := boolParam(q, "bodies")
	if err != nil {
		return 0, nil, err
	}
	f.Waived = waived
	last, gone := t.journal.Seqs() // before reading, so a poller never skips what comes meanwhile
	out := []requestJSON{}
	for _, rr := range t.RequestsWhere(f) {
		if !bodies {
			rr.Request, rr.Response = RecordedMessage{}, RecordedMessage{}
		}
		out = append(out, requestJSON{rr, api.Milliseconds(rr.Duration)})
	}
	h := http.Header{}
	h.Set("Iscmock-Journal-Last", strconv.FormatUint(max(last, lastSeq(out)), 10))
	h.Set("Iscmock-Journal-Gone", strconv.FormatUint(gone, 10))
	return http.StatusOK, withHeaders{h, out}, nil
}

// boolParam reads a query parameter that is true or false, false when absent.
func boolParam(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, adminFail(http.StatusBadRequest, "%s: %q is not true or false", name, s)
	}
	return v, nil
}

// adminRequest is one request of the journal, with its headers and bodies.
func adminRequest(t *Tenant, r *http.Request) (int, any, error) {
	seq, err := strconv.ParseUint(mux.Vars(r)["seq"], 10, 64)
	if err != nil || seq == 0 {
		return 0, nil, adminFail(http.StatusBadRequest, "%q is not a request's seq (a whole number)", mux.Vars(r)["seq"])
	}
	found := t.RequestsWhere(RequestFilter{After: seq - 1})
	if len(found) == 0 || found[0].Seq != seq {
		return 0, nil, adminFail(http.StatusNotFound, "no request %d in the journal: it holds the last %d (see Iscmock-Journal-Gone)", seq, t.server.cfg.journalSize)
	}
	return http.StatusOK, requestJSON{found[0], api.Milliseconds(found[0].Duration)}, nil
}

// adminRights reports what each identity called and lacked (Rights); Iscmock-Rights says whether
// the rights are enforced or soft.
func adminRights(t *Tenant, _ *http.Request) (int, any, error) {
	mode := "enforce"
	if t.server.cfg.softRights {
		mode = "soft"
	}
	return http.StatusOK, withHeaders{http.Header{"Iscmock-Rights": {mode}}, t.Rights()}, nil
}

func lastSeq(rs []requestJSON) uint64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].Seq
}

type identityJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	UserName   string   `json:"userName"`
	UserLevels []string `json:"userLevels"`
	Rights     []string `json:"rights"`
	Enabled    bool     `json:"enabled"`
	// Tokens counts the unmanaged tokens, those TokenLimit bounds; ManagedTokens the others.
	Tokens        int `json:"tokens"`
	ManagedTokens int `json:"managedTokens"`
	TokenLimit    int `json:"tokenLimit"` // 0: no limit
}

// adminIdentities lists the identities, ordered by id, each with its token counts.
func adminIdentities(t *Tenant, _ *http.Request) (int, any, error) {
	unmanaged, managed := map[string]int{}, map[string]int{}
	for _, p := range t.db.List(store.Query{}) {
		if p.Managed {
			managed[p.OwnerID]++
		} else {
			unmanaged[p.OwnerID]++
		}
	}
	out := []identityJSON{}
	for _, i := range t.db.Identities() {
		out = append(out, identityJSON{ID: i.ID, Name: i.Name, UserName: i.UserName, UserLevels: nonNil(i.UserLevels),
			Rights: nonNil(i.Rights), Enabled: !i.Disabled, Tokens: unmanaged[i.ID], ManagedTokens: managed[i.ID], TokenLimit: t.server.cfg.maxTokens})
	}
	return http.StatusOK, out, nil
}

type patJSON struct {
	ID                         string   `json:"id"`
	Name                       string   `json:"name"`
	Owner                      string   `json:"owner"`
	Scope                      []string `json:"scope"`
	AccessTokenValiditySeconds int      `json:"accessTokenValiditySeconds"`
	Created                    apiTime  `json:"created"`
	LastUsed                   *apiTime `json:"lastUsed"`
	ExpirationDate             *apiTime `json:"expirationDate"`
	UserAwareTokenNeverExpires bool     `json:"userAwareTokenNeverExpires"`
	Managed                    bool     `json:"managed"`
}

// apiTime is a time as the API writes it (2026-01-05T10:00:00.000Z), so that the admin API's
// tokens and the API's compare as text.
type apiTime time.Time

func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(api.TimeLayout) + `"`), nil
}

func apiTimeOf(t *time.Time) *apiTime { return (*apiTime)(t) }

// Bounds on what one GET /__admin/pats lists.
const (
	defaultPATLimit = 1000
	maxPATLimit     = 10000
)

// adminPATs lists tokens, oldest first and without secrets: ?owner=ID for one identity's,
// ?filters= on lastUsed in the list operation's grammar, ?limit=N (default 1000, at most 10000).
func adminPATs(t *Tenant, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	query := store.Query{Owner: q.Get("owner")}
	if text := q.Get("filters"); text != "" {
		set, err := api.LastUsedFilter(text)
		if err != nil {
			var e *api.Error
			if errors.As(err, &e) {
				return 0, nil, adminFail(http.StatusBadRequest, "%s", e.Text)
			}
			return 0, nil, err
		}
		query.LastUsed = &set
	}
	limit := defaultPATLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPATLimit {
			return 0, nil, adminFail(http.StatusBadRequest, "limit: %q is not a number from 1 to %d", s, maxPATLimit)
		}
		limit = n
	}
	out := []patJSON{}
	for _, p := range t.db.List(query) {
		if len(out) == limit {
			break
		}
		v := fromStorePAT(p)
		out = append(out, patJSON{ID: v.ID, Name: v.Name, Owner: v.Owner, Scope: v.Scope,
			AccessTokenValiditySeconds: v.AccessTokenValiditySeconds, Created: apiTime(v.Created), LastUsed: apiTimeOf(v.LastUsed),
			ExpirationDate: apiTimeOf(v.ExpirationDate), UserAwareTokenNeverExpires: v.UserAwareTokenNeverExpires, Managed: v.Managed})
	}
	return http.StatusOK, out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
