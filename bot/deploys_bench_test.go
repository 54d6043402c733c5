package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
)

// BenchmarkDeploysPosted50ms measures what the issue promises, from
// outside: from the incident channel's creation to the deploys message
// landing in it, with 50 ms per GitHub call, through the whole path (the
// GitHub lookup, the deploy log on bbolt, the ranking, chat.postMessage to
// the fake Slack). The fixture is github's BenchmarkDeclarationLookup50ms
// (fakegithub.AddLookupFixture): 5 deploys in the window (4 successful, 2
// PRs each) and 10 older ones. It reports the mean and worst time in GitHub
// round trips (target: within 4).
//
//	go test -run='^$' -bench=DeploysPosted50ms -benchtime=20x -count=3 ./bot/
func BenchmarkDeploysPosted50ms(b *testing.B) {
	const delay = 50 * time.Millisecond
	now := time.Now()
	gh := fakegithub.New()
	b.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main")
	gh.AddLookupFixture("acme/checkout", now)
	tr := &fakegithub.SlowTransport{Delay: delay}
	client, err := github.New(github.Options{APIURL: gh.URL(), Token: fakegithub.Token, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		b.Fatal(err)
	}
	f := newFake(b, fakeslack.Options{DisableRateLimits: true})
	db, err := store.Open(filepath.Join(b.TempDir(), "klaxon.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	k := startOn(b, f, db, bot.Pace{Off: true}, func(app *playbook.Deps, ad *bot.Adapter) {
		app.Services = []playbook.Service{{Name: "checkout", Repo: "acme/checkout"}}
		app.DeployLookup, app.DeployPoster = client, ad
		app.DeployLog = app.Store.(playbook.DeployLog)
	})
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		d := declare(f, "sev2", fmt.Sprintf("Checkout returns 500s %d", i))
		if d.err != nil {
			b.Fatal(d.err)
		}
		var posted time.Time
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
			for _, c := range s.Calls() {
				if c.Method == "chat.postMessage" && c.OK() && strings.HasPrefix(c.Params.Get("text"), fmt.Sprintf("Recent deploys of incident #%d", d.number)) {
					posted = c.At
					return true
				}
			}
			return false
		})
		cancel()
		if err != nil {
			b.Fatalf("incident #%d: no deploys message: %v", d.number, err)
		}
		created := createdAt(f.Calls(), d.number)
		if created.IsZero() {
			b.Fatalf("incident #%d: no channel", d.number)
		}
		took := posted.Sub(created)
		total += took
		worst = max(worst, took)
	}
	b.StopTimer()
	k.stop()
	b.ReportMetric(float64(total)/float64(b.N)/float64(delay), "rt/op")
	b.ReportMetric(float64(worst)/float64(delay), "worst-rt")
	b.ReportMetric(float64(tr.Calls())/float64(b.N), "github-calls/op")
}
