//go:build soak

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/slack-go/slack"
)

// TestKillAtRandomMoments kills Klaxon with SIGKILL at random moments while
// declarations, checklist clicks and status updates stream in, restarts it
// on the same store, and checks what the issue promises: every acked
// declaration has exactly one incident and one channel, every acked click
// and update is kept, reminders are still scheduled, and the bbolt file is
// consistent. 25 runs in CI; KLAXON_SOAK_RUNS sets more (a soak).
func TestKillAtRandomMoments(t *testing.T) {
	runs := 25
	if v, err := strconv.Atoi(os.Getenv("KLAXON_SOAK_RUNS")); err == nil && v > 0 {
		runs = v
	}
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	rng := rand.New(rand.NewPCG(1, killSeed(t)))

	var (
		mu           sync.Mutex
		ackedInc     = map[int64]bool{}     // declarations acked with their number
		ackedClicks  = map[int64][]string{} // incident -> items acked "on"
		ackedUpdates = map[int64][]string{} // incident -> update texts acked
	)
	seq := 0
	ctx := context.Background()
	for run := range runs {
		p := startKlaxon(t, f, config)
		stop := make(chan struct{})
		// Ends the run's pending action at the kill: an envelope the dead
		// process never acks is simply not counted as acked.
		runCtx, endRun := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				seq++
				actx, cancel := context.WithTimeout(runCtx, 3*time.Second)
				// One declaration for every two clicks and two updates: enough
				// declarations to be killed mid-setup, without a final restart
				// that has hundreds to finish.
				switch []int{0, 1, 2, 1, 2}[i%5] {
				case 0: // declare
					ack, err := f.SlashCommand(actx, fakeslack.SlashCommand{Text: fmt.Sprintf("declare sev1 checkout run %d step %d", run, i), UserID: "U0DECL01", ChannelID: "C0GENERAL"})
					if m := declaredNumber.FindStringSubmatch(string(ack.Payload)); err == nil && !ack.Late && m != nil {
						n, _ := strconv.ParseInt(m[1], 10, 64)
						mu.Lock()
						ackedInc[n] = true
						mu.Unlock()
					}
				case 1: // check an item of an incident whose channel exists
					if ch, n, ok := someIncidentChannel(f); ok {
						item := []string{"owner_paged", "deploys", "scope"}[i/3%3]
						cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0PAY001"},
							Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: ch}}},
							ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "klaxon_check", BlockID: "check_" + item,
								Value: fmt.Sprintf("%d:%s:on", n, item), ActionTs: fmt.Sprintf("1795700000.%06d", seq)}}}}
						if ack, err := f.Interactive(actx, cb); err == nil && !ack.Late {
							mu.Lock()
							ackedClicks[n] = append(ackedClicks[n], item)
							mu.Unlock()
						}
					}
				case 2: // a status update
					if ch, n, ok := someIncidentChannel(f); ok {
						text := fmt.Sprintf("update %d", seq)
						ack, err := f.SlashCommand(actx, fakeslack.SlashCommand{Text: "update " + text, UserID: "U0DECL01", ChannelID: ch})
						if err == nil && !ack.Late && strings.Contains(string(ack.Payload), "Posting update") {
							mu.Lock()
							ackedUpdates[n] = append(ackedUpdates[n], text)
							mu.Unlock()
						}
					}
				}
				cancel()
			}
		})
		// The kill lands anywhere from the first envelope to well into the
		// stream: mid-transaction, mid-setup, between ack and Web API calls.
		<-time.After(time.Duration(rng.IntN(400)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
		close(stop)
		endRun()
		wg.Wait()
	}

	// A last start finishes every interrupted declaration.
	finalStart := time.Now()
	p := startKlaxon(t, f, config)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	mu.Lock()
	want := len(ackedInc)
	mu.Unlock()
	if err := f.WaitFor(wctx, func(s *fakeslack.Snapshot) bool {
		ready := 0
		for n := range ackedInc {
			if hasChannel(s.Channels(), n) {
				ready++
			}
		}
		return ready == want
	}); err != nil {
		t.Fatalf("after the last restart not every acked declaration has its channel: %v\n%s", err, p.Logs())
	}
	t.Logf("the last start finished the interrupted declarations in %v", time.Since(finalStart))
	db := stopAndOpen(t, p, dir)
	for n := range ackedInc {
		inc, err := db.Get(ctx, n)
		if err != nil {
			t.Fatalf("acked incident #%d missing: %v", n, err)
		}
		if c := countChannels(f.Channels(), n); c != 1 {
			t.Errorf("incident #%d has %d channels", n, c)
		}
		if inc.WakeAt().IsZero() {
			t.Errorf("incident #%d has no reminder scheduled", n)
		}
	}
	for n, items := range ackedClicks {
		inc, _ := db.Get(ctx, n)
		for _, it := range items {
			if _, ok := inc.Checked[playbook.Item(it)]; !ok {
				t.Errorf("acked click %s on #%d lost", it, n)
			}
		}
	}
	for n, texts := range ackedUpdates {
		evs, _ := db.Timeline(ctx, n)
		for _, text := range texts {
			found := 0
			for _, e := range evs {
				if e.Type == playbook.EventStatusUpdate && e.Text == text {
					found++
				}
			}
			if found != 1 {
				t.Errorf("acked update %q on #%d recorded %d times", text, n, found)
			}
		}
	}
	all, _ := db.List(ctx, nil)
	clicks, updates := 0, 0
	for _, v := range ackedClicks {
		clicks += len(v)
	}
	for _, v := range ackedUpdates {
		updates += len(v)
	}
	// The checks above prove nothing if nothing happened.
	if want == 0 || clicks == 0 || updates == 0 {
		t.Fatalf("too little happened to test: %d acked declarations in %d runs, %d clicks, %d updates", want, runs, clicks, updates)
	}
	t.Logf("%d runs: %d incidents (%d acked), %d acked clicks, %d acked updates, all kept; bbolt check clean", runs, len(all), want, clicks, updates)
}

// someIncidentChannel picks the newest incident channel, if any.
func someIncidentChannel(f *fakeslack.Server) (string, int64, bool) {
	chans := f.Channels()
	for i := len(chans) - 1; i >= 0; i-- {
		var n int64
		if _, err := fmt.Sscanf(chans[i].Name, "inc-%d-", &n); err == nil {
			return chans[i].ID, n, true
		}
	}
	return "", 0, false
}

func hasChannel(chans []fakeslack.Channel, n int64) bool { return countChannels(chans, n) > 0 }

// TestKillDuringCloseAtRandomMoments kills Klaxon with SIGKILL at a random
// moment after `/incident close` (while the outline is rendered, uploaded,
// shared, the channel archived), restarts it, and checks that every
// acked close is kept and ends with exactly one outline in its channel and
// the channel archived, and that no channel is archived without its outline.
// 12 runs in CI; KLAXON_SOAK_RUNS sets more.
func TestKillDuringCloseAtRandomMoments(t *testing.T) {
	runs := 12
	if v, err := strconv.Atoi(os.Getenv("KLAXON_SOAK_RUNS")); err == nil && v > 0 {
		runs = v
	}
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	rng := rand.New(rand.NewPCG(2, killSeed(t)))
	ctx := context.Background()
	killedAt, ackedClose := map[int64]time.Time{}, map[int64]bool{}
	waitMsg := func(p *process, ch, s string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := f.WaitFor(wctx, func(n *fakeslack.Snapshot) bool {
			for _, m := range n.Messages(ch) {
				if strings.Contains(m.Text+string(m.Blocks), s) {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("waiting for %q: %v\n%s", s, err, p.Logs())
		}
	}
	in := func(p *process, ch, text string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if ack, err := f.SlashCommand(cctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: ch}); err != nil || ack.Late {
			t.Fatalf("/incident %s: %v %+v\n%s", text, err, ack, p.Logs())
		}
	}
	for run := range runs {
		p := startKlaxon(t, f, config)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := f.SlashCommand(cctx, fakeslack.SlashCommand{Text: fmt.Sprintf("declare sev2 checkout close run %d", run), UserID: "U0DECL01", ChannelID: "C0GENERAL"})
		cancel()
		m := declaredNumber.FindStringSubmatch(string(ack.Payload))
		if err != nil || m == nil {
			t.Fatalf("declare: %v %s\n%s", err, ack.Payload, p.Logs())
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		var ch string
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		if err := f.WaitFor(wctx, func(s *fakeslack.Snapshot) bool {
			for _, c := range s.Channels() {
				if strings.HasPrefix(c.Name, fmt.Sprintf("inc-%d-", n)) {
					ch = c.ID
				}
			}
			return ch != ""
		}); err != nil {
			t.Fatalf("no channel for #%d: %v", n, err)
		}
		wcancel()
		waitMsg(p, ch, "Triage checklist")
		in(p, ch, "ic")
		in(p, ch, "resolve")
		waitMsg(p, ch, "Verification gates")
		in(p, ch, "resolve override checked by hand")
		waitMsg(p, ch, "is resolved")
		cctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		ack, err = f.SlashCommand(cctx, fakeslack.SlashCommand{Text: "close", UserID: "U0DECL01", ChannelID: ch})
		cancel()
		if err != nil || !strings.Contains(string(ack.Payload), "is closed") {
			t.Fatalf("close: %v %s\n%s", err, ack.Payload, p.Logs())
		}
		ackedClose[n] = true
		<-time.After(time.Duration(rng.IntN(60)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
		killedAt[n] = time.Now()
	}

	// The last start finishes every interrupted close.
	p := startKlaxon(t, f, config)
	select {
	case <-p.logged("resumed interrupted work"):
	case <-time.After(60 * time.Second):
		t.Fatalf("the last start did not finish resuming\n%s", p.Logs())
	}
	db := stopAndOpen(t, p, dir)
	all, _ := db.List(ctx, nil)
	closed, finished := 0, 0
	for _, inc := range all {
		if inc.Closure != nil && inc.Closure.Archived.After(killedAt[inc.Number]) {
			finished++ // the kill interrupted this close; a restart finished it
		}
		files := 0
		for _, fl := range f.Files() {
			if fl.Channel == inc.Channel.ID && fl.Completed {
				files++
			}
		}
		c, _ := f.Channel(inc.Channel.ID)
		switch {
		case ackedClose[inc.Number] && inc.Status != playbook.StatusClosed:
			t.Errorf("the acked close of #%d was lost", inc.Number)
		case inc.Status == playbook.StatusClosed:
			closed++
			if files != 1 || !c.Archived || inc.Closure == nil || inc.Closure.File == "" || inc.Closure.Archived.IsZero() {
				t.Errorf("closed #%d: %d outlines shared, archived %v, closure %+v", inc.Number, files, c.Archived, inc.Closure)
			}
		case files != 0 || c.Archived:
			t.Errorf("#%d is %s but has %d outlines, archived %v", inc.Number, inc.Status, files, c.Archived)
		}
	}
	if closed == 0 {
		t.Fatalf("no close was recorded in %d runs: nothing was tested", runs)
	}
	t.Logf("%d runs: %d acked closes (%d of them interrupted by the kill and finished by a restart), each with one outline and an archived channel after it", runs, closed, finished)
}

// stopAndOpen stops p gracefully and opens its store, which must pass
// bbolt's consistency check.
func stopAndOpen(t *testing.T, p *process, dir string) *store.DB {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	p.done <- nil
	db, err := store.Open(dir+"/klaxon.db", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Check(); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
	return db
}

// killSeed is the seed of a random-kill test's moments: from the clock,
// or KLAXON_KILL_SEED to replay a run. It is logged either way, so a
// failure can be reproduced.
func killSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("KLAXON_KILL_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (KLAXON_KILL_SEED=%d replays it)", seed, seed)
	return seed
}
