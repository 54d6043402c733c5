package config

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a credential. Every way of printing, logging or marshalling it
// (String, GoString, any fmt verb, JSON, text, YAML, slog) yields
// "[redacted]", so a Config can be dumped or logged whole without leaking a
// token; Reveal is the one way to the value, to be called where the token is
// handed to the Slack client.
//
// The value lives in an unexported field so that an encoder working by
// reflection, which skips unexported fields, has nothing to show either.
type Secret struct {
	v string
	// line is where the file set the secret, so that CheckRun can point there.
	line int
}

// Reveal returns the secret's value. Call it only to hand the value to the
// client that needs it.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.v != "" }

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, for %#v.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb, including %x and %q
// which would otherwise format the underlying bytes, prints "[redacted]".
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler, which YAML encoders and JSON
// map keys use.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
