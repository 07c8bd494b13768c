"""Rspamd (proxy worker, milter mode) scan lines, one `rspamd_task_write_log` per message."""

from __future__ import annotations

from tracemail_tui.gen.ctx import Ctx

_HAM = (
    "MIME_GOOD(-0.10){text/plain;},R_SPF_ALLOW(-0.20){+ip4;},R_DKIM_ALLOW(-0.20){%(d)s:s=mail;},"
    "DMARC_POLICY_ALLOW(-0.50){%(d)s;none;},ARC_NA(0.00){},FROM_HAS_DN(0.00){},"
    "MIME_TRACE(0.00){0:+;},RCPT_COUNT_ONE(0.00){1;},RCVD_COUNT_TWO(0.00){2;},TO_DN_NONE(0.00){}",
    "MIME_GOOD(-0.10){multipart/alternative;text/plain;},R_SPF_ALLOW(-0.20){+mx;},"
    "R_DKIM_NA(0.00){},ARC_NA(0.00){},FROM_EQ_ENVFROM(0.00){},MID_RHS_MATCH_FROM(0.00){},"
    "MIME_TRACE(0.00){0:+;1:+;2:~;},RCVD_TLS_LAST(0.00){},TO_MATCH_ENVRCPT_ALL(0.00){}",
    "R_MIXED_CHARSET(1.20){subject;},MIME_GOOD(-0.10){text/plain;},R_SPF_SOFTFAIL(0.00){~all;},"
    "ARC_NA(0.00){},FROM_HAS_DN(0.00){},MIME_TRACE(0.00){0:+;},RCVD_COUNT_THREE(0.00){3;}",
)
_SPAM = (
    "BAYES_SPAM(5.10){99.99%%;},R_SPF_FAIL(1.00){-all;},MIME_HTML_ONLY(0.20){},"
    "FROM_NEQ_ENVFROM(0.00){%(d)s;},ARC_NA(0.00){},RCVD_COUNT_ONE(0.00){1;}",
    "RBL_SPAMHAUS_XBL(4.00){%(ip)s:from;},SUBJ_ALL_CAPS(3.00){},HFILTER_HOSTNAME_UNKNOWN(2.50){},"
    "MIME_GOOD(-0.10){text/plain;},ARC_NA(0.00){}",
)


def scan(
    ctx: Ctx,
    t: float,
    host: str,
    qid: str,
    msgid: str,
    ip: str,
    sender: str,
    rcpts: list[str],
    kind: str,
    size: int,
    user: str | None = None,
    virus: str | None = None,
) -> tuple[str, float]:
    """Log one scan on `host`; returns (action word, score) as `rspamd_task_write_log` says.

    kind: ham | junk (add header) | reject (score) | gtube | quarantine | virus.
    """
    rng = ctx.rng
    tag = ctx.ids.tag()
    d = sender.rpartition("@")[2] or "localhost"
    if kind == "ham":
        score = round(rng.uniform(-1.5, 4.5), 2)
        head, syms = "F (no action)", _HAM[rng.randrange(3)] % {"d": d, "ip": ip}
    elif kind == "junk":
        score = round(rng.uniform(6.0, 14.5), 2)
        head, syms = "T (add header)", _SPAM[rng.randrange(2)] % {"d": d, "ip": ip}
    elif kind == "reject":
        score = round(rng.uniform(15.0, 32.0), 2)
        head, syms = "T (reject)", _SPAM[rng.randrange(2)] % {"d": d, "ip": ip}
    elif kind == "gtube":
        score, head, syms = 15.0, "S (reject)", "GTUBE(0.00){}"
    elif kind == "quarantine":
        score = round(rng.uniform(1.0, 5.0), 2)
        head = "T (quarantine)"
        syms = (
            "MIME_DOUBLE_BAD_EXTENSION(3.00){.pdf.exe;},MIME_GOOD(-0.10){multipart/mixed;text/plain;},"
            "FORCE_ACTION_QUARANTINE_EXE(0.00){quarantine;},HAS_ATTACHMENT(0.00){}"
        )
    else:  # virus
        score = round(rng.uniform(1.0, 5.0), 2)
        head = "T (reject)"
        syms = (
            f"MIME_BAD_EXTENSION(4.00){{exe;}},CLAM_VIRUS(0.00){{{virus};}},"
            "HAS_ATTACHMENT(0.00){},MIME_TRACE(0.00){0:+;1:+;2:-;}"
        )
    port = rng.randrange(32768, 60999)
    ctx.rs(
        t,
        host,
        tag,
        "proxy",
        f"proxy_accept_socket: accepted milter connection from 127.0.0.1 port {port}",
    )
    peer = f"[{ip}]" if ":" in ip else ip
    ctx.rs(
        t,
        host,
        tag,
        "milter",
        f"rspamd_milter_process_command: got connection from {peer}:{rng.randrange(1024, 65535)}",
    )
    digest = ctx.ids.digest()
    ctx.rs(
        t,
        host,
        tag,
        "proxy",
        f"rspamd_message_parse: loaded message; id: <{msgid}>; "
        f"queue-id: <{qid}>; size: {size}; checksum: <{digest}>",
    )
    forced = ""
    if kind == "gtube":
        forced = ', forced: reject "Gtube pattern"; score=15.00 (set by GTUBE)'
    elif kind == "quarantine":
        forced = (
            ', forced: quarantine "Quarantined: dangerous attachment"; '
            "score=nan (set by force_actions)"
        )
    elif kind == "virus":
        forced = f', forced: reject "clamav: virus found: "{virus}""; score=nan (set by clamav)'
    rc = ",".join(rcpts)
    u = f"user: {user}, " if user else ""
    ctx.rs(
        t + 0.001,
        host,
        tag,
        "proxy",
        f"rspamd_task_write_log: id: <{msgid}>, qid: <{qid}>, ip: {ip}, {u}from: <{sender}>, "
        f"(default: {head}: [{score:.2f}/15.00] [{syms}]), len: {size}, "
        f"time: {rng.uniform(0.3, 120):.3f}ms, dns req: {rng.randrange(0, 40)}, "
        f"digest: <{digest}>, rcpts: <{rc}>, mime_rcpts: <{rc}>{forced}",
    )
    ctx.rs(
        t + 0.002,
        host,
        ctx.ids.tag(),
        "proxy",
        "proxy_milter_finish_handler: finished milter connection",
    )
    action = head[head.index("(") + 1 : -1]
    return action, score
