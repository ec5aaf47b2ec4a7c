"""2-D map of the movie embeddings (t-SNE), coloured by genre, for the insights page.

    python -m scripts.plot_embeddings [--model embed] [--min-ratings 20] [--max-movies 5000]
        [--out PNG]

Loads the ``latest`` artifact of ``--model`` (train it first with ``scripts.train``), keeps
movies with at least ``--min-ratings`` training ratings (rarely rated movies keep near-random
vectors), at most the ``--max-movies`` most-rated of them (t-SNE's cost grows with the points,
and 50,000 dots at ml-25m size are no more readable than 5,000: :func:`map_movies`),
projects their L2-normalised embeddings with scikit-learn's t-SNE (cosine metric, seeded) and
colours each point by its main genre: the first of the movie's genres in
:data:`GENRE_ORDER`, a list ordered from most to least distinctive. Writes
``ARTIFACTS_DIR/plots/embeddings.png`` by default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

MAX_MOVIES = 5_000
"""Most movies drawn on the map (the most-rated; see :func:`map_movies`)."""

GENRE_ORDER = (
    "Animation",
    "Horror",
    "Documentary",
    "Musical",
    "Western",
    "Film-Noir",
    "War",
    "Sci-Fi",
    "Children",
    "Romance",
    "Crime",
    "Fantasy",
    "Mystery",
    "Thriller",
    "Adventure",
    "Action",
    "Comedy",
    "Drama",
)


def main_genre(genres: list[str]) -> str:
    """The most distinctive of ``genres`` (see :data:`GENRE_ORDER`), or ``"(none)"``."""
    for genre in GENRE_ORDER:
        if genre in genres:
            return genre
    return genres[0] if genres else "(none)"


def map_movies(movie_count: np.ndarray, min_ratings: int, max_movies: int) -> np.ndarray:
    """Positions (ascending) of the movies drawn on the map: those with ``>= min_ratings``
    training ratings, at most the ``max_movies`` most-rated of them (ties: lower position)."""
    eligible = np.flatnonzero(movie_count >= min_ratings)
    if len(eligible) > max_movies:
        order = np.argsort(-movie_count[eligible], kind="stable")
        eligible = np.sort(eligible[order[:max_movies]])
    return eligible


def project(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE of row-normalised ``vectors`` ``(n, d)`` -> ``(n, 2)``."""
    from sklearn.manifold import TSNE

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    perplexity = float(min(30, max(2, (len(unit) - 1) // 3)))
    return TSNE(
        2, metric="cosine", init="pca", perplexity=perplexity, random_state=seed
    ).fit_transform(unit)


def plot(points: np.ndarray, labels: list[str], titles: list[str], path: Path, title: str):
    """Scatter ``points`` coloured by ``labels``; a few well-known titles are written on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 9))
    palette = plt.get_cmap("tab20")
    for i, genre in enumerate(g for g in GENRE_ORDER if g in set(labels)):
        mask = np.array([label == genre for label in labels])
        ax.scatter(
            points[mask, 0], points[mask, 1], s=8, alpha=0.7, color=palette(i % 20), label=genre
        )
    for i in range(0, len(titles), max(1, len(titles) // 25)):
        ax.annotate(titles[i][:28], points[i], fontsize=7, alpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=2, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from recommender import settings
    from recommender.movielens import load_movielens
    from recommender.neural.artifacts import load_latest
    from recommender.neural.runtime import limit_threads

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embed")
    parser.add_argument("--min-ratings", type=int, default=20)
    parser.add_argument("--max-movies", type=int, default=MAX_MOVIES)
    parser.add_argument("--artifacts-dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    limit_threads()
    artifacts = args.artifacts_dir or settings.artifacts_dir()
    model = load_latest(args.model, artifacts)
    movies = load_movielens(settings.movielens_dir()).movies.set_index("movieId")
    keep = map_movies(model.features.movie_count, args.min_ratings, args.max_movies)
    ids = model.movie_ids[keep]
    info = movies.reindex(ids)
    labels = [main_genre(g if isinstance(g, list) else []) for g in info["genres"]]
    titles = info["title"].fillna("").astype(str).tolist()
    points = project(model.movie_vectors()[keep])
    out = args.out or Path(artifacts) / "plots" / "embeddings.png"
    plot(
        points,
        labels,
        titles,
        out,
        f"{args.model} movie embeddings (t-SNE, {len(ids)} movies with "
        f">= {args.min_ratings} ratings), coloured by main genre",
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
