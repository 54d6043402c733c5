#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of store/postgres and of the
# replicas: `source .ci/postgres.sh` starts one (the machine's PostgreSQL 15,
# Debian's package installed with apt-get only when it is missing) in a
# temporary directory on a free port, exports KLAXON_TEST_POSTGRES_DSN and
# stops it (and removes the directory) when the calling shell exits.
set -euo pipefail

pg_bin=/usr/lib/postgresql/15/bin
if [ ! -x "$pg_bin/initdb" ]; then
	echo "== installing PostgreSQL 15 (Debian's postgresql package)"
	if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql-15 >/dev/null
fi

pg_dir=$(mktemp -d /tmp/klaxon-pg.XXXXXX)
# initdb and postgres refuse to run as root: use the postgres account the
# package creates, or nobody.
as=()
if [ "$(id -u)" = 0 ]; then
	user=postgres
	id "$user" >/dev/null 2>&1 || user=nobody
	chown "$user" "$pg_dir"
	as=(runuser -u "$user" --)
fi

pg_stop() {
	"${as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$pg_dir"
}
trap pg_stop EXIT

"${as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U klaxon --auth=trust -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 || {
	cat "$pg_dir/initdb.log"
	exit 1
}
# A random port, retried if another process has it.
started=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 30000))
	if "${as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
		-o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null; then
		started=1
		break
	fi
done
if [ -z "$started" ]; then
	echo "PostgreSQL did not start:"
	cat "$pg_dir/server.log"
	exit 1
fi
export KLAXON_TEST_POSTGRES_DSN="postgres://klaxon@127.0.0.1:$port/postgres?sslmode=disable"
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (KLAXON_TEST_POSTGRES_DSN)"
