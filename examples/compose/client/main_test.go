package main

import (
	"context"
	"strings"
	"testing"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/mock"
)

// TestMain checks every answer the client gets against the official OpenAPI documents.
func TestMain(m *testing.M) { conformance.Main(m) }

func TestRun(t *testing.T) {
	srv := mock.NewServer(t)
	if err := run(context.Background(), srv.URL(), []string{"job-1", "job-2", "job-3"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(srv.Tenants(), ","); got != "job-1,job-2,job-3" {
		t.Errorf("tenants %q, want the three jobs'", got)
	}
	for _, name := range srv.Tenants() {
		tenant, _ := srv.OpenTenant(name)
		for _, p := range tenant.PATs() {
			if p.Name == "fleet job" {
				t.Errorf("tenant %s still has the job's token %s", name, p.ID)
			}
		}
	}
}

// TestRunFailsOnALeak: a tenant that shows another's tokens fails the run.
func TestRunFailsOnALeak(t *testing.T) {
	srv := mock.NewServer(t)
	if err := run(context.Background(), srv.URL(), []string{"same", "same"}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("two jobs in one tenant: %v, want an error naming the other's token", err)
	}
}
