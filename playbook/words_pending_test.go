package playbook_test

// pendingWords are the literals TestNoSlackMarkupOrSentencesInPlaybook still
// finds in playbook, each with the helper who owes its move to templates.
// Keys are "file: literal"; the list only shrinks. It is empty: every word
// a person reads is rendered by templates (the catalogues' labels, the
// all-clear's final update, the default tiers' impact and response).
var pendingWords = map[string]string{}
