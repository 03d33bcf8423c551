package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// healthCmd lets a container check itself without a shell or curl in the image.
type healthCmd struct {
	URL string `help:"Base URL of the server (default: from ISCMOCK_ADDR, else http://127.0.0.1:8080)."`
}

func (c *healthCmd) Run(out output) error {
	url := c.URL
	if url == "" {
		url = localURL(os.Getenv("ISCMOCK_ADDR"))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(strings.TrimSuffix(url, "/") + "/__admin/health")
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", url, res.Status)
	}
	fmt.Fprintln(out.stdout, "healthy")
	return nil
}

// localURL turns a listen address into a URL this host can reach: a wildcard host becomes loopback.
func localURL(addr string) string {
	if addr == "" {
		return "http://127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
