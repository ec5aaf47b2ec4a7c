"""Describe what you feel like watching: movies ranked by meaning first and taste second,
each with the sentence of its story that matches.

- **Candidates** are the ``k`` movies whose SBERT content vector is closest to the SBERT vector
  of the description (:func:`recommender.content.describe`: cosine, -1..1).
- **Ranking** (:func:`rank_description`): a weighted sum of z-scores over the candidates —
  meaning (that cosine) with weight 1, how many people rated the movie
  (``log(1 + rating count)``) and, when the person has a taste the model can score, the
  model's match for them (0..100), each with a small weight (:data:`DESCRIBE_WEIGHTS`). A
  movie that fits the person but not the description cannot climb over the ones that fit the
  description: taste only reorders movies of similar meaning. Measured on the fixed cases of
  :data:`recommender.content_quality.DESCRIBE_CASES` (``python -m scripts.content_quality``).
- **Which part of its story matches** (:class:`StoryMatcher`): the overview sentence closest
  to the description, compared as bags of the SBERT model's own word-piece embeddings (its
  input table, no transformer pass: tokenising a few hundred short sentences takes
  milliseconds, where encoding them takes seconds on a busy 2-core machine); the card's line
  that quotes it is :func:`recommender.reasons.story_reason`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

DESCRIBE_WEIGHTS: dict[str, float] = {
    "meaning": 1.0,
    "story": 1.0,
    "popularity": 0.3,
    "taste": 0.2,
}
"""Weights of the z-scores :func:`rank_description` adds up (meaning first, see module)."""


def _z(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def rank_description(
    meaning: np.ndarray,
    rating_counts: np.ndarray,
    taste: np.ndarray | None = None,
    weights: dict[str, float] | None = None,
    story: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Order of the candidates, best first, and their scores: ``(order int64 (n,), score (n,))``.

    ``meaning``: cosine (-1..1) of each candidate to the description; ``rating_counts``: its
    number of ratings; ``taste``: the model's match for the person (0..100, NaN where it has
    none) or ``None``. The score is ``Σ weight × z-score`` (z over the candidates; weights
    :data:`DESCRIBE_WEIGHTS`); ties keep the meaning order.
    """
    weights = DESCRIBE_WEIGHTS if weights is None else weights
    meaning = np.asarray(meaning, dtype=np.float64)
    score = weights.get("meaning", 1.0) * _z(meaning)
    score += weights.get("popularity", 0.0) * _z(np.log1p(np.asarray(rating_counts, float)))
    for name, values in (("taste", taste), ("story", story)):
        if values is None or not weights.get(name, 0.0):
            continue
        values = np.asarray(values, dtype=np.float64)
        known = np.isfinite(values)
        if known.any():
            score += weights[name] * _z(np.where(known, values, np.nanmean(values[known])))
    order = np.lexsort((-meaning, -score))
    return order.astype(np.int64), score[order]


# --------------------------------------------------------------------------- story sentences

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'“(])")

_STOP_WORD_TEXT = """a an and are as at be been but by for from had has have he her his how
    i in into is it
    its me my of on one or our she so that the their them then there they this to was we were
    what when where which while who whom why will with would you your about after all also
    any can could do does just like more most much not now only other over some such than
    up very"""
_STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())


def sentences(text: str | None) -> list[str]:
    """``text`` split into sentences (whitespace normalised; empty pieces dropped)."""
    text = " ".join(str(text or "").split())
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()] if text else []


class StoryMatcher:
    """Finds the overview sentence closest to a description.

    A text's vector is the mean of the input embeddings (SBERT's word-piece table,
    ``(vocabulary, dim)``) of its word pieces, leaving out stop words and punctuation;
    sentences are compared to the description by cosine. ``tokenize(text)`` returns the ids
    of the text's content word pieces (rows of ``table``). Sentence vectors are kept in a
    small cache (stories come back in query after query).
    """

    def __init__(self, tokenize, table: np.ndarray, cache_size: int = 50_000):
        self.tokenize = tokenize
        self.table = np.asarray(table, dtype=np.float32)
        self.vector = functools.lru_cache(cache_size)(self._vector)

    @classmethod
    def from_encoder(cls, encoder) -> StoryMatcher:
        """From a loaded :class:`recommender.content.SentenceEncoder` (its tokenizer and its
        transformer's word-embedding table)."""
        model = encoder._load()
        tokenizer = model.tokenizer
        table = model[0].auto_model.embeddings.word_embeddings.weight.detach().cpu().numpy()
        vocabulary = tokenizer.convert_ids_to_tokens(list(range(len(table))))
        useful = np.array(
            [t.removeprefix("##").isalnum() and t not in _STOP_WORDS for t in vocabulary]
        )

        def tokenize(text: str) -> list[int]:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            return [i for i in ids if i < len(useful) and useful[i]]

        return cls(tokenize, table)

    def _vector(self, text: str) -> np.ndarray | None:
        """Unit bag-of-word-pieces vector of ``text`` (``None`` when it has no content word);
        called through ``self.vector``, which caches it."""
        ids = self.tokenize(text)
        if not ids:
            return None
        vector = self.table[ids].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def best(self, query: str, story: str | None) -> str | None:
        """The sentence of ``story`` closest to ``query``, or ``None`` (no story, or nothing
        to compare)."""
        return self.best_of(query, [story])[0][0]

    def best_of(self, query: str, stories: Sequence[str | None]) -> list[tuple[str | None, float]]:
        """``(sentence, cosine)`` of :meth:`best` for many stories at once (the query is
        read once); ``(None, nan)`` where there is nothing to compare."""
        target = self.vector(query)
        found: list[tuple[str | None, float]] = []
        for story in stories:
            best, best_score = None, -np.inf
            if target is not None:
                for sentence in sentences(story):
                    vector = self.vector(sentence)
                    score = -np.inf if vector is None else float(vector @ target)
                    if score > best_score:
                        best, best_score = sentence, score
            found.append((best, best_score if best is not None else float("nan")))
        return found


def description_match(score: float) -> int:
    """How well a movie fits a description, as the percentage a card shows for a newcomer's
    list: ``round(100 × sigmoid(score))`` of its :func:`rank_description` score, so the
    numbers fall in the list's order (an average candidate shows 50)."""
    return round(100 / (1 + np.exp(-float(score))))


def search(
    query: str,
    vectors,
    rating_counts: dict[int, int],
    *,
    model=None,
    profile: dict[int, float] | None = None,
    k: int = 200,
    encoder=None,
    taste_first: bool = False,
    matcher: StoryMatcher | None = None,
    overviews: dict[int, str | None] | None = None,
) -> np.ndarray:
    """Movie ids matching ``query``, best first (the way the worker ranks them).

    ``vectors``: SBERT :class:`recommender.content.MovieVectors`; ``rating_counts``:
    ``{movieId: ratings}``; ``model`` and ``profile``: the person's recommender and ratings
    (taste is used when both are given and the profile has 5+ ratings). ``taste_first``
    ranks the ``k`` candidates by the model alone — how the worker ranked them before meaning
    came first, kept to measure the difference.
    """
    from recommender.content import describe

    ids, meaning = describe(query, vectors, k, encoder=encoder)
    profile = profile or {}
    keep = np.array([int(m) not in profile for m in ids], dtype=bool)
    ids, meaning = ids[keep], meaning[keep]
    if model is None or len(profile) < 5 or not len(ids):
        taste = None
    else:
        recs = model.recommend(profile, k=len(ids), candidates=ids.tolist(), explain_first=0)
        if taste_first:
            return recs.movie_ids
        match = dict(zip(recs.movie_ids.tolist(), recs.match.tolist(), strict=True))
        taste = np.array([match.get(int(m), np.nan) for m in ids], dtype=np.float64)
    counts = np.array([rating_counts.get(int(m), 0) for m in ids], dtype=np.float64)
    stories = [(overviews or {}).get(int(m)) for m in ids]
    order, _, _ = rank_matches(query, meaning, counts, stories, matcher, taste)
    return ids[order]


def rank_matches(
    query: str,
    meaning: np.ndarray,
    rating_counts: np.ndarray,
    overviews: Sequence[str | None],
    matcher: StoryMatcher | None,
    taste: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Everything the worker needs to rank ``n`` candidates of a description.

    ``meaning``: their cosine to the description; ``rating_counts``, ``overviews`` (or
    ``None``) and ``taste`` (the model's match 0..100, or ``None``) aligned with it.
    Returns ``(order, scores, sentences)``: the candidates' positions best first, their
    :func:`rank_description` scores in that order, and each candidate's (unordered) best
    matching sentence of its overview (``None`` without one, or without ``matcher``).
    """
    if matcher is None:
        found = [(None, float("nan"))] * len(overviews)
    else:
        found = matcher.best_of(query, overviews)
    story = np.array([score for _, score in found], dtype=np.float64)
    order, scores = rank_description(meaning, rating_counts, taste, story=story)
    return order, scores, [sentence for sentence, _ in found]
