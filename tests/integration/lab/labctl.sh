#!/bin/bash
# labctl.sh start|stop|restart|status -- manage the lab daemons by PID file only.
# Never uses pkill/killall: every process is stopped through the PID file that
# the daemon (started by us) wrote.
set -u
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN=/run/lab
# the log directory chosen at setup time (setup.sh LAB_LOGDIR)
LOG=$(cat /etc/lab/logdir 2>/dev/null || echo /var/log/lab)
mkdir -p "$RUN"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

pid_alive() {   # pidfile expected-comm-substring
  local f="$1" want="$2" pid
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' < "$f")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$want"
}

stop_pidfile() {  # name pidfile expected-comm-substring
  local name="$1" f="$2" want="$3" pid i
  if pid_alive "$f" "$want"; then
    pid=$(tr -dc '0-9' < "$f")
    kill "$pid" 2>/dev/null
    for i in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && { echo "  $name ($pid) did not stop, sending KILL"; kill -9 "$pid" 2>/dev/null; }
    echo "  stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

# "127.0.0.1:25" -> "0100007F:0019", the form of /proc/net/tcp's local_address
hexaddr() {
  local ip=${1%:*} port=${1##*:} a b c d
  IFS=. read -r a b c d <<<"$ip"
  printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$port"
}
listening() { awk 'NR > 1 && $4 == "0A" {print $2}' /proc/net/tcp; }

clamav_enabled() { [ -f /etc/lab/clamav-enabled ]; }

do_start() {
  mkdir -p "$LOG"
  # 1. DNS stub (rspamd resolver) and the Internet sink
  if ! pid_alive $RUN/dnsstub.pid dnsstub.py; then
    nohup $PY "$LAB/dnsstub.py" --host 127.0.0.1 --port 5353 --pidfile $RUN/dnsstub.pid \
      >> $RUN/dnsstub.out 2>&1 < /dev/null &
    sleep 0.3
  fi
  if ! pid_alive $RUN/sink.pid sink.py; then
    nohup $PY "$LAB/sink.py" --host 127.0.0.2 --port 2525 --pidfile $RUN/sink.pid \
      >> $RUN/sink.out 2>&1 < /dev/null &
    sleep 0.3
  fi
  # 2. clamd (optional)
  if clamav_enabled && ! pid_alive /run/clamav/clamd.pid clamd; then
    mkdir -p /run/clamav && chown clamav:clamav /run/clamav
    touch $LOG/clamav.log && chown clamav:clamav $LOG/clamav.log
    clamd -c /etc/clamav/clamd-lab.conf < /dev/null >> $RUN/clamd.out 2>&1
  fi
  # 3. rspamd
  if ! pid_alive /run/rspamd/rspamd.pid rspamd; then
    mkdir -p /run/rspamd && chown _rspamd:_rspamd /run/rspamd
    touch $LOG/rspamd.log && chown _rspamd:_rspamd $LOG/rspamd.log
    rspamd -u _rspamd -g _rspamd < /dev/null >> $RUN/rspamd.out 2>&1
  fi
  # 4. dovecot
  if ! pid_alive /run/dovecot/master.pid dovecot; then
    dovecot -c /etc/dovecot/dovecot.conf < /dev/null >> $RUN/dovecot.out 2>&1
  fi
  # 5. postfix
  if ! pid_alive /var/spool/postfix/pid/master.pid master; then
    postfix start < /dev/null >> $RUN/postfix.out 2>&1 || { tail -5 $RUN/postfix.out; }
  fi
  # wait until every listener is bound (read from /proc/net/tcp: no probe
  # connections, so the logs stay free of "lost connection after CONNECT" noise;
  # and no dependency on iproute2's ss)
  local want ok i l
  for i in $(seq 1 60); do
    ok=1
    l=$(listening)
    for want in 127.0.0.1:25 127.0.0.1:587 127.0.0.1:143 127.0.0.1:110 127.0.0.1:4190 127.0.0.1:1587 127.0.0.1:2526 \
                127.0.0.1:11332 127.0.0.2:2525; do
      grep -qx "$(hexaddr "$want")" <<<"$l" || { ok=0; break; }
    done
    [ $ok = 1 ] && break
    sleep 0.5
  done
  [ $ok = 1 ] || { echo "ERROR: not all listeners came up (missing $want)" >&2; return 1; }
  if clamav_enabled; then
    for i in $(seq 1 120); do [ -S /run/clamav/clamd.ctl ] && break; sleep 0.5; done
    [ -S /run/clamav/clamd.ctl ] || { echo "ERROR: clamd socket did not appear" >&2; return 1; }
  fi
  return 0
}

do_stop() {
  if pid_alive /var/spool/postfix/pid/master.pid master; then
    postfix stop >/dev/null 2>&1
    for i in $(seq 1 50); do pid_alive /var/spool/postfix/pid/master.pid master || break; sleep 0.2; done
    echo "  stopped postfix"
  fi
  stop_pidfile dovecot /run/dovecot/master.pid dovecot
  stop_pidfile rspamd /run/rspamd/rspamd.pid rspamd
  stop_pidfile clamd /run/clamav/clamd.pid clamd
  stop_pidfile sink $RUN/sink.pid sink.py
  stop_pidfile dnsstub $RUN/dnsstub.pid dnsstub.py
}

do_status() {
  local n f w
  while read -r n f w; do
    if pid_alive "$f" "$w"; then echo "$n: running (pid $(tr -dc 0-9 < "$f"))"; else echo "$n: stopped"; fi
  done <<EOF
postfix /var/spool/postfix/pid/master.pid master
dovecot /run/dovecot/master.pid dovecot
rspamd /run/rspamd/rspamd.pid rspamd
clamd /run/clamav/clamd.pid clamd
sink $RUN/sink.pid sink.py
dnsstub $RUN/dnsstub.pid dnsstub.py
EOF
}

case "${1:-status}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
