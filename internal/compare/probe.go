package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// NamePrefix starts the name of every token a run creates; with the run's id after it, it is how
// a run finds its own tokens, and only those, to delete them.
const NamePrefix = "iscmock-compare-"

// vars are the values a run's placeholders take, the same on both sides.
type vars struct {
	run                  string // 8 hex, in every name the run gives
	adminID, userID      string
	future, past, farOff string
}

func newVars(run string, now time.Time) *vars {
	at := func(d time.Duration) string { return now.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
	return &vars{run: run, future: at(30 * 24 * time.Hour), past: at(-24 * time.Hour), farOff: at(210 * 24 * time.Hour)}
}

// name is the name a probe's tokens take.
func (v *vars) name(p Probe) string {
	return NamePrefix + v.run + " " + strings.ReplaceAll(p.Name, "/", " ")
}

func (v *vars) fill(p Probe, s string) string {
	name := v.name(p)
	return strings.NewReplacer("{adminId}", v.adminID, "{userId}", v.userID, "{unknown}", unknownID,
		"{name}", name, "{NAME}", strings.ToUpper(name), "{future}", v.future, "{past}", v.past, "{far}", v.farOff).Replace(s)
}

// answer runs a probe: its setup, its request, then deletes what it created. A failed setup step
// is the answer, named by its Step.
func (s *side) answer(ctx context.Context, p Probe, norm normaliser) Answer {
	s.lastUnrouted = false
	mark := len(s.created)
	defer s.deleteFrom(ctx, mark)
	coll := collection(p.Version)
	bearer := s.bearer[Narrow]
	defer func() { s.bearer[Narrow] = bearer }()
	for i, st := range p.Setup {
		name := s.vars.name(p)
		if i > 0 {
			name = fmt.Sprintf("%s %d", name, i+1)
		}
		if a, ok := s.create(ctx, p.Version, st.Owner, name, st.Scope, norm); !ok {
			a.Step = fmt.Sprintf("setup: create token %d of the probe (as %s)", i+1, st.Owner)
			return a
		}
	}
	if p.As == Narrow {
		c := s.created[mark]
		info, err := s.mint(ctx, Client{c.id, c.secret})
		if err != nil {
			return Answer{Step: "setup: mint a bearer token from the probe's token", Error: err.Error()}
		}
		s.bearer[Narrow] = info.AccessToken
	}
	if p.Fill {
		if a, ok := s.fill(ctx, p, norm); !ok {
			return a
		}
	}
	var rep reply
	var err error
	if p.Path == "/oauth/token" {
		rep, err = s.tokenRequest(ctx, s.client(p.Client), p.Credentials, p.Grant)
	} else {
		path := strings.ReplaceAll(s.vars.fill(p, p.Path), "{created}", s.firstCreated(mark))
		rep, err = s.call(ctx, p.Version, p.As, p.Method, path, p.ContentType, s.vars.fill(p, p.Body))
	}
	s.lastUnrouted = err == nil && s.unrouted != nil && s.unrouted()
	if err != nil {
		return Answer{Error: err.Error()}
	}
	if p.Method == http.MethodPost && coll != "" && rep.status == http.StatusOK {
		owner := p.As
		if owner == Narrow {
			owner = Admin
		}
		s.remember(rep.body, owner, coll)
	}
	return norm.answer(rep.status, rep.header, rep.body)
}

// firstCreated is the id of the probe's first setup token, or the unknown id without one.
func (s *side) firstCreated(mark int) string {
	if len(s.created) > mark {
		return s.created[mark].id
	}
	return unknownID
}

// client picks the credentials a token probe sends; the wrong ones are made up, never a secret.
func (s *side) client(which string) Client {
	switch which {
	case "wrong-secret":
		return Client{s.admin.ID, strings.Repeat("0", 64)}
	case "unknown":
		return Client{unknownID, strings.Repeat("0", 64)}
	}
	return s.admin
}

// create makes a token of owner through the version's collection; ok is false when it failed,
// and then the answer says how.
func (s *side) create(ctx context.Context, version string, owner Caller, name string, scope []string, norm normaliser) (Answer, bool) {
	body := map[string]any{"name": name, "expirationDate": s.vars.future}
	if scope != nil {
		body["scope"] = scope
	}
	b, _ := json.Marshal(body)
	rep, err := s.call(ctx, version, owner, http.MethodPost, collection(version), "", string(b))
	if err != nil {
		return Answer{Error: err.Error()}, false
	}
	if rep.status != http.StatusOK || !s.remember(rep.body, owner, collection(version)) {
		return norm.answer(rep.status, rep.header, rep.body), false
	}
	return Answer{}, true
}

// remember notes a token a create answer reports, to delete it later.
func (s *side) remember(body []byte, owner Caller, coll string) bool {
	var t struct{ ID, Secret string }
	if json.Unmarshal(body, &t) != nil || t.ID == "" {
		return false
	}
	s.created = append(s.created, created{id: t.ID, secret: t.Secret, collection: coll, owner: owner})
	return true
}

// fill creates tokens for the probe's caller until it holds ISC's maximum.
func (s *side) fill(ctx context.Context, p Probe, norm normaliser) (Answer, bool) {
	held, a, ok := s.count(ctx, p.Version, p.As, norm)
	if !ok {
		a.Step = "setup: count the tokens of the " + string(p.As)
		return a, false
	}
	for n := held + 1; n <= MaxTokensPerOwner; n++ {
		if a, ok := s.create(ctx, p.Version, p.As, fmt.Sprintf("%s fill %d", s.vars.name(p), n), nil, norm); !ok {
			a.Step = fmt.Sprintf("setup: create token %d of %d", n, MaxTokensPerOwner)
			return a, false
		}
	}
	return Answer{}, true
}

// listed is the part of a list item a run reads.
type listed struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Managed bool   `json:"managed"`
}

// count is how many tokens (managed ones aside) the caller holds.
func (s *side) count(ctx context.Context, version string, as Caller, norm normaliser) (int, Answer, bool) {
	items, rep, err := s.list(ctx, version, as, "?owner-id=me")
	if err != nil || rep.status != http.StatusOK {
		if err != nil {
			return 0, Answer{Error: err.Error()}, false
		}
		return 0, norm.answer(rep.status, rep.header, rep.body), false
	}
	n := 0
	for _, it := range items {
		if !it.Managed {
			n++
		}
	}
	return n, Answer{}, true
}

func (s *side) list(ctx context.Context, version string, as Caller, query string) ([]listed, reply, error) {
	rep, err := s.call(ctx, version, as, http.MethodGet, collection(version)+query, "", "")
	if err != nil || rep.status != http.StatusOK {
		return nil, rep, err
	}
	var items []listed
	if err := json.Unmarshal(rep.body, &items); err != nil {
		return nil, rep, fmt.Errorf("the list is not a JSON array of tokens: %w", err)
	}
	return items, rep, nil
}

// deleteFrom deletes the tokens created since mark, newest first, each as its owner; those that
// fail stay listed for the sweep at the end.
func (s *side) deleteFrom(ctx context.Context, mark int) {
	var kept []created
	for i := len(s.created) - 1; i >= mark; i-- {
		c := s.created[i]
		rep, err := s.call(ctx, versionOf(c.collection), c.owner, http.MethodDelete, c.collection+"/"+c.id, "", "")
		if err != nil || rep.status != http.StatusNoContent && rep.status != http.StatusNotFound {
			kept = append(kept, c)
		}
	}
	s.created = append(s.created[:mark], kept...)
}

// sweep deletes every token of this run still on the side: those it knows of, then any the
// owners' lists show with the run's name prefix (a create whose answer was lost). It returns the
// ids it could not delete.
func (s *side) sweep(ctx context.Context, version string) []string {
	s.deleteFrom(ctx, 0)
	prefix := strings.ToLower(NamePrefix + s.vars.run)
	for _, owner := range []Caller{Admin, User} {
		if s.bearer[owner] == "" {
			continue
		}
		items, _, err := s.list(ctx, version, owner, "?owner-id=me")
		if err != nil {
			continue
		}
		for _, it := range items {
			if strings.HasPrefix(strings.ToLower(it.Name), prefix) {
				s.created = append(s.created, created{id: it.ID, collection: collection(version), owner: owner})
			}
		}
	}
	s.deleteFrom(ctx, 0)
	var left []string
	for _, c := range s.created {
		left = append(left, c.id)
	}
	return left
}

func collection(version string) string {
	for _, v := range Versions {
		if v.Name == version {
			return v.Collection
		}
	}
	return ""
}

func versionOf(coll string) string {
	for _, v := range Versions {
		if v.Collection == coll {
			return v.Name
		}
	}
	return ""
}
