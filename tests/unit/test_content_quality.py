"""Similar means similar, and describing finds movies by meaning: the fixed cases of
:mod:`recommender.content_quality` (expected neighbours of 12 movies, 10 descriptions with
fitting and unwanted movies) measured on real parts.

Real parts: SBERT all-MiniLM-L6-v2 vectors of the session's content movies (the 300 most-rated
plus movies 1-10, ``content_artifacts``) and of every movie the cases name (encoded through the
same cache), an ``embed`` model trained here on all of ml-latest-small (small: 32 dimensions, 8
epochs, about 20 s), Pearson fitted on ml-latest-small for the person's taste. The candidates
are those ~400 movies (the whole catalogue is measured by ``python -m scripts.content_quality``,
whose figures the README quotes).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from recommender.content_quality import (
    ACTION_PROFILE,
    DESCRIBE_CASES,
    SIMILAR_CASES,
    describe_hit_rate,
    similar_hit_rate,
)

SPACE_ODYSSEY = 924


@pytest.fixture(scope="module")
def pool(data_dir, content_artifacts):
    """``(catalog, vectors, ml)``: the full catalogue (with overviews), SBERT vectors of the
    pool movies, and a catalogue-like view of the pool for :class:`MoreLikeThis`."""
    from recommender.catalog import Catalog
    from recommender.content import EmbeddingCache, MovieVectors, load_catalogue_texts
    from recommender.movielens import load_movielens

    ml = load_movielens(data_dir / "ml-latest-small")
    catalog = Catalog.from_movielens(ml, data_dir / "overviews" / "tmdb_overviews.csv")
    wanted = set(MovieVectors.load(content_artifacts / "sbert").movie_ids.tolist())
    wanted |= set(ACTION_PROFILE)
    for case in SIMILAR_CASES:
        wanted |= {case.movie, *case.expected}
    for case in DESCRIBE_CASES:
        wanted |= {*case.expected, *case.unwanted}
    wanted &= set(catalog.ids.tolist())
    texts = load_catalogue_texts(ml.movies[ml.movies["movieId"].isin(wanted)])
    cache = EmbeddingCache(content_artifacts / "embeddings-cache")  # the session's encodings
    vectors = MovieVectors.build(texts, cache=cache)
    rows = catalog.positions(vectors.movie_ids)
    view = SimpleNamespace(
        ids=vectors.movie_ids,
        genre_matrix=catalog.genre_matrix[rows],
        rating_counts=catalog.rating_counts[rows],
    )
    return SimpleNamespace(catalog=catalog, vectors=vectors, view=view, ml=ml)


@pytest.fixture(scope="module")
def embed_vectors(pool):
    """Movie vectors of an ``embed`` model trained on every ml-latest-small rating."""
    from recommender.models import make_model
    from recommender.neural.runtime import limit_threads
    from recommender.similar import MovieVectors

    limit_threads(2)
    model = make_model(
        "embed",
        dim=32,
        epochs=8,
        batch_size=1024,
        learning_rate=5e-3,
        learning_rate_plateau=1.0,
        seed=0,
    ).fit(pool.ml.ratings, pool.ml.movies)
    return MovieVectors.from_model(model, min_ratings=5)


def test_more_like_this_combination_beats_each_part_alone(pool, embed_vectors):
    from recommender.similar import MoreLikeThis

    more = MoreLikeThis.build(pool.view, content=pool.vectors, embed=embed_vectors)

    def rate(parts):
        return similar_hit_rate(lambda m, k: more.similar(m, k, parts)[0])[0]

    embed_alone, content_alone = rate(("embed",)), rate(("content",))
    combined = rate(("content", "genres", "embed", "popularity"))
    assert combined > embed_alone + 0.1, (combined, embed_alone)
    assert combined > content_alone + 0.02, (combined, content_alone)
    assert combined >= 0.5, combined  # the floor: half the expected neighbours in the top 10

    # 2001 brings space and science fiction first (embeddings alone bring "acclaimed films")
    ids, scores, parts = more.similar(SPACE_ODYSSEY, 10)
    assert parts == ["content", "genres", "embed", "popularity"]
    genres = [pool.catalog.movie(int(m))["genres"] for m in ids]
    assert all("Sci-Fi" in g for g in genres[:5]), genres
    assert sum("Sci-Fi" in g for g in genres) >= 8, genres
    closeness = more.closeness(scores)
    assert (np.diff(closeness) <= 0).all() and ((closeness > 0) & (closeness < 1)).all()
    alone, _, _ = more.similar(SPACE_ODYSSEY, 10, ("embed",))
    assert sum("Sci-Fi" in pool.catalog.movie(int(m))["genres"] for m in alone) <= 5


def test_more_like_this_without_embeddings_or_for_an_unknown_movie(pool):
    from recommender.similar import MoreLikeThis

    more = MoreLikeThis.build(pool.view, content=pool.vectors, embed=None, min_ratings=5)
    ids, _, parts = more.similar(1, 12)
    assert parts == ["content", "genres", "popularity"] and len(ids) == 12 and 1 not in ids
    assert 3114 in ids[:3].tolist()  # Toy Story 2
    assert (pool.view.rating_counts[np.searchsorted(pool.view.ids, ids)] >= 5).all()
    assert more.similar(99999999, 12)[0].size == 0


def test_describing_ranks_by_meaning_first_and_taste_second(pool):
    from recommender.content import default_encoder
    from recommender.describe import StoryMatcher, search
    from recommender.models import make_model

    model = make_model("pearson").fit(pool.ml.ratings, pool.ml.movies)
    counts = dict(zip(pool.catalog.ids.tolist(), pool.catalog.rating_counts.tolist(), strict=True))
    overviews = dict(zip(pool.catalog.ids.tolist(), pool.catalog.overviews.tolist(), strict=True))
    encoder = default_encoder()
    matcher = StoryMatcher.from_encoder(encoder)
    known = set(pool.vectors.movie_ids.tolist())

    def search_for(query, **kwargs):
        return search(
            query, pool.vectors, counts, model=model, profile=ACTION_PROFILE, encoder=encoder,
            matcher=matcher, overviews=overviews, **kwargs,
        )  # fmt: skip

    def measure(**kwargs):
        return describe_hit_rate(lambda q, k: search_for(q, **kwargs)[:k], only=known.__contains__)

    before_hit, before_off, _ = measure(taste_first=True)
    now_hit, now_off, now = measure()
    assert now_hit >= max(before_hit + 0.3, 0.6), (now_hit, before_hit)
    assert now_off < before_off, (now_off, before_off)
    # ~400 candidates here, so the top 24 is a large share of them: the first 5 show it best
    space = DESCRIBE_CASES[0]
    assert space.query == "a slow-burn space mystery"
    before_top = search_for(space.query, taste_first=True)[:5].tolist()
    now_top = search_for(space.query)[:5].tolist()
    # taste first: the action fan's favourites (Star Wars, The Matrix, Pulp Fiction ...)
    assert len(set(space.expected) & set(before_top)) <= 1, before_top
    # meaning first: space mysteries, and none of the unwanted movies
    assert len(set(space.expected) & set(now_top)) >= 3, now_top
    assert not set(space.unwanted) & set(now_top), now_top


def test_story_matcher_finds_the_sentence_that_matches(pool):
    from recommender.content import default_encoder
    from recommender.describe import StoryMatcher, sentences
    from recommender.reasons import story_reason

    matcher = StoryMatcher.from_encoder(default_encoder())
    overview = pool.catalog.movie(SPACE_ODYSSEY)["overview"]
    best = matcher.best("a slow-burn space mystery", overview)
    assert best in sentences(overview) and "lunar" in best
    toys = pool.catalog.movie(1)["overview"]  # three sentences; the first one has the toys
    assert len(sentences(toys)) == 3
    assert matcher.best("toys that come to life", toys) == sentences(toys)[0]
    assert "Woody plots against Buzz" in matcher.best("afraid to lose his place in a heart", toys)
    assert matcher.best("space", None) is None and matcher.best("the a of", overview) is None
    first = sentences(toys)[0]
    assert story_reason(first, 0.5) == f"Its story: “{first}”"
    assert story_reason("word " * 60, 0.5).endswith("…”") and len(story_reason("w " * 99, 0)) < 175
    assert story_reason(None, 0.42) == "Its story matches your description (42% close)"
