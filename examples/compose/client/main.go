// Command client is the test suite of a CI fleet in miniature: it works in several iscmock tenants
// at once, as parallel jobs sharing one container do, and exits 0 only if each tenant behaved as
// ISC does and none saw another's tokens.
//
//	ISC_BASE_URL=http://iscmock:8080 TENANTS=job-1,job-2 client
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// The default tenant's org admin: every tenant is made from the same fixtures.
const (
	clientID     = "86f1dc6fe8f54414950454cbb11278fa"
	clientSecret = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
)

func main() {
	base := os.Getenv("ISC_BASE_URL")
	tenants := strings.Split(os.Getenv("TENANTS"), ",")
	if base == "" || os.Getenv("TENANTS") == "" {
		fmt.Fprintln(os.Stderr, "client: set ISC_BASE_URL and TENANTS (comma-separated)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, base, tenants); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	fmt.Printf("client: %d tenants, each isolated: ok\n", len(tenants))
}

// job is one tenant's share of the work.
type job struct {
	base   string // the tenant's base URL
	bearer string
	token  string // the id of the token it made
}

// run gets a bearer token in each tenant and makes a token there, all at once; then checks that
// each tenant lists its own token and no other's and refuses the others' bearer tokens; then
// deletes what it made.
func run(ctx context.Context, base string, tenants []string) error {
	jobs := make([]*job, len(tenants))
	for i, name := range tenants {
		jobs[i] = &job{base: strings.TrimSuffix(base, "/") + "/tenants/" + name}
	}
	if err := each(jobs, func(j *job) error { return j.create(ctx) }); err != nil {
		return err
	}
	if err := each(jobs, func(j *job) error { return j.isolated(ctx, jobs) }); err != nil {
		return err
	}
	return each(jobs, func(j *job) error {
		_, err := j.call(ctx, j.bearer, http.MethodDelete, "/v3/personal-access-tokens/"+j.token, "", http.StatusNoContent)
		return err
	})
}

// each runs f for every job in parallel and joins their errors.
func each(jobs []*job, f func(*job) error) error {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			if err := f(j); err != nil {
				errs[i] = fmt.Errorf("%s: %w", j.base, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (j *job) create(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	b, err := j.call(ctx, "", http.MethodPost, "/oauth/token", form.Encode(), http.StatusOK)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		return fmt.Errorf("token response: %w", err)
	}
	j.bearer = tok.AccessToken
	b, err = j.call(ctx, j.bearer, http.MethodPost, "/v3/personal-access-tokens", `{"name":"fleet job"}`, http.StatusOK)
	if err != nil {
		return err
	}
	var created struct{ ID string }
	if err := json.Unmarshal(b, &created); err != nil || created.ID == "" {
		return fmt.Errorf("create answered %s", b)
	}
	j.token = created.ID
	return nil
}

func (j *job) isolated(ctx context.Context, jobs []*job) error {
	b, err := j.call(ctx, j.bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "", http.StatusOK)
	if err != nil {
		return err
	}
	var listed []struct{ ID string }
	if err := json.Unmarshal(b, &listed); err != nil {
		return fmt.Errorf("list answered %s", b)
	}
	ids := map[string]bool{}
	for _, p := range listed {
		ids[p.ID] = true
	}
	for _, other := range jobs {
		switch {
		case other == j && !ids[j.token]:
			return fmt.Errorf("its list %s lacks the token it made", b)
		case other != j && ids[other.token]:
			return fmt.Errorf("its list shows %s's token %s", other.base, other.token)
		case other != j:
			if _, err := j.call(ctx, other.bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "", http.StatusUnauthorized); err != nil {
				return fmt.Errorf("with %s's bearer token: %w", other.base, err)
			}
		}
	}
	return nil
}

// call sends a request to the tenant (a form to /oauth/token, JSON elsewhere) and returns the
// body, or an error when the status is not want.
func (j *job) call(ctx context.Context, bearer, method, path, body string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, j.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	switch {
	case path == "/oauth/token":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	return b, nil
}
