package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// A test embeds the mock with one call; it stops when the test ends. The client under test only
// needs the base URL and a PAT's client id and secret.
func ExampleNewServer() {
	testCleanup := func(t *testing.T) {
		srv := mock.NewServer(t, mock.WithClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		tok, _ := srv.AccessToken(mock.DefaultUserID) // Bob Builder, of the default tenant

		req, _ := http.NewRequest(http.MethodDelete, srv.URL()+"/v3/personal-access-tokens/"+mock.DefaultUserClientID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v %v", res.Status, err)
		}
		if _, ok := srv.PAT(mock.DefaultUserClientID); ok {
			t.Error("token still there")
		}
	}
	_ = testCleanup
}

// Outside a test, serve the Handler with any server, here httptest.
func Example() {
	srv, _ := mock.New(mock.WithSeed(1))
	web := httptest.NewServer(srv.Handler())
	defer web.Close()

	form := "grant_type=client_credentials&client_id=86f1dc6fe8f54414950454cbb11278fa" +
		"&client_secret=1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
	res, _ := http.Post(web.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.Status, strings.Contains(string(body), `"identity_id":"2c9180867b50d088017b554662fb281e"`))
	// Output: 200 OK true
}
