"""Movies like a given one: :func:`similar_movies`.

Story, genres and audience together: :class:`recommender.similar.MoreLikeThis` over the SBERT
content vectors, the genres and, when the ``embed`` neural model is loaded, its movie
embeddings (:mod:`worker.services.registry` builds it with the vectors).
"""

from __future__ import annotations

from worker.services.registry import ModelRegistry


def similar_movies(
    registry: ModelRegistry, movie_id: int, k: int
) -> tuple[list[int], list[float], str]:
    """The ``k`` movies most like ``movie_id`` in the catalogue: ``(ids, scores, source)``.

    The scores are :meth:`recommender.similar.MoreLikeThis.closeness` (-1..1, best first);
    source "embed" when the embed model's vectors took part, else "sbert". Empty lists when no
    vector covers the movie."""
    registry.require()
    content = registry.require_content(vectors=False)
    if content.more_like_this is None:
        return [], [], "sbert"
    ids, scores, parts = content.more_like_this.similar(movie_id, k)
    source = "embed" if "embed" in parts else "sbert"
    closeness = content.more_like_this.closeness(scores)
    return [int(m) for m in ids], [float(x) for x in closeness], source
