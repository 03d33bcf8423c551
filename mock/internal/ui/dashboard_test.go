package ui_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock"
)

// The embedded default tenant's org admin, and the clock every test starts at.
const aliceID = "2c9180867b50d088017b554662fb281e"

var start = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

// call makes an API request with a bearer token for the identity (none for ""), and returns the
// answer's status and request id.
func call(t *testing.T, tenant *mock.Tenant, identity, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, tenant.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if identity != "" {
		tok, err := tenant.AccessToken(identity)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("SLPT-Request-ID")
}

// liveWithin is how soon a request must show in the timeline.
const liveWithin = time.Second

func TestTrafficShowsEachRequestWithinASecond(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	job, err := srv.OpenTenant("job-1")
	if err != nil {
		t.Fatal(err)
	}
	call(t, srv.Tenant, aliceID, http.MethodGet, "/v3/personal-access-tokens") // the root's: not job-1's
	p := openPage(t, job.URL()+"/__admin/ui/")
	p.live()
	if got := p.text("#tenant-label"); got != "tenant job-1" {
		t.Errorf("tenant label %q", got)
	}

	status, requestID := call(t, job, aliceID, http.MethodGet, "/v3/personal-access-tokens?owner-id=me")
	if status != http.StatusOK {
		t.Fatalf("list: %d", status)
	}
	took := p.waitFor(liveWithin, "the list call is in the timeline",
		`[...document.querySelectorAll('#traffic-table tbody td.path')].some(td => td.textContent === '/tenants/job-1/v3/personal-access-tokens?owner-id=me')`)
	t.Logf("the request showed %v after it was answered", took)
	if n := p.count("#traffic-table tbody tr"); n != 1 {
		t.Errorf("%d rows, want 1: the root tenant's request is not job-1's", n)
	}
	row := p.text("#traffic-table tbody tr")
	for _, want := range []string{"GET", "listPersonalAccessTokens", "200", "Alice Admin"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}

	call(t, job, "", http.MethodGet, "/v3/no-such-thing")
	p.waitFor(liveWithin, "the 404 is in the timeline", `document.querySelectorAll('#traffic-table tbody tr').length === 2`)
	p.choose("#f-status", "4")
	if n, path := p.count("#traffic-table tbody tr"), p.text("#traffic-table tbody td.path"); n != 1 || path != "/tenants/job-1/v3/no-such-thing" {
		t.Errorf("filtered on 4xx: %d rows, first %q; want only the 404", n, path)
	}
	p.choose("#f-status", "*")

	// The full entry opens from the keyboard.
	p.run(chromedp.Focus(chromedp.CSS(`#traffic-table tbody tr[data-seq="1"] button`)), chromedp.KeyEvent("\r"))
	p.waitFor(2*time.Second, "the entry dialog is open", `document.getElementById('entry-dialog').open`)
	if got := p.text("#entry-fields"); !strings.Contains(got, requestID) || !strings.Contains(got, "owner-id=me") {
		t.Errorf("entry %q lacks the request id %s or the query", got, requestID)
	}
}

func TestScenarioLoadedInTheDashboardFires(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	p := openPage(t, srv.URL()+"/__admin/ui/#scenario")
	p.live()
	p.waitFor(2*time.Second, "no scenario is shown", `document.getElementById('sc-status').textContent.startsWith('No scenario')`)

	p.run(chromedp.SetValue(chromedp.CSS("#sc-text"), "rules:\n  - name: x\n    match: {operation: listEverything}\n"),
		chromedp.Click(chromedp.CSS(`#sc-form button[type="submit"]`)))
	p.waitFor(2*time.Second, "the scenario's problems are listed",
		`document.getElementById('sc-result').textContent.includes('rules[0].match.operation: unknown operation "listEverything"')`)

	scenario := "name: flaky\nrules:\n  - name: fail-next-list\n    match: {operation: listPersonalAccessTokens}\n    when: {calls: [1]}\n    respond: {status: 503}\n"
	p.run(chromedp.SetValue(chromedp.CSS("#sc-text"), scenario), chromedp.Click(chromedp.CSS(`#sc-form button[type="submit"]`)))
	p.waitFor(2*time.Second, "the rule is listed with no match yet", `document.querySelector('#sc-rules tr[data-rule="fail-next-list"] .matched')?.textContent === '0'`)
	if got := p.text("#sc-status"); got != "Running: flaky" {
		t.Errorf("status %q", got)
	}

	if status, _ := call(t, srv.Tenant, aliceID, http.MethodGet, "/v3/personal-access-tokens"); status != http.StatusServiceUnavailable {
		t.Fatalf("the next list answered %d, want the rule's 503", status)
	}
	p.waitFor(2*liveWithin, "the rule's counters moved",
		`document.querySelector('#sc-rules tr[data-rule="fail-next-list"] .fired')?.textContent === '1' &&
		 document.querySelector('#sc-rules tr[data-rule="fail-next-list"] .matched')?.textContent === '1'`)
	if st, ok := srv.ScenarioStats(); !ok || st.Rules[0].Fired != 1 {
		t.Errorf("server's stats %+v", st)
	}

	p.run(chromedp.Click(chromedp.CSS("#sc-clear")))
	p.waitFor(2*time.Second, "the scenario is cleared", `document.getElementById('sc-status').textContent.startsWith('No scenario')`)
	if _, ok := srv.ScenarioStats(); ok {
		t.Error("the scenario still runs after Clear scenario")
	}
}

func TestAdvancingTheClockChangesNotUsedSince(t *testing.T) {
	// The default tenant's "Audit export" was last used on 2026-11-20, three days before start.
	srv := mock.NewServer(t, mock.WithClock(start))
	p := openPage(t, srv.URL()+"/__admin/ui/#state")
	p.live()
	p.waitFor(2*time.Second, "the tokens are listed", `document.querySelectorAll('#pats-table tbody tr').length > 0`)
	p.choose("#p-used", "since")
	p.choose("#p-since", "7d")
	audit := `[...document.querySelectorAll('#pats-table tbody tr')].some(tr => tr.cells[0].textContent === 'Audit export')`
	p.waitFor(2*time.Second, "the list follows the filter", `document.getElementById('pats-table').dataset.filter.startsWith('lastUsed isnull or lastUsed le 2026-11-16')`)
	if !eval[bool](p, `[...document.querySelectorAll('#pats-table tbody tr')].some(tr => tr.cells[0].textContent === 'Local development')`) {
		t.Error(`"Local development", last used in April, is not listed as not used in the last 7 days`)
	}
	if eval[bool](p, audit) {
		t.Fatal(`"Audit export", used three days ago, is listed as not used in the last 7 days`)
	}

	p.choose("#p-since", "2026-11-21")
	p.waitFor(2*time.Second, "a date stands as given", `document.getElementById('pats-table').dataset.filter === 'lastUsed isnull or lastUsed le 2026-11-21T00:00:00.000Z'`)
	if !eval[bool](p, audit) {
		t.Error(`"Audit export", last used on 2026-11-20, is not listed as not used since 2026-11-21`)
	}
	p.choose("#p-since", "7d")

	p.show("control")
	p.run(chromedp.Click(chromedp.CSS(`button[data-advance="7d"]`)))
	p.waitFor(2*time.Second, "the clock moved a week", `document.getElementById('ctl-now').textContent.startsWith('2026-11-30')`)
	p.show("state")
	p.waitFor(2*liveWithin, "the list follows the moved clock", `document.getElementById('pats-table').dataset.filter.startsWith('lastUsed isnull or lastUsed le 2026-11-23')`)
	if !eval[bool](p, audit) {
		t.Error(`a week later, "Audit export" is still not listed as not used in the last 7 days`)
	}
	if got := srv.Clock().Now(); got.Before(start.Add(7 * 24 * time.Hour)) {
		t.Errorf("server clock %v, want a week after %v", got, start)
	}
}

// TestDurationsReadAsTheServerReadsThem: the State view's "not used since" reads a duration with the
// grammar of every duration the server reads (internal/duration), and the clock control sends its
// text to the server, which reads days too.
func TestDurationsReadAsTheServerReadsThem(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	p := openPage(t, srv.URL()+"/__admin/ui/#state")
	p.live()
	p.choose("#p-used", "since")
	for _, in := range []string{"7d", "1d12h", "1.5d", "36h", "90m", "+2d", "0", "3 d", "3D", "1d-2h", "d", "3", "2w"} {
		want, err := duration.Parse(in)
		// Cleared and changed at once, so that no load that began before can write it between.
		eval[bool](p, fmt.Sprintf(`(() => { document.getElementById('p-filter-text').textContent = '';
			const e = document.getElementById('p-since'); e.value = %q; return e.dispatchEvent(new Event('change')); })()`, in))
		if err != nil {
			p.waitFor(2*time.Second, in+" is refused, as the server refuses it", `!document.getElementById('pat-error').hidden`)
			continue
		}
		p.waitFor(2*time.Second, in+" is read, as the server reads it",
			`document.getElementById('p-filter-text').textContent !== '' && document.getElementById('pat-error').hidden`)
		filter := eval[string](p, `document.getElementById('p-filter-text').textContent`)
		at, perr := time.Parse(time.RFC3339, strings.TrimPrefix(filter, "lastUsed isnull or lastUsed le "))
		// The page's mock clock is the server's, as of its last poll: within a few seconds of it,
		// while the durations here differ by hours.
		if off := srv.Clock().Now().Add(-want).Sub(at); perr != nil || off < -5*time.Second || off > 5*time.Second {
			t.Errorf("%s: the filter is %q, want lastUsed le the mock clock less %v (%v)", in, filter, want, perr)
		}
	}

	p.show("control")
	before := srv.Clock().Now()
	p.choose("#ctl-duration", "1d12h")
	p.run(chromedp.Click(chromedp.CSS(`#ctl-advance button[type="submit"]`)))
	p.waitFor(2*time.Second, "the clock moved", `document.getElementById('ctl-result').textContent.startsWith('Clock now')`)
	if moved := srv.Clock().Now().Sub(before); moved < 36*time.Hour || moved > 36*time.Hour+time.Minute {
		t.Errorf("advancing by 1d12h moved the clock %v", moved)
	}
	p.choose("#ctl-duration", "2w")
	p.run(chromedp.Click(chromedp.CSS(`#ctl-advance button[type="submit"]`)))
	p.waitFor(2*time.Second, "the server's refusal is shown", `document.getElementById('message').textContent.includes('not a duration')`)
}

func TestMintedTokenWorks(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	p := openPage(t, srv.URL()+"/__admin/ui/#control")
	p.live()
	p.waitFor(2*time.Second, "the identities are offered", `document.getElementById('mint-identity').value === '`+aliceID+`'`)
	p.run(chromedp.Click(chromedp.CSS(`#mint-form button[type="submit"]`)))
	p.waitFor(2*time.Second, "the token is shown", `document.getElementById('mint-token').value.length > 100`)
	tok := eval[string](p, `document.getElementById('mint-token').value`)
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v3/personal-access-tokens?owner-id=me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("the minted token got %d", res.StatusCode)
	}
	p.show("traffic")
	if got := eval[string](p, `document.getElementById('mint-token').value`); got != "" {
		t.Error("the minted token is still on the page after leaving the view")
	}
}

func TestAdminTokenIsRequired(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start), mock.WithAdminToken("s3cret"))
	p := openPage(t, srv.URL()+"/__admin/ui/")
	p.waitFor(5*time.Second, "the token is asked for", `!document.getElementById('auth').hidden`)
	if got := p.text("#clock-now"); got != "…" {
		t.Errorf("clock %q shown without the token", got)
	}
	if n := p.count(".view:not([hidden])"); n != 0 {
		t.Errorf("%d views shown without the token", n)
	}

	p.run(chromedp.SendKeys(chromedp.CSS("#auth-token"), "wrong\r"))
	p.waitFor(5*time.Second, "the wrong token is refused", `document.getElementById('auth-error').textContent.includes('refused')`)

	p.run(chromedp.SendKeys(chromedp.CSS("#auth-token"), "s3cret\r"))
	p.live()
	p.waitFor(2*time.Second, "the clock shows", `document.getElementById('clock-now').textContent.startsWith('2026-11-23')`)
	call(t, srv.Tenant, aliceID, http.MethodGet, "/v3/personal-access-tokens")
	p.waitFor(2*liveWithin, "traffic shows with the token", `document.querySelectorAll('#traffic-table tbody tr').length === 1`)
}

func TestInjectedMarkupStaysText(t *testing.T) {
	const name = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
	srv := mock.NewServer(t, mock.WithClock(start))
	if err := srv.Seed(mock.Fixtures{PersonalAccessTokens: []mock.PAT{
		{ID: "b0000000000000000000000000000001", Secret: "s", Name: name, Owner: aliceID},
	}}); err != nil {
		t.Fatal(err)
	}
	call(t, srv.Tenant, "", http.MethodGet, "/v3/"+name)

	p := openPage(t, srv.URL()+"/__admin/ui/#state")
	p.live()
	p.waitFor(2*time.Second, "the token is listed with its name as text",
		fmt.Sprintf(`[...document.querySelectorAll('#pats-table tbody td')].some(td => td.textContent === %q)`, name))
	p.show("traffic")
	p.waitFor(2*time.Second, "the path is listed as text",
		fmt.Sprintf(`[...document.querySelectorAll('#traffic-table tbody td.path')].some(td => td.textContent === %q)`, "/v3/"+name))
	if pwned := eval[any](p, `window.pwned`); pwned != nil {
		t.Errorf("injected markup ran: window.pwned = %v", pwned)
	}
	if n := p.count("main img, main script, #entry-dialog img"); n != 0 {
		t.Errorf("%d img or script elements made from request data", n)
	}
}

func TestTenantsPage(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	job, err := srv.OpenTenant("job-1")
	if err != nil {
		t.Fatal(err)
	}
	call(t, job, aliceID, http.MethodGet, "/v3/personal-access-tokens")
	call(t, job, "", http.MethodGet, "/v3/personal-access-tokens")
	p := openPage(t, srv.URL()+"/__admin/ui/#tenants")
	p.live()
	p.waitFor(2*time.Second, "job-1 is listed with its two requests", `document.querySelector('#tenants-table tr[data-tenant="job-1"] td.num')?.textContent === '2'`)
	if href := eval[string](p, `document.querySelector('#tenants-table tr[data-tenant="job-1"] a').getAttribute('href')`); href != "/tenants/job-1/__admin/ui/" {
		t.Errorf("dashboard link %q", href)
	}
	drop := chromedp.Click(chromedp.CSS(`#tenants-table tr[data-tenant="job-1"] button`))
	p.run(drop)
	p.waitFor(2*time.Second, "the drop asks again", `document.querySelector('#tenants-table tr[data-tenant="job-1"] button').textContent === 'Really drop?'`)
	if got := srv.Tenants(); len(got) != 1 {
		t.Fatalf("one press dropped the tenant: %v", got)
	}
	p.run(drop)
	p.waitFor(2*time.Second, "job-1 is gone", `!document.querySelector('#tenants-table tr[data-tenant="job-1"]') && !document.getElementById('tenants-empty').hidden`)
	if got := srv.Tenants(); len(got) != 0 {
		t.Errorf("tenants after the drop: %v", got)
	}
}

func TestEveryViewFitsNarrowAndWideWindows(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start), mock.WithScenario(mock.Scenario{Name: "limited",
		RateLimit: &mock.RateLimit{Requests: 1, Window: time.Minute},
		Rules:     []mock.Rule{{Name: "slow-lists", Match: mock.RuleMatch{Operation: "listPersonalAccessTokens"}, Respond: &mock.Response{Delay: time.Millisecond}}},
	}))
	if _, err := srv.OpenTenant("a-tenant-with-a-rather-long-name-for-its-column"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		call(t, srv.Tenant, aliceID, http.MethodGet, "/v2025/personal-access-tokens?owner-id=me&filters=lastUsed%20isnull")
	}
	p := openPage(t, srv.URL()+"/__admin/ui/")
	p.live()
	p.waitFor(2*time.Second, "the traffic is listed", `document.querySelectorAll('#traffic-table tbody tr').length === 2`)
	for _, width := range []int64{1280, 400} {
		p.run(chromedp.EmulateViewport(width, 800))
		for _, view := range []string{"traffic", "state", "scenario", "rights", "control", "tenants"} {
			p.show(view)
			if w := eval[int64](p, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("%d px wide, the %s view is %d px wide: the page scrolls sideways", width, view, w)
			}
		}
	}
}

// TestReadmeScreenshot writes the README's picture of the traffic view:
//
//	ISCMOCK_UI_SCREENSHOT=$PWD/docs/dashboard-traffic.png go test ./mock/internal/ui -run TestReadmeScreenshot
func TestReadmeScreenshot(t *testing.T) {
	out := os.Getenv("ISCMOCK_UI_SCREENSHOT")
	if out == "" {
		t.Skip("set ISCMOCK_UI_SCREENSHOT to a PNG path to write the README's screenshot")
	}
	srv := mock.NewServer(t, mock.WithClock(start), mock.WithSeed(1), mock.WithScenario(mock.Scenario{Name: "demo", Rules: []mock.Rule{
		{Name: "throttle-second-list", Match: mock.RuleMatch{Operation: "listPersonalAccessTokens"}, When: mock.When{Calls: []int{2}},
			Respond: &mock.Response{Status: http.StatusTooManyRequests}},
		{Name: "create-fails-once", Match: mock.RuleMatch{Operation: "createPersonalAccessToken"}, When: mock.When{Calls: []int{1}},
			Respond: &mock.Response{Status: http.StatusInternalServerError}},
	}}))
	const bob = "2c9180867b50d088017b554662fb282f"
	for _, c := range []struct{ who, method, path string }{
		{aliceID, http.MethodGet, "/v3/personal-access-tokens?owner-id=me"},
		{aliceID, http.MethodGet, "/v3/personal-access-tokens?owner-id=me"},
		{aliceID, http.MethodGet, "/v3/personal-access-tokens?owner-id=me&filters=lastUsed%20isnull"},
		{aliceID, http.MethodPost, "/v2025/personal-access-tokens"},
		{bob, http.MethodGet, "/beta/personal-access-tokens"},
		{bob, http.MethodDelete, "/v2025/personal-access-tokens/df62b48a82ed3316936f80dfe4c19211"},
		{"", http.MethodGet, "/v3/personal-access-tokens"},
	} {
		call(t, srv.Tenant, c.who, c.method, c.path)
	}
	p := openPage(t, srv.URL()+"/__admin/ui/")
	p.live()
	p.waitFor(2*time.Second, "the traffic is listed", `document.querySelectorAll('#traffic-table tbody tr').length === 7`)
	p.run(chromedp.EmulateViewport(1280, 640))
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}

// TestDownloadState: the State view's button saves the tenant's state, fetched with the admin
// token, as a fixture file that holds what the tenant exports.
func TestDownloadState(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start), mock.WithAdminToken("s3cret"))
	tenant, err := srv.OpenTenant("team")
	if err != nil {
		t.Fatal(err)
	}
	if err := tenant.SetIdentityEnabled(tenant.Identities()[1].ID, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(browserContext(t), cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, tenant.URL()+"/__admin/ui/#state")
	p.run(chromedp.SendKeys(chromedp.CSS("#auth-token"), "s3cret\r"))
	p.live()
	p.run(chromedp.Click(chromedp.CSS("#state-download")))

	var files []string
	for deadline := time.Now().Add(10 * time.Second); len(files) == 0; time.Sleep(20 * time.Millisecond) { // the poll's step
		if time.Now().After(deadline) {
			t.Fatal("no file was downloaded within 10 s")
		}
		files, _ = filepath.Glob(filepath.Join(dir, "iscmock-team-2026-11-23T*.yaml"))
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := mock.ParseFixtures(files[0], data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tenant.Export(), got); diff != "" {
		t.Errorf("the downloaded file is not the tenant's state (-export +file):\n%s", diff)
	}
}

// TestEntryShowsWhatWasSaid: a row of the timeline opens with the cause, and both sides' headers
// and bodies, as text: markup a client sent is shown, not run.
func TestEntryShowsWhatWasSaid(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	const markup = `<img src=x onerror="window.pwned=1">`
	tok, err := srv.AccessToken(aliceID, "sp:my-personal-access-tokens:read")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v3/personal-access-tokens", strings.NewReader(`{"name":"`+markup+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	p := openPage(t, srv.URL()+"/__admin/ui/#traffic")
	p.live()
	p.waitFor(2*time.Second, "the refusal is listed with why", `[...document.querySelectorAll('#traffic-table td.cause')].some(td => td.textContent.startsWith('createPersonalAccessToken needs a token scoped'))`)
	p.run(chromedp.Click(chromedp.CSS(`#traffic-table tbody tr button`)))
	p.waitFor(2*time.Second, "the request's body is shown", `(document.querySelector('#entry-said pre[data-part="Request body"]') || {}).textContent === '{"name":"`+strings.ReplaceAll(markup, `"`, `\"`)+`"}'`)
	for part, want := range map[string]string{"Request": "Authorization: Bearer sha256:", "Response": "Iscmock-Cause: createPersonalAccessToken needs",
		"Response body": `"detailCode":"403 Forbidden"`} {
		if got := p.text(fmt.Sprintf(`#entry-said pre[data-part=%q]`, part)); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want %q in it", part, got, want)
		}
	}
	if why := eval[string](p, `[...document.querySelectorAll('#entry-fields dt')].find(dt => dt.textContent === 'Why').nextElementSibling.textContent`); !strings.HasPrefix(why, "createPersonalAccessToken needs") {
		t.Errorf("the entry's why: %q", why)
	}
	if n := p.count("#entry-dialog img, #entry-dialog script"); n != 0 || eval[any](p, `window.pwned`) != nil {
		t.Errorf("markup a client sent was made into %d elements, or ran", n)
	}
}

// TestSoftRightsShowInTheDashboard: with soft rights, a waived call is marked in the timeline, with
// why, and the rights view names what the identity lacked and who has it.
func TestSoftRightsShowInTheDashboard(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start), mock.WithSoftRights())
	const bobID = "2c9180867b50d088017b554662fb282f" // the default tenant's end user
	if status, _ := call(t, srv.Tenant, bobID, http.MethodGet, "/v3/personal-access-tokens"); status != http.StatusOK {
		t.Fatalf("a waived list: %d", status)
	}
	p := openPage(t, srv.URL()+"/__admin/ui/#traffic")
	p.live()
	p.waitFor(2*time.Second, "the waived call is marked", `[...document.querySelectorAll('#traffic-table td.cause')].some(td =>
		td.querySelector('.badge.s-waived') && td.textContent.includes('soft: would be 403: listPersonalAccessTokens without owner-id'))`)
	p.choose("#f-status", "waived")
	p.waitFor(2*time.Second, "the waived filter keeps it", `document.querySelectorAll('#traffic-table tbody tr').length === 1`)
	p.show("rights")
	p.waitFor(2*time.Second, "the rights report lists the lacked right",
		`!!document.querySelector('#rights-table tr[data-identity="`+bobID+`"] li[data-lacked="idn:all-personal-access-tokens:read"]')`)
	if row := p.text(`#rights-table tr[data-identity="` + bobID + `"]`); !strings.Contains(row, "the user level ORG_ADMIN has it") ||
		!strings.Contains(row, "listPersonalAccessTokens: 1 call, 1 waived") {
		t.Errorf("the rights row reads %q", row)
	}
	if mode := p.text("#rights-mode"); !strings.HasPrefix(mode, "Soft rights") {
		t.Errorf("the rights view says %q, want it to say rights are soft", mode)
	}
}

// TestEmptyViewsSaySo: a view with nothing to show says so, rather than show a bare table head.
func TestEmptyViewsSaySo(t *testing.T) {
	srv := mock.NewServer(t, mock.WithClock(start))
	p := openPage(t, srv.URL()+"/__admin/ui/#traffic")
	p.live()
	for _, tc := range []struct{ view, table, empty, says string }{
		{"traffic", "traffic-table", "traffic-empty", "No requests yet"},
		{"rights", "rights-table", "rights-empty", "No calls yet"},
		{"tenants", "tenants-table", "tenants-empty", "No tenants yet"},
	} {
		p.show(tc.view)
		p.waitFor(2*time.Second, tc.view+" says it is empty", fmt.Sprintf(`!document.getElementById(%q).hidden && document.getElementById(%q).closest('.table-wrap').hidden`, tc.empty, tc.table))
		if got := p.text("#" + tc.empty); !strings.HasPrefix(got, tc.says) {
			t.Errorf("the %s view says %q, want %q", tc.view, got, tc.says)
		}
	}
	p.show("state")
	p.choose("#p-used", "custom")
	p.choose("#p-custom", "lastUsed le 1970-01-02T00:00:00Z")
	p.waitFor(2*time.Second, "no token matches, and it says so", `!document.getElementById('pats-empty').hidden && document.getElementById('pats-table').closest('.table-wrap').hidden`)
}
