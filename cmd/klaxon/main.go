// Command klaxon is Klaxon's one binary and the only place where its parts
// are wired together: config, store, Slack adapter, domain, HTTP server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Klaxon: incident response in Slack.

Usage:
  klaxon run          [--config PATH]   connect to Slack and run
  klaxon check-config [--config PATH] [--no-env]
                                        load the config as run would; print every problem
  klaxon manifest     [--config PATH]   print the Slack app manifest (YAML)
  klaxon migrate --from bolt:PATH --to postgres://…
                                        copy a bbolt store into PostgreSQL (resumable)
  klaxon backup --to FILE [--config PATH] [--url URL]
                                        write a consistent copy of the bbolt store
  klaxon demo         [--keep DIR]      see Klaxon work: a SEV1 against a fake Slack, no tokens
  klaxon report       [--config PATH] [--since 12w] [--service S] [--format table|csv|json|html]
                                        MTTR and the other figures (asks the running Klaxon when it holds the store)
  klaxon export       [--config PATH] [--since 12w]
                                        every incident with its timeline, as JSON lines (Klaxon stopped)
  klaxon demo --play  [--addr H:P]      a local web page to try every command (127.0.0.1:8090)
  klaxon healthcheck  [--config PATH] [--url URL]
                                        exit 0 when the running Klaxon's /healthz answers (Docker HEALTHCHECK)
  klaxon version                        print the version

--config defaults to $KLAXON_CONFIG, else klaxon.yaml.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// realMain runs a subcommand and returns the process exit code: 0 ok, 1 a
// runtime failure, 2 a usage or configuration problem.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("klaxon "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := "klaxon.yaml"
	if v, ok := getenv("KLAXON_CONFIG"); ok && v != "" {
		def = v
	}
	configPath := fs.String("config", def, "path to the YAML config")
	var noEnv *bool
	if sub == "check-config" {
		noEnv = fs.Bool("no-env", false, "validate without the secrets (for CI): unset ${VAR}s read as empty, empty tokens are warnings")
	}
	switch sub {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "klaxon", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	case "demo":
		return demoCmd(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, def, stdout, stderr, getenv)
	case "report":
		return reportCmd(ctx, rest, def, stdout, stderr, getenv)
	case "export":
		return exportCmd(ctx, rest, def, stdout, stderr, getenv)
	case "run", "check-config", "manifest", "migrate", "backup":
	default:
		fmt.Fprintf(stderr, "klaxon: unknown command %q\n\n%s", sub, usage)
		return 2
	}
	// Each subcommand takes only its own flags.
	var from, to, url string
	switch sub {
	case "migrate":
		fs.StringVar(&from, "from", "", "the store to copy, bolt:PATH")
		fs.StringVar(&to, "to", "", "the postgres:// URL to copy into")
	case "backup":
		fs.StringVar(&to, "to", "", "the file to write the copy to")
		fs.StringVar(&url, "url", "", "the running Klaxon's /admin/backup URL (default: from http.listen)")
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	switch sub {
	case "migrate":
		return exitCode(migrateStore(ctx, from, to, stdout), stderr)
	case "backup":
		// Like manifest, backup needs no Slack tokens: unset variables are
		// fine here.
		lenient := func(k string) (string, bool) {
			v, _ := getenv(k)
			return v, true
		}
		cfg, err := config.Load(*configPath, lenient)
		if err != nil {
			printProblems(stderr, *configPath, err)
			return 2
		}
		return exitCode(backup(ctx, cfg, to, url, stdout), stderr)
	case "check-config":
		return checkConfig(*configPath, *noEnv, stdout, stderr, getenv)
	case "manifest":
		return manifest(*configPath, stdout, stderr, getenv)
	default:
		cfg, code := loadForRun(*configPath, stderr, getenv)
		if cfg == nil {
			return code
		}
		if err := run(ctx, cfg, stderr); err != nil {
			fmt.Fprintln(stderr, "klaxon:", err)
			return 1
		}
		return 0
	}
}

// exitCode reports err and maps it to an exit code: 2 for a usage error,
// 1 for any other failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "klaxon:", err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func printProblems(w io.Writer, path string, err error) {
	var ps *config.Problems
	if errors.As(err, &ps) {
		fmt.Fprintf(w, "%s: %d problem(s):\n%s\n", path, len(ps.List), ps.Error())
		return
	}
	fmt.Fprintf(w, "%s: %v\n", path, err)
}

func checkConfig(path string, noEnv bool, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	// Every problem in one pass: the file's and those that stop a run.
	cfg, warnings, err := config.Check(path, getenv, config.CheckOptions{NoEnv: noEnv})
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", path, w.String())
	}
	if err != nil {
		printProblems(stderr, path, err)
		return 2
	}
	where := cfg.Store.Path
	if cfg.Store.Driver == config.DriverPostgres {
		where = "PostgreSQL (store.dsn)"
	}
	note := ""
	if len(warnings) > 0 {
		note = fmt.Sprintf(", %d warning(s) above", len(warnings))
	}
	services := fmt.Sprintf("%d services", len(cfg.Services))
	if len(cfg.Services) == 1 {
		services = "1 service"
	}
	fmt.Fprintf(stdout, "%s: OK (%s, announce channel %s, store %s%s)\n", path, services, cfg.Slack.AnnounceChannel, where, note)
	return 0
}

func loadForRun(path string, stderr io.Writer, getenv func(string) (string, bool)) (*config.Config, int) {
	cfg, _, err := config.Check(path, getenv, config.CheckOptions{})
	if err != nil {
		printProblems(stderr, path, err)
		return nil, 2
	}
	return cfg, 0
}

// manifest prints the app manifest. The config is optional here: without a
// file, the default app name and command are used.
func manifest(path string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	cfg := config.Default()
	if _, err := os.Stat(path); err == nil {
		// The manifest comes before the tokens exist (they are made from
		// it), so unset variables are fine here.
		lenient := func(k string) (string, bool) {
			v, _ := getenv(k)
			return v, true
		}
		loaded, err := config.Load(path, lenient)
		if err != nil {
			printProblems(stderr, path, err)
			return 2
		}
		cfg = loaded
	}
	out, err := bot.Manifest(cfg.Slack.AppName, cfg.Slack.CommandName)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon:", err)
		return 1
	}
	stdout.Write(out)
	return 0
}
