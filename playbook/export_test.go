package playbook

// Deps gives playbook's own tests (package playbook_test included) the
// App's ports and configuration to change after New, as a test arranges a
// case; adapters outside playbook cannot reach them.
func (a *App) Deps() *Deps { return &a.deps }

// OnChannelRecordWait makes every read or write that is about to wait for a
// channel record under way call f first.
func (a *App) OnChannelRecordWait(f func()) {
	a.records.mu.Lock()
	defer a.records.mu.Unlock()
	a.records.waiting = f
}

// OnStepQueued makes each setup step that succeeded call f once it is
// queued to be stored. Set it before the App runs a setup.
func (a *App) OnStepQueued(f func(Step)) { a.stepQueued = f }
