"""Files and directories tracemail writes are private to the user: files 0600, dirs 0700.

Exports and the store hold personal data (addresses, IPs, subjects), so the mode must not
depend on the umask. `secure_open` creates a file 0600 and tightens a regular file that
already existed; devices and pipes (``-o /dev/stdout``) are left alone.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import IO, Any, Final

FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700


def secure_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode, **kwargs)` for writing ("w", "wb", "a", "ab"), created 0600."""
    if not mode.startswith(("w", "a")):
        raise ValueError(f"secure_open is for writing, not mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode otherwise
        return io.open(fd, mode, **kwargs)  # noqa: UP020 - io.open takes the fd
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` as a 0600 file."""
    with secure_open(path, "wb") as fh:
        fh.write(data)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` and missing parents 0700 (umask notwithstanding). Directories that
    exist are left as they are: the caller may point at a shared parent such as /tmp."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)
    return path
