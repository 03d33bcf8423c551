package fetchspecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fetcher downloads the repository's files, each once per run, within the bounds.
type fetcher struct {
	base     *url.URL
	client   *http.Client
	maxBytes int64
	maxFiles int
	files    map[string]*yaml.Node // repository path → its document's top node
	tried    int
}

func newFetcher(o Options) (*fetcher, error) {
	base, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host/path", o.BaseURL)
	}
	base.Fragment, base.RawPath = "", ""
	f := &fetcher{base: base, maxBytes: o.MaxBytes, maxFiles: o.MaxFiles, files: map[string]*yaml.Node{}}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.maxFiles <= 0 {
		f.maxFiles = DefaultMaxFiles
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	f.client = &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
				return fmt.Errorf("redirected to another host (%s)", req.URL.Redacted())
			}
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	return f, nil
}

// url is a repository path's address.
func (f *fetcher) url(p string) string {
	u := *f.base
	u.Path += "/" + p
	return u.String()
}

// get returns a file's parsed YAML (JSON is YAML too).
func (f *fetcher) get(ctx context.Context, p string) (*yaml.Node, error) {
	if n, ok := f.files[p]; ok {
		return n, nil
	}
	if f.tried >= f.maxFiles {
		return nil, fmt.Errorf("more than %d files to fetch", f.maxFiles)
	}
	f.tried++
	u := f.url(p)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, unwrapURLError(err))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %s", u, res.Status)
	}
	if res.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("GET %s: %d bytes, more than the limit of %d", u, res.ContentLength, f.maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, f.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, unwrapURLError(err))
	}
	if int64(len(data)) > f.maxBytes {
		return nil, fmt.Errorf("GET %s: more than the limit of %d bytes", u, f.maxBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", u, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: empty document", u)
	}
	f.files[p] = doc.Content[0]
	return doc.Content[0], nil
}

// unwrapURLError drops *url.Error's repetition of the method and URL, which the caller states.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// resolve turns a $ref found in file (a repository path) into the repository path of its target and
// a JSON pointer; an empty path means the same file. Only refs into the repository are followed.
func (f *fetcher) resolve(file, ref string) (target, pointer string, err error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", err
	}
	if u.Opaque != "" || u.RawQuery != "" || u.User != nil {
		return "", "", errors.New("not a file reference")
	}
	if u.Fragment != "" && !strings.HasPrefix(u.Fragment, "/") {
		return "", "", errors.New("the fragment is not a JSON pointer")
	}
	var p string
	switch {
	case u.Scheme != "" || u.Host != "":
		rest, ok := strings.CutPrefix(u.Path, f.base.Path+"/")
		if u.Scheme != f.base.Scheme || u.Host != f.base.Host || !ok {
			return "", "", errors.New("refers outside the repository (absolute URL)")
		}
		p = path.Clean(rest)
	case u.Path == "":
		return "", u.Fragment, nil
	case strings.HasPrefix(u.Path, "/"):
		return "", "", errors.New("absolute paths are not followed")
	default:
		p = path.Join(path.Dir(file), u.Path)
	}
	if p == ".." || strings.HasPrefix(p, "../") || p == "." {
		return "", "", errors.New("leaves the repository")
	}
	return p, u.Fragment, nil
}

// lookup follows a JSON pointer ("" is the node itself).
func lookup(n *yaml.Node, pointer string) *yaml.Node {
	if pointer == "" {
		return n
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		n = unalias(n)
		switch n.Kind {
		case yaml.MappingNode:
			n = member(n, tok)
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || fmt.Sprint(i) != tok || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return unalias(n)
}

// member is a mapping's value for key, or nil.
func member(m *yaml.Node, key string) *yaml.Node {
	m = unalias(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return unalias(m.Content[i+1])
		}
	}
	return nil
}

func unalias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
