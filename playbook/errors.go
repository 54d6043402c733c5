package playbook

import (
	"errors"
	"fmt"
)

// Code classifies a domain error so adapters can decide how to answer
// (an ephemeral reply, a retry, a log line) without parsing messages.
type Code string

// Error codes returned by the domain.
const (
	CodeBadSeverity   Code = "bad_severity"
	CodeBadInput      Code = "bad_input"
	CodeNotFound      Code = "not_found"
	CodeBadTransition Code = "bad_transition"
	CodeStore         Code = "store"
)

// Error is a domain error: a code for programs and a message for a person.
// The message is safe to show in Slack: it never contains secrets.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, if any; not shown to people
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// UserMessage returns what to tell a person about err: the domain message
// when there is one, a generic sentence otherwise (internal details stay in logs).
func UserMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on Klaxon's side; nothing was changed. Try again, and tell the Klaxon operators if it persists."
}

// ErrNotFound is returned by stores when an incident does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "no such incident"}
