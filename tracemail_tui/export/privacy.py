"""What may leave the process: scope, subjects and pseudonyms applied in one place.

Every output (CLI table/CSV/JSON, PDF reports, the TUI) goes through a `Privacy`:

- **scope**: only rows whose account or counterpart is in the scope domains
  (`store.query.scope_expr`); a row out of scope is "not found", never shown;
- **evidence lines** of an in-scope row can still name other customers (one SMTP
  transaction to recipients of several domains): every address in them that is neither
  in the scope domains nor one of the row's own addresses is replaced by
  ``[out-of-scope address]``;
- **subjects**: ``show_subjects = false`` makes the subject null everywhere and removes
  it from log lines;
- **redaction** (optional `Redactor`): pseudonymised addresses, masked IPs, no subjects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from tracemail_tui.export.redact import Redactor, mask_addresses, remove_subjects
from tracemail_tui.store import schema
from tracemail_tui.store.related import Related

OUT_OF_SCOPE: Final = "[out-of-scope address]"

# Row columns whose addresses a reader of that row may see in its log lines too.
_ROW_ADDRESSES: Final = (
    "user", "sender", "recipient", "account", "orig_recipient", "forwarded_to", "message_id",
)


@dataclass(frozen=True)
class Privacy:
    """The privacy settings of one run (from config and command-line flags)."""

    scope: tuple[str, ...] = ()
    show_subjects: bool = True
    redactor: Redactor | None = None

    @classmethod
    def from_config(cls, cfg: Any, *, redact: bool = False) -> Privacy:
        """Settings of a `config.Config` (scope, show_subjects, redact_key)."""
        redactor = Redactor.from_config(cfg.redact_key) if redact else None
        return cls(scope=tuple(cfg.scope), show_subjects=cfg.show_subjects, redactor=redactor)

    # ------------------------------------------------------------------ scope
    def scope_filter(self, view: str) -> pl.Expr:
        """Boolean expression keeping the rows of `view` inside the scope (all without one)."""
        if not self.scope:
            return pl.lit(True)
        from tracemail_tui.store.query import scope_expr

        return scope_expr(view, self.scope)

    def in_scope(self, view: str, row: Mapping[str, Any]) -> bool:
        """Whether one row (a dict of a view row) is inside the scope."""
        if not self.scope:
            return True
        frame = schema.conform(view, pl.DataFrame([dict(row)]))
        return frame.filter(self.scope_filter(view)).height == 1

    def account_in_scope(self, address: str | None) -> bool:
        """Whether an account address belongs to a scope domain (any address without one)."""
        if not self.scope:
            return True
        domain = (address or "").strip().strip("<>").rpartition("@")[2].lower()
        return bool(domain) and domain in self.scope

    def source(self, inner: Any) -> Any:
        """A query `Source` that only ever yields what may be shown (for the screens)."""
        return PrivateSource(inner, self) if self.scope or not self.show_subjects else inner

    # ------------------------------------------------------------------ outputs
    def frame(self, df: pl.DataFrame, view: str) -> pl.DataFrame:
        """A view frame as it may be shown: in-scope rows, subjects per settings, redacted."""
        if self.scope:
            df = df.filter(self.scope_filter(view))
        if not self.show_subjects and "subject" in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias("subject"))
        if self.redactor is not None:
            df = self.redactor.frame(df, view)
        return df

    def row(self, row: Mapping[str, Any], view: str) -> dict[str, Any]:
        """One row as it may be shown (the caller checked `in_scope`); not redacted here:
        the PDF writer redacts row, lines and locate together with the same key."""
        out = dict(row)
        if not self.show_subjects and "subject" in out:
            out["subject"] = None
        return out

    def related(self, related: Related) -> Related:
        """Related rows (store/related.py) as they may be shown: each in scope by its own
        view's rule, subjects as configured (what `frame` does to a view's rows)."""
        return related.map(lambda view, frame: self.frame(frame, view))

    def evidence(
        self, lines: pl.DataFrame, row: Mapping[str, Any], view: str
    ) -> pl.DataFrame:
        """Log lines of `row` with other customers' addresses (and hidden subjects) removed."""
        if "raw" not in lines.columns or lines.height == 0:
            return lines
        subjects = [str(row.get("subject") or "")]
        keep = self._keeper(row)
        hide_subjects = not self.show_subjects

        def clean(text: str) -> str:
            if self.scope:
                text = mask_addresses(text, keep, OUT_OF_SCOPE)
            if hide_subjects:
                text = remove_subjects(text, subjects)
            return text

        if not self.scope and not hide_subjects:
            return lines
        uniques = lines.get_column("raw").drop_nulls().unique().to_list()
        mapping = {value: clean(value) for value in uniques}
        return lines.with_columns(pl.col("raw").replace(mapping))

    def _keeper(self, row: Mapping[str, Any]) -> Any:
        own: set[str] = set()
        for col in _ROW_ADDRESSES:
            value = row.get(col)
            values = value if isinstance(value, list | tuple) else [value]
            for v in values:
                if not isinstance(v, str):
                    continue
                for address in v.replace(",", " ").split():  # forwarded_to: "a@x, b@y"
                    address = address.strip("<>").lower()
                    local, _, domain = address.rpartition("@")
                    own |= {address, f"{local.partition('+')[0]}@{domain}"}  # plus tag
        scope = set(self.scope)

        def keep(address: str) -> bool:
            address = address.lower()
            return address in own or address.rpartition("@")[2] in scope

        return keep


class PrivateSource:
    """A `store.query.Source` seen through a `Privacy`: views and mailbox events confined
    to the scope, subjects null when hidden. Anything else (``generation``, the store's
    ``root``) is the wrapped source's; raw ``lines`` are scrubbed by `Privacy.evidence`."""

    def __init__(self, inner: Any, privacy: Privacy) -> None:
        self._inner = inner
        self.privacy = privacy

    def scan(self, view: str) -> pl.LazyFrame:
        lf = self._inner.scan(view)
        if view in (*schema.VIEWS, "mailbox") and self.privacy.scope:
            lf = lf.filter(self.privacy.scope_filter(view))
        if view in schema.VIEWS and not self.privacy.show_subjects:
            lf = lf.with_columns(pl.lit(None, pl.String).alias("subject"))
        return lf

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
