package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonhq/klaxon/playbook"
)

// Alerts configures alert intake: POST /webhooks/alertmanager, the offers in
// the triage channel, the correlation and confidence rules.
type Alerts struct {
	// Token is the bearer token Alertmanager sends (http_config.authorization
	// .credentials). Unset: the webhook route is off.
	Token Secret
	// TriageChannel (C…/G…) is where offers to declare are posted; required
	// when Token is set.
	TriageChannel string
	// CorrelationWindow groups a service's signals (default 10m).
	CorrelationWindow time.Duration
	// DefaultService takes alerts no service matches; "" records them as
	// unrouted. It must name a configured service.
	DefaultService string
	// KindLabel is the label naming a signal's kind (default "kind").
	KindLabel string
	// Kinds classify alerts by alertname, in file order.
	Kinds []playbook.KindRule
	// The confidence rules (alerts.confidence.*); 0 means the playbook's default.
	BurnRateHigh     Factor
	HeightenedFactor Factor
	DeployWithin     time.Duration
}

// Factor is a burn rate or a divisor ("14.4x"). It has a String method so
// that a Config prints with any verb.
type Factor float64

func (f Factor) String() string { return strconv.FormatFloat(float64(f), 'f', -1, 64) + "x" }

// Enabled reports whether the Alertmanager webhook is on.
func (a Alerts) Enabled() bool { return a.Token.IsSet() }

// Rules are the detection rules for the playbook, defaults filled in.
func (a Alerts) Rules() playbook.DetectionRules {
	return playbook.DetectionRules{
		KindLabel: a.KindLabel, Kinds: a.Kinds, Window: a.CorrelationWindow,
		BurnRateHigh: float64(a.BurnRateHigh), HeightenedFactor: float64(a.HeightenedFactor), DeployWithin: a.DeployWithin,
	}.WithDefaults()
}

// alerts reads the alerts section. default_service is checked against the
// services in checkAlerts, once both are read.
func (d *decoder) alerts(n *yaml.Node, path string, a *Alerts) {
	var token secretSource
	fields := map[string]field{
		"triage_channel": d.str(&a.TriageChannel, func(v scalar) string {
			if v.val == "" || channelRE.MatchString(v.val) {
				return ""
			}
			return fmt.Sprintf("not a channel ID: %s (want C… or G…, like C0TRIAGE)", v.show())
		}),
		"correlation_window": func(n *yaml.Node, p string) {
			if v, node, ok := d.duration(n, p, time.Second); ok {
				if v > 24*time.Hour {
					d.add(node, p, "must be at most 24h")
					return
				}
				a.CorrelationWindow = v
			}
		},
		"default_service": func(n *yaml.Node, p string) {
			if v, ok := d.scalar(n, p); ok {
				a.DefaultService = strings.TrimSpace(v.val)
				d.defaultServiceNode = v.node
			}
		},
		"kind_label": d.str(&a.KindLabel, func(v scalar) string {
			if playbook.ValidLabelName(v.val) {
				return ""
			}
			return fmt.Sprintf("not a label name: %s (want letters, digits and _, not starting with a digit)", v.show())
		}),
		"kinds": func(n *yaml.Node, p string) { d.kinds(n, p, &a.Kinds) },
		"confidence": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"burn_rate":         d.ratio(&a.BurnRateHigh, 1),
				"heightened_factor": d.ratio(&a.HeightenedFactor, 1),
				"deploy_within":     d.durationField(&a.DeployWithin, time.Second),
			})
		},
	}
	d.secretFields(fields, "token", &token)
	d.mapping(n, path, fields)
	d.secret(&a.Token, joinKey(path, "token"), token)
	d.alertsNode = n
}

// ratio reads a number of at least lo (a burn rate, a factor).
func (d *decoder) ratio(dst *Factor, lo float64) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v.val), "x"), 64)
		if err != nil || f < lo || f > 1000 {
			d.add(v.node, p, "want a number from %g to 1000, like 14.4, not %s", lo, v.show())
			return
		}
		*dst = Factor(f)
	}
}

// kinds reads {kind: [regexp, …]} in file order.
func (d *decoder) kinds(n *yaml.Node, path string, dst *[]playbook.KindRule) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping of kind: [regular expressions], like error_rate: ['.*Error.*'], not %s", kindName(n))
		return
	}
	var out []playbook.KindRule
	for _, p := range d.pairs(n, path, 0) {
		kp := joinKey(path, p.key.Value)
		kind, ok := playbook.ParseSignalKind(p.key.Value)
		if !ok || kind == playbook.KindOther {
			d.add(p.key, kp, "not a signal kind: want one of slo_burn_rate, error_rate, latency, synthetic, saturation")
			continue
		}
		list := d.resolve(p.val)
		if list == nil || list.Kind != yaml.SequenceNode {
			d.add(p.val, kp, "want a list of regular expressions matched against alertname")
			continue
		}
		rule := playbook.KindRule{Kind: kind}
		for i, item := range list.Content {
			ip := kp + "[" + strconv.Itoa(i) + "]"
			v, ok := d.scalar(item, ip)
			if !ok {
				continue
			}
			re, err := playbook.CompileKindPattern(v.val)
			if err != nil || v.val == "" {
				d.add(v.node, ip, "not a regular expression: %s", v.show())
				continue
			}
			rule.Patterns = append(rule.Patterns, re)
		}
		out = append(out, rule)
	}
	*dst = out
}

// serviceAlerts reads services[].alerts: {match: {label: value, …}}.
func (d *decoder) serviceAlerts(n *yaml.Node, path string, dst *playbook.Matcher) {
	d.mapping(n, path, map[string]field{
		"match": func(n *yaml.Node, p string) {
			n = d.resolve(n)
			if isNull(n) {
				return
			}
			if n.Kind != yaml.MappingNode {
				d.add(n, p, "want label: value pairs, like {service: checkout}, not %s", kindName(n))
				return
			}
			m := playbook.Matcher{}
			bad := false
			for _, pr := range d.pairs(n, p, 0) {
				kp := joinKey(p, pr.key.Value)
				if !playbook.ValidLabelName(pr.key.Value) {
					d.add(pr.key, kp, "not a label name (want letters, digits and _, not starting with a digit)")
					bad = true
					continue
				}
				if v, ok := d.scalar(pr.val, kp); ok {
					m[pr.key.Value] = v.val
				} else {
					bad = true
				}
			}
			if bad {
				return
			}
			if len(m) == 0 {
				d.add(n, p, "empty: name at least one label, or leave alerts out for service = the service's name")
				return
			}
			*dst = m
		},
	})
}

// autoDeclare reads services[].auto_declare.
func (d *decoder) autoDeclare(dst *playbook.Confidence) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		c, ok := playbook.ParseAutoDeclare(v.val)
		if !ok {
			d.add(v.node, p, "want off, medium or high, not %s", v.show())
			return
		}
		*dst = c
	}
}

// checkAlerts cross-checks the alerts section with the services.
func (d *decoder) checkAlerts(c *Config) {
	a := &c.Alerts
	if a.DefaultService != "" {
		if s, ok := c.Service(a.DefaultService); ok {
			a.DefaultService = s.Name
		} else {
			d.add(d.defaultServiceNode, "alerts.default_service", "%s is not a configured service (leave it empty to record unmatched alerts as unrouted)", quoteText(a.DefaultService))
		}
	}
	if a.Token.IsSet() && !c.HTTP.Enabled() {
		d.add(d.alertsNode, "alerts.token", "alert intake needs the HTTP listener: set http.listen (it is off)")
	}
	if a.Token.IsSet() && a.TriageChannel == "" {
		d.add(d.alertsNode, "alerts.triage_channel", "required when alerts.token is set: the ID (C…) of the channel where Klaxon offers to declare")
	}
}
