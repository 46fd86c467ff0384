"""A set of point keys in 24 bytes each: what a sweep of millions of points checks its points
against (:meth:`accelsim.dse.store.ResultStore.key_index`), instead of a set of Python strings
(about 100 bytes each)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: Bytes of a point key (:data:`accelsim.dse.points.KEY_DIGITS` hex digits).
KEY_BYTES = 24


class KeyIndex:
    """A set of point keys held as one sorted array of fixed-width bytes (see
    :meth:`ResultStore.key_index`); keys added later are kept aside and merged in bulk."""

    def __init__(self, chunks: Sequence[Any] = ()):
        self._np = np
        arrays = [c for c in chunks if len(c)]
        self._base = np.sort(np.concatenate(arrays)) if arrays else \
            np.empty(0, dtype=f"S{KEY_BYTES}")
        self._extra: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._base) + len(self._extra)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return bool(self.contains([key])[0])

    def contains(self, keys: Sequence[str]) -> Any:
        """[N] bool: which of ``keys`` the index holds."""
        np = self._np
        q = np.asarray(keys, dtype=f"S{KEY_BYTES}")
        pos = np.searchsorted(self._base, q)
        hit = np.zeros(len(q), dtype=bool)
        inside = pos < len(self._base)
        hit[inside] = self._base[pos[inside]] == q[inside]
        if self._extra:
            hit |= np.fromiter((k in self._extra for k in q.tolist()), bool, len(q))
        return hit

    def update(self, keys: Iterable[str]) -> None:
        """Add keys (merged into the sorted array every 65,536 keys)."""
        self._extra.update(k.encode() for k in keys)
        if len(self._extra) >= 65_536:
            np = self._np
            more = np.array(sorted(self._extra), dtype=f"S{KEY_BYTES}")
            self._base = np.sort(np.concatenate([self._base, more]), kind="stable")
            self._extra.clear()
