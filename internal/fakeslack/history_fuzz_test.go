package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
)

// FuzzHistoryArgs: the fake's readers of conversations.history's
// timestamps and chat.*'s metadata take any text without panicking; a
// timestamp read back formats to itself, and metadata kept is always
// {event_type, event_payload object} that reads again the same.
func FuzzHistoryArgs(f *testing.F) {
	for _, s := range []string{"1712345678.000200", "1712345678", "", "-1.5", "1.1234567", "abc", "9999999999999999999.1"} {
		f.Add(s, `{"event_type":"klaxon_offer","event_payload":{"key":"group-1-2"}}`)
	}
	f.Add("0.000001", `{"event_type":"bad.type","event_payload":{}}`)
	f.Add("1.5", `{"event_type":"x","event_payload":[1]}`)
	f.Add("2", `not json`)
	f.Fuzz(func(t *testing.T, ts, metadata string) {
		if us, ok := parseTSArg(ts, 0); ok && ts != "" {
			if us < 0 {
				t.Fatalf("%q read as %d", ts, us)
			}
			back := fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
			if again, ok := parseTSArg(back, 0); !ok || again != us {
				t.Fatalf("%q -> %d -> %q -> %d", ts, us, back, again)
			}
		}
		md, _ := parseMetadata(&args{form: url.Values{"metadata": {metadata}}})
		if md == nil {
			return
		}
		var got struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		}
		if err := json.Unmarshal(md, &got); err != nil || !eventTypeRe.MatchString(got.EventType) || got.EventPayload == nil {
			t.Fatalf("kept metadata %s from %q", md, metadata)
		}
		if again, _ := parseMetadata(&args{form: url.Values{"metadata": {string(md)}}}); string(again) != string(md) {
			t.Fatalf("metadata %s reads again as %s", md, again)
		}
	})
}
