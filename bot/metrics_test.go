package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

func TestIncidentCollectorCountsRepeatsAndActionItems(t *testing.T) {
	t.Parallel()
	st := storetest.NewMemory()
	ctx := context.Background()
	add := func(key string, inc playbook.Incident) {
		if _, _, err := st.Create(ctx, key, func(n int64) (playbook.Incident, []playbook.Event) {
			inc.Number = n
			return inc, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	add("a", playbook.Incident{Title: "DNS broke", Severity: playbook.SEV2, Status: playbook.StatusClosed, RootCause: "dns-ttl",
		Actions: []playbook.ActionItem{{ID: 1, Ticket: &playbook.Ticket{State: "closed"}}, {ID: 2, Ticket: &playbook.Ticket{State: "open"}}}})
	add("b", playbook.Incident{Title: "DNS broke again", Severity: playbook.SEV2, Status: playbook.StatusResolved, RootCause: "dns-ttl", RepeatOf: []int64{1},
		Actions: []playbook.ActionItem{{ID: 1}}})
	add("c", playbook.Incident{Title: "secret title", Severity: playbook.SEV1, Status: playbook.StatusInvestigating})
	want := `
# HELP klaxon_action_items Action items by state: done (ticket closed), open (ticket open), unfiled (no ticket).
# TYPE klaxon_action_items gauge
klaxon_action_items{state="done"} 1
klaxon_action_items{state="open"} 1
klaxon_action_items{state="unfiled"} 1
# HELP klaxon_repeat_incidents Incidents whose root-cause tag matches an earlier incident's, by severity.
# TYPE klaxon_repeat_incidents gauge
klaxon_repeat_incidents{severity="SEV1"} 0
klaxon_repeat_incidents{severity="SEV2"} 1
klaxon_repeat_incidents{severity="SEV3"} 0
klaxon_repeat_incidents{severity="SEV4"} 0
`
	c := bot.NewIncidentCollector(st, nil)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "klaxon_action_items", "klaxon_repeat_incidents"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "klaxon_incidents"); n != 3 {
		t.Fatalf("%d incident series, want 3 (SEV2 closed, SEV2 resolved, SEV1 investigating)", n)
	}
}
