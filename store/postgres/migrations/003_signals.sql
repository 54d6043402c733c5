-- Detection (playbook.SignalStore): alert groups stored as the JSON the
-- domain encodes, and per service the live groups and the open incident its
-- alerts go to. Group IDs come from a sequence: a gap left by a rollback is
-- harmless, and replicas never hand out the same ID.
CREATE SEQUENCE klaxon_signal_group_ids;

CREATE TABLE klaxon_signal_groups (
	id   bigint PRIMARY KEY,
	data bytea  NOT NULL
);

-- One row per service ('' for unrouted alerts). Its row lock serialises the
-- updates of one service's detection state across replicas.
CREATE TABLE klaxon_signal_services (
	service  text     PRIMARY KEY,
	live     bigint[] NOT NULL DEFAULT '{}',
	incident bigint   NOT NULL DEFAULT 0
);
