package playbook

import (
	"context"
	"sync"
	"time"
)

// The channel is recorded beside the second round trip.
//
// SetUp used to store the channel Slack had just made before sending the
// calls that make the incident ready, so that nothing could happen in a
// channel Klaxon had not recorded. That commit (an fsync, queued behind the
// other writes of a burst) sat between the two round trips: ten
// declarations at once lost 2-13 ms to it. Now SetUp sends the second round
// as soon as Slack answers and writes the record meanwhile; the record is
// announced as under way before anything goes out, and every read or write
// of the incident through the App (by its number, or by its channel as a
// command typed in the channel, a click, a join are looked up) waits until
// the record is stored; a list of incidents waits for every record under
// way. So whatever happens in the new channel is seen
// against a recorded channel, exactly as before; the steps' own records
// follow the channel's. A kill before the record is durable leaves the
// channel's name stored (the declaration's intent) and nothing else: the
// restart adopts the channel instead of making a second one (createChannel),
// as it always did for a kill between the create call and its record.
//
// The wait covers this process. Another replica (driver postgres) that
// receives an event from the channel before the record lands reads the
// store as it is: Slack delivers such an event at the earliest one round
// trip after the second round went out, and the record, sent at the same
// moment, is one commit.

// channelRecords are the channel records under way, by incident number and
// by channel ID.
type channelRecords struct {
	mu   sync.Mutex
	byN  map[int64]*channelRecord
	byCh map[string]*channelRecord
	// waiting, when set (by a test), is called by each read or write that
	// is about to wait for a record.
	waiting func()
}

// channelRecord is one record under way; err is set before done is closed.
type channelRecord struct {
	done chan struct{}
	err  error
}

// wait returns once r is stored (or failed), with its error, or ctx's.
func (r *channelRecord) wait(ctx context.Context) error {
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *channelRecords) start(n int64, channelID string) *channelRecord {
	r := &channelRecord{done: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byN == nil {
		c.byN, c.byCh = map[int64]*channelRecord{}, map[string]*channelRecord{}
	}
	c.byN[n], c.byCh[channelID] = r, r
	return r
}

func (c *channelRecords) finish(n int64, channelID string, r *channelRecord, err error) {
	c.mu.Lock()
	if c.byN[n] == r {
		delete(c.byN, n)
	}
	if c.byCh[channelID] == r {
		delete(c.byCh, channelID)
	}
	c.mu.Unlock()
	r.err = err
	close(r.done)
}

// awaitN waits for incident n's record under way, if any.
func (c *channelRecords) awaitN(ctx context.Context, n int64) {
	c.mu.Lock()
	r, waiting := c.byN[n], c.waiting
	c.mu.Unlock()
	c.await(ctx, r, waiting)
}

// awaitCh waits for the record under way of channel channelID, if any.
func (c *channelRecords) awaitCh(ctx context.Context, channelID string) {
	c.mu.Lock()
	r, waiting := c.byCh[channelID], c.waiting
	c.mu.Unlock()
	c.await(ctx, r, waiting)
}

// awaitAll waits for every record under way.
func (c *channelRecords) awaitAll(ctx context.Context) {
	c.mu.Lock()
	rs := make([]*channelRecord, 0, len(c.byN))
	for _, r := range c.byN {
		rs = append(rs, r)
	}
	waiting := c.waiting
	c.mu.Unlock()
	for _, r := range rs {
		c.await(ctx, r, waiting)
	}
}

// await waits for r. A failed record leaves the store as it was and is its
// SetUp's to report: whoever waited reads the store either way.
func (c *channelRecords) await(ctx context.Context, r *channelRecord, waiting func()) {
	if r == nil {
		return
	}
	if waiting != nil {
		waiting()
	}
	_ = r.wait(ctx)
}

// recordChannel announces the record of ch as incident inc's channel as
// under way and returns at once, with inc as it will be stored, a function
// that waits for the record and returns its error, and write, which stores
// it (once; later calls do nothing). Reads and writes of the incident
// through the App wait for the record from now on (recordedStore).
//
// SetUp calls write once the second round's calls are on their way: in a
// burst the record's transaction (decoding and encoding the incident, then
// a commit) no longer takes the CPU those calls need to go out.
func (a *App) recordChannel(ctx context.Context, inc Incident, ch ChannelRef) (_ Incident, wait func(context.Context) error, write func()) {
	record := func(i *Incident, now time.Time) []Event {
		i.Channel = ch
		i.ChannelIntent = nil
		i.Timers.ChannelRetry = time.Time{}
		i.markDone(StepChannel, now)
		return []Event{NewEvent(EventChannelCreated, ActorKlaxon, now, "#"+ch.Name)}
	}
	r := a.records.start(inc.Number, ch.ID)
	write = sync.OnceFunc(func() {
		_, err := a.unrecordedStore().Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
			return record(i, a.deps.Clock.Now()), nil
		})
		a.records.finish(inc.Number, ch.ID, r, err)
	})
	record(&inc, a.deps.Clock.Now())
	return inc, r.wait, write
}

// unrecordedStore is the store without the wait for channel records, for
// the record itself.
func (a *App) unrecordedStore() Store {
	if s, ok := a.deps.Store.(recordedStore); ok {
		return s.Store
	}
	return a.deps.Store
}

// recordedStore is the App's store: reads and writes of one incident, by
// its number or its channel, wait for its channel record under way.
type recordedStore struct {
	Store
	records *channelRecords
}

func (s recordedStore) Get(ctx context.Context, n int64) (Incident, error) {
	s.records.awaitN(ctx, n)
	return s.Store.Get(ctx, n)
}

func (s recordedStore) ByChannel(ctx context.Context, channelID string) (Incident, error) {
	s.records.awaitCh(ctx, channelID)
	return s.Store.ByChannel(ctx, channelID)
}

func (s recordedStore) Update(ctx context.Context, n int64, fn func(*Incident) ([]Event, error)) (Incident, error) {
	s.records.awaitN(ctx, n)
	return s.Store.Update(ctx, n, fn)
}

func (s recordedStore) Apply(ctx context.Context, n int64, key string, fn func(*Incident) ([]Event, error)) (Incident, bool, error) {
	s.records.awaitN(ctx, n)
	return s.Store.Apply(ctx, n, key, fn)
}

// List waits for every channel record under way, so a list (the open
// incidents a person may see, say) shows a channel the moment a read by
// number or by channel would.
func (s recordedStore) List(ctx context.Context, keep func(*Incident) bool) ([]Incident, error) {
	s.records.awaitAll(ctx)
	return s.Store.List(ctx, keep)
}

func (s recordedStore) Timeline(ctx context.Context, n int64) ([]Event, error) {
	s.records.awaitN(ctx, n)
	return s.Store.Timeline(ctx, n)
}

// The store's optional scans (History, FigureSource) stay visible through
// the wrapper: they read every incident at once, with no channel record to
// wait for, and the fallback (an incident and its timeline at a time) is
// far slower over thousands of incidents.

func (s recordedStore) Scan(ctx context.Context, types []EventType, fn func(inc *Incident, events []Event) error) error {
	return ScanIncidents(ctx, s.Store, types, fn)
}

func (s recordedStore) ScanFigures(ctx context.Context, fn func(inc *Incident, events []Event) error) error {
	return ScanFigures(ctx, s.Store, fn)
}
