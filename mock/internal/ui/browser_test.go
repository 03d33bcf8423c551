package ui_test

// These tests drive the dashboard in headless Chromium against a running mock. They need a
// Chromium (Debian: apt-get install chromium; elsewhere set ISCMOCK_CHROME to a Chrome binary):
// without one they skip, except under CI=true, where a missing browser fails them.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one Chromium for the package's tests, each in a tab of its own.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// chromePath finds a Chromium or Chrome.
func chromePath() string {
	if p := os.Getenv("ISCMOCK_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserContext starts the shared browser on first use, or skips the test where there is none.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := chromePath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (CI=true): install Debian's chromium package or set ISCMOCK_CHROME")
		}
		t.Skip("no Chromium found: these browser tests did not run (apt-get install chromium, or set ISCMOCK_CHROME to a Chrome binary)")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		browser.ctx, browser.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
		browser.err = chromedp.Do(ctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("starting %s: %v", path, browser.err)
	}
	return browser.ctx
}

// page is a dashboard open in a tab.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // script errors and console errors the page reported
}

// openPage opens url in a new tab. The test fails if the page reports a script or console error
// (a Content-Security-Policy violation among them), and writes a screenshot of every view when
// it fails.
func openPage(t *testing.T, url string) *page {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browserContext(t))
	ctx, cancelTimeout := context.WithTimeout(tab, 30*time.Second)
	p := &page{t: t, ctx: ctx}
	t.Cleanup(func() {
		p.mu.Lock()
		problems := p.problems
		p.mu.Unlock()
		for _, m := range problems {
			t.Errorf("the page reported: %s", m)
		}
		if t.Failed() {
			p.screenshots()
		}
		cancelTimeout()
		cancelTab()
	})
	p.run() // opens the tab, so that nothing it reports is missed
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = "console.error"
				for _, a := range ev.Args {
					msg += " " + string(a.Value)
				}
			}
		case *log.EventEntryAdded:
			// Failed fetches (a 401 before the token is given) are the page's normal course.
			if ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork {
				msg = fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text)
			}
		}
		if msg != "" {
			p.mu.Lock()
			p.problems = append(p.problems, msg)
			p.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	p.run(chromedp.Navigate(url))
	return p
}

func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a script expression.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("browser: %s: %v", js, err)
	}
	return v
}

// waitFor polls the page until the expression is true, failing the test past within.
func (p *page) waitFor(within time.Duration, what, js string) time.Duration {
	p.t.Helper()
	start := time.Now()
	for {
		if eval[bool](p, "!!("+js+")") {
			return time.Since(start)
		}
		if time.Since(start) > within {
			p.t.Fatalf("after %v: %s is still not so (%s)", within, what, js)
		}
		time.Sleep(20 * time.Millisecond) // the poll's step; the wait is bounded by within
	}
}

// text is the text of the first element the selector finds, or "" for none.
func (p *page) text(selector string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", selector))
}

// count is how many elements the selector finds.
func (p *page) count(selector string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf("document.querySelectorAll(%q).length", selector))
}

// show switches the dashboard to a view and waits for it.
func (p *page) show(view string) {
	p.t.Helper()
	eval[string](p, fmt.Sprintf("location.hash = %q", view))
	p.waitFor(5*time.Second, "the "+view+" view is shown", fmt.Sprintf("!document.getElementById('view-%s').hidden", view))
}

// choose sets a select or input as a user would, firing change.
func (p *page) choose(selector, value string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; return e.dispatchEvent(new Event('change')); })()`, selector, value))
}

// live waits for the dashboard's first complete poll.
func (p *page) live() {
	p.t.Helper()
	p.waitFor(10*time.Second, "the dashboard is live", `document.getElementById('live').textContent.includes('live')`)
}

// screenshots writes a PNG of every view, and says where.
func (p *page) screenshots() {
	dir := artifactDir(p.t)
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	for _, view := range []string{"traffic", "state", "scenario", "rights", "control", "tenants"} {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("location.hash = %q", view)))
		for deadline := time.Now().Add(time.Second); err == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var shown bool // the view, or the token form that stands for every view
			shown, err = chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
				"!document.getElementById('view-%s').hidden || !document.getElementById('auth').hidden", view)))
			if shown {
				break
			}
		}
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if err != nil {
			p.t.Logf("screenshot of %s: %v", view, err)
			return
		}
		file := filepath.Join(dir, view+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			p.t.Logf("screenshot: %v", err)
			return
		}
	}
	p.t.Logf("screenshots of every view: %s", dir)
}

// artifactDir is go test's artifact directory with -artifacts, else a directory of its own that
// outlives the test.
func artifactDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir, err := os.MkdirTemp("", "iscmock-ui-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Logf("no directory for screenshots: %v", err)
		return os.TempDir()
	}
	return dir
}
