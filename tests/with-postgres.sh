#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at PostgreSQL: the server DATABASE_URL names, else the
# local one on 127.0.0.1:5432, else a throwaway server started here and removed afterwards.
set -euo pipefail

answers() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2)" "$1" 2>/dev/null; }

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi
if answers 5432; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
  exec "$@"
fi

bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/initdb" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ ! -x "$bindir/initdb" ]; then
  echo "No PostgreSQL answers on 127.0.0.1:5432 and initdb is not installed." >&2
  echo "Set DATABASE_URL, start PostgreSQL, or install it (apt-get install postgresql)." >&2
  exit 1
fi

dir=$(mktemp -d /tmp/groundwork-pg.XXXXXX)
port=55432
while answers "$port"; do port=$((port + 1)); done
as_owner=()
if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root
  owner=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
  chown "$owner" "$dir"
  as_owner=(runuser -u "$owner" --)
fi
stop() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
echo "Starting a throwaway PostgreSQL on port $port" >&2
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
