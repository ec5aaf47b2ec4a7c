"""Print how well "more like this" and "describe what you want" do on fixed cases.

    python -m scripts.content_quality [--similar] [--describe]

Reads the configured data (``DATA_DIR``) and ``ARTIFACTS_DIR``: the SBERT content vectors
(``sbert/``, from ``python -m scripts.embed``), the ``embed`` model (``models/embed``, from
``python -m scripts.train --model embed``) and the blend (``blend/``; Pearson fitted now when
there is none). Prints two tables:

- similar movies (:data:`recommender.content_quality.SIMILAR_CASES`): the share of expected
  neighbours in the top 10 for the embeddings alone, the content vectors alone, the genres
  alone and the combination served by the worker (:class:`recommender.similar.MoreLikeThis`);
- descriptions (:data:`recommender.content_quality.DESCRIBE_CASES`), for
  :data:`~recommender.content_quality.ACTION_PROFILE`: the share of fitting movies in the top
  24 and the share of unwanted ones there, ranked by taste among the 200 closest (before) and by
  meaning first (now, :func:`recommender.describe.search`), and by meaning alone.
"""

from __future__ import annotations

import argparse
import sys

from recommender import settings
from recommender.content_quality import (
    ACTION_PROFILE,
    DESCRIBE_CASES,
    SIMILAR_CASES,
    describe_hit_rate,
    similar_hit_rate,
)

SIMILAR_METHODS = {
    "embeddings alone (who liked it)": ("embed",),
    "content vectors alone (what it is about)": ("content",),
    "genres alone": ("genres",),
    "content + genres + embeddings": ("content", "genres", "embed"),
    "combination served (+ popularity)": ("content", "genres", "embed", "popularity"),
}


def similar_table(more_like_this) -> list[str]:
    """Markdown rows: method, hit rate, per-case hit rates."""
    lines = [
        "| method | hit rate (top 10) | " + " | ".join(c.title[:18] for c in SIMILAR_CASES) + " |",
        "|---" * (len(SIMILAR_CASES) + 2) + "|",
    ]
    for name, parts in SIMILAR_METHODS.items():
        rate, per = similar_hit_rate(lambda m, k, p=parts: more_like_this.similar(m, k, p)[0])
        cells = " | ".join(f"{per[c.movie]:.2f}" for c in SIMILAR_CASES)
        lines.append(f"| {name} | **{rate:.3f}** | {cells} |")
    return lines


def describe_table(vectors, counts, model, encoder, overviews) -> list[str]:
    from recommender.describe import StoryMatcher, search

    matcher = StoryMatcher.from_encoder(encoder)

    def run(**kwargs):
        return describe_hit_rate(
            lambda q, k: search(
                q, vectors, counts, encoder=encoder, matcher=matcher, overviews=overviews, **kwargs
            )[:k]
        )

    rows = {
        "before: 200 closest, ranked by taste": run(
            model=model, profile=ACTION_PROFILE, taste_first=True
        ),
        "now: meaning first, taste second": run(model=model, profile=ACTION_PROFILE),
        "meaning alone (no taste; fewer than 5 ratings)": run(),
    }
    lines = [
        "| ranking | hit rate (top 24) | unwanted in top 24 |",
        "|---|---|---|",
    ]
    for name, (hit, off, _) in rows.items():
        lines.append(f"| {name} | **{hit:.3f}** | {off:.3f} |")
    lines += ["", "| description | before: hit / unwanted | now: hit / unwanted |", "|---|---|---|"]
    before, now = (
        rows["before: 200 closest, ranked by taste"][2],
        rows["now: meaning first, taste second"][2],
    )
    for case in DESCRIBE_CASES:
        b, n = before[case.query], now[case.query]
        lines.append(f"| {case.query} | {b[0]:.2f} / {b[1]:.2f} | {n[0]:.2f} / {n[1]:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--similar", action="store_true", help="only the similar-movies table")
    parser.add_argument("--describe", action="store_true", help="only the descriptions table")
    args = parser.parse_args(argv)
    both = not (args.similar or args.describe)

    from recommender.catalog import Catalog
    from recommender.content import MovieVectors, default_encoder
    from recommender.movielens import load_movielens
    from worker import artifacts

    root = settings.artifacts_dir()
    ml = load_movielens(settings.movielens_dir())
    catalog = Catalog.from_movielens(ml)
    folder = artifacts.sbert_folder(root)
    if folder is None:
        print(f"No SBERT vectors in {root}/sbert: run python -m scripts.embed", file=sys.stderr)
        return 2
    vectors = MovieVectors.load(folder)
    if args.similar or both:
        from recommender.neural.artifacts import load_artifact, model_dir
        from recommender.similar import MoreLikeThis
        from recommender.similar import MovieVectors as EmbedVectors

        version = artifacts.embed_version(root)
        if version is None:
            print(f"No embed model in {root}: run python -m scripts.train --model embed")
            return 2
        embed = EmbedVectors.from_model(load_artifact(model_dir("embed", root) / version), 5)
        more_like_this = MoreLikeThis.build(catalog, content=vectors, embed=embed)
        print(f"## More like this (embed {version}, {len(SIMILAR_CASES)} cases)\n")
        print("\n".join(similar_table(more_like_this)) + "\n")
    if args.describe or both:
        model, name = _taste_model(root, ml)
        counts = dict(zip(catalog.ids.tolist(), catalog.rating_counts.tolist(), strict=True))
        print(f"## Describe what you want ({name}, {len(DESCRIBE_CASES)} descriptions)\n")
        overviews = dict(zip(catalog.ids.tolist(), catalog.overviews.tolist(), strict=True))
        encoder = default_encoder()
        print("\n".join(describe_table(vectors, counts, model, encoder, overviews)))
    return 0


def _taste_model(root, ml):
    """The served blend when ``ARTIFACTS_DIR`` has one, else Pearson fitted now."""
    from worker import artifacts

    version = artifacts.blend_version(root)
    if version is not None:
        from recommender.blend import BlendRecommender

        return BlendRecommender.load(artifacts.blend_folder(root, version)), f"blend {version}"
    from recommender.models import make_model

    return make_model("pearson").fit(ml.ratings, ml.movies), "pearson"


if __name__ == "__main__":
    raise SystemExit(main())
