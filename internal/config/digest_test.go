package config

import "testing"

func TestDigestConfig(t *testing.T) {
	c := parse(t, "scheduler: {timezone: Europe/Paris}\ndigest: {channel: C0DIGEST}\n", exampleEnv)
	if !c.Digest.Enabled() || c.Digest.Channel != "C0DIGEST" || c.Digest.Schedule != DefaultDigestSchedule || c.Digest.TimezoneName != "Europe/Paris" {
		t.Errorf("digest %+v, want the default schedule in the scheduler's zone", c.Digest)
	}
	c = parse(t, "digest:\n  channel: G0DIGEST\n  schedule: '30 8 * * 5'\n  timezone: America/New_York\n", exampleEnv)
	if c.Digest.Schedule != "30 8 * * 5" || c.Digest.Timezone.String() != "America/New_York" {
		t.Errorf("digest %+v", c.Digest)
	}
	if c := parse(t, "log: {level: info}\n", exampleEnv); c.Digest.Enabled() || c.Digest.Timezone == nil {
		t.Errorf("no digest section: %+v", c.Digest)
	}
	for _, tc := range []struct{ yaml, path, msg string }{
		{"digest: {channel: '#incidents'}", "digest.channel", "not a channel ID"},
		{"digest: {channel: C0D, schedule: '0 9 * *'}", "digest.schedule", "not a cron spec"},
		{"digest: {channel: C0D, timezone: Mars/Base}", "digest.timezone", "unknown time zone"},
		{"digest: {chanel: C0D}", "digest.chanel", "did you mean channel?"},
	} {
		if ps := problems(t, tc.yaml+"\n", exampleEnv); !hasProblem(ps, tc.path, tc.msg) {
			t.Errorf("%s: problems %v, want %s: %s", tc.yaml, ps, tc.path, tc.msg)
		}
	}
}
