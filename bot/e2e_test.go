package bot_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/templates"
)

const (
	announce  = "C0ANNOUNCE"
	general   = "C0GENERAL"
	declarer  = "U0DECL01"
	runbook   = "https://runbooks.example.com/checkout"
	oncallGrp = "S0ONCALL"
)

// paceClocks holds, per fake, the rate-limit clock its bots pace on.
var paceClocks sync.Map // *fakeslack.Server -> *fakeslack.ManualClock

// paceClock is the clock a client of f paces on: f's rate-limit clock when
// newFake gave it one, else nil (the wall clock).
func paceClock(f *fakeslack.Server) bot.PaceClock {
	if rc, ok := paceClocks.Load(f); ok {
		return rc.(*fakeslack.ManualClock)
	}
	return nil
}

// newFake returns a fake Slack seeded like a small workspace. In a test
// (not a benchmark, which measures real pacing) its rate limits run on a
// clock that the bots started on it share and move forward when they pace a
// call (see startOn): Slack's real limits are enforced and honoured, and
// nobody waits for them. A test that sets opts.RateClock keeps its own.
func newFake(t testing.TB, opts fakeslack.Options) *fakeslack.Server {
	t.Helper()
	var rc *fakeslack.ManualClock
	if _, bench := t.(*testing.B); !bench && opts.RateClock == nil {
		rc = fakeslack.NewManualClock(time.Now())
		opts.RateClock = rc.Now
	}
	f := fakeslack.New(opts)
	t.Cleanup(f.Close)
	if rc != nil {
		paceClocks.Store(f, rc)
		t.Cleanup(func() { paceClocks.Delete(f) })
	}
	for _, u := range []string{declarer, "U0PAY001", "U0PAY002", "U0EXEC01", "U0SRE001", "U0SRE002", "U0OTHER1"} {
		f.AddUser(u, strings.ToLower(u))
	}
	f.AddUserGroup(oncallGrp, "oncall", "U0SRE001", "U0SRE002", "U0PAY001")
	f.AddChannel(announce, "incidents", fakeslack.BotUserID)
	f.AddChannel(general, "general", declarer, "U0OTHER1")
	return f
}

func tiers() playbook.Tiers {
	ts := playbook.DefaultTiers()
	sev1 := ts[playbook.SEV1]
	sev1.Stakeholders = []string{"U0EXEC01", oncallGrp}
	ts[playbook.SEV1] = sev1
	return ts
}

var services = []playbook.Service{
	{Name: "checkout", Runbook: runbook, Stakeholders: []string{"U0PAY001", "U0PAY002"}},
	{Name: "search"},
}

// klaxon is one running bot, wired as cmd/klaxon wires it.
type klaxon struct {
	db     closingStore
	bot    *bot.Bot
	app    *playbook.App
	deps   playbook.Deps // what app was built from
	cancel context.CancelFunc
	done   chan error
}

// closingStore is either store: bbolt or PostgreSQL.
type closingStore interface {
	playbook.Store
	Close() error
}

func start(t testing.TB, f *fakeslack.Server, dbPath string, configure ...func(*playbook.Deps, *bot.Adapter)) *klaxon {
	t.Helper()
	return startPaced(t, f, dbPath, bot.Pace{}, configure...)
}

// startPaced starts a bot whose calls are paced as pace says (to match a
// fake with scaled limits, or none).
func startPaced(t testing.TB, f *fakeslack.Server, dbPath string, pace bot.Pace, configure ...func(*playbook.Deps, *bot.Adapter)) *klaxon {
	t.Helper()
	db, err := store.Open(dbPath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, f, db, pace, configure...)
}

// startOn runs a bot on db, which it closes when it stops.
func startOn(t testing.TB, f *fakeslack.Server, db closingStore, pace bot.Pace, configure ...func(*playbook.Deps, *bot.Adapter)) *klaxon {
	t.Helper()
	if pace.Clock == nil {
		pace.Clock = paceClock(f)
	}
	api := bot.NewPacedClient(fakeslack.DefaultBotToken, fakeslack.DefaultAppToken, f.URL(), pace)
	who, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := templates.MustDefault()
	clock := playbook.ClockFunc(time.Now)
	log := slog.New(slog.DiscardHandler)
	ad := &bot.Adapter{API: api, Templates: tmpl, BotUserID: who.UserID, AnnounceChannel: announce, Clock: clock}
	deps := playbook.Deps{Store: db, Channels: ad, Poster: ad, Triage: ad, Directory: ad, Members: ad, Clock: clock, Tiers: tiers(), Services: services, Log: log,
		Closing: ad, People: ad, RenderPostmortem: tmpl.RenderPostmortem, RenderTicket: tmpl.RenderTicket, RenderOwnerIssue: tmpl.RenderOwnerIssue, PageChat: &bot.PageChat{Adapter: ad}}
	for _, c := range configure {
		c(&deps, ad)
	}
	app := playbook.New(deps)
	b := &bot.Bot{App: app, API: api, Socket: socketmode.New(api), Templates: tmpl, Log: log, Command: "/incident", DefaultSeverity: playbook.SEV3, Groups: ad}
	ctx, cancel := context.WithCancel(context.Background())
	k := &klaxon{db: db, bot: b, app: app, deps: deps, cancel: cancel, done: make(chan error, 1)}
	go func() { k.done <- b.Run(ctx) }()
	t.Cleanup(k.stop)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := f.WaitConnected(wctx); err != nil {
		t.Fatal("bot did not connect:", err)
	}
	return k
}

func (k *klaxon) stop() {
	if k.cancel == nil {
		return
	}
	k.cancel()
	<-k.done
	k.db.Close()
	k.cancel = nil
}

// ctxT bounds a wait that only a hang exceeds: generous, since a clean
// clone's CI compiles beside the tests on 2 cores.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func slash(t testing.TB, f *fakeslack.Server, text string) fakeslack.Ack {
	t.Helper()
	ack, err := f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: text, UserID: declarer, ChannelID: general})
	if err != nil {
		t.Fatalf("/incident %s: %v", text, err)
	}
	if ack.Late || ack.Error != "" {
		t.Fatalf("/incident %s: bad ack %+v", text, ack)
	}
	return ack
}

func ackText(t testing.TB, ack fakeslack.Ack) string {
	t.Helper()
	var p struct {
		Text         string `json:"text"`
		ResponseType string `json:"response_type"`
	}
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &p); err != nil {
			t.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
	}
	if p.Text != "" && p.ResponseType != "ephemeral" {
		t.Fatalf("ack %q is not ephemeral", p.Text)
	}
	return p.Text
}

// waitAnnounced waits until the announce channel holds n messages.
func waitAnnounced(t testing.TB, f *fakeslack.Server, n int) {
	t.Helper()
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Messages(announce)) >= n }); err != nil {
		t.Fatalf("announcement %d never posted: %v", n, err)
	}
}

// waitReady waits until the declarer's follow-up (sent after every step) arrived n times.
func waitReady(t testing.TB, f *fakeslack.Server, n int) {
	t.Helper()
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return s.ResponseURLPostCount() >= n }); err != nil {
		t.Fatalf("declaration %d never finished: %v", n, err)
	}
}

// blocksText is a message's fallback text and every text in its blocks, as a
// person would read them (JSON escapes undone).
func blocksText(m fakeslack.Message) string {
	var b strings.Builder
	b.WriteString(m.Text)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "text" {
					b.WriteString("\n" + s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	walk(v)
	return b.String()
}

func TestDeclareEndToEnd(t *testing.T) {
	t.Parallel()
	var probe ackProbe
	f := newFake(t, fakeslack.Options{Fault: probe.fault})
	path := filepath.Join(t.TempDir(), "klaxon.db")
	k := start(t, f, path)

	ack := probe.slash(t, f, "declare sev1 checkout Checkout returns 500s")
	if txt := ackText(t, ack); !strings.Contains(txt, "SEV1 incident #1") {
		t.Fatalf("ack = %q, want it to name SEV1 incident #1", txt)
	}
	waitReady(t, f, 1)

	ch, ok := f.Channel("inc-1-sev1-checkout-returns-500s")
	if !ok {
		t.Fatalf("no channel inc-1-sev1-checkout-returns-500s; have %+v", f.Channels())
	}
	if !strings.Contains(ch.Topic, "SEV1") || !strings.Contains(ch.Topic, "unassigned") || !strings.Contains(ch.Topic, "investigating") {
		t.Errorf("topic %q lacks severity, commander or status", ch.Topic)
	}
	if !strings.Contains(ch.Purpose, "Checkout returns 500s") || !strings.Contains(ch.Purpose, "checkout") {
		t.Errorf("purpose %q lacks title or service", ch.Purpose)
	}
	for _, u := range []string{declarer, "U0PAY001", "U0PAY002", "U0EXEC01", "U0SRE001", "U0SRE002"} {
		if !slices.Contains(ch.Members, u) {
			t.Errorf("%s not invited; members %v", u, ch.Members)
		}
	}
	if slices.Contains(ch.Members, "U0OTHER1") {
		t.Errorf("an uninvolved user was invited")
	}
	if n := len(f.CallsTo("conversations.invite")); n != 1 {
		t.Errorf("%d conversations.invite calls, want one", n)
	}
	if len(ch.Bookmarks) != 1 || ch.Bookmarks[0].Link != runbook {
		t.Errorf("bookmarks = %+v, want the runbook", ch.Bookmarks)
	}
	msgs := f.Messages(ch.ID)
	var intro, scope, checklist string
	for _, m := range msgs {
		switch body := blocksText(m); {
		case strings.Contains(body, "Triage checklist"):
			checklist = body
		case strings.Contains(body, "I'll be incident commander"):
			intro = body
		case strings.Contains(body, "Five-minute scope call"):
			scope = body
		}
	}
	if len(msgs) != 3 || intro == "" || scope == "" || checklist == "" {
		t.Fatalf("%d messages in the incident channel, want the intro, the scope call and the checklist: intro %v scope %v checklist %v", len(msgs), intro != "", scope != "", checklist != "")
	}
	for _, want := range []string{"~Channel created and stakeholders added~", "~Severity assigned~", "~Runbook link posted in the channel~", "3 of 7 done"} {
		if !strings.Contains(checklist, want) {
			t.Errorf("checklist lacks %q (checked by Klaxon)", want)
		}
	}
	for _, want := range []string{"All users down or core functionality unavailable", "immediate", "every 15 min", runbook, "<@" + declarer + ">", "<!date^"} {
		if !strings.Contains(intro, want) {
			t.Errorf("intro lacks %q:\n%s", want, intro)
		}
	}
	if len(ch.Pins) != 1 || !strings.Contains(blocksText(messageByTS(f, ch.ID, ch.Pins[0])), "I'll be incident commander") {
		t.Errorf("intro not pinned; pins %v", ch.Pins)
	}
	ann := f.Messages(announce)
	if len(ann) != 1 || !strings.Contains(blocksText(ann[0]), "<#"+ch.ID+">") || !strings.Contains(blocksText(ann[0]), "SEV1") || !strings.Contains(blocksText(ann[0]), "Checkout returns 500s") {
		t.Fatalf("announcement = %+v", ann)
	}
	if posts := f.ResponseURLPosts(); !strings.Contains(posts[0].Text, "<#"+ch.ID+">") {
		t.Errorf("declarer follow-up %q does not link the channel", posts[0].Text)
	}

	inc, err := k.db.Get(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Channel.ID != ch.ID || inc.Severity != playbook.SEV1 || inc.Service != "checkout" || inc.Declarer != declarer || !inc.Ready() {
		t.Errorf("stored incident = %+v", inc)
	}
	for _, p := range []playbook.Phase{playbook.PhaseDetected, playbook.PhaseDeclared, playbook.PhaseAcknowledged} {
		if at, ok := inc.At(p); !ok || at.Location() != time.UTC {
			t.Errorf("phase %s = %v, %v; want a UTC time", p, at, ok)
		}
	}
	evs, _ := k.db.Timeline(context.Background(), 1)
	var types []playbook.EventType
	for _, e := range evs {
		types = append(types, e.Type)
	}
	for _, want := range []playbook.EventType{playbook.EventDeclared, playbook.EventChannelCreated, playbook.EventInvited, playbook.EventRunbookAttached, playbook.EventAnnounced} {
		if !slices.Contains(types, want) {
			t.Errorf("timeline %v lacks %s", types, want)
		}
	}

	// Restart on the same store: numbers continue. The stopped bot's socket
	// is closed when its Run returns; once the fake has noticed, the new
	// bot's connection is the only one the next command can be sent to.
	k.stop()
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return s.Connections() == 0 }); err != nil {
		t.Fatal("the stopped bot's connection is still open:", err)
	}
	start(t, f, path)
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 2)
	if _, ok := f.Channel("inc-2-sev2-search-is-slow"); !ok {
		t.Fatalf("after restart, no inc-2 channel; have %v", names(f.Channels()))
	}
	if f.EarlyRetries() != 0 {
		t.Errorf("%d retries before Retry-After", f.EarlyRetries())
	}
}

// ackProbe checks that an ack does not wait for any Web API call its
// envelope causes (Slack's 3 s, and a trigger_id's, start at the envelope):
// its slash holds every Web API call made from the moment it sends the
// command until the ack has come. An ack that waited for one of those calls
// (the bug to catch) never comes, and the command fails with ErrNoAck. It
// replaces a comparison of timestamps with 50 ms of Web API latency as the
// margin, which a loaded machine could overrun: slack-go's Ack only queues
// the frame for its writer goroutine.
type ackProbe struct {
	gate atomic.Pointer[chan struct{}]
}

// fault is the fake's Options.Fault: a call made while the probe is armed
// is held until the probe is released, then goes through normally.
func (p *ackProbe) fault(string, int) *fakeslack.Fault {
	if g := p.gate.Load(); g != nil {
		return &fakeslack.Fault{Until: *g}
	}
	return nil
}

// during runs send (which returns once the envelope is acked) with the
// probe armed: the Web API calls made meanwhile are released after it.
func (p *ackProbe) during(send func()) {
	g := make(chan struct{})
	p.gate.Store(&g)
	defer func() { p.gate.Store(nil); close(g) }()
	send()
}

// slash is slash with the probe armed.
func (p *ackProbe) slash(t testing.TB, f *fakeslack.Server, text string) (ack fakeslack.Ack) {
	t.Helper()
	p.during(func() { ack = slash(t, f, text) })
	return ack
}

func names(cs []fakeslack.Channel) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestRedeliveredEnvelopeDeclaresOnce(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	payload := map[string]string{"command": "/incident", "text": "declare sev2 Payments timing out", "user_id": declarer, "channel_id": general, "team_id": fakeslack.TeamID, "trigger_id": "T1", "response_url": ""}
	for i := range 2 {
		ack, err := f.Send(ctxT(t), fakeslack.Envelope{ID: "env-dup-1", Type: "slash_commands", Payload: payload, RetryAttempt: i})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && !strings.Contains(ackText(t, ack), "already declared") {
			t.Errorf("second delivery ack = %q", ackText(t, ack))
		}
	}
	waitAnnounced(t, f, 1)
	if n := len(f.CallsTo("conversations.create")); n != 1 {
		t.Fatalf("%d channels created for one envelope", n)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))

	if txt := ackText(t, slash(t, f, "frobnicate everything")); !strings.Contains(txt, "not a Klaxon command") || !strings.Contains(txt, "declare [sev1-4]") {
		t.Errorf("unknown subcommand ack = %q, want help", txt)
	}
	if txt := ackText(t, slash(t, f, "help")); !strings.Contains(txt, "checkout") || !strings.Contains(txt, "SEV4") {
		t.Errorf("help = %q", txt)
	}
	txt := ackText(t, slash(t, f, "declare sev9 checkout on fire"))
	for _, want := range []string{"sev1", "sev2", "sev3", "sev4"} {
		if !strings.Contains(txt, want) {
			t.Errorf("bad severity ack %q does not list %s", txt, want)
		}
	}
	if len(f.CallsTo("conversations.create")) != 0 {
		t.Fatal("a bad command created a channel")
	}

	// A 5,000-character title with mentions in it.
	// As Slack sends it with should_escape: @channel and @other as
	// references, a typed "<b>" as entities.
	long := "<!channel> <@U0OTHER1|other> &lt;b&gt; " + strings.Repeat("database replica lag ", 250)
	slash(t, f, "declare sev2 "+long)
	waitReady(t, f, 1)
	ch := f.Channels()[len(f.Channels())-1]
	if len(ch.Name) > 80 || !regexp.MustCompile(`^inc-1-sev2-[a-z0-9-]+$`).MatchString(ch.Name) {
		t.Errorf("channel name %q", ch.Name)
	}
	for _, m := range []fakeslack.Message{messageByTS(f, ch.ID, ch.Pins[0]), f.Messages(announce)[0]} { // the pinned intro, the announcement
		body := blocksText(m)
		if strings.Contains(body, "<!channel>") || strings.Contains(body, "<@U0OTHER1") || strings.Contains(body, "<b>") {
			t.Errorf("a typed mention or tag went live: %.300s", body)
		}
		if !strings.Contains(body, "@channel @other &lt;b&gt;") {
			t.Errorf("title not shown as typed (and escaped) in %.300s", body)
		}
		if !strings.Contains(body, "…") {
			t.Errorf("long title not truncated in %.200s", body)
		}
	}
	if slices.Contains(ch.Members, "U0OTHER1") {
		t.Error("a user mentioned in the title was invited")
	}
	// Every message (intro, scope call, checklist, announcement) passed the
	// fake's Block Kit checks.
	if inc, _ := k.db.Get(context.Background(), 1); !inc.Ready() {
		t.Errorf("with a 5,000-character title some steps failed: %v", inc.Failures)
	}
}

// TestHelpByTopic: /incident help names every command (page, owners and
// deploys included) within Slack's 3,000 characters; help <topic> and
// help <command> give the usages; an unknown topic says so above the help.
func TestHelpByTopic(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))

	txt := ackText(t, slash(t, f, "help"))
	for _, want := range []string{"`page`", "`owners`", "`deploys`", "`cause`", "`postmortem`", "checkout", "SEV4"} {
		if !strings.Contains(txt, want) {
			t.Errorf("help lacks %s: %s", want, txt)
		}
	}
	if n := utf8.RuneCountInString(txt); n > 3000 || strings.HasSuffix(txt, "…") {
		t.Errorf("help is %d characters (cut?)", n)
	}
	if txt := ackText(t, slash(t, f, "help paging")); !strings.Contains(txt, "/incident page <service|@someone|policy ID>") || !strings.Contains(txt, "/incident owners <service> [path]") {
		t.Errorf("help paging = %q", txt)
	}
	if txt := ackText(t, slash(t, f, "help Severity")); !strings.Contains(txt, "/incident sev <1-4> [reason]") || strings.Contains(txt, "/incident ic") {
		t.Errorf("help severity (an alias of sev) = %q", txt)
	}
	if txt := ackText(t, slash(t, f, "help <!channel>")); !strings.Contains(txt, "no such topic") || strings.Contains(txt, "<!channel>") || !strings.Contains(txt, "`resolve`") {
		t.Errorf("help for an unknown topic = %q", txt)
	}
}

func TestDeclareForm(t *testing.T) {
	t.Parallel()
	var probe ackProbe
	f := newFake(t, fakeslack.Options{Fault: probe.fault})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))

	ack := probe.slash(t, f, "declare sev1 checkout") // no title: the form opens, pre-filled
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal("form not opened:", err)
	}
	v := f.Views()[0]
	if v.CallbackID == "" || !strings.Contains(string(v.Blocks), `"SEV1"`) {
		t.Fatalf("form = %s", v.Raw)
	}

	submit := func(title, sev, svc string) fakeslack.Ack {
		state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
			"title":    {"title": {Value: title}},
			"severity": {"severity": {SelectedOption: slack.OptionBlockObject{Value: sev}}},
			"service":  {"service": {SelectedOption: slack.OptionBlockObject{Value: svc}}},
		}}
		cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
			View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}}
		ack, err := f.Interactive(ctxT(t), cb)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	// An empty title is refused inside the form, with the field marked.
	ack = submit("   ", "SEV1", "checkout")
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), `"title"`) {
		t.Fatalf("empty title ack = %s", ack.Payload)
	}
	submit("Card payments failing", "SEV1", "checkout")
	waitAnnounced(t, f, 1)
	if _, ok := f.Channel("inc-1-sev1-card-payments-failing"); !ok {
		t.Fatalf("form declaration made no channel: %v", names(f.Channels()))
	}
	// Submitting the same view again (a double click) declares nothing more.
	submit("Card payments failing", "SEV1", "checkout")
	if n := len(f.CallsTo("conversations.create")); n != 1 {
		t.Fatalf("%d channels for one form", n)
	}
}

func TestNameTakenGetsSuffix(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	f.AddChannel("C0OLD", "inc-1-sev2-db-down")
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 DB down")
	waitReady(t, f, 1)
	if _, ok := f.Channel("inc-1-sev2-db-down-2"); !ok {
		t.Fatalf("no suffixed channel: %v", names(f.Channels()))
	}
}

func TestFaultsAreRetriedOrReported(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		switch {
		case method == "conversations.setTopic" && n == 1:
			return &fakeslack.Fault{Status: 429, RetryAfter: 1}
		case method == "conversations.invite" && n <= 2:
			return &fakeslack.Fault{Status: 503}
		case method == "bookmarks.add":
			return &fakeslack.Fault{Error: "restricted_action"}
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev1 checkout Checkout returns 500s")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	if !strings.Contains(ch.Topic, "SEV1") {
		t.Errorf("topic not set after a 429: %q", ch.Topic)
	}
	if !slices.Contains(ch.Members, "U0PAY001") {
		t.Errorf("invite not retried after 503s")
	}
	if f.EarlyRetries() != 0 {
		t.Errorf("%d calls before Retry-After ran out", f.EarlyRetries())
	}
	var notice string
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(m.Text, "could not") {
			notice = m.Text
		}
	}
	if !strings.Contains(notice, "bookmark the runbook") {
		t.Errorf("channel not told what is missing; messages %+v", f.Messages(ch.ID))
	}
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Done(playbook.StepBookmark) || !inc.Done(playbook.StepAnnounce) {
		t.Errorf("setup state = %v", inc.Setup)
	}
}

// TestManifestCoversCalledMethods runs a declaration and checks that every
// Web API method Klaxon called is in bot.MethodScopes, so the manifest asks
// for exactly the scopes the code needs.
func TestManifestCoversCalledMethods(t *testing.T) {
	t.Parallel()
	// A lost answer to conversations.create makes Klaxon look the channel
	// up, so every code path that calls Slack runs here.
	// And the outline's share succeeds but its answer is an error, so the
	// Retry button checks whether it was shared (files.info).
	// An alert offer whose answer is lost is looked for in the triage
	// channel (conversations.history). An update's copy under the
	// announcement whose answer is lost is looked for in the thread
	// (conversations.replies).
	var lostOffer, lostReply atomic.Bool
	f := newFake(t, fakeslack.Options{FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		if c.Method == "chat.postMessage" && c.Params.Get("thread_ts") != "" && lostReply.CompareAndSwap(true, false) {
			return &fakeslack.Fault{Status: 500, Applied: true}
		}
		return nil
	}, Fault: func(method string, n int) *fakeslack.Fault {
		if method == "files.completeUploadExternal" && n == 1 {
			return &fakeslack.Fault{Error: "internal_error", Applied: true}
		}
		if method == "chat.postMessage" && lostOffer.CompareAndSwap(true, false) {
			return &fakeslack.Fault{Status: 500, Applied: true}
		}
		return lostCreateAnswer(method, n)
	}})
	f.AddChannel(triage, "triage", fakeslack.BotUserID)
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, ad *bot.Adapter) {
		app.Signals, app.Offers = app.Store.(playbook.SignalStore), ad
		app.Detection = playbook.Detection{TriageChannel: triage}
	})
	lostOffer.Store(true)
	now := time.Now().UTC()
	ingest(t, k.app, alert("search", "SearchErrors", "error_rate", now.Add(-2*time.Minute)), alert("search", "SearchLatency", "latency", now.Add(-time.Minute)))
	k.app.WaitDetection()
	slash(t, f, "declare sev1 checkout Checkout returns 500s")
	waitReady(t, f, 1)
	slash(t, f, "")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	slashIn(t, f, ch.ID, declarer, "ic")             // chat.update of the intro
	slashIn(t, f, ch.ID, declarer, "sev 2 narrower") // conversations.rename
	k.bot.Wait()
	lostReply.Store(true)
	slashIn(t, f, ch.ID, declarer, "update narrowing it down")
	k.bot.Wait()
	if _, err := k.app.Tick(ctxT(t), time.Now().Add(11*time.Second)); err != nil { // the outbox's retry
		t.Fatal(err)
	}
	slash(t, f, "declare --private sev3 hush") // a private channel
	waitReady(t, f, 2)
	slash(t, f, "list") // conversations.members for the private one
	// The wrap-up: all-clear over open gates, close (the outline uploaded,
	// names read, the channel archived), then a reminder by DM.
	slashIn(t, f, ch.ID, declarer, "resolve")
	slashIn(t, f, ch.ID, declarer, "resolve override checking the manifest")
	k.bot.Wait()
	slashIn(t, f, ch.ID, declarer, "close")
	k.bot.Wait()
	var failed fakeslack.Message
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(m.Text, "these steps failed") {
			failed = m
		}
	}
	if failed.TS == "" {
		t.Fatal("no close-failed message with a Retry button")
	}
	click(t, f, declarer, ch.ID, failed.TS, "klaxon_retry_close", "close_retry", "1")
	k.bot.Wait()
	if c, _ := f.Channel(ch.ID); !c.Archived || len(f.Files()) != 1 {
		t.Fatalf("after Retry: archived %v, %d files (want the one shared before, not a second)", c.Archived, len(f.Files()))
	}
	if ns, err := k.app.RemindPostmortems(ctxT(t), time.Now()); err != nil || len(ns) != 1 {
		t.Fatalf("post-mortem reminder after the archive: %v, %v", ns, err)
	}
	k.bot.Wait()
	// The App Home with a private incident open: views.publish (its
	// declarer sees it without asking Slack); someone else's Home with two
	// private incidents open asks users.conversations once.
	openHome(t, f, declarer)
	slash(t, f, "declare --private sev3 hush again")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool {
		c, ok := s.Channel("inc-3-sev3-hush-again")
		return ok && len(s.Messages(c.ID)) > 0
	}); err != nil {
		t.Fatal(err)
	}
	// #3's channel is stored in the background while the setup posts
	// (recordChannel); the Home's list of open incidents waits for that
	// record, so it sees #3 with its channel and asks Slack about both.
	openHome(t, f, "U0OTHER1")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.CallsTo("users.conversations")) > 0 }); err != nil {
		t.Fatal(err)
	}
	k.bot.Wait()
	// Paging finds the on-call person in Slack by their PagerDuty e-mail.
	f.SetUserEmail("U0PAY001", "pay1@example.com")
	if id, err := k.deps.PageChat.UserByEmail(ctxT(t), "pay1@example.com"); err != nil || id != "U0PAY001" {
		t.Fatalf("users.lookupByEmail: %q %v", id, err)
	}
	called := map[string]bool{}
	for _, c := range f.Calls() {
		if c.Method == "apps.connections.open" {
			continue // app-level token, not a bot scope
		}
		called[c.Method] = true
		if _, ok := bot.MethodScopes[c.Method]; !ok {
			t.Errorf("Klaxon called %s, which bot.MethodScopes does not list", c.Method)
		}
	}
	for m := range bot.MethodScopes {
		if !called[m] {
			t.Errorf("bot.MethodScopes lists %s, which Klaxon never called: its scope may be one too many", m)
		}
	}
	m, err := bot.Manifest("Klaxon", "/incident")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"command: /incident", "socket_mode_enabled: true", "is_enabled: true"}, bot.BotScopes()...) {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
}

// TestRestartResumesInterruptedDeclaration: a declaration whose announcement
// failed is finished by the next start, without a second channel.
func TestRestartResumesInterruptedDeclaration(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "chat.postMessage" && broken.Load() {
			// ok:false is final for the Slack client (no retry), like a
			// Slack-side error that lasts longer than the retries would.
			return &fakeslack.Fault{Error: "fatal_error"}
		}
		return nil
	}})
	path := filepath.Join(t.TempDir(), "klaxon.db")
	k := start(t, f, path)
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	if posts := f.ResponseURLPosts(); !strings.Contains(posts[0].Text, "some steps failed") {
		t.Errorf("declarer not told about the failure: %q", posts[0].Text)
	}
	k.stop()

	broken.Store(false)
	k = start(t, f, path)
	if err := k.app.Resume(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitAnnounced(t, f, 1)
	inc, _ := k.db.Get(context.Background(), 1)
	if !inc.Ready() {
		t.Errorf("not ready after resume: %v", inc.Setup)
	}
	if n := len(f.CallsTo("conversations.create")); n != 1 {
		t.Errorf("%d channels created", n)
	}
}

// TestUnknownStakeholderDoesNotKeepOthersOut: one stale user ID in the
// config must not leave the channel empty.
func TestUnknownStakeholderDoesNotKeepOthersOut(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	path := filepath.Join(t.TempDir(), "klaxon.db")
	start(t, f, path, func(d *playbook.Deps, _ *bot.Adapter) {
		d.Services = []playbook.Service{{Name: "checkout", Stakeholders: []string{"U0PAY001", "U0GONE99"}}}
	})
	slash(t, f, "declare sev2 checkout Card form broken")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-card-form-broken")
	if !slices.Contains(ch.Members, declarer) || !slices.Contains(ch.Members, "U0PAY001") {
		t.Fatalf("members %v: a bad ID kept the others out", ch.Members)
	}
}

// lostCreateAnswer is a fault: Slack makes the first channel but its answer
// is a 500.
func lostCreateAnswer(method string, n int) *fakeslack.Fault {
	if method == "conversations.create" && n == 1 {
		return &fakeslack.Fault{Status: 500, Applied: true}
	}
	return nil
}

// TestLostAnswerToCreateDoesNotMakeASecondChannel: Slack creates the channel
// but the answer is a 500 (a proxy, a reset); the retry gets name_taken and
// Klaxon adopts its own channel.
func TestLostAnswerToCreateDoesNotMakeASecondChannel(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{Fault: lostCreateAnswer})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev1 checkout Checkout returns 500s")
	waitReady(t, f, 1)
	var incChannels []string
	for _, c := range f.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			incChannels = append(incChannels, c.Name)
		}
	}
	if len(incChannels) != 1 || incChannels[0] != "inc-1-sev1-checkout-returns-500s" {
		t.Fatalf("incident channels %v, want the one", incChannels)
	}
	ch, _ := f.Channel(incChannels[0])
	if len(ch.Pins) != 1 || len(f.Messages(announce)) != 1 {
		t.Fatalf("the adopted channel was not set up: %+v", ch)
	}
}

// TestReconnectAfterRefresh: Slack's refresh_requested disconnect; slack-go
// reconnects and Klaxon keeps answering.
func TestReconnectAfterRefresh(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	f.Disconnect("refresh_requested")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return s.TotalConnections() >= 2 && s.Connections() == 1 }); err != nil {
		t.Fatal("no reconnect:", err)
	}
	slash(t, f, "declare sev3 search Search is slow")
	waitReady(t, f, 1)
}

// TestStopFinishesInFlightWorkAndRefusesNew: a stop while a declaration is
// being set up lets it finish; a command arriving meanwhile is told Klaxon
// is restarting instead of timing out.
func TestStopFinishesInFlightWorkAndRefusesNew(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "conversations.create" && n == 1 {
			entered <- struct{}{}
			<-release
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev1 checkout Checkout returns 500s")
	<-entered
	k.cancel() // SIGTERM
	if txt := ackText(t, slash(t, f, "declare sev2 another one")); !strings.Contains(txt, "restarting") {
		t.Errorf("command during shutdown acked %q", txt)
	}
	close(release)
	if err := <-k.done; err != nil {
		t.Fatal(err)
	}
	k.done <- nil // for stop
	if len(f.Messages(announce)) != 1 || len(f.ResponseURLPosts()) != 1 {
		t.Fatalf("in-flight declaration not finished before Run returned: %d announcements", len(f.Messages(announce)))
	}
	if n := len(f.CallsTo("conversations.create")); n != 1 {
		t.Fatalf("%d creates: the refused command did something", n)
	}
}

func messageByTS(f *fakeslack.Server, channel, ts string) fakeslack.Message {
	for _, m := range f.Messages(channel) {
		if m.TS == ts {
			return m
		}
	}
	return fakeslack.Message{}
}
