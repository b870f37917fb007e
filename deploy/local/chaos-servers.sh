# Private PostgreSQL, Redis and NATS JetStream servers for deploy/local/chaos-test.sh (sourced):
# the chaos test pauses, restarts and stops its servers, so it never uses the machine's shared
# ones (5432, 6379, 4222), which other tests are using. Everything lives under $SERVERS (a
# directory the caller chooses) and listens on $PG_PORT, $REDIS_PORT and $NATS_PORT.
#
#   servers_start        initdb + start PostgreSQL, start Redis and NATS, wait until each answers
#   servers_stop         stop all three (also a paused NATS), remove their data
#   pg_restart           pg_ctl restart -m fast (every connection is cut)
#   redis_stop / redis_start
#   nats_pause / nats_resume   SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing
#
# Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin or on PATH), redis-server,
# redis-cli and nats-server. As root, PostgreSQL runs as the `postgres` user (initdb refuses root).

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
  dirname "$(command -v pg_ctl)"
}

# Runs a PostgreSQL tool as the user owning the data directory.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ctl_() { as_pg "$(pg_bin_dir)/pg_ctl" -D "$SERVERS/pg" -l "$SERVERS/postgres.log" -w -t 60 "$@"; }

postgres_start() {
  mkdir -p "$SERVERS/pg" "$SERVERS/pg-socket"
  [ "$(id -u)" = 0 ] && chown postgres "$SERVERS/pg" "$SERVERS/pg-socket" "$SERVERS"
  as_pg "$(pg_bin_dir)/initdb" -D "$SERVERS/pg" -A trust -U postgres --no-sync >/dev/null
  # Seven processes with a pool of 16 each need more than the default 100 connections.
  pg_ctl_ -o "-p $PG_PORT -h 127.0.0.1 -k $SERVERS/pg-socket -c max_connections=250" start >/dev/null
}

redis_start() {
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$SERVERS" --pidfile "$SERVERS/redis.pid" --logfile "$SERVERS/redis.log"
  local _
  for _ in $(seq 1 50); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "chaos: redis did not start on $REDIS_PORT" >&2; return 1
}

redis_stop() { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }

nats_start() {
  nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$SERVERS/nats" -l "$SERVERS/nats.log" &
  echo $! >"$SERVERS/nats.pid"
  local _
  for _ in $(seq 1 50); do
    port_free "$NATS_PORT" || return 0
    sleep 0.1
  done
  echo "chaos: nats did not start on $NATS_PORT" >&2; return 1
}

nats_pause() { kill -STOP "$(cat "$SERVERS/nats.pid")"; }
nats_resume() { kill -CONT "$(cat "$SERVERS/nats.pid")"; }
pg_restart() { pg_ctl_ -m fast restart >/dev/null; }

servers_start() {
  local port
  for port in "$PG_PORT" "$REDIS_PORT" "$NATS_PORT"; do
    port_free "$port" || { echo "chaos: port $port is in use; set CHAOS_*_PORT" >&2; return 1; }
  done
  mkdir -p "$SERVERS"
  postgres_start
  redis_start
  nats_start
}

servers_stop() {
  if [ -f "$SERVERS/nats.pid" ]; then
    local pid
    pid="$(cat "$SERVERS/nats.pid")"
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$SERVERS/nats.pid"
  fi
  redis_stop
  [ -f "$SERVERS/pg/postmaster.pid" ] && pg_ctl_ -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$SERVERS/pg" "$SERVERS/nats"
}
