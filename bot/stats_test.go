package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report/reporttest"
	"github.com/klaxonhq/klaxon/store"
)

// knownDB writes the known incidents (four weeks ending at now) to a new store.
func knownDB(t *testing.T, now time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	incs, evs := reporttest.Known(now)
	for i := range incs {
		incs[i].Setup = readySetup(now)
	}
	if err := reporttest.Fill(ctxT(t), db, incs, evs); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

// readySetup marks every declaration step done, so nothing is set up again.
func readySetup(now time.Time) map[playbook.Step]time.Time {
	m := map[playbook.Step]time.Time{}
	for _, s := range []playbook.Step{playbook.StepChannel, playbook.StepTopic, playbook.StepPurpose, playbook.StepInvite, playbook.StepBookmark,
		playbook.StepIntro, playbook.StepPin, playbook.StepAnnounce, playbook.StepScope, playbook.StepChecks} {
		m[s] = now
	}
	return m
}

func openHome(t *testing.T, f *fakeslack.Server, user string) {
	t.Helper()
	ack, err := f.EventsAPI(ctxT(t), map[string]any{"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
		"event_ts": fmt.Sprintf("%d.000100", time.Now().Unix())})
	if err != nil || ack.Late {
		t.Fatalf("app_home_opened: %v %+v", err, ack)
	}
}

func TestStatsCommand(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	f := newFake(t, fakeslack.Options{})
	start(t, f, knownDB(t, now))
	text := blocksOfAck(t, slash(t, f, "stats 4w"))
	for _, want := range []string{"5 incidents", "*MTTR SEV1*: mean 1 h 14 min 20 s · median 1 h 10 min · p90 1 h 43 min · n=3 · target < 1 h ✗ over",
		"Bottleneck: Remediation", "*MTTR SEV2*: no sample", "Pager load: no paging data", "Repeat incidents: 20.0%"} {
		if !strings.Contains(text, want) {
			t.Errorf("/incident stats lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret title") {
		t.Error("stats show a title")
	}
	if text := blocksOfAck(t, slash(t, f, "stats 1d")); !strings.Contains(text, "No incidents in this window.") {
		t.Errorf("empty window:\n%s", text)
	}
	if text := blocksOfAck(t, slash(t, f, "stats checkout 4w")); !strings.Contains(text, "service checkout") || !strings.Contains(text, "5 incidents") {
		t.Errorf("per service:\n%s", text)
	}
	for _, bad := range []string{"stats 5y", "stats nope", "stats 7d a b"} {
		if text := ackText(t, slash(t, f, bad)); !strings.Contains(text, "window") && !strings.Contains(text, "not a configured service") && !strings.Contains(text, "at most one") {
			t.Errorf("%q: %s", bad, text)
		}
	}
}

// blocksOfAck is an ack's text and its blocks' texts.
func blocksOfAck(t *testing.T, ack fakeslack.Ack) string {
	t.Helper()
	var m struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(ack.Payload, &m); err != nil {
		t.Fatalf("ack %s: %v", ack.Payload, err)
	}
	return blocksText(fakeslack.Message{Text: m.Text, Blocks: m.Blocks})
}

func TestAppHomeWithAThousandOpenIncidents(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	f := newFake(t, fakeslack.Options{})
	secret := f.AddPrivateChannel("C0SECRET", "inc-2-sev1-secret", fakeslack.BotUserID, declarer)
	other := f.AddPrivateChannel("C0OTHERS", "inc-3-sev1-others", fakeslack.BotUserID, "U0OTHER1")
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var incs []playbook.Incident
	for i := range 1000 {
		inc := playbook.Incident{Title: fmt.Sprintf("Open incident %d <!channel>", i+1), Severity: playbook.Severity(i%4 + 1), Status: playbook.StatusInvestigating,
			Declarer: declarer, Commander: "U0SRE001", Channel: playbook.ChannelRef{ID: fmt.Sprintf("C%08d", i)},
			Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: now.Add(-time.Duration(i) * time.Minute)}, Setup: readySetup(now)}
		inc.Timers.UpdateDue = now.Add(10 * time.Minute)
		switch i {
		case 998: // listed first: SEV1 and newest
			inc.Private, inc.Channel.ID, inc.Title, inc.Severity = true, secret, "Secret merger incident", playbook.SEV1
		case 999:
			inc.Private, inc.Channel.ID, inc.Title, inc.Severity = true, other, "Hidden payroll incident", playbook.SEV1
		}
		incs = append(incs, inc)
	}
	if err := reporttest.Fill(ctxT(t), db, incs, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	k := start(t, f, path)
	openHome(t, f, declarer)
	k.bot.Wait()
	views := f.Views()
	if len(views) != 1 || views[0].Type != "home" || views[0].User != declarer {
		t.Fatalf("views %+v; calls %v", views, f.CallsTo("views.publish"))
	}
	var blocks []map[string]any
	if err := json.Unmarshal(views[0].Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) > 100 {
		t.Errorf("%d blocks in the Home tab", len(blocks))
	}
	text := blocksText(fakeslack.Message{Blocks: views[0].Blocks})
	for _, want := range []string{"Open incidents: 999", "Secret merger incident", "…and 899 more", "The last 12 weeks", "IC <@U0SRE001>", "next update <!date^"} {
		if !strings.Contains(text, want) {
			t.Errorf("Home lacks %q", want)
		}
	}
	if strings.Contains(text, "Hidden payroll") || strings.Contains(text, "<!channel>") {
		t.Errorf("Home shows a private incident to a non-member, or a live mention")
	}
	// The chart: uploaded with files.uploadV2, shown as an image block.
	files := f.Files()
	if len(files) != 1 || !files[0].Completed || len(files[0].Content) < 10_000 || string(files[0].Content[1:4]) != "PNG" {
		t.Fatalf("chart file: %+v", files)
	}
	if !strings.Contains(string(views[0].Blocks), `"slack_file":{"id":"`+files[0].ID+`"}`) {
		t.Errorf("no image block with the chart: %s", views[0].Blocks[:200])
	}
	// Opened again within the hour: the same chart, not a second upload.
	openHome(t, f, "U0OTHER1")
	k.bot.Wait()
	if len(f.Files()) != 1 || len(f.Views()) != 2 {
		t.Errorf("%d files, %d views after a second opening", len(f.Files()), len(f.Views()))
	}
	if text := blocksText(fakeslack.Message{Blocks: f.Views()[1].Blocks}); !strings.Contains(text, "Hidden payroll") || strings.Contains(text, "Secret merger") {
		t.Error("U0OTHER1 sees the wrong private incidents")
	}
}

// fakeTimer is the digest's after(): it records each wait and fires when told.
type fakeTimer struct {
	mu    sync.Mutex
	waits []time.Duration
	fire  chan time.Time
	asked chan struct{}
}

func (ft *fakeTimer) after(d time.Duration) <-chan time.Time {
	ft.mu.Lock()
	ft.waits = append(ft.waits, d)
	ft.mu.Unlock()
	ft.asked <- struct{}{}
	return ft.fire
}

func TestWeeklyDigestFiredByCron(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// Saturday 2026-12-05 12:00 UTC; the digest is Mondays 09:00 Paris (08:00 UTC).
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := playbook.ClockFunc(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	f := newFake(t, fakeslack.Options{})
	digestCh := f.AddChannel("C0DIGEST", "incident-digest", fakeslack.BotUserID)
	path := knownDB(t, now.Add(2*24*time.Hour))
	k := start(t, f, path, func(a *playbook.Deps, _ *bot.Adapter) { a.Clock = clock })
	sched, err := cron.ParseStandard("0 9 * * 1")
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTimer{fire: make(chan time.Time), asked: make(chan struct{})}
	// The job stops with its own context (not the bot's): the test ends it
	// below instead of waiting out ctxT's bound.
	ctx, stop := context.WithCancel(ctxT(t))
	defer stop()
	done := make(chan struct{})
	go func() { k.bot.RunDigest(ctx, digestCh, sched, paris, ft.after); close(done) }()
	<-ft.asked
	if want := 44 * time.Hour; ft.waits[0] != want {
		t.Fatalf("first wait %v, want %v (to Monday 09:00 Paris)", ft.waits[0], want)
	}
	mu.Lock()
	now = now.Add(44 * time.Hour)
	mu.Unlock()
	ft.fire <- now
	<-ft.asked // the digest is posted before the next wait
	if ft.waits[1] != playbook.Week {
		t.Errorf("next wait %v, want a week", ft.waits[1])
	}
	msgs := f.Messages(digestCh)
	if len(msgs) < 2 {
		t.Fatalf("digest channel: %+v", msgs)
	}
	text := blocksText(msgs[0])
	for _, want := range []string{"Weekly incident digest, Nov 30 – Dec 7", "Against the previous week", "MTTR SEV3: 12 min (the week before: no sample)",
		"Post-mortems overdue*: none", "Action items overdue*: none", "Last 12 weeks*: Bottleneck: Remediation"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	files := f.Files()
	if len(files) != 1 || files[0].Channel != digestCh || !files[0].Completed {
		t.Errorf("chart in the digest: %+v", files)
	}
	if !strings.Contains(blocksText(msgs[1]), "Time to restore per week") {
		t.Errorf("chart comment: %q", msgs[1].Text)
	}
	stop()
	<-done
}
