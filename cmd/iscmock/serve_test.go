package main

import (
	"net/http"
	"testing"
)

func TestHTTPServerTimeouts(t *testing.T) {
	s := httpServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("server %+v: want read-header, read, write and idle timeouts and a header bound", s)
	}
}

func TestLocalURL(t *testing.T) {
	cases := map[string]string{
		"":               "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		"[::]:9000":      "http://127.0.0.1:9000",
		":7000":          "http://127.0.0.1:7000",
		"10.1.2.3:8080":  "http://10.1.2.3:8080",
		"localhost:8081": "http://localhost:8081",
	}
	for addr, want := range cases {
		if got := localURL(addr); got != want {
			t.Errorf("localURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
