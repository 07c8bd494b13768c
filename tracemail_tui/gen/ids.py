"""Identifiers in the shapes the daemons use: queue ids, session ids, tags, pids."""

from __future__ import annotations

import base64
import random
import time

_B52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjkmnpqrstvwxyz"  # Postfix long-id time radix
_B51 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjkmnpqrstvwxy"  # inode radix ('z' is the separator)
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _enc(n: int, alphabet: str, width: int = 0) -> str:
    radix = len(alphabet)
    out = []
    while n:
        n, r = divmod(n, radix)
        out.append(alphabet[r])
    s = "".join(reversed(out)) or alphabet[0]
    return s.rjust(width, alphabet[0])


class FastRandom(random.Random):
    """`random.Random` with a cheap `randrange` (the stdlib one is ~10x slower).

    Only the forms the generator uses: `randrange(stop)` and `randrange(start, stop)`.
    Deterministic for a given seed, like its base class.
    """

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))


class Ids:
    """Identifier factory bound to one seeded RNG (so runs are reproducible)."""

    def __init__(self, rng: random.Random, long_queue_ids: bool = False) -> None:
        self.rng = rng
        self.long = long_queue_ids
        self._inode: dict[str, int] = {}

    def queue_id(self, host: str, t: float) -> str:
        """A Postfix queue id for a new queue file on `host` at time `t`.

        Short form: 5 hex digits of microseconds + the queue file's inode in hex;
        long form (`enable_long_queue_ids`): base-52 seconds and microseconds,
        `z`, base-51 inode. A per-host inode counter keeps ids unique in a run.
        """
        ino = self._inode.get(host)
        if ino is None:
            ino = self.rng.randrange(0x100000, 0x400000)
        ino += self.rng.randrange(1, 9)
        self._inode[host] = ino
        usec = int((t - int(t)) * 1e6)
        if self.long:
            return f"{_enc(int(t), _B52, 6)}{_enc(usec, _B52, 4)}z{_enc(ino, _B51)}"
        return f"{usec & 0xFFFFF:05X}{ino:X}"

    def login_session(self) -> str:
        """Dovecot login session id: 12 random bytes in base64 (16 chars)."""
        return base64.b64encode(self.rng.getrandbits(96).to_bytes(12, "big")).decode()

    def lmtp_session(self) -> str:
        """Dovecot LMTP session id: a GUID in base64 without padding (22 chars)."""
        return base64.b64encode(self.rng.getrandbits(128).to_bytes(16, "big")).decode()[:22]

    def tag(self) -> str:
        """Rspamd task tag: 6 hex digits."""
        return f"{self.rng.getrandbits(24):06x}"

    def digest(self) -> str:
        """Rspamd message digest: 32 hex digits."""
        return f"{self.rng.getrandbits(128):032x}"

    def php_session(self) -> str:
        """PHP session id (26 chars, lower-case alphanumerics)."""
        r = self.rng.random
        return "".join(_ALNUM[int(r() * 36)] for _ in range(26))

    def message_id(self, t: float, domain: str) -> str:
        """A Message-ID as common mail clients and MTAs make them (without <>)."""
        rng = self.rng
        k = rng.random()
        if k < 0.35:
            tm = time.gmtime(int(t))
            stamp = time.strftime("%Y%m%d%H%M%S", tm)
            return f"{stamp}.{rng.getrandbits(40):010x}@{domain}"
        if k < 0.6:
            b32 = base64.b32encode(rng.getrandbits(160).to_bytes(20, "big")).decode()
            return f"CA{b32}@mail.{domain}"
        if k < 0.8:
            return (
                f"{rng.getrandbits(32):08X}-{rng.getrandbits(16):04X}-{rng.getrandbits(16):04X}"
                f"-{rng.getrandbits(16):04X}-{rng.getrandbits(48):012X}@{domain}"
            )
        return f"{rng.getrandbits(64):x}.{rng.getrandbits(24):x}@{domain}"
