package bot_test

// pendingWordsT2 are the literals TestNoSlackMarkupOrSentencesInBot still finds in
// the files helper t2 moved into templates (deploys.go, stats.go, signals.go,
// remediation.go, actions.go, gates.go, closing.go, metrics.go, opsmetrics.go,
// paging.go, channelfail.go, adapter.go, outbox.go). Empty: every Slack word
// of these files is in templates; the Prometheus HELP texts and the route
// words are left alone by rule and by wordsAllowed.
var pendingWordsT2 = map[string]string{}
