"""Files written whole: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_file(out: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temp path beside `out`, moved onto `out` only if the block succeeds, else removed.

    Beside, not in /tmp: `os.replace` is atomic only within one file system.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes, fsync: bool = False) -> Path:
    """Write `data` to `path` whole; `fsync` also makes it survive a power cut."""
    with staged_file(path) as tmp, tmp.open("wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    return Path(path)
