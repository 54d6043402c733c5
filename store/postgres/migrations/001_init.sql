-- Klaxon's schema, version 1. Incidents and events are stored as the JSON the
-- domain encodes (bytea, not jsonb: jsonb refuses \u0000, which a title may
-- hold), so a field added to an incident needs no migration. The columns
-- beside the blob are the indexes the Store port queries by.

CREATE TABLE klaxon_counters (
	name  text PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO klaxon_counters (name, value) VALUES ('incident', 0);

CREATE TABLE klaxon_incidents (
	number     bigint PRIMARY KEY,
	data       bytea  NOT NULL,
	channel_id text,
	-- The wake index: the incident's earliest deadline in Unix nanoseconds
	-- (exact, unlike timestamptz's microseconds), NULL when it has none.
	wake_ns    bigint,
	-- The last event sequence number given out for this incident.
	last_seq   bigint NOT NULL DEFAULT 0
);
CREATE INDEX klaxon_incidents_channel ON klaxon_incidents (channel_id) WHERE channel_id IS NOT NULL;
CREATE INDEX klaxon_incidents_wake ON klaxon_incidents (wake_ns, number) WHERE wake_ns IS NOT NULL;

CREATE TABLE klaxon_events (
	number bigint NOT NULL REFERENCES klaxon_incidents (number),
	seq    bigint NOT NULL,
	data   bytea  NOT NULL,
	PRIMARY KEY (number, seq)
);

-- Idempotency keys (envelope IDs, action timestamps): recorded in the same
-- transaction as the change they guard.
CREATE TABLE klaxon_keys (
	key    text PRIMARY KEY,
	number bigint NOT NULL,
	at     timestamptz NOT NULL DEFAULT now()
);

-- The scheduler's leader: one row, a lease renewed by its holder. token
-- grows by one at each change of holder; the transaction that fires
-- deadlines checks it, so a deposed leader can never fire.
CREATE TABLE klaxon_leader (
	id         int PRIMARY KEY CHECK (id = 1),
	holder     text NOT NULL,
	token      bigint NOT NULL,
	expires_at timestamptz NOT NULL
);
