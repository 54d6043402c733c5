package bot

import (
	"errors"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonhq/klaxon/templates"
)

// MethodScopes maps every Web API method Klaxon calls with the bot token to
// the bot scopes it needs (public and private channels need one each). The manifest asks for exactly these
// scopes; a test checks that every method the end-to-end tests saw Klaxon call
// is listed here, so the two cannot drift apart.
var MethodScopes = map[string][]string{
	"auth.test":                {},
	"conversations.list":       {"channels:read", "groups:read"}, // public and private incident channels
	"conversations.create":     {"channels:manage", "groups:write"},
	"conversations.rename":     {"channels:manage", "groups:write"},
	"conversations.setTopic":   {"channels:manage", "groups:write"},
	"conversations.setPurpose": {"channels:manage", "groups:write"},
	"conversations.invite":     {"channels:manage", "groups:write"},
	"chat.update":              {"chat:write"},
	"conversations.members":    {"channels:read", "groups:read"}, // who may see a private incident

	"bookmarks.add":         {"bookmarks:write"},
	"pins.add":              {"pins:write"},
	"chat.postMessage":      {"chat:write"},
	"usergroups.users.list": {"usergroups:read"},
	"views.open":            {},
	"views.publish":         {},                               // the App Home tab
	"users.conversations":   {"channels:read", "groups:read"}, // a person's private incidents in the App Home
	// Detection and the outbox: before posting an offer or a stored message
	// again, look for the earlier post whose answer was lost (its key is in
	// the message metadata); replies for a post in a thread.
	"conversations.history": {"channels:history", "groups:history"},
	"conversations.replies": {"channels:history", "groups:history"},

	// The wrap-up: the post-mortem outline shared as a file (files.uploadV2),
	// the channel archived, participants' names for the outline, and a DM
	// for post-mortem reminders once the channel is archived.
	"files.getUploadURLExternal":   {"files:write"},
	"files.completeUploadExternal": {"files:write"},
	"files.info":                   {"files:read"}, // was an interrupted share done?
	"conversations.archive":        {"channels:manage", "groups:write"},
	"users.info":                   {"users:read"},
	// Paging: the on-call person found in Slack by their PagerDuty e-mail.
	"users.lookupByEmail": {"users:read", "users:read.email"},
	"conversations.open":  {"im:write"},
}

// BotScopes returns the sorted, distinct scopes of MethodScopes plus
// "commands" for the slash command.
func BotScopes() []string {
	scopes := []string{"commands"}
	for _, ss := range MethodScopes {
		for _, s := range ss {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	slices.Sort(scopes)
	return scopes
}

type manifest struct {
	DisplayInformation struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"display_information"`
	Features struct {
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		AppHome struct {
			HomeTabEnabled     bool `yaml:"home_tab_enabled"`
			MessagesTabEnabled bool `yaml:"messages_tab_enabled"`
		} `yaml:"app_home"`
		Shortcuts     []shortcut     `yaml:"shortcuts"`
		SlashCommands []slashCommand `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			BotEvents []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled bool `yaml:"is_enabled"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

type shortcut struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	CallbackID  string `yaml:"callback_id"`
	Description string `yaml:"description"`
}

type slashCommand struct {
	Command      string `yaml:"command"`
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint"`
	ShouldEscape bool   `yaml:"should_escape"`
}

// UsageHint is the slash command's usage hint: the declaration's form, then
// every subcommand the parser accepts, then help.
func UsageHint() string {
	return "declare [--private] [sev1-4] [service] <title> | " + strings.Join(Subcommands(), " | ") + " | help"
}

// Manifest renders the Slack app manifest (YAML) for "Create an app from a
// manifest": Socket Mode and interactivity on, the slash command, and exactly
// the bot scopes the code calls.
func Manifest(appName, command string) ([]byte, error) {
	// The manifest comes before the config is complete (the tokens are
	// made from it): its words are the embedded templates'.
	set := templates.Default()
	var errs []error
	say := func(name string) string {
		text, err := set.Render(name, nil)
		errs = append(errs, err)
		return text
	}
	var m manifest
	m.DisplayInformation.Name = appName
	m.DisplayInformation.Description = say("manifest.description")
	m.Features.BotUser.DisplayName = appName
	m.Features.BotUser.AlwaysOnline = true
	m.Features.SlashCommands = []slashCommand{{
		Command:     command,
		Description: say("manifest.command_description"),
		UsageHint:   UsageHint(),
		// Escaped text turns "@someone" into a user ID for "/incident ic";
		// Klaxon reads titles back as typed (Plain) and escapes them itself.
		ShouldEscape: true,
	}}
	for _, s := range router.shortcuts {
		m.Features.Shortcuts = append(m.Features.Shortcuts, shortcut{Name: say("manifest.shortcut." + s.CallbackID), Type: "message",
			CallbackID: s.CallbackID, Description: say("manifest.shortcut_description." + s.CallbackID)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.OAuthConfig.Scopes.Bot = BotScopes()
	// The App Home tab shows the open incidents and the figures.
	m.Features.AppHome.HomeTabEnabled = true
	m.Settings.Interactivity.IsEnabled = true
	m.Settings.SocketModeEnabled = true
	// A responder group's change reaches permissions at once (usergroups:read);
	// a paged person joining an incident's channel acknowledges a page sent
	// without PagerDuty (channels:read, groups:read).
	m.Settings.EventSubscriptions.BotEvents = []string{"app_home_opened", "member_joined_channel", "subteam_members_changed"}
	return yaml.Marshal(&m)
}
