"""SBERT content vectors: the embedding cache, nearest neighbours, describe and discover.

These tests use the real all-MiniLM-L6-v2 model on a handful of short texts (a few seconds),
never the whole catalogue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.content import (
    ContentRecommender,
    EmbeddingCache,
    MovieVectors,
    SentenceEncoder,
    describe,
    movie_text,
    movie_texts,
    text_key,
)
from recommender.discover import next_movies, ticks_as_profile, top_genres
from tests.recommender_contract import RecommenderContract

TEXTS = {
    1: "Alien (1979). Genres: Horror, Sci-Fi. A spaceship crew is hunted by a deadly alien.",
    2: "Sunshine (2007). Genres: Sci-Fi. Astronauts fly a ship to reignite the dying sun.",
    3: "Julie & Julia (2009). Genres: Comedy. A woman cooks every recipe in a French cookbook.",
    4: "Ratatouille (2007). Genres: Animation. A rat dreams of becoming a chef in Paris.",
    5: "Notting Hill (1999). Genres: Romance. A bookshop owner falls in love with a film star.",
    6: "Love Actually (2003). Genres: Romance. Couples in London fall in love at Christmas.",
}
SPACE, COOKING, ROMANCE = {1, 2}, {3, 4}, {5, 6}


_ENCODER = SentenceEncoder()


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return _ENCODER


class TestContentContract(RecommenderContract):
    """``sbert`` keeps the contract every model keeps (texts of the contract's movies are
    "Movie N (year). Genres: Action." etc., so the taste groups differ by genre words)."""

    def make_model(self):
        import tempfile
        from pathlib import Path

        cache = EmbeddingCache(Path(tempfile.gettempdir()) / "test_content_contract_embeddings")
        return ContentRecommender(encoder=_ENCODER, cache=cache)


@pytest.fixture(scope="module")
def vectors(encoder, tmp_path_factory) -> MovieVectors:
    cache = EmbeddingCache(tmp_path_factory.mktemp("emb"))
    return MovieVectors.build(TEXTS, encoder=encoder, cache=cache)


def test_cache_encodes_each_text_once_and_only_changed_texts_again(encoder, tmp_path):
    first = EmbeddingCache(tmp_path)
    before = encoder.encoded
    built = MovieVectors.build(TEXTS, encoder=encoder, cache=first)
    assert encoder.encoded - before == len(TEXTS)
    assert first.vectors_path.exists() and first.index_path.exists()

    # A new process (new cache object on the same folder) encodes nothing.
    calls, before = encoder.calls, encoder.encoded
    again = MovieVectors.build(TEXTS, encoder=encoder, cache=EmbeddingCache(tmp_path))
    assert encoder.encoded == before and encoder.calls == calls
    np.testing.assert_array_equal(again.matrix, built.matrix)

    # One changed overview re-encodes that movie only; the others keep their vectors.
    changed = {**TEXTS, 3: TEXTS[3] + " Tags: food, blog."}
    before = encoder.encoded
    rebuilt = MovieVectors.build(changed, encoder=encoder, cache=EmbeddingCache(tmp_path))
    assert encoder.encoded - before == 1
    same = [1, 2, 4, 5, 6]
    np.testing.assert_array_equal(
        rebuilt.matrix[rebuilt.rows(same)], built.matrix[built.rows(same)]
    )
    assert not np.allclose(rebuilt.vector(3), built.vector(3))


def _hashed_vectors(texts):
    """A cheap deterministic stand-in encoder for the cache's bookkeeping tests: 8 numbers
    per text drawn from its hash (the cache stores whatever the encoder returns)."""
    rows = [np.random.default_rng(int(text_key(t)[:8], 16)).normal(size=8) for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)


def test_cache_saves_each_chunk_by_appending_not_by_rewriting_everything(tmp_path):
    """Encoding n texts writes O(n) bytes: during encoding, vectors.npy is never rewritten;
    each finished chunk adds exactly its own rows to the pending file (the old cache rewrote
    the whole array after every chunk, quadratic in the number of movies)."""
    texts = [f"movie {i}" for i in range(95)]
    EmbeddingCache(tmp_path).embed(texts[:5], _hashed_vectors)  # a saved cache to start from
    cache = EmbeddingCache(tmp_path)
    saved = cache.vectors_path.stat()
    seen = []

    def encoder(batch):
        pending = cache.pending_vectors_path
        seen.append((cache.vectors_path.stat().st_mtime_ns, pending.exists() and pending.stat()))
        return _hashed_vectors(batch)

    vectors = cache.embed(texts, encoder, chunk=10)
    assert len(seen) == 9  # 90 new texts in chunks of 10
    assert all(mtime == saved.st_mtime_ns for mtime, _ in seen)
    sizes = [pending.st_size if pending else 0 for _, pending in seen]
    assert sizes == [i * 10 * 8 * 4 for i in range(9)]
    assert not cache.pending_vectors_path.exists()  # folded into vectors.npy at the end
    np.testing.assert_array_equal(vectors, _hashed_vectors(texts))
    np.testing.assert_array_equal(EmbeddingCache(tmp_path).embed(texts, _hashed_vectors), vectors)


def test_interrupted_encoding_resumes_after_the_last_finished_chunk(tmp_path):
    texts = [f"movie {i}" for i in range(50)]
    calls = []

    def failing(batch):
        calls.append(len(batch))
        if len(calls) == 4:
            raise KeyboardInterrupt  # the build is stopped while encoding chunk 4
        return _hashed_vectors(batch)

    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path).embed(texts, failing, chunk=10)
    resumed = EmbeddingCache(tmp_path)
    assert len(resumed) == 30  # three finished chunks survive
    encoded = []

    def counting(batch):
        encoded.extend(batch)
        return _hashed_vectors(batch)

    vectors = resumed.embed(texts, counting, chunk=10)
    assert encoded == texts[30:]
    np.testing.assert_array_equal(vectors, _hashed_vectors(texts))
    assert len(EmbeddingCache(tmp_path)) == 50 and not resumed.pending_keys_path.exists()


def test_cache_key_depends_on_model_and_text():
    assert text_key("a", "m1") != text_key("a", "m2") != text_key("b", "m2")
    assert len(text_key("a")) == 64


def test_cache_of_another_model_is_not_reused(encoder, tmp_path):
    EmbeddingCache(tmp_path, model_name="all-MiniLM-L6-v2").embed(["hello"], encoder)
    other = EmbeddingCache(tmp_path, model_name="another-model")
    assert len(other) == 0


def test_nearest_neighbours_follow_the_story(vectors):
    for group in (SPACE, COOKING, ROMANCE):
        for movie in group:
            ids, sims = vectors.similar(movie, k=1)
            assert ids.tolist() == list(group - {movie}), (movie, ids)
            assert -1.0 <= sims[0] <= 1.0
    ids, sims = vectors.similar(1, k=5)
    assert 1 not in ids and (np.diff(sims) <= 1e-6).all()


def test_profile_vector_is_a_rating_weighted_mean_of_liked_movies(vectors):
    vector = vectors.profile_vector({1: 5.0, 3: 4.0, 5: 1.0})
    expected = 5.0 * vectors.vector(1) + 4.0 * vectors.vector(3)
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-6)
    # Nothing liked: the best-rated movies stand in.
    np.testing.assert_allclose(vectors.profile_vector({2: 3.0, 5: 1.0}), vectors.vector(2))
    assert vectors.profile_vector({}) is None


def test_describe_finds_movies_by_free_text(vectors, encoder):
    ids, sims = describe("astronauts lost in outer space", vectors, k=2, encoder=encoder)
    assert set(ids.tolist()) == SPACE and sims[0] >= sims[1]
    ids, _ = describe("a chef and French food", vectors, k=2, encoder=encoder)
    assert set(ids.tolist()) == COOKING
    assert len(describe("   ", vectors, encoder=encoder)[0]) == 0


def test_content_recommender_ranks_by_story_and_explains(vectors):
    ratings = pd.DataFrame(
        {"userId": [1, 1, 2], "movieId": [1, 3, 5], "rating": [5.0, 2.0, 4.0], "timestamp": 0}
    )
    model = ContentRecommender(vectors=vectors).fit(ratings)
    recs = model.recommend({1: 5.0, 3: 1.0}, k=5)
    assert recs.movie_ids[0] == 2
    assert recs.evidence[0]["nearest_liked"] == 1
    assert recs.evidence[0]["nearest_liked_similarity"] > 0.3
    assert recs.match.min() >= 0 and recs.match.max() <= 100


def test_movie_text_without_overview_still_describes_the_movie():
    assert movie_text("Heat", 1995, ["Action", "Crime"]) == "Heat (1995). Genres: Action, Crime."
    text = movie_text("Heat", None, [], "A cop hunts a thief", None, ["Pacino", "pacino", "heist"])
    assert text == "Heat. A cop hunts a thief. Tags: heist, pacino."
    movies = pd.DataFrame(
        {"movieId": [7], "title": ["Heat"], "year": pd.array([pd.NA], "Int16"), "genres": [[]]}
    )
    assert movie_texts(movies) == {7: "Heat."}


def test_discover_loop_moves_towards_the_ticked_movies(vectors):
    genres_of = {
        1: ["Horror", "Sci-Fi"],
        2: ["Sci-Fi"],
        3: ["Comedy"],
        4: ["Animation"],
        5: ["Romance"],
        6: ["Romance"],
    }
    popular = [5, 3, 1, 6, 4, 2]
    first = next_movies(vectors, [], [], popular=popular, genres_of=genres_of, k=3)
    assert not first.from_taste and len(first.movie_ids) == 3
    assert len({g for m in first.movie_ids for g in genres_of[m]}) >= 3  # varied start

    page = next_movies(vectors, [1], [1, 3, 5], popular=popular, genres_of=genres_of, k=1)
    assert page.from_taste and page.movie_ids == [2]
    assert page.top_genres == [("Horror", 1), ("Sci-Fi", 1)]

    allowed = next_movies(
        vectors, [1], [1], popular=popular, genres_of=genres_of, allowed=[3, 4, 5, 6], k=2
    )
    assert 2 not in allowed.movie_ids and len(allowed.movie_ids) == 2

    done = next_movies(vectors, [1], list(TEXTS), popular=popular, genres_of=genres_of)
    assert done.movie_ids == []


def test_top_genres_counts_ticks_and_breaks_ties_by_name():
    genres_of = {1: ["Drama", "War"], 2: ["Drama"], 3: ["Comedy"], 4: ["Action"]}
    assert top_genres([1, 2, 3, 4, 4], genres_of, n=3) == [
        ("Drama", 2),
        ("Action", 1),
        ("Comedy", 1),
    ]
    assert ticks_as_profile([4, 2]) == {4: 4.0, 2: 4.0}
