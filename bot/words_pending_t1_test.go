package bot_test

// pendingWordsT1 are the literals TestNoSlackMarkupOrSentencesInBot still finds in
// the files helper t1 moves into templates (triage.go, update.go, declare.go, declare_form.go, list.go, home.go, incident.go, router.go, help.go, bot.go, permissions.go, connection.go, manifest.go).
// Keys are "file: literal"; the list only shrinks.
var pendingWordsT1 = map[string]string{}
