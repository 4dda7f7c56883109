#!/bin/sh
# pg_server.sh - a real PostgreSQL server for zjob's tests and benches
#
#   tests/pg_server.sh start DIR [--fast]   start one; DIR/conninfo gets its
#                                           libpq connection string
#   tests/pg_server.sh stop DIR             stop it and remove its data
#
# Debian's postgresql package, no mock: initdb in a fresh directory under
# /tmp (so the server's user can reach it whatever DIR's parents allow),
# listening on 127.0.0.1 at a free port and on a unix socket beside its
# data, trust authentication for the role zjob. PostgreSQL refuses to run
# as root, so as root the server runs as the postgres user the package
# made (else nobody); as anyone else it runs as that user. --fast turns
# off fsync and synchronous commit (tests kill zjobd, never the machine);
# without it the server is as durable as a default one (the benches).
# The CTest fixture "pg" runs start before the tests that need it and stop
# after them (CMakeLists.txt); tests read DIR/conninfo through $ZJOB_TEST_PG.
set -eu

usage () { echo "usage: $0 start DIR [--fast] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2
fast=${3:-}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg_server.sh: no PostgreSQL server found (make test installs Debian's postgresql)" >&2
    exit 1
fi

# Run a command as the server's user
as_server () {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$server_user" -- "$@"
    else
        "$@"
    fi
}
server_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then server_user=postgres; else server_user=nobody; fi
fi

stop () {
    [ -f "$dir/datadir" ] || return 0
    data=$(cat "$dir/datadir")
    if [ -d "$data/db" ]; then
        as_server "$bindir/pg_ctl" -D "$data/db" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_server "$bindir/pg_ctl" -D "$data/db" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$data"
    rm -f "$dir/datadir" "$dir/conninfo"
}

case "$action" in
stop)
    stop
    ;;
start)
    mkdir -p "$dir"
    stop  # a server left over by an interrupted run
    data=$(mktemp -d /tmp/zjob-pg.XXXXXX)
    echo "$data" > "$dir/datadir"
    chmod 755 "$data"
    [ "$(id -u)" = 0 ] && chown "$server_user" "$data"
    as_server "$bindir/initdb" -D "$data/db" -U zjob --auth=trust -E UTF8 --no-instructions \
        ${fast:+--no-sync} > "$data/initdb.log" 2>&1 || {
        cat "$data/initdb.log" >&2; exit 1; }
    options="-c listen_addresses=127.0.0.1 -k $data -c max_connections=200"
    [ "$fast" = --fast ] &&
        options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # A free port: try random ones until the server binds one
    tries=0
    while :; do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
        if as_server "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
            -o "-p $port $options" start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 10 ]; then
            echo "pg_server.sh: the server did not start:" >&2
            cat "$data/server.log" >&2
            exit 1
        fi
    done
    echo "host=127.0.0.1 port=$port user=zjob dbname=postgres" > "$dir/conninfo"
    echo "pg_server.sh: PostgreSQL ($bindir) on 127.0.0.1:$port, data in $data"
    ;;
*)
    usage
    ;;
esac
