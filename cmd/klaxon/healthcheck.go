package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/klaxonhq/klaxon/internal/config"
)

// healthcheckCmd is `klaxon healthcheck`: exit 0 when the running Klaxon's
// /healthz answers 200, else 1. The distroless image has no shell or curl,
// so this is what its HEALTHCHECK runs. The address is http.listen from
// the config (0.0.0.0 and :: are asked on loopback), or --url.
func healthcheckCmd(ctx context.Context, args []string, defConfig string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("klaxon healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defConfig, "path to the YAML config (for http.listen)")
	url := fs.String("url", "", "the /healthz URL to ask instead of the config's http.listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target := *url
	if target == "" {
		cfg := config.Default()
		if _, err := os.Stat(*configPath); err == nil {
			// Only http.listen is needed: secrets left unset are fine.
			lenient := func(k string) (string, bool) {
				v, _ := getenv(k)
				return v, true
			}
			loaded, err := config.Load(*configPath, lenient)
			if err != nil {
				printProblems(stderr, *configPath, err)
				return 2
			}
			cfg = loaded
		}
		if !cfg.HTTP.Enabled() {
			fmt.Fprintln(stderr, "klaxon healthcheck: http.listen is off, so there is no /healthz to ask")
			return 2
		}
		host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
		if err != nil {
			fmt.Fprintf(stderr, "klaxon healthcheck: http.listen %q: %v\n", cfg.HTTP.Listen, err)
			return 2
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "klaxon healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "klaxon healthcheck: %s: %v\n", target, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "klaxon healthcheck: %s answered %s\n", target, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", target)
	return 0
}
