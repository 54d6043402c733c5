package demo

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Item is one message as a person sees it in a channel: its final state
// (edited messages as they ended up), with its thread replies.
type Item struct {
	Msg      fakeslack.Message
	At       time.Time
	Author   string
	Blocks   []Block
	Pinned   bool
	Files    []fakeslack.File
	Replies  []Item
	OnlyFor  string // the person an ephemeral message is shown to
	Readable func(string) string
}

// View is a channel's content, ready to print or render.
type ChannelView struct {
	ID, Name, Topic string
	Private, DM     bool
	Archived        bool
	Items           []Item
}

// Channels reads every channel of the workspace with its messages,
// ephemeral ones included (marked with whom they were shown to).
func (w *Workspace) Channels() []ChannelView {
	names := w.Names()
	files := map[string]fakeslack.File{}
	for _, f := range w.Slack.Files() {
		files[f.ID] = f
	}
	var eph []fakeslack.Message
	for _, p := range People {
		eph = append(eph, w.Slack.Ephemerals(p.ID)...)
	}
	var out []ChannelView
	for _, id := range w.ChannelIDs() {
		cv := ChannelView{ID: id}
		msgs := w.Slack.Messages(id)
		pins := map[string]bool{}
		if isDM(id) {
			cv.DM, cv.Name = true, "Klaxon → "+PersonName(id)
		} else {
			c, _ := w.Slack.Channel(id)
			cv.Name, cv.Topic, cv.Private, cv.Archived = c.Name, c.Topic, c.Private, c.Archived
			for _, ts := range c.Pins {
				pins[ts] = true
			}
			for _, m := range eph {
				if m.Channel == id {
					msgs = append(msgs, m)
				}
			}
		}
		slices.SortStableFunc(msgs, func(a, b fakeslack.Message) int { return compareTS(a.TS, b.TS) })
		byTS := map[string]int{}
		for _, m := range msgs {
			it := Item{Msg: m, At: tsTime(m.TS), Author: PersonName(m.User), Blocks: ParseBlocks(m.Blocks), Pinned: pins[m.TS], Readable: names.Readable}
			if m.Ephemeral {
				it.OnlyFor = PersonName(m.EphemeralUser)
			}
			for _, fid := range m.Files {
				if f, ok := files[fid]; ok {
					it.Files = append(it.Files, f)
				}
			}
			if i, ok := byTS[m.ThreadTS]; ok && m.ThreadTS != "" && m.ThreadTS != m.TS {
				cv.Items[i].Replies = append(cv.Items[i].Replies, it)
				continue
			}
			byTS[m.TS] = len(cv.Items)
			cv.Items = append(cv.Items, it)
		}
		if len(cv.Items) > 0 || !cv.DM {
			out = append(out, cv)
		}
	}
	return out
}

func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	us, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(s, us*1000).UTC()
}

func compareTS(a, b string) int { return tsTime(a).Compare(tsTime(b)) }

// WriteTranscript prints the workspace channel by channel, as a person
// scrolling through Slack would read it: who said what and when, the
// buttons offered, the pins, threads and files.
func (w *Workspace) WriteTranscript(out io.Writer) {
	for _, cv := range w.Channels() {
		if len(cv.Items) == 0 && !strings.HasPrefix(cv.Name, "inc-") {
			continue // nothing happened there
		}
		head := "#" + cv.Name
		if cv.DM {
			head = cv.Name
		}
		var tags []string
		if cv.Private {
			tags = append(tags, "private")
		}
		if cv.Archived {
			tags = append(tags, "archived")
		}
		if len(tags) > 0 {
			head += " (" + strings.Join(tags, ", ") + ")"
		}
		fmt.Fprintf(out, "\n━━━ %s %s\n", head, strings.Repeat("━", max(3, 66-len([]rune(head)))))
		if cv.Topic != "" {
			fmt.Fprintf(out, "topic: %s\n", w.Names().Readable(cv.Topic))
		}
		for _, it := range cv.Items {
			writeItem(out, it, "")
		}
	}
}

func writeItem(out io.Writer, it Item, indent string) {
	who := it.Author
	var notes []string
	if it.OnlyFor != "" {
		notes = append(notes, "only visible to "+it.OnlyFor)
	}
	if it.Pinned {
		notes = append(notes, "📌 pinned")
	}
	if it.Msg.Edited {
		notes = append(notes, "edited")
	}
	if len(notes) > 0 {
		who += "  (" + strings.Join(notes, ", ") + ")"
	}
	fmt.Fprintf(out, "\n%s%s  %s\n", indent, it.At.Format("15:04"), who)
	pad := strings.Repeat(" ", len([]rune(indent))) + "       "
	body := BodyLines(it)
	for _, l := range body {
		if l == "" {
			fmt.Fprintln(out)
			continue
		}
		fmt.Fprintln(out, pad+l)
	}
	for _, r := range it.Replies {
		writeItem(out, r, indent+"    ↳ ")
	}
}

// BodyLines is a message's content as lines of plain text.
func BodyLines(it Item) []string {
	var lines []string
	add := func(s string) {
		for l := range strings.SplitSeq(strings.TrimRight(it.Readable(s), "\n"), "\n") {
			lines = append(lines, l)
		}
	}
	if len(it.Blocks) == 0 && it.Msg.Text != "" {
		add(it.Msg.Text)
	}
	for _, b := range it.Blocks {
		switch b.Type {
		case "header":
			add("▌" + strings.ToUpper(b.Text))
		case "divider":
			lines = append(lines, "────────")
		case "context":
			add("· " + b.Text)
		default:
			if b.Text != "" {
				add(b.Text)
			}
		}
		for _, f := range b.Fields {
			add("  " + f)
		}
		if b.Type == "section" && len(b.Buttons) == 1 && len(lines) > 0 && b.Text != "" {
			// An accessory: Slack shows it beside the text.
			first := len(lines) - strings.Count(strings.TrimRight(it.Readable(b.Text), "\n"), "\n") - 1
			lines[first] += "   [ " + b.Buttons[0].Text + " ]"
			continue
		}
		if len(b.Buttons) > 0 {
			var bs []string
			for _, bt := range b.Buttons {
				bs = append(bs, "[ "+bt.Text+" ]")
			}
			lines = append(lines, strings.Join(bs, " "))
		}
	}
	for _, f := range it.Files {
		lines = append(lines, fmt.Sprintf("📎 %s (%d bytes)", f.Name, len(f.Content)))
	}
	return lines
}
