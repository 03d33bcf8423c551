// Package docs_test keeps the README and the pages under docs/ true: their links reach what they
// name, every page can be found, and the reference pages name what the code defines.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, seen from this package's directory (where go test runs it).
const root = ".."

// maxReadmeLines keeps the README a front door: the reference lives in docs/.
const maxReadmeLines = 400

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pages are the Markdown files whose links are checked, relative to the repository.
func pages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, glob := range []string{"README.md", "docs/*.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

var (
	fence = regexp.MustCompile("^\\s*(```|~~~)")
	// link is a Markdown link or image: [text](target) or ![alt](target), the target without spaces.
	link    = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	inline  = regexp.MustCompile("`[^`]*`")
)

// prose returns a page's lines outside fenced code blocks, where links and headings are Markdown.
func prose(text string) []string {
	var out []string
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if fence.MatchString(line) {
			inCode = !inCode
			continue
		}
		if !inCode {
			out = append(out, line)
		}
	}
	return out
}

// links are the targets of a page's links, code spans left out (a `[x](y)` there is not a link).
// Lines are joined first: a link's text, or a code span, may run over a line's end.
func links(text string) []string {
	var out []string
	for _, m := range link.FindAllStringSubmatch(inline.ReplaceAllString(strings.Join(prose(text), "\n"), ""), -1) {
		out = append(out, m[1])
	}
	return out
}

// anchors are the fragments GitHub makes of a page's headings: lower case, spaces to '-', other
// punctuation than '-' and '_' dropped, a repeated one suffixed -1, -2, ...
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range prose(text) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// local reports whether a link target is a file of this repository rather than a web address.
func local(target string) bool {
	return !strings.Contains(target, "://") && !strings.HasPrefix(target, "mailto:")
}

// resolve is a link target of page as a path from the repository's root, and its fragment.
func resolve(page, target string) (path, fragment string) {
	path, fragment, _ = strings.Cut(target, "#")
	if path == "" {
		return page, fragment
	}
	return filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(page), path))), fragment
}

func TestReadmeLength(t *testing.T) {
	if n := strings.Count(strings.TrimSuffix(read(t, "README.md"), "\n"), "\n") + 1; n > maxReadmeLines {
		t.Errorf("README.md has %d lines, more than %d: move reference material to a page under docs/", n, maxReadmeLines)
	}
}

// TestLinks: every relative link reaches a file, and every #anchor a heading of its target.
func TestLinks(t *testing.T) {
	for _, page := range pages(t) {
		t.Run(page, func(t *testing.T) {
			for _, target := range links(read(t, page)) {
				if !local(target) {
					continue
				}
				path, fragment := resolve(page, target)
				if _, err := os.Stat(filepath.Join(root, path)); err != nil {
					t.Errorf("link %s: %s does not exist", target, path)
					continue
				}
				if fragment == "" {
					continue
				}
				if !strings.HasSuffix(path, ".md") {
					t.Errorf("link %s: an anchor into %s, which has no headings", target, path)
				} else if !anchors(read(t, path))[fragment] {
					t.Errorf("link %s: %s has no heading for #%s", target, path, fragment)
				}
			}
		})
	}
}

// TestPagesLinked: every page under docs/ can be found from the README and from the docs' index.
func TestPagesLinked(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"README.md", "docs/README.md"} {
		var reached []string
		for _, target := range links(read(t, from)) {
			if local(target) {
				path, _ := resolve(from, target)
				reached = append(reached, path)
			}
		}
		for _, d := range docs {
			page := "docs/" + filepath.Base(d)
			if page == "docs/README.md" {
				continue
			}
			t.Run(from+" links "+page, func(t *testing.T) {
				if !slices.Contains(reached, page) {
					t.Errorf("%s does not link %s", from, page)
				}
			})
		}
	}
}

// TestReadmeStartsHere: a newcomer finds the install lines and the two commands as they are.
func TestReadmeStartsHere(t *testing.T) {
	readme := read(t, "README.md")
	for _, tc := range []struct{ name, text string }{
		{"go get", "go get github.com/iscmock/iscmock/mock"},
		{"go install", "go install github.com/iscmock/iscmock/cmd/iscmock@latest"},
		{"the image", "docker run --rm -p 127.0.0.1:8080:8080 ghcr.io/iscmock/iscmock"},
		{"the releases", "(docs/releases.md)"},
		{"the CI service", "image: ghcr.io/iscmock/iscmock:latest"},
		{"serve", "go run ./cmd/iscmock serve"},
		{"test", "go test -race ./..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(readme, tc.text) {
				t.Errorf("README.md lacks %q", tc.text)
			}
		})
	}
}

// TestChangelog: CHANGELOG.md keeps Keep a Changelog's form, with an Unreleased section that lists
// something under a known heading, and versions newest first.
func TestChangelog(t *testing.T) {
	changelog := read(t, "CHANGELOG.md")
	sections := regexp.MustCompile(`(?m)^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$`).FindAllStringSubmatch(changelog, -1)
	if len(sections) == 0 || sections[0][1] != "Unreleased" {
		t.Fatalf("CHANGELOG.md: want ## [Unreleased] first, then ## [1.2.3] - YYYY-MM-DD per version")
	}
	for _, s := range sections[1:] {
		if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$`).MatchString(s[1]) || s[2] == "" {
			t.Errorf("section %q: want ## [1.2.3] - YYYY-MM-DD", s[0])
		}
	}
	for _, line := range strings.Split(changelog, "\n") {
		if heading, ok := strings.CutPrefix(line, "### "); ok &&
			!slices.Contains([]string{"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, heading) {
			t.Errorf("heading %q: Keep a Changelog's are Added, Changed, Deprecated, Removed, Fixed, Security", line)
		}
	}
	unreleased, _, _ := strings.Cut(changelog[strings.Index(changelog, "## [Unreleased]"):], "\n## [")
	if !strings.Contains(unreleased, "\n### ") || !strings.Contains(unreleased, "\n- ") {
		t.Errorf("the Unreleased section lists nothing under a heading")
	}
	for _, s := range sections {
		if !strings.Contains(changelog, "\n["+s[1]+"]: ") {
			t.Errorf("no link line [%s]: URL at the bottom", s[1])
		}
	}
}

// TestReferenceNamesTheCode: what the code defines is documented where a reader looks for it, so a
// new variable or option cannot land without its page.
func TestReferenceNamesTheCode(t *testing.T) {
	goFiles := func(t *testing.T, glob string) string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				rel, _ := filepath.Rel(root, f)
				all.WriteString(read(t, rel))
			}
		}
		return all.String()
	}
	cases := []struct {
		name    string
		source  string         // Go files, as a glob from the repository's root
		defines *regexp.Regexp // its first group is a name the page must hold
		page    string
	}{
		{"serve's variables", "cmd/iscmock/serve.go", regexp.MustCompile(`env:"(ISCMOCK_\w+)"`), "docs/cli.md"},
		{"mock's options", "mock/*.go", regexp.MustCompile(`(?m)^func (With\w*)\(`), "docs/go.md"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found := tc.defines.FindAllStringSubmatch(goFiles(t, tc.source), -1)
			if len(found) == 0 {
				t.Fatalf("no definitions in %s: the pattern no longer fits the code", tc.source)
			}
			page := read(t, tc.page)
			for _, m := range found {
				if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(page) {
					t.Errorf("%s does not mention %s (defined in %s)", tc.page, m[1], tc.source)
				}
			}
		})
	}
}
