package bot

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func answer(body string, rest io.Reader) *http.Response {
	var r io.Reader = strings.NewReader(body)
	if rest != nil {
		r = io.MultiReader(r, rest)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Length": {"1"}}, Body: io.NopCloser(r)}
}

// TestEchoedMessageDropped: a post's answer reaches slack-go with every
// field but the echoed message; anything that is not a JSON object, or
// that breaks off, reaches it as Slack sent it.
func TestEchoedMessageDropped(t *testing.T) {
	t.Parallel()
	resp := answer(`{"ok":true,"channel":"C0INC","ts":"1733400000.000100","warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]},"message":{"type":"message","text":"hi","blocks":[{"type":"section"}]}}`, nil)
	dropEcho(resp)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["message"]; ok || got["ok"] != true || got["channel"] != "C0INC" || got["ts"] != "1733400000.000100" || got["warning"] != "missing_charset" || got["response_metadata"] == nil {
		t.Fatalf("trimmed answer %s", b)
	}
	if resp.ContentLength != int64(len(b)) || resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
		t.Fatalf("length %d / %q for %d bytes", resp.ContentLength, resp.Header.Get("Content-Length"), len(b))
	}

	for _, body := range []string{`<html>502</html>`, `{"ok":false,"error":"channel_not_found"}`, `[1,2]`} {
		resp := answer(body, nil)
		dropEcho(resp)
		if b, _ := io.ReadAll(resp.Body); string(b) != body {
			t.Errorf("%s became %s", body, b)
		}
	}

	broken := errors.New("connection reset by peer")
	resp = answer(`{"ok":true,"message":{"te`, errReader{broken})
	dropEcho(resp)
	b, err = io.ReadAll(resp.Body)
	if string(b) != `{"ok":true,"message":{"te` || !errors.Is(err, broken) {
		t.Fatalf("a broken answer read as %q, %v", b, err)
	}
}
