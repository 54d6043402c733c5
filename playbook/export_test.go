package playbook

// Deps gives playbook's own tests (package playbook_test included) the
// App's ports and configuration to change after New, as a test arranges a
// case; adapters outside playbook cannot reach them.
func (a *App) Deps() *Deps { return &a.deps }
