#!/bin/bash
# run.sh -- one complete, reproducible lab run:
#   setup (install/config, idempotent) -> stop daemons -> reset state (queue,
#   mailboxes, logs, sink journal) -> start daemons -> scenarios.py ->
#   settle (deferred/hold mail stays queued) -> ground_truth.json + queue.txt
#
# usage: run.sh [LOGDIR [OUTDIR]]
#   LOGDIR  where the daemons write mail.log, dovecot.log, rspamd.log (, clamav.log)
#           (default: $LAB_LOGDIR or /var/log/lab). Only log files go there, so
#           the directory can be handed to tracemail as it is.
#   OUTDIR  where ground_truth.json and queue.txt go (default: LOGDIR/..)
# env: LAB_CLAMAV=0 drops ClamAV (and the EICAR scenario R11); LAB_KEEP_RUNNING=1
#      leaves the daemons running afterwards (default: stopped at the end).
set -euo pipefail
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOGDIR="${1:-${LAB_LOGDIR:-/var/log/lab}}"
mkdir -p "$LOGDIR"
LOGDIR="$(cd "$LOGDIR" && pwd -P)"
OUT="${2:-$(dirname "$LOGDIR")}"
mkdir -p "$OUT"
PY=/usr/bin/python3
export LAB_LOGDIR="$LOGDIR"
# one lab per machine (fixed loopback ports, system-wide config): serialise runs
mkdir -p /run/lab
exec 9>/run/lab/run.lock
flock -w 600 9 || { echo "run.sh: another lab run holds /run/lab/run.lock" >&2; exit 5; }
stamp() { date +%s.%N; }
t_all=$(stamp)

echo "== setup"
LAB_NO_START=1 bash "$LAB/setup.sh"
t_setup=$(stamp)

echo "== stop daemons"
bash "$LAB/labctl.sh" stop

echo "== reset state"
postsuper -d ALL >/dev/null 2>&1 || true
for d in /var/vmail/*/*/; do
  rm -rf "$d/Maildir" "$d/.dovecot.lda-dupes" "$d/.dovecot.lda-dupes.lock" "$d/dovecot."* 2>/dev/null || true
done
rm -rf /var/lib/lab-sink/journal.jsonl /var/lib/lab-sink/msgs
rm -f "$LOGDIR"/mail.log* "$LOGDIR"/dovecot.log* "$LOGDIR"/rspamd.log* "$LOGDIR"/clamav.log*
for f in mail.log dovecot.log rspamd.log; do : > "$LOGDIR/$f"; done
chown _rspamd:_rspamd "$LOGDIR/rspamd.log"
if [ -f /etc/lab/clamav-enabled ]; then : > "$LOGDIR/clamav.log"; chown clamav:clamav "$LOGDIR/clamav.log"; fi
chmod 0644 "$LOGDIR"/*.log

echo "== start daemons"
t_start=$(stamp)
bash "$LAB/labctl.sh" start 9>&-   # the daemons must not inherit the lock
bash "$LAB/labctl.sh" status
# let rspamd finish loading maps / hyperscan before the first message: wait for
# its proxy worker to log that it is up (at most 20 s), then a little slack
for _ in $(seq 1 80); do
  grep -q "rspamd_proxy" "$LOGDIR/rspamd.log" 2>/dev/null && break
  sleep 0.25
done
sleep 1
t_started=$(stamp)

echo "== scenarios"
rc=0
$PY "$LAB/scenarios.py" --logdir "$LOGDIR" --out "$OUT/ground_truth.json" || rc=$?
t_scen=$(stamp)

echo "== queue after settle (deferred / hold stay)"
postqueue -p > "$OUT/queue.txt" 2>&1 || true
tail -n 20 "$OUT/queue.txt"

if [ "${LAB_KEEP_RUNNING:-0}" != 1 ]; then
  echo "== stop daemons"
  bash "$LAB/labctl.sh" stop
fi
t_end=$(stamp)
awk -v a="$t_all" -v s="$t_setup" -v b="$t_start" -v c="$t_started" -v d="$t_scen" -v e="$t_end" \
  'BEGIN { printf "== timings: setup %.1fs, daemons start %.1fs, scenarios %.1fs, total %.1fs\n", s-a, c-b, d-c, e-a }'
ls -la "$LOGDIR"
echo "== done (scenarios rc=$rc)"
exit $rc
