"""View-aware runs: `run(views={v})[v]` is exactly `run()[v]`, and skips the rest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import engine
from tracemail_tui.store.needs import Needs
from tracemail_tui.store.parse.header import split_lines

REAL = Path(__file__).parent / "fixtures" / "real"
FILES = ["mail.log", "dovecot.log", "rspamd.log", "clamav.log"]
VIEWS = ("accesses", "received", "sent", "mailbox")


def _frames() -> list[pl.DataFrame]:
    return [
        split_lines(pl.Series("raw", (REAL / f).read_text("utf-8").splitlines(), pl.String),
                    host="mx01", year=2026)
        for f in FILES
    ]


def _canon(df: pl.DataFrame, view: str) -> pl.DataFrame:
    if view == "mailbox":
        return df.sort(pl.all(), nulls_last=True)
    return df.sort("id")


@pytest.fixture(scope="module")
def real_full() -> engine.Result:
    return engine.run_lines(_frames())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tracemail_tui.gen import generate

    root = tmp_path_factory.mktemp("gen")
    generate(root, seed=7, lines=20_000, days=0.2)
    return root


@pytest.mark.parametrize("view", VIEWS)
def test_one_view_equals_full_run_on_real_logs(real_full: engine.Result, view: str) -> None:
    got = engine.run_lines(_frames(), views={view})
    assert real_full[view].height > 0
    assert _canon(got[view], view).equals(_canon(real_full[view], view)), view
    for other in set(VIEWS) - {view} - ({"received", "sent"} if view in ("received", "sent")
                                        else set()):
        assert got[other].height == 0, other


@pytest.mark.parametrize("view", VIEWS)
def test_one_view_equals_full_run_on_generated_logs(generated: Path, view: str) -> None:
    full = engine.run([generated])
    got = engine.run([generated], views={view}, chunk_bytes=256 * 1024)
    assert full[view].height > 100
    assert _canon(got[view], view).equals(_canon(full[view], view)), view


def test_view_pairs_and_unknown_views(real_full: engine.Result) -> None:
    got = engine.run_lines(_frames(), views={"received", "accesses"})
    for view in ("received", "accesses"):
        assert _canon(got[view], view).equals(_canon(real_full[view], view)), view
    with pytest.raises(ValueError, match="unknown view"):
        engine.Engine(views={"recieved"})


def test_needs_drop_lines_before_parsing() -> None:
    """The filters really drop what a view does not need (else no time is saved)."""
    lines = pl.concat(_frames())
    dv_all = lines.filter(pl.col("program") == "dovecot").height
    mail_only = Needs.of({"received"}).dovecot_lines(lines)
    assert 0 < mail_only.height < dv_all
    assert mail_only.get_column("msg").str.contains(r"^(?:lmtp|lda|dovecot-lda|deliver)").all()
    with_mailbox = Needs.of({"mailbox"}).dovecot_lines(lines).height
    assert mail_only.height < with_mailbox <= dv_all
    assert Needs.of({"accesses"}).dovecot_lines(lines).height == dv_all
    pf_all = lines.filter(pl.col("program").str.starts_with("postfix")).height
    assert 0 < Needs.of({"accesses"}).postfix_lines(lines).height < pf_all
    assert Needs.of(None) == Needs()


def test_dovecot_filter_keeps_every_delivery_form() -> None:
    """LMTP connection chatter goes; a hostile Message-ID cannot fake it, and cuts are
    byte-safe with non-ASCII users."""
    msgs = [
        "lmtp(a@b)<1><sess>: Connect from local",
        "lmtp(é€@b)<1><sess>: Disconnect from local: Successful quit",
        "lmtp(a@b)<1><sess>: sieve: msgid=<x: Connect from y>: stored mail into mailbox 'X'",
        "lmtp(12345, é@b): sess: msgid=<m>: saved mail to INBOX",
        "lda(a@b)<2>: msgid=<m>: saved mail to INBOX",
        "imap(a@b)<3><s>: save: box=INBOX, uid=1, msgid=<m>",
        "imap-login: Login: user=<a@b>, method=PLAIN",
    ]
    lines = pl.DataFrame({"program": ["dovecot"] * len(msgs), "msg": msgs})
    assert Needs.of({"sent"}).dovecot_lines(lines)["msg"].to_list() == msgs[2:5]
    assert Needs.of({"mailbox"}).dovecot_lines(lines)["msg"].to_list() == msgs[2:6]


@pytest.mark.parametrize("view", ["received", "sent"])
def test_mail_only_runs_skip_unused_lines_before_the_split_and_count_them(view: str) -> None:
    full = engine.run([REAL])
    got = engine.run([REAL], views={view})
    assert _canon(got[view], view).equals(_canon(full[view], view))
    assert full.stats.skipped == 0 and "skipped" not in full.stats.to_dict()
    assert got.stats.skipped > 0  # Dovecot logins and Rspamd housekeeping at least
    assert got.stats.lines == full.stats.lines  # read, even if not split


def test_raw_skip_takes_only_lines_no_mail_view_uses() -> None:
    lines = {
        # skipped
        "Nov 27 05:40:32 imap-login: Info: Login: user=<a@b.c>, method=PLAIN": True,
        "Nov 27 05:40:32 mx01 dovecot: pop3-login: Login: user=<a@b.c>": True,
        "2026-11-27T05:40:32.1+01:00 mx01 dovecot[7]: auth: Error: x": True,
        "Nov 27 05:40:33 imap(g@e.com)<1><xBi2fzthRbZ/AAAg>: Info: expunge: box=INBOX": True,
        "Nov 27 05:40:32 lmtp(123): Info: Connect from local": True,
        "Nov  7 05:40:32 mx01 dovecot: lmtp(123): Disconnect from local: Client has quit": True,
        "2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; proxy_accept_socket: x": True,
        # kept: deliveries, verdicts, Postfix, and look-alikes inside logged text
        "Nov 27 05:40:33 lmtp(g@e.com)<1><xBi2fzthRbZ/AAAg>: Info: sieve: msgid=<m>: "
        "stored mail into mailbox 'INBOX'": False,
        "Nov 27 05:40:33 mx01 dovecot: lmtp(g@e.com)<1><s>: msgid=<m>: saved mail to INBOX": False,
        "2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; rspamd_task_write_log: id": False,
        "Nov 27 05:39:56 mx01 postfix/cleanup[1]: A62A116255C: info: header Subject: "
        "imap-login: Login from x; from=<a@b> to=<c@d>": False,
        "Nov 27 05:39:56 imap postfix/smtpd[1]: connect from unknown[127.0.0.10]": False,
        "Nov 27 05:39:56 mx01 postfix/smtpd[1]: A62A116255C: client=unknown[127.0.0.10]": False,
        "Nov 27 05:40:32 mx01 cyrus/imap[123]: login: x": False,
    }
    for views in ({"received"}, {"sent"}, {"received", "sent"}):
        skip = Needs.of(views).raw_skip()
        assert skip is not None
        got = pl.DataFrame({"raw": list(lines)}).select(skip).to_series().to_list()
        assert dict(zip(lines, got, strict=True)) == lines
    for views in ({"accesses"}, {"mailbox"}, {"received", "accesses"}, None):
        assert Needs.of(views).raw_skip() is None
