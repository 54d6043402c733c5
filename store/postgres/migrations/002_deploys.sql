-- The deploy log (playbook.DeployLog): one record per deployment, stored as
-- the JSON the domain encodes, with its creation time (Unix ns) indexed.
CREATE TABLE klaxon_deploys (
	key   text PRIMARY KEY, -- playbook.DeployKey: owner/name#id
	data  bytea,            -- NULL while a first save is in flight
	at_ns bigint NOT NULL DEFAULT 0
);
CREATE INDEX klaxon_deploys_at ON klaxon_deploys (at_ns, key) WHERE data IS NOT NULL;
