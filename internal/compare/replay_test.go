package compare_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iscmock/iscmock/internal/compare"
	"github.com/iscmock/iscmock/mock"
)

var update = flag.Bool("update", false, "capture the mock itself anew into testdata/captures/"+selfCapture)

// selfCapture is the capture the project made against the mock itself.
const (
	selfCapture = "iscmock-self"
	selfSource  = "iscmock itself (a self-capture: a baseline that proves nothing about ISC; captures from real tenants are what count)"
	capturesDir = "../../testdata/captures"
)

// TestReplayCaptures checks the mock against every capture under testdata/captures: each captured
// answer must be what the mock answers now. A capture contributed from a real tenant thus stays a
// check for good.
func TestReplayCaptures(t *testing.T) {
	if *update {
		writeSelfCapture(t)
	}
	dirs, err := os.ReadDir(capturesDir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		found = true
		t.Run(d.Name(), func(t *testing.T) {
			report, info, err := compare.Replay(context.Background(), filepath.Join(capturesDir, d.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if report.Differences() {
				var b strings.Builder
				_ = report.Write(&b, "text")
				t.Errorf("the mock no longer answers as %s did:\n%s", info.Source, b.String())
			}
		})
	}
	if !found {
		t.Fatalf("no capture under %s", capturesDir)
	}
}

// TestReplayFindsADifference: a capture the mock does not match is reported, that probe alone.
func TestReplayFindsADifference(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(capturesDir, selfCapture), dir)
	file := filepath.Join(dir, "v3", "delete", "404.json")
	var c compare.CapturedAnswer
	readJSON(t, file, &c)
	c.Answer.Status = 403
	b, _ := json.Marshal(c)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	report, _, err := compare.Replay(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var differing []string
	for _, r := range report.Results {
		if r.Verdict != compare.Same {
			differing = append(differing, r.Probe+": "+strings.Join(r.Differences, "; "))
		}
	}
	want := []string{"v3/delete/404: status: target 403, mock 404"}
	if !slices.Equal(differing, want) {
		t.Errorf("replay reported %q, want %q", differing, want)
	}
}

// TestCaptureRoundTrip: a capture holds no secret, token or real name, and replays as captured.
func TestCaptureRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := selfCompare(t, "v3/*").WriteCapture(dir, "a test"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if m := secretLike.FindString(string(b)); m != "" {
			t.Errorf("%s shows %s…", path, m[:8])
		}
		for _, name := range []string{"Alice Admin", "Bob Builder", "alice.admin", "CI pipeline", "Local development"} {
			if strings.Contains(string(b), name) {
				t.Errorf("%s shows the real name %q", path, name)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	report, _, err := compare.Replay(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(compare.Select(compare.Plan(), "v3/*")); len(report.Results) != want || report.Counts[compare.Same] != want {
		t.Errorf("replay: %v over %d probes, want all %d the same", report.Counts, len(report.Results), want)
	}
}

var secretLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.|\b[0-9a-f]{64}\b`)

// selfCompare runs compare against the mock itself, as the default tenant's org admin and end
// user, on the probes only selects ("" for all).
func selfCompare(t *testing.T, only string) *compare.Report {
	t.Helper()
	srv := mock.NewServer(t)
	report, err := compare.Run(context.Background(), compare.Config{
		Target:  srv.URL(),
		Admin:   compare.Client{ID: "86f1dc6fe8f54414950454cbb11278fa", Secret: "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"},
		User:    compare.Client{ID: "348aa283bdc67879ef654fb8906f6f35", Secret: "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398"},
		Only:    only,
		Iscmock: "self",
	})
	if err != nil {
		t.Fatal(err)
	}
	if report.Differences() {
		t.Fatal("the mock differs from itself")
	}
	return report
}

// writeSelfCapture captures the mock itself into testdata/captures.
func writeSelfCapture(t *testing.T) {
	report := selfCompare(t, "")
	dir := filepath.Join(capturesDir, selfCapture)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteCapture(dir, selfSource); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
