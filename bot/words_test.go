package bot_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/wordscan"
)

// Every word a person reads in Slack is rendered in one place, templates
// (templates/default), with the escaping of its destination: bot's source
// holds no Slack markup and no sentences.
//
// What counts, in every string literal of a non-test .go file here:
//   - Slack markup: "<@", "<#", "<!" or an :emoji: (a colon, a lower-case
//     letter, letters, digits, _ + or -, a colon);
//   - a sentence or a piece of one: three or more words, a word being a
//     space-separated token made only of letters (and ' or -) once its
//     surrounding punctuation is stripped.
//
// What does not count, by rule rather than by list:
//   - struct tags and import paths;
//   - the message of a log call (slog's Debug, Info, Warn, Error and their
//     Context forms): logs are for operators, and stay English;
//   - the wrapping of an error (fmt.Errorf with %w): "chat.update of the
//     offer: %w" names the step that failed for the logs; what a person
//     reads in Slack of an error is the typed *playbook.Error rendered by
//     templates (errText), and at most, in parentheses after a failed
//     step, the one-line technical reason ("closing.failed");
//   - panics: a registration mistake, found at start by the developer;
//   - a subcommand's Usage ("close [root cause]"): the syntax a person
//     types, which the parser reads; its line of help is a template;
//   - a Prometheus metric's HELP text (the Help of prometheus.*Opts, the
//     second argument of prometheus.NewDesc): read on /metrics by the
//     operator's monitoring, never in Slack.
//
// A new error message (errors.New, fmt.Errorf without %w) counts: its text
// may be all a person is told (an argument the parser refused), so it is
// either a template's words or in wordsAllowed with why it never reaches
// Slack.
//
// Everything else found must be in pendingWords (words_pending_*_test.go,
// one file per helper moving them, merged here) with who still owes its
// move; an entry that no longer matches fails the test too, so the lists
// only shrink.
func TestNoSlackMarkupOrSentencesInBot(t *testing.T) {
	pending := map[string]string{}
	for _, m := range []map[string]string{pendingWordsT1, pendingWordsT2} {
		for k, v := range m {
			if _, dup := pending[k]; dup {
				t.Errorf("%q is pending twice", k)
			}
			pending[k] = v
		}
	}
	found, err := wordscan.Dir(".", rules)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	keys := map[string]bool{}
	for _, f := range found {
		keys[f.Key()] = true
		if _, ok := wordsAllowed[f.Key()]; ok {
			continue
		}
		if _, ok := pending[f.Key()]; !ok {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		t.Errorf("bot writes words for people in Go (%d literals); render them from templates/default:\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
	var stale []string
	for _, k := range slices.Sorted(maps.Keys(pending)) {
		if !keys[k] {
			stale = append(stale, fmt.Sprintf("%q (%s)", k, pending[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(wordsAllowed)) {
		if !keys[k] {
			stale = append(stale, fmt.Sprintf("%q (allowed)", k))
		}
	}
	if len(stale) > 0 {
		t.Errorf("the pending or allowed lists name literals bot no longer has; remove them:\n%s", strings.Join(stale, "\n"))
	}
}

// wordsAllowed are literals the scan finds that are not words Klaxon
// writes for a person in Slack, each with why.
var wordsAllowed = map[string]string{
	// The parser's patterns for what a person typed: they read markup, never write it.
	`command.go: ^<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>$`:    "a pattern matching a typed user mention",
	`command.go: ^<!subteam\^[A-Z0-9]+(?:\|[^<>]*)?>$`: "a pattern matching a typed user-group mention",
	// For the operator, at start or in the logs, never posted in Slack:
	// cmd/klaxon prints them when Slack refuses a token, and the Socket
	// Mode loop logs them.
	"connection.go: slack refused the app token (slack.app_token): %s. It must be an app-level token, xapp-…, with the connections:write scope: your app's page on api.slack.com → Basic Information → App-Level Tokens":                    "the operator's terminal and logs",
	"connection.go: slack refused the bot token (slack.bot_token): %s. It must be the Bot User OAuth Token, xoxb-…, of the app installed in your workspace: your app's page on api.slack.com → OAuth & Permissions (install the app first)": "the operator's terminal and logs",
	// Not words: the REST path segments a route label keeps
	// (klaxon_external_calls_total's route), every other segment → {x}.
	"opsmetrics.go: repos issues pulls deployments statuses commits contents git refs trees blobs\n\t\treviews files comments labels assignees search user users orgs teams members collaborators\n\t\tincidents notes log_entries oncalls schedules escalation_policies services responder_requests\n\t\tenqueue v2 api v3 graphql branches merge codeowners": "REST path segments of a metric's route label",
	// The status line of the 429 the rate gate answers itself: slack-go
	// reads its code and Retry-After; the text reaches logs at most.
	"ratelimit.go: 429 Too Many Requests (held by Klaxon until Retry-After)": "an HTTP status line",
}

// TestWordScanCatchesWords checks the heuristic on a hand-made file.
func TestWordScanCatchesWords(t *testing.T) {
	src := `package p
import "fmt"
type T struct{ A string ` + "`json:\"a,omitempty\" yaml:\"a b c\"`" + ` }
func f(log interface{ Warn(string, ...any) }) {
	_ = "<@" + "U1" + ">"
	_ = ":white_check_mark: done"
	_ = "Incident #%d is closed"
	_ = "could not read who is on call ("
	_ = "15:04:05 UTC"
	_ = "klaxon:incident-%d:action-%d"
	_ = "incident_declare_modal"
	_ = "chat.postMessage"
	_ = "channels:manage"
	_ = "a b"
	_ = form{Usage: "close [root cause]"}
	log.Warn("telling the channel about a failure", "incident", 1)
	b.log().ErrorContext(ctx, "posting the update failed", "err", err)
	_ = fmt.Errorf("reading the deploys of %s: %w", "x", nil)
	_ = fmt.Errorf("%q is not a window: write 30m, 2h or 3d", w)
	panic(fmt.Sprintf("bot: subcommand %q registered twice", name))
	_ = prometheus.CounterOpts{Name: "klaxon_x_total", Help: "Envelopes received, by type."}
	_ = prometheus.NewDesc("klaxon_open", "Open incidents, by severity.", nil, nil)
	_ = other.CounterOpts{Help: "words in another package count"}
}
`
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range wordscan.File(fs, f, rules) {
		got = append(got, w.Literal)
	}
	want := []string{"<@", ":white_check_mark: done", "Incident #%d is closed", "could not read who is on call (", "%q is not a window: write 30m, 2h or 3d", "words in another package count"}
	if !slices.Equal(got, want) {
		t.Fatalf("found %q, want %q", got, want)
	}
}

// rules are this package's exemptions (see the test's comment).
var rules = wordscan.Rules{WrappingErrorsOnly: true, Panics: true, Usage: true, PrometheusHelp: true}
