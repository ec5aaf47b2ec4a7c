"""What ``GET /api/v1/status`` says: which recommendations are served, and how far the model
build is (:func:`serving_status`).

The build's progress comes from ``ARTIFACTS_DIR/build-status.json``
(:mod:`recommender.build_status`, written by ``scripts/build_models.py``, which
``scripts/serve.py`` runs in the background on a first start); the served model from the
:class:`~worker.services.registry.ModelRegistry`. ``message`` is the one sentence the app shows,
for example "Taste-neighbour picks while the full model builds — step 2 of 4, 40 %".
"""

from __future__ import annotations

from typing import Any

from recommender import build_status

PICKS = {"pearson": "Taste-neighbour picks", "blend": "Blended picks"}
"""What each model's recommendations are called in the status sentence."""


def _picks(model: str | None) -> str:
    return PICKS.get(model or "", f"{model} picks")


def message(
    model: str | None, final: bool, build: dict[str, Any], load_error: str | None = None
) -> str:
    """The status sentence for served ``model`` (``final``: the configured model, not a
    stand-in), ``build`` (the progress file's object) and ``load_error`` (why a new version
    failed to load, if one did)."""
    if model is None:
        return "Loading the recommendation models…"
    picks = _picks(model)
    state, step, of = build.get("state"), build.get("step"), build.get("of")
    where = f"step {step} of {of}, {build.get('percent', 0)} %"
    if state == "running":
        if final:
            return f"{picks}; a newer model is building — {where}"
        return f"{picks} while the full model builds — {where}"
    if final:
        return picks
    if state == "failed":
        return f"{picks}: building the full model failed at step {step} of {of} (details below)"
    if state == "stopped":
        return (
            f"{picks}: the full model's build stopped at step {step} of {of}; "
            "the next `make run` builds it again"
        )
    if state == "done" and load_error:
        return f"{picks}: the full model was built but failed to load ({load_error})"
    if state == "done":
        return f"{picks}; the full model is built and is being loaded"
    return f"{picks} (no full model has been built)"


def serving_status(registry: Any) -> dict[str, Any]:
    """The body of ``GET /api/v1/status`` (:class:`api.answers.Status`).

    ``serving`` is ``loading`` (nothing served yet), ``interim`` (the blend is wanted but not
    there yet or failed to load: Pearson, fitted at start, stands in) or ``final``."""
    registry.maybe_reload()  # a build that just finished is picked up by this very call
    build = build_status.read(registry.artifacts_dir)
    loaded = registry.loaded
    if loaded is None:
        serving, model, version = "loading", None, None
    else:
        model, version = loaded.model_name, loaded.model_version
        wanted_blend = registry.requested in ("auto", "blend")
        serving = "interim" if wanted_blend and model != "blend" else "final"
    return {
        "serving": serving,
        "model": model,
        "model_version": version,
        "message": message(model, serving == "final", build, registry.reload_error),
        "build": {**build, "steps": build.get("steps") or []},
    }
