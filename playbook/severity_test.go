package playbook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// asError returns err as a domain *Error, failing the test when it is not one.
func asError(t *testing.T, err error) *playbook.Error {
	t.Helper()
	var e *playbook.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *playbook.Error", err, err)
	}
	return e
}

func TestParseSeverityAcceptsTheSpellingsPeopleType(t *testing.T) {
	tests := []struct {
		in   string
		want playbook.Severity
	}{
		{"sev1", playbook.SEV1},
		{"SEV1", playbook.SEV1},
		{"Sev1", playbook.SEV1},
		{"1", playbook.SEV1},
		{"p1", playbook.SEV1},
		{"P1", playbook.SEV1},
		{"sev-1", playbook.SEV1},
		{"SEV-1", playbook.SEV1},
		{"  sev1  ", playbook.SEV1},
		{"sev2", playbook.SEV2},
		{"2", playbook.SEV2},
		{"p2", playbook.SEV2},
		{"Sev3", playbook.SEV3},
		{"sev-3", playbook.SEV3},
		{"SEV4", playbook.SEV4},
		{"4", playbook.SEV4},
		{"P4", playbook.SEV4},
	}
	for _, tt := range tests {
		got, err := playbook.ParseSeverity(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if !got.Valid() {
			t.Errorf("ParseSeverity(%q) returned invalid %v", tt.in, got)
		}
	}
}

func TestParseSeverityRejectsWithTheValidSpellings(t *testing.T) {
	for _, in := range []string{
		"sev0", "sev5", "sev9", "p9", "p0", "", "   ", "sevx", "11", "0", "5", "sev", "p", "sev-",
		"sev--1", "sev1x", "sev 1", "one", "+1", "sev+1", "1.0", "０", "١", "sev１",
		"critical", "sev100000000000000000000000000",
	} {
		got, err := playbook.ParseSeverity(in)
		if err == nil {
			t.Errorf("ParseSeverity(%q) = %v, want an error", in, got)
			continue
		}
		if got != 0 {
			t.Errorf("ParseSeverity(%q) returned %v with its error, want 0", in, got)
		}
		e := asError(t, err)
		if e.Code != playbook.CodeBadSeverity {
			t.Errorf("ParseSeverity(%q) code = %q, want %q", in, e.Code, playbook.CodeBadSeverity)
		}
		for _, spelling := range []string{"sev1", "sev2", "sev3", "sev4"} {
			if !strings.Contains(userMessage(e), spelling) {
				t.Errorf("ParseSeverity(%q) message %q does not list %q", in, userMessage(e), spelling)
			}
		}
		if in != "" && !strings.Contains(userMessage(e), strings.TrimSpace(in)) && len([]rune(in)) <= 20 {
			t.Errorf("ParseSeverity(%q) message %q does not say what was typed", in, userMessage(e))
		}
	}
}

func TestParseSeverityMessageQuotesLongInputShortened(t *testing.T) {
	long := strings.Repeat("x", 5000)
	_, err := playbook.ParseSeverity(long)
	e := asError(t, err)
	if len(userMessage(e)) > 200 {
		t.Fatalf("message for a 5,000-character word is %d bytes long; want it shortened: %.120q…", len(userMessage(e)), userMessage(e))
	}
	if !strings.Contains(userMessage(e), "…") {
		t.Errorf("message %q does not show that the word was shortened", userMessage(e))
	}
}

func TestLooksLikeSeverity(t *testing.T) {
	tests := []struct {
		word string
		want bool
	}{
		// Valid severities.
		{"sev1", true}, {"SEV1", true}, {"Sev1", true}, {"1", true}, {"p1", true}, {"P1", true},
		{"sev-1", true}, {"sev4", true}, {"4", true},
		// Meant as a severity but not one: an error, not the first word of the title.
		{"sev0", true}, {"sev5", true}, {"sev9", true}, {"p9", true}, {"p0", true}, {"SEV-7", true},
		{"0", true}, {"5", true}, {"9", true}, {"sev12", true},
		// Title words.
		{"", false}, {"sevx", false}, {"sev", false}, {"sev-", false}, {"p", false}, {"P", false},
		{"db", false}, {"payments", false}, {"p2p", false}, {"sev1x", false}, {"severe", false},
		{"api", false}, {"-", false}, {"login", false},
	}
	for _, tt := range tests {
		if got := playbook.LooksLikeSeverity(tt.word); got != tt.want {
			t.Errorf("LooksLikeSeverity(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
}

// TestLooksLikeSeverityLeavesNumbersInTitles: "/incident declare p95 latency
// above 2s" or "/incident declare 500 errors on checkout" must declare with
// that title, not answer `"p95" is not a severity`. A bare number or a "p"
// number is a severity only as a single digit; "sev" + digits always is.
func TestLooksLikeSeverityLeavesNumbersInTitles(t *testing.T) {
	for _, word := range []string{"p95", "p99", "P50", "500", "404", "2026", "11"} {
		if playbook.LooksLikeSeverity(word) {
			t.Errorf("LooksLikeSeverity(%q) = true: a title starting with %q is refused as a bad severity", word, word)
		}
	}
}

// TestLooksLikeSeverityCoversEverythingParseSeverityAccepts: bot only calls
// ParseSeverity on words LooksLikeSeverity accepts, so a word ParseSeverity
// accepts but LooksLikeSeverity does not ("p-1") silently ends up in the
// title and the incident gets the default severity.
func TestLooksLikeSeverityCoversEverythingParseSeverityAccepts(t *testing.T) {
	for _, word := range []string{
		"sev1", "SEV2", "Sev3", "4", "p1", "P2", "sev-3", "SEV-4",
		"p-1", "P-2", "-1", "sevp1", "SEVP2", "sev-p3",
	} {
		if _, err := playbook.ParseSeverity(word); err == nil && !playbook.LooksLikeSeverity(word) {
			t.Errorf("ParseSeverity(%q) accepts it but LooksLikeSeverity(%q) = false: /incident declare %s db down gets the default severity and the title %q",
				word, word, word, word+" db down")
		}
	}
}

func TestSeverityStringAndValid(t *testing.T) {
	for _, s := range playbook.Severities {
		if !s.Valid() {
			t.Errorf("%d is listed in Severities but not Valid", int(s))
		}
		back, err := playbook.ParseSeverity(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSeverity(%q) = %v, %v; want the round trip to give %v", s.String(), back, err, s)
		}
	}
	if got := playbook.SEV2.String(); got != "SEV2" {
		t.Errorf("SEV2.String() = %q", got)
	}
	for _, s := range []playbook.Severity{0, -1, 5} {
		if s.Valid() {
			t.Errorf("Severity(%d).Valid() = true", int(s))
		}
		if strings.HasPrefix(s.String(), "SEV") && !strings.Contains(s.String(), "?") {
			t.Errorf("Severity(%d).String() = %q looks like a real severity", int(s), s.String())
		}
	}
}

func TestDefaultTiers(t *testing.T) {
	want := []struct {
		sev      playbook.Severity
		impact   string
		response string
		within   time.Duration
		updates  playbook.UpdatePolicy
		every    time.Duration
		cadence  string
	}{
		{playbook.SEV1, "All users down or core functionality unavailable", "immediate (wake anyone)", 0,
			playbook.UpdatesPeriodic, 15 * time.Minute, "a status update every 15 min"},
		{playbook.SEV2, "Partial degradation, significant user subset affected", "within 15 minutes", 15 * time.Minute,
			playbook.UpdatesPeriodic, 30 * time.Minute, "a status update every 30 min"},
		{playbook.SEV3, "Minor impact, workaround available", "within 2 hours", 2 * time.Hour,
			playbook.UpdatesOpenAndResolution, 0, "a status update at open and at resolution"},
		{playbook.SEV4, "Cosmetic issue, no user impact", "next business day", 24 * time.Hour,
			playbook.UpdatesTicketOnly, 0, "a ticket only, no channel updates"},
	}
	tiers := playbook.DefaultTiers()
	if len(tiers) != 4 {
		t.Fatalf("DefaultTiers has %d tiers, want 4", len(tiers))
	}
	for _, w := range want {
		tier, ok := tiers[w.sev]
		if !ok {
			t.Errorf("no default tier for %v", w.sev)
			continue
		}
		// The impact and response are the templates' (labels.tmpl): the
		// domain's tiers leave them empty for the operator's config.
		if tier.Impact != "" || tier.Response != "" {
			t.Errorf("tier %v has words in the domain: impact %q, response %q", w.sev, tier.Impact, tier.Response)
		}
		if got := noticeWords.Impact(tier); got != w.impact {
			t.Errorf("tier %v impact = %q, want %q", w.sev, got, w.impact)
		}
		if got := noticeWords.Response(tier); got != w.response {
			t.Errorf("tier %v response = %q, want %q", w.sev, got, w.response)
		}
		if tier.Severity != w.sev ||
			tier.ResponseWithin != w.within || tier.Updates != w.updates || tier.UpdateEvery != w.every {
			t.Errorf("tier %v = %+v", w.sev, tier)
		}
		if !tier.Updates.Valid() {
			t.Errorf("tier %v has an unknown update policy %q", w.sev, tier.Updates)
		}
		// The words are the templates' ("cadence" in notice.tmpl).
		if got := noticeWords.Cadence(tier); got != w.cadence {
			t.Errorf("tier %v cadence = %q, want %q", w.sev, got, w.cadence)
		}
		if len(tier.Stakeholders) != 0 {
			t.Errorf("default tier %v invites %v; defaults must not invite anyone", w.sev, tier.Stakeholders)
		}
	}
}

func TestDefaultTiersBelongToTheCaller(t *testing.T) {
	mine := playbook.DefaultTiers()
	mine[playbook.SEV1] = playbook.Tier{Severity: playbook.SEV1, Impact: "changed", Stakeholders: []string{"U1"}}
	delete(mine, playbook.SEV2)
	again := playbook.DefaultTiers()
	if again[playbook.SEV1].Impact != "" || len(again[playbook.SEV1].Stakeholders) != 0 {
		t.Errorf("editing one DefaultTiers result changed the next: %+v", again[playbook.SEV1])
	}
	if _, ok := again[playbook.SEV2]; !ok {
		t.Error("deleting from one DefaultTiers result removed SEV2 from the next")
	}
}

func TestTiersGetFallsBackToDefaults(t *testing.T) {
	custom := playbook.Tiers{playbook.SEV1: {Severity: playbook.SEV1, Impact: "Checkout down", Stakeholders: []string{"S0EXEC"}}}
	if got := custom.Get(playbook.SEV1); got.Impact != "Checkout down" || len(got.Stakeholders) != 1 {
		t.Errorf("Get(SEV1) = %+v, want the configured tier", got)
	}
	if got := custom.Get(playbook.SEV3); got.Impact != "" || got.ResponseWithin != 2*time.Hour || got.Updates != playbook.UpdatesOpenAndResolution {
		t.Errorf("Get(SEV3) on a partial config = %+v, want the default SEV3 tier", got)
	}
	var none playbook.Tiers
	if got := none.Get(playbook.SEV4); got.Updates != playbook.UpdatesTicketOnly {
		t.Errorf("nil Tiers Get(SEV4) = %+v, want the default SEV4 tier", got)
	}
}

func TestUpdatePolicyValid(t *testing.T) {
	if playbook.UpdatePolicy("hourly").Valid() || playbook.UpdatePolicy("").Valid() {
		t.Error("an unknown update policy is Valid")
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{45 * time.Second, "45 s"},
		{15 * time.Minute, "15 min"},
		{2 * time.Hour, "2 h"},
		{90 * time.Minute, "1 h 30 min"},
		{time.Hour + 30*time.Second, "1 h 30 s"},
		{time.Hour + time.Minute + time.Second, "1 h 1 min 1 s"},
		{90 * time.Second, "1 min 30 s"},
		{24 * time.Hour, "24 h"},
		{1500 * time.Millisecond, "2 s"},
		{400 * time.Millisecond, "0 s"},
		{59*time.Minute + 59*time.Second + 600*time.Millisecond, "1 h"},
		{-15 * time.Minute, "15 min"},
	}
	for _, tt := range tests {
		if got := playbook.HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestErrorsForPeopleAndPrograms(t *testing.T) {
	cause := errors.New("bolt: database not open")
	e := &playbook.Error{Code: playbook.CodeStore, Reason: playbook.ReasonDeclareNotStored, Err: cause}
	wrapped := errors.Join(errors.New("context"), e)
	if got := playbook.ErrorCode(wrapped); got != playbook.CodeStore {
		t.Errorf("ErrorCode through a wrap = %q, want %q", got, playbook.CodeStore)
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if got := userMessage(wrapped); got != "Klaxon could not record the incident, so nothing was done. Try again in a moment." || strings.Contains(got, "bolt") {
		t.Errorf("UserMessage = %q, want only the message for a person", got)
	}
	if !strings.Contains(e.Error(), "bolt") || !strings.HasPrefix(e.Error(), "store/declare_not_stored") {
		t.Errorf("Error() = %q, want the cause for the logs", e.Error())
	}
	plain := errors.New("dial tcp 10.0.0.3:443: secret-token-xyz")
	if got := playbook.ErrorCode(plain); got != "" {
		t.Errorf("ErrorCode(plain error) = %q, want empty", got)
	}
	if got := userMessage(plain); strings.Contains(got, "secret") || !strings.Contains(got, "nothing was changed") {
		t.Errorf("UserMessage(plain error) = %q, want a generic sentence without internals", got)
	}
	got := playbook.Fail(playbook.CodeBadInput, playbook.ReasonTitleTooLong, playbook.FieldTitle, playbook.ErrorArgs{Length: 130, Limit: 120})
	if got.Error() != "bad_input/title_too_long field=title limit=120 length=130" {
		t.Errorf("Error() = %q, want the reason and its values for the logs", got.Error())
	}
	if msg := userMessage(got); msg != "The title is 130 characters long; keep it to 120 at most." {
		t.Errorf("rendered = %q", msg)
	}
	if playbook.ErrorCode(playbook.ErrNotFound) != playbook.CodeNotFound {
		t.Error("ErrNotFound does not carry CodeNotFound")
	}
}

// FuzzParseSeverity: any text, never a panic; whatever is accepted is one of
// SEV1–SEV4 and round-trips through its canonical name; a rejection is always
// a CodeBadSeverity *Error with a bounded message.
func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"sev1", "SEV2", "Sev3", "4", "p1", "sev-1", "sev0", "sev9", "p9", "", "sevx", "11",
		"-1", "+1", "p-1", "sevp1", "sev-", "\xff", "sev\x00", "٣", strings.Repeat("9", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sev, err := playbook.ParseSeverity(s)
		_ = playbook.LooksLikeSeverity(s)
		if err != nil {
			if sev != 0 {
				t.Fatalf("ParseSeverity(%q) = %v with error %v", s, sev, err)
			}
			if playbook.ErrorCode(err) != playbook.CodeBadSeverity {
				t.Fatalf("ParseSeverity(%q) error %v has code %q", s, err, playbook.ErrorCode(err))
			}
			// At most 20 runes of the input are quoted, each at most 10 bytes escaped.
			if len(err.Error()) > 300 {
				t.Fatalf("ParseSeverity(%q) message is %d bytes", s, len(err.Error()))
			}
			return
		}
		if !sev.Valid() {
			t.Fatalf("ParseSeverity(%q) = %d, not a valid severity", s, int(sev))
		}
		if back, err := playbook.ParseSeverity(sev.String()); err != nil || back != sev {
			t.Fatalf("ParseSeverity(%q) = %v but its name %q parses as %v, %v", s, sev, sev.String(), back, err)
		}
	})
}
