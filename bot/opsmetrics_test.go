package bot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook/storetest"
	"github.com/klaxonhq/klaxon/report/reporttest"
)

// Slack calls through the real client against the fake, with a 429 and an
// ok:false: counted by method and outcome, the 429 waited out.
func TestSlackCallsCountedByMethodAndOutcome(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "chat.postMessage" && n == 1 {
			return &fakeslack.Fault{Status: 429, RetryAfter: 1}
		}
		return nil
	}})
	reg := prometheus.NewRegistry()
	ops := bot.NewOpsMetrics(reg)
	api := bot.NewPacedClient(fakeslack.DefaultBotToken, fakeslack.DefaultAppToken, f.URL(), bot.Pace{Transport: ops.Instrument("slack", nil, bot.SlackMethod), Clock: paceClock(f)})
	if _, _, err := api.PostMessageContext(ctxT(t), announce, slack.MsgOptionText("hello", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctxT(t), "C0NOPE", slack.MsgOptionText("hello", false)); err == nil {
		t.Fatal("posting to a missing channel worked")
	}
	out, err := testutil.GatherAndLint(reg)
	if err != nil || len(out) > 0 {
		t.Errorf("lint: %v %v", err, out)
	}
	expect := `
# HELP klaxon_api_calls_total Calls to Slack, GitHub and PagerDuty, by API method (or route template) and outcome: ok, api_error (Slack's ok:false, a 4xx), rate_limited (429), server_error (5xx), transport_error.
# TYPE klaxon_api_calls_total counter
klaxon_api_calls_total{api="slack",method="chat.postMessage",outcome="api_error"} 1
klaxon_api_calls_total{api="slack",method="chat.postMessage",outcome="ok"} 1
klaxon_api_calls_total{api="slack",method="chat.postMessage",outcome="rate_limited"} 1
# HELP klaxon_rate_limited_total 429 answers, each waited out (Retry-After) before the call was retried, by API and method.
# TYPE klaxon_rate_limited_total counter
klaxon_rate_limited_total{api="slack",method="chat.postMessage"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expect), "klaxon_api_calls_total", "klaxon_rate_limited_total"); err != nil {
		t.Error(err)
	}
}

func TestRouteTemplateKeepsNoVariables(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/repos/acme/checkout/issues/12":                     "GET /repos/{x}/{x}/issues/{x}",
		"/api/v3/repos/acme/checkout/deployments/9/statuses": "GET /api/v3/repos/{x}/{x}/deployments/{x}/statuses",
		"/incidents/PABC123/notes":                           "GET /incidents/{x}/notes",
		"/users/Secret%20Name":                               "GET /users/{x}",
	} {
		r := httptest.NewRequest(http.MethodGet, "http://x"+path, nil)
		if got := bot.RouteTemplate(r); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "http://x/api/chat.postMessage", nil)
	if bot.SlackMethod(r) != "chat.postMessage" {
		t.Error(bot.SlackMethod(r))
	}
	r = httptest.NewRequest(http.MethodPost, "http://x/api/<script>", nil)
	if bot.SlackMethod(r) != "other" {
		t.Error(bot.SlackMethod(r))
	}
}

func TestFiguresCollector(t *testing.T) {
	t.Parallel()
	mem := storetest.NewMemory()
	incs, evs := reporttest.Known(time.Now())
	if err := reporttest.Fill(ctxT(t), mem, incs, evs); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(bot.NewFiguresCollector(mem, nil))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
				if strings.Contains(l.GetValue(), "secret") {
					t.Errorf("user text in a label: %v", l)
				}
			}
			switch {
			case mf.GetName() == "klaxon_open_incidents" && labels["severity"] == "SEV2":
				found++
				if m.Gauge.GetValue() != 1 {
					t.Errorf("open SEV2: %v", m.Gauge.GetValue())
				}
			case mf.GetName() == "klaxon_phase_duration_seconds" && labels["severity"] == "SEV1" && labels["phase"] == "remediation":
				found++
				h := m.Histogram
				if h.GetSampleCount() != 3 || h.GetSampleSum() != 7200 {
					t.Errorf("SEV1 remediation histogram: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
				}
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d of the expected series", found)
	}
}
