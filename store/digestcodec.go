package store

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// The digest's records are a compact binary encoding rather than JSON: the
// figures decode 10,000 of them per report, and JSON's time parsing alone
// would take most of the 100 ms budget. Strings are length-prefixed, numbers
// varints, times Unix nanoseconds (zero time: 0). A record starts with its
// format version, so the layout can grow.

const digestVersion = 1

// digestEventVersion is the figure events' layout: 1 kept the event's
// string map (before payloads were typed), 2 keeps the page's people.
const digestEventVersion = 2

var errDigest = errors.New("store: malformed digest record")

type enc struct{ b []byte }

func (e *enc) int(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string) { e.int(int64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bool(v bool)  { e.b = append(e.b, map[bool]byte{false: 0, true: 1}[v]) }
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.int(0)
		return
	}
	e.int(t.UnixNano())
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errDigest
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length, bounded by what is left (each element takes at
// least min bytes), so a corrupt record cannot ask for a huge allocation.
func (d *dec) count(min int) int {
	n := d.int()
	if n < 0 || n*int64(min) > int64(len(d.b)) {
		d.err = errDigest
		return 0
	}
	return int(n)
}

func (d *dec) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// known reads a string that is usually one of known, without allocating
// when it is (phases, statuses, event types, data keys repeat in every record).
func (d *dec) known(known []string) string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	b := d.b[:n]
	d.b = d.b[n:]
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

var (
	knownPhases   = []string{"detected", "declared", "acknowledged", "triage_started", "mitigation_started", "mitigated", "resolved", "closed", "alerted"}
	knownStatuses = []string{"investigating", "mitigating", "mitigated", "resolved", "closed"}
	knownEvents   = []string{"page", "postmortem_done", "page_acknowledged"}
	knownKeys     = []string{"person", "kind", "via", "target", "slack_user", "pagerduty_user", "paged"}
	knownStates   = []string{"open", "closed"}
)

func (d *dec) bool() bool {
	if d.err != nil || len(d.b) == 0 {
		d.err = errDigest
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v == 1
}

func (d *dec) time() time.Time {
	ns := d.int()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// encodeDigest encodes the figure view v (see playbook.FigureView).
func encodeDigest(v playbook.Incident) []byte {
	e := &enc{b: make([]byte, 0, 256)}
	e.int(digestVersion)
	e.int(v.Number)
	e.int(int64(v.Severity))
	e.str(v.Service)
	e.bool(v.Private)
	e.str(v.Commander)
	e.str(string(v.Status))
	e.str(v.RootCause)
	e.int(int64(len(v.RepeatOf)))
	for _, n := range v.RepeatOf {
		e.int(n)
	}
	e.bool(v.Timers.PostmortemDone)
	e.int(int64(len(v.Times)))
	for p, t := range v.Times {
		e.str(string(p))
		e.time(t)
	}
	e.int(int64(len(v.Actions)))
	for _, a := range v.Actions {
		e.int(int64(a.ID))
		e.str(a.Owner)
		e.str(a.Due)
		e.bool(a.Ticket != nil)
		if a.Ticket != nil {
			e.str(a.Ticket.State)
			e.time(a.Ticket.ClosedAt)
		}
	}
	return e.b
}

// decodeDigest decodes what encodeDigest wrote.
func decodeDigest(b []byte) (playbook.Incident, error) {
	d := &dec{b: b}
	var v playbook.Incident
	if d.int() != digestVersion {
		return v, errDigest
	}
	v.Number = d.int()
	v.Severity = playbook.Severity(d.int())
	v.Service = d.str()
	v.Private = d.bool()
	v.Commander = d.str()
	v.Status = playbook.Status(d.known(knownStatuses))
	v.RootCause = d.str()
	if n := d.count(1); n > 0 {
		v.RepeatOf = make([]int64, n)
		for i := range v.RepeatOf {
			v.RepeatOf[i] = d.int()
		}
	}
	v.Timers.PostmortemDone = d.bool()
	if n := d.count(2); n > 0 {
		v.Times = make(map[playbook.Phase]time.Time, n)
		for range n {
			p := playbook.Phase(d.known(knownPhases))
			v.Times[p] = d.time()
		}
	}
	if n := d.count(4); n > 0 {
		v.Actions = make([]playbook.ActionItem, n)
		for i := range v.Actions {
			a := &v.Actions[i]
			a.ID = int(d.int())
			a.Owner = d.str()
			a.Due = d.str()
			if d.bool() {
				a.Ticket = &playbook.Ticket{State: d.known(knownStates), ClosedAt: d.time()}
			}
		}
	}
	if d.err != nil {
		return playbook.Incident{}, d.err
	}
	return v, nil
}

// encodeDigestEvent encodes a figure event (see playbook.FigureEvent).
func encodeDigestEvent(e playbook.Event) []byte {
	w := &enc{b: make([]byte, 0, 64)}
	w.int(digestEventVersion)
	w.int(int64(e.Seq))
	w.str(string(e.Type))
	w.str(e.Actor)
	w.time(e.At)
	w.time(e.Recorded)
	p, ok := playbook.PayloadOf[playbook.PagePayload](e)
	w.bool(ok)
	if !ok {
		return w.b
	}
	w.str(p.Person)
	w.int(int64(len(p.Paged)))
	for _, s := range p.Paged {
		w.str(s)
	}
	return w.b
}

// decodeDigestEvent decodes what encodeDigestEvent wrote.
func decodeDigestEvent(b []byte) (playbook.Event, error) {
	d := &dec{b: b}
	var e playbook.Event
	v := d.int()
	if v != 1 && v != digestEventVersion {
		return e, errDigest
	}
	e.Seq = uint64(d.int())
	e.Type = playbook.EventType(d.known(knownEvents))
	e.Actor = d.str()
	e.At = d.time()
	e.Recorded = d.time()
	switch {
	case v == 1: // a store written before payloads were typed
		var data map[string]string
		if n := d.count(2); n > 0 {
			data = make(map[string]string, n)
			for range n {
				k := d.known(knownKeys)
				data[k] = d.str()
			}
		}
		if e.Type == playbook.EventPage {
			p, _ := playbook.DecodeLegacy(e.Type, data, "").(playbook.PagePayload)
			e.Payload = playbook.PagePayload{Person: p.Person, Paged: p.Paged}
		}
	case d.bool():
		p := playbook.PagePayload{Person: d.str()}
		if n := d.count(1); n > 0 {
			p.Paged = make([]string, n)
			for i := range p.Paged {
				p.Paged[i] = d.str()
			}
		}
		e.Payload = p
	}
	if d.err != nil {
		return playbook.Event{}, d.err
	}
	return e, nil
}
