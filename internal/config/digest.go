package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Digest configures the weekly digest: the week's figures against the
// targets and the previous week, the chart, and what is overdue, posted to
// a channel on a cron spec.
type Digest struct {
	// Channel (C…/G…) receives the digest; empty: no digest.
	Channel string
	// Schedule is a standard 5-field cron spec or descriptor, read in
	// Timezone; loading has checked that cron.ParseStandard accepts it.
	Schedule string
	// Timezone is the zone Schedule is read in: scheduler.timezone unless
	// digest.timezone sets one. Never nil after loading.
	Timezone     *time.Location
	TimezoneName string
	zoneSet      bool // digest.timezone was in the file
}

// DefaultDigestSchedule is Mondays at 09:00.
const DefaultDigestSchedule = "0 9 * * 1"

// Enabled reports whether a digest channel is configured.
func (d Digest) Enabled() bool { return d.Channel != "" }

// digest reads the digest section. The time zone defaults to the
// scheduler's, which the file may set after this section: applyDigestZone
// fills it in once the whole file is read.
func (d *decoder) digest(n *yaml.Node, path string, g *Digest) {
	d.mapping(n, path, map[string]field{
		"channel": d.str(&g.Channel, func(v scalar) string {
			if v.val == "" || channelRE.MatchString(v.val) {
				return ""
			}
			return fmt.Sprintf("not a channel ID: %s (want C… or G…, like C0DIGEST)", v.show())
		}),
		"schedule": d.cronField(&g.Schedule),
		"timezone": d.zoneField(func(loc *time.Location, name string) {
			g.Timezone, g.TimezoneName, g.zoneSet = loc, name, true
		}),
	})
}

// applyDigestZone gives the digest the scheduler's zone when it names none.
func applyDigestZone(c *Config) {
	if !c.Digest.zoneSet {
		c.Digest.Timezone, c.Digest.TimezoneName = c.Scheduler.Timezone, c.Scheduler.TimezoneName
	}
}

// zoneField reads an IANA time zone name and hands over the loaded zone.
func (d *decoder) zoneField(set func(*time.Location, string)) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		name := strings.TrimSpace(v.val)
		if loc, msg := loadZone(name, v); msg != "" {
			d.add(v.node, p, "%s", msg)
		} else {
			set(loc, name)
		}
	}
}

// cronField reads a cron spec the way the calendar jobs will parse it.
func (d *decoder) cronField(dst *string) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		spec := strings.TrimSpace(v.val)
		if msg := checkCron(spec, v); msg != "" {
			d.add(v.node, p, "%s", msg)
			return
		}
		*dst = spec
	}
}
