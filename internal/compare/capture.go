package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A capture is a folder: tenant.json says where the answers come from and holds the tenant they
// were given on (pseudonymised), and each probe's answer is a file named after the probe
// (v3/list/200-me.json). The answers are normalised as compared, so they hold no id, secret or
// token; names of people and of tokens the run did not create are replaced by pseudonyms.

// CaptureInfo is a capture's tenant.json.
type CaptureInfo struct {
	// Source says where the answers come from: an ISC tenant, or iscmock itself (a baseline that
	// proves nothing about ISC).
	Source   string    `json:"source"`
	Iscmock  string    `json:"iscmock"`
	Captured time.Time `json:"captured"`
	Tenant   Tenant    `json:"tenant"`
}

// CapturedAnswer is one file of a capture.
type CapturedAnswer struct {
	Probe   string `json:"probe"`
	What    string `json:"what"`
	Request string `json:"request"`
	Answer  Answer `json:"answer"`
}

const captureInfoFile = "tenant.json"

// WriteCapture writes each target answer of the report into dir, under the source given.
func (r *Report) WriteCapture(dir, source string) error {
	names, tenant := pseudonyms(r.tenant)
	write := func(name string, v any) error {
		path := filepath.Join(dir, filepath.FromSlash(name)+".json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		b, err := marshal(v)
		if err != nil {
			return err
		}
		return os.WriteFile(path, []byte(r.Redact(string(b))), 0o644)
	}
	info := CaptureInfo{Source: source, Iscmock: r.Iscmock, Captured: r.Started.Truncate(time.Second), Tenant: tenant}
	if err := write(strings.TrimSuffix(captureInfoFile, ".json"), info); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.Target == nil {
			continue
		}
		a := *res.Target
		a.Body = rename(a.Body, names)
		if err := write(res.Probe, CapturedAnswer{Probe: res.Probe, What: res.What, Request: res.Request, Answer: a}); err != nil {
			return err
		}
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return []byte(b.String()), err
}

// pseudonyms replaces the ids and names of a tenant's identities and of the tokens a run did not
// create, consistently; names maps each real name to its pseudonym.
func pseudonyms(t Tenant) (map[string]string, Tenant) {
	names := map[string]string{}
	ids := map[string]string{}
	id := func(real string) string {
		if real == "" {
			return ""
		}
		if _, ok := ids[real]; !ok {
			ids[real] = randomHex(16)
		}
		return ids[real]
	}
	out := Tenant{Admin: id(t.Admin), AdminToken: id(t.AdminToken), User: id(t.User), UserToken: id(t.UserToken)}
	for i, ident := range t.Identities {
		name, user := fmt.Sprintf("Identity %d", i+1), ""
		switch ident.ID {
		case t.Admin:
			name, user = "Org Admin", "org.admin"
		case t.User:
			name, user = "End User", "end.user"
		}
		names[ident.Name] = name
		if ident.UserName != "" && user != "" {
			names[ident.UserName] = user
		}
		out.Identities = append(out.Identities, Identity{ID: id(ident.ID), Name: name, UserName: user, UserLevels: ident.UserLevels})
	}
	for i, p := range t.Tokens {
		if !strings.HasPrefix(p.Name, NamePrefix) {
			names[p.Name] = fmt.Sprintf("Token %d", i+1)
		}
		p.ID, p.Name, p.Owner.ID, p.Owner.Name = id(p.ID), names[p.Name], id(p.Owner.ID), names[p.Owner.Name]
		out.Tokens = append(out.Tokens, p)
	}
	return names, out
}

// rename replaces string values that are real names by their pseudonyms.
func rename(v any, names map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = rename(e, names)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = rename(e, names)
		}
		return out
	case string:
		if p, ok := names[v]; ok {
			return p
		}
	}
	return v
}

// Replay checks the mock against a capture: the plan's probes that have an answer in dir run on a
// mock seeded with the capture's tenant, and each answer is compared with the captured one.
func Replay(ctx context.Context, dir string) (*Report, CaptureInfo, error) {
	var info CaptureInfo
	b, err := os.ReadFile(filepath.Join(dir, captureInfoFile))
	if err != nil {
		return nil, info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, info, fmt.Errorf("%s: %w", captureInfoFile, err)
	}
	captured := recorded{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" || d.Name() == captureInfoFile && filepath.Dir(path) == filepath.Clean(dir) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var c CapturedAnswer
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		captured[c.Probe] = c.Answer
		return nil
	})
	if err != nil {
		return nil, info, err
	}
	var plan []Probe
	for _, p := range Plan() {
		if _, ok := captured[p.Name]; ok {
			plan = append(plan, p)
		}
	}
	for name := range captured {
		if !slices.ContainsFunc(plan, func(p Probe) bool { return p.Name == name }) {
			return nil, info, fmt.Errorf("%s: a capture of probe %q, which the plan does not have", dir, name)
		}
	}
	t := info.Tenant
	// The capture keeps no secret: the mock's PATs get new ones.
	admin, user := Client{t.AdminToken, randomHex(32)}, Client{}
	if t.UserToken != "" {
		user = Client{t.UserToken, randomHex(32)}
	}
	// The mock lives at the time of the capture, so that dates in it and in the probes compare
	// as they did then.
	v := newVars(runID(), info.Captured)
	v.adminID, v.userID = t.Admin, t.User
	m, err := mirror(ctx, t, admin, user, v, info.Captured)
	if err != nil {
		return nil, info, err
	}
	report := &Report{Target: dir, Iscmock: info.Iscmock, Started: time.Now().UTC(), Compared: Compared, Counts: map[Verdict]int{}, tenant: t}
	report.Results = runPlan(ctx, plan, captured, m, t, normaliser{run: v.run}, nil)
	for _, r := range report.Results {
		report.Counts[r.Verdict]++
	}
	if len(report.Results) == 0 {
		return report, info, errors.New(dir + ": no captured answers")
	}
	return report, info, nil
}

// recorded answers probes from a capture.
type recorded map[string]Answer

func (r recorded) answer(_ context.Context, p Probe, _ normaliser) Answer { return r[p.Name] }
