// Package fetchspecs downloads SailPoint's OpenAPI documents (sailpoint-oss/api-specs, MIT licence)
// and writes the six bundled documents of the Personal Access Tokens API that the conformance tests
// read: each holds the root's openapi, info, servers, security and tags, the PAT paths only, and
// every external $ref moved under components, so that it loads alone.
package fetchspecs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/internal/conformance"
)

// DefaultBaseURL is the pinned upstream commit's raw files.
const DefaultBaseURL = "https://raw.githubusercontent.com/sailpoint-oss/api-specs/81ef79d0"

// Version is one document to write.
type Version struct {
	Name  string   // API version, as internal/conformance names it
	Root  string   // root document, relative to the repository
	Paths []string // the PAT paths kept; the root's others are dropped unread
	// SchemesFrom names the version whose root lends components.securitySchemes (and the root-level
	// security) when this root has none, as the per-resource APIs' roots do not.
	SchemesFrom string
}

var (
	classic = []string{"/personal-access-tokens", "/personal-access-tokens/{id}"}
	// Versions is the table of documents.
	Versions = []Version{
		{"beta", "idn/sailpoint-api.beta.yaml", classic, ""},
		{"v3", "idn/sailpoint-api.v3.yaml", classic, ""},
		{"v2024", "idn/sailpoint-api.v2024.yaml", classic, ""},
		{"v2025", "idn/sailpoint-api.v2025.yaml", classic, ""},
		{"v2026", "idn/sailpoint-api.v2026.yaml", classic, ""},
		{"v1", "idn/apis/personal-access-tokens/openapi.yaml",
			[]string{"/personal-access-tokens/v1", "/personal-access-tokens/v1/{id}"}, "v2025"},
	}
)

// File is the name the tests read the version's document by.
func (v Version) File() string {
	for _, c := range conformance.Versions {
		if c.Name == v.Name {
			return c.File
		}
	}
	panic("fetchspecs: no document file for version " + v.Name)
}

// Bounds used when Options leaves them zero.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultMaxBytes = 8 << 20 // per file
	DefaultMaxFiles = 500     // per run
	maxNodes        = 200_000 // YAML nodes per written document: bounds alias and inlining blow-ups
)

// Options configure Run.
type Options struct {
	BaseURL  string    // the repository's raw files at one commit; "" is DefaultBaseURL
	Dir      string    // where the documents are written
	Out      io.Writer // one line per file written; nil discards them
	Timeout  time.Duration
	MaxBytes int64
	MaxFiles int
}

// Run fetches and bundles every version, checks each result with kin-openapi, and only then writes
// all of them into Dir, each atomically; on any error Dir is left as it was.
func Run(ctx context.Context, o Options) error {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Dir == "" {
		return errors.New("no output directory")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	f, err := newFetcher(o)
	if err != nil {
		return err
	}
	docs := make([][]byte, len(Versions))
	for i, v := range Versions {
		if docs[i], err = build(ctx, f, v); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	return write(o.Dir, docs, o.Out)
}

// build makes one version's document and checks that it loads alone and validates the way the
// conformance package loads it.
func build(ctx context.Context, f *fetcher, v Version) ([]byte, error) {
	doc, err := bundle(ctx, f, v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	t, err := openapi3.NewLoader().LoadFromData(buf.Bytes())
	if err == nil {
		err = t.Validate(ctx, openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableExamplesValidation())
	}
	if err != nil {
		return nil, fmt.Errorf("the bundled document is not valid OpenAPI: %w", err)
	}
	return buf.Bytes(), nil
}

// write puts every document in a temporary file beside its final name, then renames them all, so a
// failure before the renames leaves dir untouched (and a reader never sees half a file).
func write(dir string, docs [][]byte, out io.Writer) (err error) {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
			if errors.Is(statErr, os.ErrNotExist) {
				os.Remove(dir) // only if still empty
			}
		}
	}()
	for i, data := range docs {
		tmp, err := os.CreateTemp(dir, "."+Versions[i].File()+".*.tmp")
		if err != nil {
			return err
		}
		temps = append(temps, tmp.Name())
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o644)
		}
		if err != nil {
			return err
		}
	}
	for i, tmp := range temps {
		final := filepath.Join(dir, Versions[i].File())
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d bytes)\n", final, len(docs[i]))
	}
	temps = nil
	return nil
}
