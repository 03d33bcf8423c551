package conformance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestContractMatchesDocuments: the committed contract is what the documents yield, wherever the
// documents are (CI sets ISCMOCK_SPEC_DIR to them).
func TestContractMatchesDocuments(t *testing.T) {
	dir, ok := documents(t)
	if !ok {
		t.Skip("the official documents are not beside the checkout: the contract is held to them where they are (scripts/fetch-specs gets them)")
	}
	for _, v := range Versions {
		t.Run(v.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, v.File))
			if err != nil {
				t.Fatal(err)
			}
			want, err := DeriveContract(v.Name, data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := contracts.ReadFile("contract/" + ContractFile(v.Name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("internal/conformance/contract/%s is not what %s yields (first difference at line %d); regenerate it: %s",
					ContractFile(v.Name), filepath.Join(dir, v.File), firstDifference(got, want), RegenerateContract)
			}
		})
	}
}

func firstDifference(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestContractHasNoProse: the committed contract holds names, types and bounds, and no sentence of
// the documents: no prose member but the two of its own, no text with a space in it.
func TestContractHasNoProse(t *testing.T) {
	for _, v := range Versions {
		data, err := contracts.ReadFile("contract/" + ContractFile(v.Name))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc, "", func(path string, key string, val any) {
			switch s, _ := val.(string); {
			case path == "/info", path == "/info/title", path == "/info/version":
			case isProse(key) && !(key == "description" && s == "" && strings.Contains(path, "/responses/")):
				t.Errorf("%s: %s is prose", v.Name, path)
			case strings.Contains(s, " "):
				t.Errorf("%s: %s = %q reads like prose", v.Name, path, s)
			}
		})
	}
}

// walk calls fn for every member of every object, with its JSON pointer.
func walk(v any, at string, fn func(path, key string, val any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			path := at + "/" + pointerEscape(k)
			fn(path, k, item)
			walk(item, path, fn)
		}
	case []any:
		for i, item := range v {
			walk(item, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// TestDeriveContract: prose goes wherever it stands, every $ref is resolved in place, and what the
// contract has no place for stops the derivation rather than slip by.
func TestDeriveContract(t *testing.T) {
	const doc = `
openapi: 3.0.1
info: {title: PROSE, description: PROSE, version: v9}
servers: [{url: 'https://x', description: PROSE}]
tags: [{name: PROSE, description: PROSE}]
x-anything: PROSE
paths:
  /things/{id}:
    x-where: PROSE
    get:
      operationId: getThing
      summary: PROSE
      description: PROSE
      tags: [PROSE]
      parameters:
        - {in: path, name: id, required: true, description: PROSE, example: PROSE, schema: {type: string, example: PROSE}}
      responses:
        200:
          description: PROSE
          headers: {Retry-After: {description: PROSE, schema: {type: integer}}}
          content:
            application/json:
              example: PROSE
              examples: {one: {summary: PROSE, value: PROSE}}
              schema: {$ref: '#/components/schemas/Thing'}
        '404': {$ref: '#/components/responses/404'}
components:
  securitySchemes:
    userAuth:
      type: oauth2
      description: PROSE
      x-displayName: PROSE
      flows: {clientCredentials: {tokenUrl: 'https://x/oauth/token', scopes: {'sp:scopes:all': PROSE}}}
  schemas:
    Thing:
      type: object
      title: PROSE
      description: PROSE
      required: [description]
      properties:
        description: {type: string, description: PROSE, default: PROSE, example: PROSE}
        owner: {$ref: '#/components/schemas/Owner'}
        tags: {type: array, items: {type: string, enum: [a, b]}, maxItems: 3}
        extra: {type: object, additionalProperties: false}
    Owner: {type: object, nullable: true, properties: {id: {type: string, format: uuid}}}
  responses:
    '404': {description: PROSE, content: {application/json: {schema: {type: object, properties: {error: {type: string}}}}}}
`
	got, err := DeriveContract("v9", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("PROSE")) {
		t.Errorf("prose in the contract:\n%s", got)
	}
	for _, want := range []string{`"operationId": "getThing"`, `"format": "uuid"`, `"nullable": true`, `"maxItems": 3`,
		`"additionalProperties": false`, `"description": {`, `"Retry-After": {`, `"sp:scopes:all": ""`, `"404": {`,
		`"tokenUrl": "https://x/oauth/token"`, `"required": [`} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("contract lacks %s:\n%s", want, got)
		}
	}
	if bytes.Contains(got, []byte(`"$ref"`)) {
		t.Errorf("a $ref was left unresolved:\n%s", got)
	}

	refused := []struct{ name, doc, want string }{
		{"a member it has no place for", "openapi: 3.0.1\npaths: {/x: {get: {operationId: x, callbacks: {}, responses: {}}}}", `"callbacks"`},
		{"a schema keyword it has no place for", "openapi: 3.0.1\npaths: {/x: {get: {responses: {200: {description: d, content: {a/b: {schema: {const: 1}}}}}}}}", `"const"`},
		{"a ref to itself", "openapi: 3.0.1\npaths: {/x: {get: {responses: {200: {description: d, content: {a/b: {schema: {$ref: '#/components/schemas/A'}}}}}}}}\ncomponents: {schemas: {A: {type: object, properties: {a: {$ref: '#/components/schemas/A'}}}}}", "refers to itself"},
		{"a ref to another file", "openapi: 3.0.1\npaths: {/x: {$ref: './paths/x.yaml'}}", "bundle it first"},
		{"a ref to nothing", "openapi: 3.0.1\npaths: {/x: {$ref: '#/components/pathItems/x'}}", "nothing at"},
		{"not YAML", "openapi: [", "yaml"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DeriveContract("v9", []byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %s", err, tc.want)
			}
		})
	}
}

// TestContractCatchesDrift: checked against the contract alone, a list answer whose member was
// renamed fails, naming the member that went missing and the one that appeared.
func TestContractCatchesDrift(t *testing.T) {
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Versions {
		good := `[` + item + `"expirationDate":"2026-07-05T10:00:00.000Z"}]`
		path := v.Prefix + "/personal-access-tokens"
		switch v.Name {
		case "v1":
			path = "/personal-access-tokens/v1"
			fallthrough
		case "v2025", "v2026":
			good = strings.Replace(good, `}]`, `,"userAwareTokenNeverExpires":false}]`, 1)
		}
		renamed := strings.Replace(good, "accessTokenValiditySeconds", "accessTokenValiditySecs", 1)
		req := httptest.NewRequest(http.MethodGet, path, nil)
		header := http.Header{"Content-Type": {"application/json"}}
		if err := c.Check(req, 200, header, []byte(good)); err != nil {
			t.Errorf("%s: a conforming answer was refused: %v", v.Name, err)
		}
		err := c.Check(req, 200, header, []byte(renamed))
		if err == nil || !strings.Contains(err.Error(), "accessTokenValiditySeconds") || !strings.Contains(err.Error(), "accessTokenValiditySecs") {
			t.Errorf("%s: a renamed member got %v, want an error naming both names", v.Name, err)
		}
	}
}

// TestLoadFrom: which source the checker takes, and when a missing document is an error.
func TestLoadFrom(t *testing.T) {
	empty := t.TempDir()
	partial := t.TempDir() // one good document (a contract is one), the others missing
	one, err := contracts.ReadFile("contract/" + ContractFile(Versions[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, Versions[0].File), one, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		dir      string
		explicit bool
		source   string // "" = an error
		wantErr  string
	}{
		{"default place without documents: the contract", empty, false, "the wire contract", ""},
		{"ISCMOCK_SPEC_DIR without documents: an error", empty, true, "", Versions[0].File},
		{"default place with half a set: an error", partial, false, "", Versions[1].File},
	}
	if dir, ok := documents(t); ok {
		cases = append(cases, struct {
			name     string
			dir      string
			explicit bool
			source   string
			wantErr  string
		}{"the documents", dir, true, "the official documents", ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadFrom(tc.dir, tc.explicit)
			switch {
			case tc.source == "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
			case tc.source != "" && err != nil:
				t.Fatal(err)
			case tc.source != "" && !strings.HasPrefix(c.Source(), tc.source):
				t.Fatalf("checks against %q, want %q", c.Source(), tc.source)
			}
		})
	}
}
