#!/bin/bash
# setup.sh -- install + configure the real mail-stack lab (idempotent) and
# (re)start its daemons, all bound to loopback.
#
#   Postfix   127.0.0.1:25 (MX), 127.0.0.1:587 (submission, STARTTLS+SASL)
#   Dovecot   127.0.0.1:143 imap, :110 pop3, :4190 managesieve, LMTP on a unix socket
#   Rspamd    127.0.0.1:11332 milter (proxy), :11333 normal, :11334 controller
#   ClamAV    /run/clamav/clamd.ctl (optional, one-signature offline DB)
#   sink.py   127.0.0.2:2525 -- "the Internet" (accept / 550 reject / 451 defer)
#   dnsstub.py 127.0.0.1:5353/udp -- rspamd's only resolver (NXDOMAIN for all)
#
# Options (env):
#   LAB_LOGDIR=DIR   where every daemon writes its log file (default /var/log/lab).
#                    DIR and all its parents must be world-traversable: rspamd and
#                    clamd write their logs as unprivileged users.
#   LAB_CLAMAV=0     skip ClamAV (and the EICAR scenario R11). Default 1: it is cheap,
#                    clamd starts in <1 s with the one-signature offline DB.
#   LAB_NO_START=1   only configure.
#   LAB_NO_INSTALL=1 never run apt-get; exit 3 if packages are missing.
#   LAB_FORCE=1      overwrite a Postfix/Dovecot configuration that the lab did not write.
# Exit status 3 means "cannot install the packages" (not root, no apt, apt failed);
# 4 means "this host has its own Postfix/Dovecot configuration: refusing to touch it".
set -euo pipefail
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$LAB/conf"
export DEBIAN_FRONTEND=noninteractive
LAB_CLAMAV="${LAB_CLAMAV:-1}"
LAB_LOGDIR="${LAB_LOGDIR:-/var/log/lab}"

log() { printf '[setup] %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup.sh: must run as root (it configures system daemons)" >&2; exit 3; }

# ----------------------------------------------------------------- log dir --
mkdir -p "$LAB_LOGDIR"
LAB_LOGDIR="$(cd "$LAB_LOGDIR" && pwd -P)"
chmod 0755 "$LAB_LOGDIR"
d="$LAB_LOGDIR"
while [ "$d" != / ]; do
  perm=$(stat -c %A "$d")
  [ "${perm:9:1}" = x ] || [ "${perm:9:1}" = t ] || {
    echo "setup.sh: $d is not world-traversable ($perm); rspamd/clamd could not write into $LAB_LOGDIR" >&2; exit 2; }
  d=$(dirname "$d")
done
case "$LAB_LOGDIR" in *[[:space:]\#\&]*) echo "setup.sh: LAB_LOGDIR must not contain spaces, # or &" >&2; exit 2 ;; esac
mkdir -p /etc/lab
echo "$LAB_LOGDIR" > /etc/lab/logdir
# render a config template: @LOGDIR@ -> the log directory
render() { sed -e "s#@LOGDIR@#$LAB_LOGDIR#g" "$1" > "$2.tmp" && chmod "$3" "$2.tmp" && mv "$2.tmp" "$2"; }

# ----------------------------------------------------------------- packages --
PKGS="postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve dovecot-managesieved dovecot-submissiond rspamd openssl"
[ "$LAB_CLAMAV" = 1 ] && PKGS="$PKGS clamav-daemon"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Safety: a host whose Postfix/Dovecot were configured by someone else (a developer's
# real mail server...) is never reconfigured unless LAB_FORCE=1. Debian's untouched
# default dovecot.conf (fresh install) may be replaced.
MARK="installed by setup.sh (mail-stack lab)"
refuse() {
  echo "setup.sh: $1 exists and was not written by the lab; refusing to overwrite it (LAB_FORCE=1 to override)" >&2
  exit 4
}
if [ "${LAB_FORCE:-0}" != 1 ]; then
  f=/etc/postfix/main.cf
  if [ -s $f ] && ! grep -qF "$MARK" $f; then refuse $f; fi
  # Debian ships dovecot.conf and conf.d/ as ucf templates in /usr/share/dovecot:
  # identical files mean nobody configured this Dovecot yet
  f=/etc/dovecot/dovecot.conf
  if [ -s $f ] && ! grep -qF "$MARK" $f; then
    cmp -s $f /usr/share/dovecot/dovecot.conf || refuse $f
    for c in /etc/dovecot/conf.d/*; do
      [ -f "$c" ] || continue
      cmp -s "$c" "/usr/share/dovecot/conf.d/${c##*/}" || refuse "$c"
    done
  fi
fi

if [ -n "$missing" ]; then
  if [ "${LAB_NO_INSTALL:-0}" = 1 ] || ! command -v apt-get >/dev/null; then
    echo "setup.sh: missing Debian packages:$missing (and LAB_NO_INSTALL=1 or no apt-get)" >&2; exit 3
  fi
  log "installing:$missing"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string mx01.example.com" | debconf-set-selections
  # Never let package scripts start services (a systemd host would otherwise
  # start postfix on *:25 or freshclam, which downloads signatures from the
  # Internet). Containers usually have a policy-rc.d already; add one if not.
  tmp_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && tmp_policy=1
  fi
  apt_rc=0
  apt-get update -q >/tmp/lab-apt.log 2>&1 || apt_rc=$?
  [ $apt_rc = 0 ] && { apt-get install -y -q $missing >>/tmp/lab-apt.log 2>&1 || apt_rc=$?; }
  [ $tmp_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $apt_rc = 0 ] || { tail -30 /tmp/lab-apt.log >&2; echo "setup.sh: apt-get failed (rc $apt_rc)" >&2; exit 3; }
else
  log "packages already installed"
fi

# stop what we run before rewriting configs (only daemons started via PID files)
[ "${LAB_NO_START:-0}" = 1 ] || bash "$LAB/labctl.sh" stop

# --------------------------------------------------------------- base dirs --
mkdir -p /run/lab /var/lib/lab-sink
getent group vmail >/dev/null || groupadd -g 5000 vmail
getent passwd vmail >/dev/null || useradd -u 5000 -g vmail -d /var/vmail -s /usr/sbin/nologin -M vmail
mkdir -p /var/vmail && chown vmail:vmail /var/vmail && chmod 0750 /var/vmail

# ---------------------------------------------------------------------- TLS --
if [ ! -s /etc/ssl/lab/mx01.example.com.crt ]; then
  log "creating self-signed certificate for mx01.example.com"
  mkdir -p /etc/ssl/lab && chmod 0755 /etc/ssl/lab
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx01.example.com" \
    -addext "subjectAltName=DNS:mx01.example.com,IP:127.0.0.1" \
    -keyout /etc/ssl/lab/mx01.example.com.key -out /etc/ssl/lab/mx01.example.com.crt 2>/dev/null
  chmod 0600 /etc/ssl/lab/mx01.example.com.key
fi

# ------------------------------------------------------------------ Postfix --
log "configuring postfix"
echo mx01.example.com > /etc/mailname
render "$CONF/postfix/main.cf" /etc/postfix/main.cf 0644
install -m 0644 "$CONF/postfix/master.cf" /etc/postfix/master.cf
mkdir -p /etc/postfix/lab
for f in transport vmailbox virtual sender_login verify clients tempfail header_checks postscreen_access; do
  install -m 0644 "$CONF/postfix/lab/$f" /etc/postfix/lab/$f
done
for f in transport vmailbox virtual sender_login verify clients tempfail; do postmap hash:/etc/postfix/lab/$f; done
postfix set-permissions >/dev/null 2>&1 || true
postfix check

# ------------------------------------------------------------------ Dovecot --
log "configuring dovecot"
[ -f /etc/dovecot/dovecot.conf.debian-orig ] || cp -p /etc/dovecot/dovecot.conf /etc/dovecot/dovecot.conf.debian-orig
render "$CONF/dovecot/dovecot.conf" /etc/dovecot/dovecot.conf 0644
# users: email  password  passdb-extra-fields
USERS_TSV="$CONF/users/users.tsv"
: > /etc/dovecot/lab-passdb.new; : > /etc/dovecot/lab-userdb.new; : > /etc/dovecot/lab-deny.new
while IFS=$'\t' read -r email pw extra deny udb; do
  case "$email" in ''|\#*) continue ;; esac
  [ "$extra" = "-" ] && extra=""
  [ "$udb" = "-" ] && udb=""
  hash=$(doveadm pw -s SHA512-CRYPT -p "$pw")
  dom=${email#*@}; usr=${email%@*}
  echo "$email:$hash::::::$extra" >> /etc/dovecot/lab-passdb.new
  echo "$email::5000:5000::/var/vmail/$dom/$usr::$udb" >> /etc/dovecot/lab-userdb.new
  [ "$deny" = "deny" ] && echo "$email" >> /etc/dovecot/lab-deny.new
  install -d -o vmail -g vmail -m 0750 "/var/vmail/$dom" "/var/vmail/$dom/$usr"
  if [ -f "$CONF/users/$email.sieve" ]; then
    install -d -o vmail -g vmail "/var/vmail/$dom/$usr/sieve"
    install -o vmail -g vmail -m 0640 "$CONF/users/$email.sieve" "/var/vmail/$dom/$usr/sieve/lab.sieve"
    ln -sfn sieve/lab.sieve "/var/vmail/$dom/$usr/.dovecot.sieve"
    chown -h vmail:vmail "/var/vmail/$dom/$usr/.dovecot.sieve"
    rm -f "/var/vmail/$dom/$usr/sieve/lab.svbin"
    su -s /bin/sh vmail -c "sievec /var/vmail/$dom/$usr/sieve/lab.sieve"
  fi
done < "$USERS_TSV"
for f in lab-passdb lab-userdb lab-deny; do
  mv /etc/dovecot/$f.new /etc/dovecot/$f
  chown root:dovecot /etc/dovecot/$f; chmod 0640 /etc/dovecot/$f
done
mkdir -p /etc/dovecot/sieve/before.d
install -m 0644 "$CONF/dovecot/sieve/before.d/"*.sieve /etc/dovecot/sieve/before.d/
rm -f /etc/dovecot/sieve/before.d/*.svbin
sievec /etc/dovecot/sieve/before.d/
doveconf -n -c /etc/dovecot/dovecot.conf >/dev/null

# ------------------------------------------------------------------- ClamAV --
rm -f /etc/lab/clamav-enabled /etc/rspamd/local.d/antivirus.conf
if [ "$LAB_CLAMAV" = 1 ] && command -v clamd >/dev/null; then
  log "configuring clamd with an offline one-signature DB (EICAR)"
  mkdir -p /var/lib/clamav /run/clamav && chown clamav:clamav /var/lib/clamav /run/clamav
  /usr/bin/python3 - <<'EOF'
import hashlib, os
e = rb'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
with open('/var/lib/clamav/lab-eicar.ndb', 'w') as fh:
    fh.write('Lab.Eicar-Test-Signature:0:*:%s\n' % e.hex())
with open('/var/lib/clamav/lab-eicar.hdb', 'w') as fh:
    fh.write('%s:%d:Lab.Eicar-Test-Signature.hash\n' % (hashlib.md5(e).hexdigest(), len(e)))
EOF
  chown clamav:clamav /var/lib/clamav/lab-eicar.*
  sed -e "s#^LogFile .*#LogFile $LAB_LOGDIR/clamav.log#" \
      -e 's#^SelfCheck .*#SelfCheck 0#' \
      -e 's#^LocalSocket .*#LocalSocket /run/clamav/clamd.ctl#' \
      -e '/^PidFile/d' /etc/clamav/clamd.conf > /etc/clamav/clamd-lab.conf
  echo "PidFile /run/clamav/clamd.pid" >> /etc/clamav/clamd-lab.conf
  touch /etc/lab/clamav-enabled
fi

# ------------------------------------------------------------------- Rspamd --
log "configuring rspamd"
mkdir -p /etc/rspamd/local.d /etc/rspamd/override.d
for f in "$CONF"/rspamd/local.d/*; do
  case "$f" in *.clamav) continue ;; esac
  render "$f" "/etc/rspamd/local.d/$(basename "$f")" 0644
done
install -m 0644 "$CONF"/rspamd/override.d/* /etc/rspamd/override.d/
if [ -f /etc/lab/clamav-enabled ]; then
  install -m 0644 "$CONF/rspamd/local.d/antivirus.conf.clamav" /etc/rspamd/local.d/antivirus.conf
fi
# NOTE: no "rspamadm configtest" here: rspamadm builds a resolver from
# /etc/resolv.conf (ignoring options.dns) and opens a TCP connection to the
# system nameserver -- the lab must never talk to a non-loopback address.
# A broken rspamd config shows up as "rspamd: stopped" in labctl status.

# ------------------------------------------------------------------- start ---
if [ "${LAB_NO_START:-0}" != 1 ]; then
  log "starting daemons"
  bash "$LAB/labctl.sh" start
  bash "$LAB/labctl.sh" status
fi
log "done"
