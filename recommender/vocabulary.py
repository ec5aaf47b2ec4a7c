"""The one id ↔ position vocabulary: sorted ``int64`` ids and where an id sits among them.

Every table of the project (a model's movies, its training users, a catalogue) keeps its ids
as a sorted, distinct ``int64`` array; row ``i`` of any aligned array belongs to ``ids[i]``.
These functions are the only place that turns ids into positions.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_LOOKUP_LIMIT = 1 << 24
"""Largest id for which ids are indexed with a lookup table (64 MB) instead of sorting."""


def unique_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted unique ``int64`` ids; O(n) with a bincount for MovieLens-like (small, >= 0) ids."""
    ids = np.asarray(ids)
    if len(ids) and ids.min() >= 0 and ids.max() < _LOOKUP_LIMIT:
        return np.flatnonzero(np.bincount(ids)).astype(np.int64)
    return np.unique(ids.astype(np.int64))


def positions_in(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each of ``ids`` in ``sorted_ids`` (every id must be present), ``int64``."""
    ids = np.asarray(ids)
    if len(sorted_ids) and sorted_ids[0] >= 0 and sorted_ids[-1] < _LOOKUP_LIMIT:
        table = np.zeros(int(sorted_ids[-1]) + 1, dtype=np.int64)
        table[sorted_ids] = np.arange(len(sorted_ids))
        return table[ids]
    return np.searchsorted(sorted_ids, ids.astype(np.int64))


def lookup(
    sorted_ids: np.ndarray, wanted: Iterable[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, known)`` of ``wanted`` ids in ``sorted_ids`` (both ``(len(wanted),)``).

    ``known[i]`` says whether ``wanted[i]`` is present; ``positions[i]`` is its index then, and
    an arbitrary valid index (never out of range) otherwise.
    """
    wanted = np.asarray(wanted if isinstance(wanted, np.ndarray) else list(wanted), np.int64)
    if not len(sorted_ids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == wanted


def index_or_missing(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each of ``wanted`` in ``sorted_ids``, ``-1`` where it is absent (``int64``)."""
    pos, known = lookup(sorted_ids, wanted)
    return np.where(known, pos, -1)


def position_of(sorted_ids: np.ndarray, one_id: int) -> int | None:
    """Index of ``one_id`` in ``sorted_ids``, or ``None`` when it is absent."""
    pos, known = lookup(sorted_ids, np.array([one_id], dtype=np.int64))
    return int(pos[0]) if known[0] else None


def take(values: np.ndarray, index: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """``values[index]`` as ``float64``, ``fill`` where ``index`` is ``-1`` (see
    :func:`index_or_missing`): re-aligns one table's values with another table's ids."""
    out = np.full(len(index), fill, dtype=np.float64)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out
