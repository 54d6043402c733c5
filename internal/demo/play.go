package demo

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Playground is the page `klaxon demo --play` serves on 127.0.0.1: the fake
// workspace as a person sees Slack (channels on the left, messages with
// their blocks, buttons and forms), a message box for the slash command,
// and a "you are" switch between the workspace's people. Every command,
// click and form submission goes through the Driver, so through Socket Mode
// to the real bot.
type Playground struct {
	D *Driver

	mu   sync.Mutex
	done map[string]bool              // forms submitted or cancelled
	errs map[string]map[string]string // a refused form's errors, by block ID
	note string                       // the last thing that went wrong, shown once
}

//go:embed play.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"msgArgs": func(p pageData, m messageData) map[string]any { return map[string]any{"P": p, "M": m} },
	"btnArgs": func(p pageData, b Button, m messageData) map[string]any {
		return map[string]any{"P": p, "B": b, "Msg": m}
	},
	"initial": func(name string) string {
		for _, r := range name {
			return string(r)
		}
		return "?"
	},
}).Parse(pageHTML))

// maxForm bounds a request's form body: a command or a form is a few KB.
const maxForm = 64 << 10

// Handler serves the page and the actions.
func (p *Playground) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.page)
	mux.HandleFunc("GET /live", p.live)
	mux.HandleFunc("POST /command", p.command)
	mux.HandleFunc("POST /click", p.click)
	mux.HandleFunc("POST /submit", p.submit)
	mux.HandleFunc("POST /cancel", p.cancel)
	mux.HandleFunc("POST /advance", p.advance)
	mux.HandleFunc("POST /pagerduty/ack", p.ackPage)
	return http.MaxBytesHandler(mux, maxForm)
}

// who is the person acting, from ?as= (Jo, the visitor, by default).
func who(r *http.Request) string {
	as := r.FormValue("as")
	for _, pp := range People {
		if pp.ID == as {
			return as
		}
	}
	return Jo
}

func (p *Playground) channel(r *http.Request) string {
	c := r.FormValue("c")
	for _, id := range p.D.W.ChannelIDs() {
		if id == c {
			return c
		}
	}
	return OpsChannel
}

func back(w http.ResponseWriter, r *http.Request, channel, as string) {
	http.Redirect(w, r, "/?"+url.Values{"c": {channel}, "as": {as}}.Encode(), http.StatusSeeOther)
}

func (p *Playground) fail(msg string) {
	p.mu.Lock()
	p.note = msg
	p.mu.Unlock()
}

// actx bounds one action: an envelope is acked within 3 s, and the bot's
// work after it takes well under a second against the fakes.
func actx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 15*time.Second)
}

func (p *Playground) command(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	text := strings.TrimSpace(r.FormValue("text"))
	cmd := p.D.Command
	if cmd == "" {
		cmd = "/incident"
	}
	switch {
	case text == "":
	case text == cmd || strings.HasPrefix(text, cmd+" "):
		ctx, cancel := actx(r)
		defer cancel()
		if _, err := p.D.Slash(ctx, as, c, strings.TrimSpace(strings.TrimPrefix(text, cmd))); err != nil {
			p.fail("Slack could not deliver the command: " + err.Error())
		}
	case strings.HasPrefix(text, "/"):
		p.fail(strings.Fields(text)[0] + " is not a command here: this playground knows " + cmd + ".")
	default:
		// Plain text: a message as the person, as in Slack.
		p.D.W.Slack.AddMessage(c, as, "", text)
	}
	back(w, r, c, as)
}

func (p *Playground) click(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	b := Button{ActionID: r.FormValue("action_id"), BlockID: r.FormValue("block_id"), Value: r.FormValue("value"), Text: r.FormValue("text")}
	ctx, cancel := actx(r)
	defer cancel()
	if err := p.D.Click(ctx, as, c, r.FormValue("ts"), b); err != nil {
		p.fail(err.Error())
	}
	back(w, r, c, as)
}

func (p *Playground) view(id string) (fakeslack.View, bool) {
	for _, v := range p.D.W.Slack.Views() {
		if v.ID == id {
			return v, true
		}
	}
	return fakeslack.View{}, false
}

func (p *Playground) submit(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	v, ok := p.view(r.FormValue("view"))
	if !ok || v.User != as {
		p.fail("That form is no longer open.")
		back(w, r, c, as)
		return
	}
	values := map[string]string{}
	for _, b := range ParseBlocks(v.Blocks) {
		if b.Input != nil {
			values[b.Input.BlockID] = strings.Join(r.Form["f_"+b.Input.BlockID], ",")
		}
	}
	ctx, cancel := actx(r)
	defer cancel()
	errs, err := p.D.Submit(ctx, as, v, values)
	p.mu.Lock()
	switch {
	case err != nil:
		p.note = err.Error()
	case len(errs) > 0:
		p.errs[v.ID] = errs
	default:
		p.done[v.ID] = true
		delete(p.errs, v.ID)
	}
	p.mu.Unlock()
	back(w, r, c, as)
}

func (p *Playground) cancel(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	p.mu.Lock()
	p.done[r.FormValue("view")] = true
	p.mu.Unlock()
	back(w, r, c, as)
}

// advance jumps the demo clock, so that reminders, nudges and the gates'
// dwell come without waiting for them.
func (p *Playground) advance(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	d, err := time.ParseDuration(r.FormValue("by"))
	if err != nil || d <= 0 || d > 24*time.Hour {
		p.fail("The clock moves forward by 1s to 24h.")
	} else {
		// The scheduler wakes up; what it posts shows at the page's next poll.
		p.D.W.Clock.Advance(d)
	}
	back(w, r, c, as)
}

// ackPage acknowledges a page in the fake PagerDuty as its on-call, which
// tells Klaxon through PagerDuty's signed webhook.
func (p *Playground) ackPage(w http.ResponseWriter, r *http.Request) {
	as, c := who(r), p.channel(r)
	if err := p.D.W.AcknowledgePage(r.FormValue("id"), ""); err != nil {
		p.fail("PagerDuty: " + err.Error())
	}
	back(w, r, c, as)
}

// NewPlayground returns a playground acting through d.
func NewPlayground(d *Driver) *Playground {
	return &Playground{D: d, done: map[string]bool{}, errs: map[string]map[string]string{}}
}

type pageData struct {
	As, AsName string
	People     []personData
	Channels   []channelLink
	Channel    *ChannelView
	Messages   []messageData
	Form       *formData
	Note       string
	Command    string
	Topic      template.HTML
	Now        string
	Pages      []pageIncident
}

// pageIncident is an incident of the fake PagerDuty, as its app shows it.
type pageIncident struct {
	ID, Title, Status string
	OnCall            string // the first assignee, who acknowledges
	Ackable           bool
}

type personData struct {
	ID, Name, Role string
	Selected       bool
}

type channelLink struct {
	ID, Name, Href string
	Current        bool
	Archived       bool
	Private        bool
}

type messageData struct {
	TS, Time, Author, OnlyFor string
	Bot, Pinned, Edited       bool
	Blocks                    []blockData
	Files                     []string
	Replies                   []messageData
}

type blockData struct {
	Type    string
	Text    template.HTML
	Fields  []template.HTML
	Buttons []Button
}

type formData struct {
	ID, Title string
	Inputs    []inputData
}

type inputData struct {
	*Input
	Error  string
	People []personData
}

func (p *Playground) data(r *http.Request) pageData {
	as, c := who(r), p.channel(r)
	names := p.D.W.Names()
	href := func(id string) string { return "/?" + url.Values{"c": {id}, "as": {as}}.Encode() }
	d := pageData{As: as, AsName: PersonName(as), Command: p.D.Command, Now: p.D.W.Clock.Now().Format("Mon 15:04 UTC")}
	if d.Command == "" {
		d.Command = "/incident"
	}
	for _, pp := range People {
		d.People = append(d.People, personData{ID: pp.ID, Name: pp.Name, Role: pp.Role, Selected: pp.ID == as})
	}
	for _, pi := range p.D.W.PagerDuty.Incidents() {
		pg := pageIncident{ID: pi.ID, Title: pi.Title, Status: pi.Status, Ackable: pi.Status == "triggered"}
		if len(pi.Assignees) > 0 {
			pg.OnCall = PDPersonName(pi.Assignees[0])
		}
		if pi.AckedBy != "" {
			pg.Status += " by " + PDPersonName(pi.AckedBy)
		}
		d.Pages = append(d.Pages, pg)
	}
	chans := p.D.W.Channels()
	for i := range chans {
		cv := &chans[i]
		if cv.DM && cv.ID != as {
			continue // another person's DMs with the bot
		}
		d.Channels = append(d.Channels, channelLink{ID: cv.ID, Name: cv.Name, Href: href(cv.ID), Current: cv.ID == c, Archived: cv.Archived, Private: cv.Private})
		if cv.ID == c {
			d.Channel = cv
			d.Topic = names.HTML(cv.Topic, href)
		}
	}
	if d.Channel != nil {
		for _, it := range d.Channel.Items {
			if it.OnlyFor != "" && it.Msg.EphemeralUser != as {
				continue
			}
			d.Messages = append(d.Messages, p.message(it, names, href, as))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d.Note, p.note = p.note, ""
	if v, ok := p.D.OpenView(as, func(id string) bool { return p.done[id] }); ok {
		f := &formData{ID: v.ID, Title: v.Title}
		for _, b := range ParseBlocks(v.Blocks) {
			if b.Input != nil {
				f.Inputs = append(f.Inputs, inputData{Input: b.Input, Error: p.errs[v.ID][b.Input.BlockID], People: d.People})
			}
		}
		d.Form = f
	}
	return d
}

func (p *Playground) message(it Item, names Names, href func(string) string, as string) messageData {
	m := messageData{TS: it.Msg.TS, Time: it.At.Format("15:04"), Author: it.Author, OnlyFor: it.OnlyFor,
		Bot: it.Msg.User == fakeslack.BotUserID, Pinned: it.Pinned, Edited: it.Msg.Edited}
	if len(it.Blocks) == 0 {
		m.Blocks = append(m.Blocks, blockData{Type: "section", Text: names.HTML(it.Msg.Text, href)})
	}
	for _, b := range it.Blocks {
		bd := blockData{Type: b.Type, Text: names.HTML(b.Text, href), Buttons: b.Buttons}
		for _, f := range b.Fields {
			bd.Fields = append(bd.Fields, names.HTML(f, href))
		}
		m.Blocks = append(m.Blocks, bd)
	}
	for _, f := range it.Files {
		m.Files = append(m.Files, f.Name)
	}
	for _, r := range it.Replies {
		if r.OnlyFor != "" && r.Msg.EphemeralUser != as {
			continue
		}
		m.Replies = append(m.Replies, p.message(r, names, href, as))
	}
	return m
}

func (p *Playground) page(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "page")
}

// live is the part of the page that changes on its own (the scheduler's
// reminders, other people's actions): the page's script polls it.
func (p *Playground) live(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "livefrag")
}

func (p *Playground) render(w http.ResponseWriter, r *http.Request, name string) {
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, name, p.data(r)); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
