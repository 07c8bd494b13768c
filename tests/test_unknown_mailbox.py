"""Lab R36 (real Postfix, Dovecot, Rspamd lines): Postfix accepts mail for an address its
virtual_mailbox_maps lists, and Dovecot's LMTP refuses it as an unknown user: the account
lists of the MTA and the mailbox server disagree. Not a full mailbox: the details say so."""

from __future__ import annotations

from pathlib import Path

from tracemail_tui.export.explain import DELIVERY_TEXT, NO_SUCH_MAILBOX_TEXT, explain
from tracemail_tui.store import engine

R36 = Path(__file__).parent / "fixtures" / "lab-r36"


def test_the_row_bounced_at_the_mailbox_server_and_says_why() -> None:
    result = engine.run([R36])
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    (row,) = result.views["received"].to_dicts()
    assert (row["recipient"], row["status"], row["delivery"], row["dsn"], row["folder"]) == (
        "olga@example.org", "accepted", "bounced", "5.1.1", None)
    assert "User doesn't exist: olga@example.org" in row["reason"]
    assert row["bounce_notice"] == "F135F168723"
    said = explain("received", row)
    assert NO_SUCH_MAILBOX_TEXT in said and DELIVERY_TEXT["bounced"] not in said
    assert said[-1].startswith("What to do: compare the account on the mailbox server")
    # the notice went back to petra's server
    (notice,) = result.views["sent"].to_dicts()
    assert (notice["recipient"], notice["status"], notice["bounce_of"]) == (
        "petra@partner.test", "delivered", "D4D7B168681")


def test_a_full_mailbox_keeps_its_own_text() -> None:
    full = {"status": "accepted", "delivery": "bounced", "dsn": "5.2.2",
            "reason": "… Quota exceeded (mailbox for user is full) …"}
    said = explain("received", full)
    assert DELIVERY_TEXT["bounced"] in said and NO_SUCH_MAILBOX_TEXT not in said
