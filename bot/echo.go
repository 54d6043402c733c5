package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// Slack answers chat.postMessage and chat.update with the message it
// stored, every block included, and slack-go decodes all of it (by
// reflection, each block twice) into a value Klaxon never sees: its
// PostMessageContext and UpdateMessageContext return only the channel, the
// timestamp and the top-level text. That decoding was a tenth of what a
// declaration allocated. So the gate drops the echoed "message" from these
// answers before slack-go reads them; every other field (ok, error,
// warning, response_metadata, channel, ts, text) passes unchanged.
var echoingMethods = map[string]bool{"chat.postMessage": true, "chat.update": true}

// maxEchoAnswer bounds the answers trimmed; a larger one passes as it is.
const maxEchoAnswer = 1 << 20

// dropEcho replaces resp's body with the same JSON object without its
// "message" member. An answer that is not a JSON object (an HTML error
// page) passes unchanged; one that breaks off while read is handed on as
// far as it came, then the error, as slack-go would have read it (the call
// itself succeeded, so nothing retries it).
func dropEcho(resp *http.Response) {
	if resp.StatusCode != http.StatusOK || resp.Body == nil {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxEchoAnswer+1))
	resp.Body.Close()
	if err != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), errReader{err}))
		return
	}
	body := raw
	var fields map[string]json.RawMessage
	if len(raw) <= maxEchoAnswer && json.Unmarshal(raw, &fields) == nil && fields["message"] != nil {
		delete(fields, "message")
		if trimmed, err := json.Marshal(fields); err == nil {
			body = trimmed
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	if resp.Header.Get("Content-Length") != "" {
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
