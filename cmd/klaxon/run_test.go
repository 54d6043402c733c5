package main

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/config"
)

// TestCalendarReadsSpecInZone: "0 9 * * *" in Europe/Paris is 09:00 Paris
// time on both sides of the autumn clock change (07:00 UTC in summer time,
// 08:00 UTC after).
func TestCalendarReadsSpecInZone(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar(config.Scheduler{Timezone: paris, PostmortemReminders: "0 9 * * *"}, func() {})
	if err != nil {
		t.Fatal(err)
	}
	job := cal.Entries()[0].Schedule
	for _, tt := range []struct{ after, want time.Time }{
		{time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)}, // the change night: 09:00 CET
		{time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 7, 0, 0, 0, time.UTC)}, // 09:00 CEST
	} {
		if got := job.Next(tt.after.In(paris)); !got.Equal(tt.want) {
			t.Errorf("next reminder after %v = %v, want %v", tt.after, got.UTC(), tt.want)
		}
	}
	if _, err := calendar(config.Scheduler{Timezone: time.UTC, PostmortemReminders: "not a spec"}, func() {}); err == nil {
		t.Error("a bad spec was accepted")
	}
}
