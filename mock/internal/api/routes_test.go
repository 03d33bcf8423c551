package api

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// FuzzRouteLookup: a path the route table looks up by its text has the resource and variables
// that mux's matching gives it.
func FuzzRouteLookup(f *testing.F) {
	t := router()
	for r := range t.resources {
		tpl, _ := r.GetPathTemplate()
		f.Add(tpl)
	}
	for _, p := range []string{"/v3/personal-access-tokens/86f1dc6fe8f54414950454cbb11278fa", "/beta/personal-access-tokens/..",
		"/v2026/personal-access-tokens//x", "/v3/personal-access-tokens/a/b", "/v3/personal-access-tokens/", "", "/",
		"/oauth/token/x", "/v3/personal-access-tokens/%2F", "/v3/personal-access-tokens/a%20b"} {
		f.Add(p)
	}
	f.Fuzz(func(tt *testing.T, path string) {
		res, id, ok := t.spelled(path)
		if !ok {
			return
		}
		var match mux.RouteMatch
		if !t.paths.Match(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}}, &match) {
			tt.Fatalf("%q: looked up by its text, but mux matches no route", path)
		}
		if want := t.resources[match.Route]; reflect.ValueOf(res).Pointer() != reflect.ValueOf(want).Pointer() {
			tt.Fatalf("%q: looked up by its text, a resource other than mux's", path)
		}
		if id != match.Vars["id"] || len(match.Vars) > 1 {
			tt.Fatalf("%q: id %q, mux's variables %v", path, id, match.Vars)
		}
	})
}

// TestEveryTemplateSpelled: every path of the table is looked up by its text, so no request pays
// for mux's matching but those that match nothing (404s) or the unusual.
func TestEveryTemplateSpelled(t *testing.T) {
	table := router()
	for r := range table.resources {
		tpl, _ := r.GetPathTemplate()
		path := tpl
		if collection, ok := strings.CutSuffix(tpl, "/"+itemVar); ok {
			path = collection + "/86f1dc6fe8f54414950454cbb11278fa"
		}
		if _, _, ok := table.spelled(path); !ok {
			t.Errorf("%s is matched by mux, not looked up", tpl)
		}
	}
}
