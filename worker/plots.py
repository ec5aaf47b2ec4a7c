"""The plots the training and evaluation scripts leave under ``ARTIFACTS_DIR``, each with the
title and one-paragraph caption the app's Insights page shows (served by
``GET /api/v1/insights/plots``, so the app needs no access to the artifacts folder).

Found (PNG files only; nothing else is read, nothing is imported from ``recommender/``):

- ``plots/embeddings.png``: t-SNE map of the movie embeddings (``scripts.plot_embeddings``);
- ``plots/reliability.png``: calibration of the match percentage (``scripts.evaluate_blend``);
- ``plots/training_<model>.png``: training curves (``scripts.train``), else the ``latest``
  version's ``models/<model>/<version>/training_curves.png``;
- any other ``plots/*.png``, with a generic caption.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recommender import artifacts


@dataclass(frozen=True)
class Plot:
    """One image to show: its ``name`` (unique, URL-safe: ``embeddings``, ``training_embed``…),
    ``path``, a short ``title`` and a one-paragraph ``caption``."""

    name: str
    path: Path
    title: str
    caption: str


EMBEDDINGS = (
    "Map of the movies the neural model learned",
    "Every dot is a movie, placed with t-SNE so that movies the model learned to treat alike "
    "(because the same people rated them the same way) sit close together. The colour is the "
    "movie's most distinctive genre. The model never saw the genres while learning from "
    "ratings, so same-coloured clusters mean it discovered them on its own; mixed regions hold "
    "movies that please the same audience across genres.",
)
RELIABILITY = (
    "Can you trust the match percentage?",
    "Movies are grouped by the match percentage shown to people new to the system, and each "
    "point compares that promise with how often those movies were actually rated 4★ or more "
    "in held-out ratings. On the dashed diagonal, a 70% match is liked 7 times in 10; below "
    "it the percentage is too optimistic, above it too modest. ECE is the average gap. The "
    "bars underneath count the movies in each group (few movies: a less certain point).",
)
TRAINING = (
    "Training curves: {model}",
    "Loss and rating error (RMSE, in stars) after each pass over the training ratings, on "
    "the ratings the model learns from (solid) and on held-out ratings it never sees "
    "(dashed). Falling curves mean it is learning; a held-out curve that flattens or rises "
    "while the training curve keeps falling means it started memorising, and training keeps "
    "the best epoch.",
)
OTHER = (
    "{name}",
    "A plot written by the training or evaluation scripts under the artifacts folder.",
)


def latest_version(model_dir: Path) -> Path | None:
    """The version folder the model's ``latest`` pointer names (:mod:`recommender.artifacts`),
    if it holds training curves."""
    version = artifacts.latest_version(model_dir, "training_curves.png")
    return None if version is None else model_dir / version


def find_plots(root: Path) -> list[Plot]:
    """Every plot under ``root`` (= ``ARTIFACTS_DIR``), in the order the page shows them."""
    plots_dir = root / "plots"
    found: list[Plot] = []
    shown: set[Path] = set()

    def add(path: Path, title: str, caption: str, name: str | None = None) -> None:
        if path.is_file() and path.resolve() not in shown:
            shown.add(path.resolve())
            found.append(Plot(name or path.stem, path, title, caption))

    add(plots_dir / "embeddings.png", *EMBEDDINGS)
    add(plots_dir / "reliability.png", *RELIABILITY)
    trained: set[str] = set()
    for path in sorted(plots_dir.glob("training_*.png")):
        model = path.stem.removeprefix("training_")
        trained.add(model)
        add(path, TRAINING[0].format(model=model), TRAINING[1])
    models_dir = root / "models"
    for model_dir in sorted(models_dir.iterdir()) if models_dir.is_dir() else []:
        if not model_dir.is_dir() or model_dir.name in trained:
            continue
        version = latest_version(model_dir)
        if version is not None:
            title = TRAINING[0].format(model=model_dir.name)
            add(version / "training_curves.png", title, TRAINING[1], f"training_{model_dir.name}")
    for path in sorted(plots_dir.glob("*.png")):
        add(path, OTHER[0].format(name=path.stem.replace("_", " ").capitalize()), OTHER[1])
    return found


def find_plot(root: Path, name: str) -> Plot | None:
    """The plot called ``name`` among :func:`find_plots` (``None`` if there is none): only
    files that list names can be served, whatever ``name`` holds."""
    return next((plot for plot in find_plots(root) if plot.name == name), None)
