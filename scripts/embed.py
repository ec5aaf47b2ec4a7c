"""Encode every movie's text with SBERT (all-MiniLM-L6-v2) into the on-disk embedding cache.

Usage: ``python -m scripts.embed [--movielens DIR] [--bench] [--similar MOVIE_ID]``

Builds ``{movieId: text}`` (title, year, genres, overview, tagline, tags; see
:mod:`recommender.content`), encodes only texts not yet cached in
``ARTIFACTS_DIR/embeddings/all-MiniLM-L6-v2/`` (progress bar), and writes the catalogue's vectors
to ``ARTIFACTS_DIR/sbert/`` (movie_ids.npy, vectors.npy, texts.json). Prints how many texts were
encoded, and with ``--bench`` the exact-search latency (p50/p99 over 1000 profile queries, wall
and CPU time).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from recommender import settings
from recommender.content import (
    EmbeddingCache,
    MovieVectors,
    SentenceEncoder,
    load_catalogue_texts,
)
from recommender.movielens import load_movielens


def bench_search(vectors: MovieVectors, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """Latency (ms) of one exact top-24 cosine search from a 5-movie profile."""
    rng = np.random.default_rng(seed)
    times, cpu = [], []
    for _ in range(n):
        ids = rng.choice(vectors.movie_ids, 5, replace=False)
        start, start_cpu = time.perf_counter(), time.thread_time()
        vector = vectors.profile_vector({int(m): 4.5 for m in ids})
        vectors.nearest(vector, 24, exclude=ids)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
    }


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=None, help="MovieLens release folder")
    parser.add_argument("--out", type=Path, default=None, help="default ARTIFACTS_DIR/sbert")
    parser.add_argument("--bench", action="store_true", help="print exact-search latency")
    parser.add_argument("--similar", type=int, default=None, help="print 10 nearest movies")
    args = parser.parse_args(argv)

    ml = load_movielens(args.movielens or settings.movielens_dir())
    texts = load_catalogue_texts(ml.movies)
    with_overview = sum(". Genres:" in t and len(t) > 200 for t in texts.values())
    encoder = SentenceEncoder()
    cache = EmbeddingCache()
    start = time.perf_counter()
    vectors = MovieVectors.build(texts, encoder=encoder, cache=cache, progress=True)
    seconds = time.perf_counter() - start
    out = args.out or settings.artifacts_dir() / "sbert"
    vectors.save(out)
    print(
        f"{len(vectors)} movies ({with_overview} with long texts), encoded {encoder.encoded} new "
        f"texts in {seconds:.1f}s; cache {cache.directory} holds {len(cache)}; wrote {out}"
    )
    if args.similar is not None:
        titles = dict(zip(ml.movies["movieId"], ml.movies["title"], strict=True))
        ids, sims = vectors.similar(args.similar, 10)
        print(f"nearest to {titles.get(args.similar)}:")
        for movie_id, sim in zip(ids, sims, strict=True):
            print(f"  {sim:.3f}  {titles.get(int(movie_id))}")
    if args.bench:
        figures = bench_search(vectors)
        print(
            f"exact search over {len(vectors)} x {vectors.matrix.shape[1]}: "
            f"wall p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms; CPU p50 "
            f"{figures['cpu_p50_ms']:.2f} ms, p99 {figures['cpu_p99_ms']:.2f} ms "
            f"(load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
