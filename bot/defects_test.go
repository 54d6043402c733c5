package bot_test

// Regression tests for the defects of issue 11 that a person sees, driven
// through the real slack-go client against the fake Slack.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Defect 5: a redelivered "/incident tag" (same envelope) says the tag is
// recorded, not "Klaxon could not record the root cause".
func TestRedeliveredTagIsAcknowledgedAsRecorded(t *testing.T) {
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	payload := map[string]string{"command": "/incident", "text": "tag DNS TTL too long", "user_id": declarer, "channel_id": ch.ID, "team_id": fakeslack.TeamID, "trigger_id": "T1", "response_url": ""}
	for i := range 2 {
		ack, err := f.Send(ctxT(t), fakeslack.Envelope{ID: "env-tag-1", Type: "slash_commands", Payload: payload, RetryAttempt: i})
		if err != nil || ack.Late {
			t.Fatalf("delivery %d: %v %+v", i+1, err, ack)
		}
		if txt := ackText(t, ack); !strings.Contains(txt, "tagged `dns-ttl-too-long`") {
			t.Fatalf("delivery %d acked %q, want the recorded tag", i+1, txt)
		}
	}
	k.bot.Wait()
	if n := len(events(t, k, "root_cause")); n != 1 {
		t.Fatalf("%d root-cause events for one envelope", n)
	}
}
