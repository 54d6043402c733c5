package playbook_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
)

var channelNameRE = regexp.MustCompile(`^inc-[0-9]+-sev[1-4](-[a-z0-9]+)*$`)

// checkChannelName asserts what Slack and people need of every channel name.
func checkChannelName(t *testing.T, name string, n int64, sev playbook.Severity, attempt int) {
	t.Helper()
	if !channelNameRE.MatchString(name) {
		t.Errorf("channel name %q does not match %s", name, channelNameRE)
	}
	if len(name) > playbook.MaxChannelName {
		t.Errorf("channel name is %d characters, Slack allows %d: %q", len(name), playbook.MaxChannelName, name)
	}
	prefix := fmt.Sprintf("inc-%d-sev%d", n, int(sev))
	if name != prefix && !strings.HasPrefix(name, prefix+"-") {
		t.Errorf("channel name %q lost its number or severity (want prefix %q)", name, prefix)
	}
	if attempt > 1 && !strings.HasSuffix(name, "-"+strconv.Itoa(attempt)) {
		t.Errorf("channel name %q for attempt %d lacks the -%d suffix", name, attempt, attempt)
	}
}

func TestChannelName(t *testing.T) {
	tests := []struct {
		n       int64
		sev     playbook.Severity
		title   string
		attempt int
		want    string
	}{
		{1, playbook.SEV1, "Checkout returns 500s", 1, "inc-1-sev1-checkout-returns-500s"},
		{1, playbook.SEV1, "Checkout returns 500s", 2, "inc-1-sev1-checkout-returns-500s-2"},
		{1, playbook.SEV1, "Checkout returns 500s", 13, "inc-1-sev1-checkout-returns-500s-13"},
		{1, playbook.SEV1, "Checkout returns 500s", 0, "inc-1-sev1-checkout-returns-500s"},
		{7, playbook.SEV2, "!!!", 1, "inc-7-sev2"},
		{7, playbook.SEV2, "!!!", 3, "inc-7-sev2-3"},
		{7, playbook.SEV2, "", 1, "inc-7-sev2"},
		{12, playbook.SEV3, "Café down", 1, "inc-12-sev3-cafe-down"},
		{3, playbook.SEV2, "  DB -- timeouts!!  ", 1, "inc-3-sev2-db-timeouts"},
		{3, playbook.SEV2, "db_primary: replica lag", 1, "inc-3-sev2-db-primary-replica-lag"},
		{4, playbook.SEV1, "🔥 API down 🔥", 1, "inc-4-sev1-api-down"},
		{5, playbook.SEV2, "数据库 down", 1, "inc-5-sev2-down"},
		{5, playbook.SEV2, "数据库故障", 1, "inc-5-sev2"},
		{6, playbook.SEV3, "Ça coûte très cher à ZÜRICH", 1, "inc-6-sev3-ca-coute-tres-cher-a-zurich"},
		{8, playbook.SEV4, "<@U123> said <!channel> is down", 1, "inc-8-sev4-u123-said-channel-is-down"},
		{1000000000000, playbook.SEV4, "Typo", 1, "inc-1000000000000-sev4-typo"},
	}
	for _, tt := range tests {
		got := playbook.ChannelName(tt.n, tt.sev, tt.title, tt.attempt)
		if got != tt.want {
			t.Errorf("ChannelName(%d, %v, %q, %d) = %q, want %q", tt.n, tt.sev, tt.title, tt.attempt, got, tt.want)
		}
		checkChannelName(t, got, tt.n, tt.sev, tt.attempt)
	}
}

func TestChannelNameLongTitles(t *testing.T) {
	words := strings.Repeat("database connection pool exhausted ", 150) // 5,250 characters
	oneWord := strings.Repeat("a", 5000)
	accented := strings.Repeat("é", 5000)
	emoji := strings.Repeat("🔥", 5000) + " checkout"
	for _, title := range []string{words, oneWord, accented, emoji} {
		for _, n := range []int64{1, 1234, 999999999999} {
			for _, attempt := range []int{1, 2, 20, 100} {
				name := playbook.ChannelName(n, playbook.SEV1, title, attempt)
				checkChannelName(t, name, n, playbook.SEV1, attempt)
			}
		}
	}
	// A long title of words ends on a whole word, not "…-exhaus".
	name := playbook.ChannelName(1234, playbook.SEV1, words, 1)
	slug := strings.TrimPrefix(name, "inc-1234-sev1-")
	for w := range strings.SplitSeq(slug, "-") {
		if w != "database" && w != "connection" && w != "pool" && w != "exhausted" {
			t.Errorf("%q cuts a word in half: %q", name, w)
		}
	}
	if len(name) < playbook.MaxChannelName-len("-connection") {
		t.Errorf("%q (%d characters) throws away more of the title than needed", name, len(name))
	}
	// A single word longer than the room is cut to fill it exactly.
	if got := playbook.ChannelName(1, playbook.SEV1, oneWord, 1); len(got) != playbook.MaxChannelName {
		t.Errorf("one 5,000-letter word gives %q (%d characters), want exactly %d", got, len(got), playbook.MaxChannelName)
	}
	if got := playbook.ChannelName(1, playbook.SEV1, oneWord, 2); len(got) != playbook.MaxChannelName || !strings.HasSuffix(got, "a-2") {
		t.Errorf("attempt 2 of a 5,000-letter word gives %q (%d characters)", got, len(got))
	}
	if got := playbook.ChannelName(1, playbook.SEV1, accented, 1); !strings.HasPrefix(got, "inc-1-sev1-eeee") {
		t.Errorf("5,000 é give %q, want them folded to e", got)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Café down", 80, "cafe-down"},
		{"Hello World", 80, "hello-world"},
		{"Hello World", 11, "hello-world"},
		{"Hello World", 10, "hello"},
		{"Hello World", 8, "hello"},
		{"Hello World", 5, "hello"},
		{"Hello World", 3, "hel"},
		{"abcdefghij", 4, "abcd"},
		{"---a---b---", 80, "a-b"},
		{"", 80, ""},
		{"!!!", 80, ""},
		{"anything", 0, ""},
		{"anything", -5, ""},
		{"ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ àáâãäåçèéêëìíîïñòóôõöøùúûüýÿ", 100,
			"aaaaaaceeeeiiiinoooooouuuuy-aaaaaaceeeeiiiinoooooouuuuyy"},
		{"日本語のタイトル", 80, ""},
		{"v2.3.1 rollout", 80, "v2-3-1-rollout"},
		{"\xff\xfebad utf8\x00", 80, "bad-utf8"},
	}
	for _, tt := range tests {
		got := playbook.Slug(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Slug(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if tt.max > 0 && len(got) > tt.max {
			t.Errorf("Slug(%q, %d) is %d long", tt.in, tt.max, len(got))
		}
	}
}

// FuzzChannelName: any title, any incident number from 1 to 10^12, any
// severity and any attempt from 1 to 100 gives a name Slack accepts that
// still says which incident it is. Run it with
//
//	go test -run=^$ -fuzz=FuzzChannelName -fuzztime=45s ./playbook/
func FuzzChannelName(f *testing.F) {
	f.Add("Checkout returns 500s", int64(1), uint8(1), 1)
	f.Add("Café down", int64(12), uint8(3), 2)
	f.Add("!!!", int64(7), uint8(2), 3)
	f.Add("", int64(999999999999), uint8(4), 100)
	f.Add(strings.Repeat("database connection ", 250), int64(1234), uint8(1), 99)
	f.Add(strings.Repeat("x", 5000), int64(1000000000000), uint8(4), 100)
	f.Add("🔥 数据库 down — ÀÉÎÕÜ\xff\x00-_-", int64(42), uint8(2), 7)
	f.Fuzz(func(t *testing.T, title string, n int64, sev uint8, attempt int) {
		n = 1 + int64(uint64(n)%1_000_000_000_000)
		s := playbook.Severity(1 + sev%4)
		attempt = 1 + int(uint(attempt)%100)
		name := playbook.ChannelName(n, s, title, attempt)
		checkChannelName(t, name, n, s, attempt)
		if again := playbook.ChannelName(n, s, title, attempt); again != name {
			t.Fatalf("ChannelName is not deterministic: %q then %q", name, again)
		}
	})
}
