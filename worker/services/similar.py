"""Movies like a given one: :func:`similar_movies`.

The ``embed`` neural model's movie embeddings are used when that model knows the movie, else
the SBERT content vectors (:mod:`worker.services.registry` loads both).
"""

from __future__ import annotations

import numpy as np

from worker.services.registry import ModelRegistry


def similar_movies(
    registry: ModelRegistry, movie_id: int, k: int
) -> tuple[list[int], list[float], str]:
    """The ``k`` movies most similar to ``movie_id`` in the catalogue: ``(ids, cosines,
    source)``; source "embed" (the embed model's movie embeddings, when that model knows
    the movie) or "sbert" (content vectors). Empty lists when no vector covers the movie."""
    from recommender.similar import similar_movies as nearest

    loaded = registry.require()
    content = registry.require_content(vectors=False)
    catalog = loaded.catalog
    ids, sims = np.zeros(0, np.int64), np.zeros(0)
    source = "embed" if content.embed is not None else "sbert"
    extra = k + 10  # a few spare in case some are not in the catalogue
    embed = content.embed
    if embed is not None and movie_id in set(_known(embed.movie_ids, [movie_id])):
        ids, sims = nearest(embed, [movie_id], extra)
    elif content.vectors is not None and content.vectors.vector(movie_id) is not None:
        ids, sims = content.vectors.similar(movie_id, extra)
        source = "sbert"
    pairs = [(int(m), float(s)) for m, s in zip(ids, sims, strict=True) if int(m) in catalog]
    pairs = pairs[:k]
    return [m for m, _ in pairs], [s for _, s in pairs], source


def _known(sorted_ids: np.ndarray, wanted: list[int]) -> list[int]:
    """Those of ``wanted`` present in the sorted id array."""
    wanted_arr = np.asarray(wanted, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, wanted_arr), max(len(sorted_ids) - 1, 0))
    ok = sorted_ids[pos] == wanted_arr if len(sorted_ids) else np.zeros(len(wanted_arr), bool)
    return wanted_arr[ok].tolist()
