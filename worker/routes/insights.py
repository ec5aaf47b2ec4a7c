"""The plots behind the app's Insights page (embedding map, training curves, reliability).

They are read from the worker's ``ARTIFACTS_DIR`` on each request (the training Job and
``make models`` write them there), so the app needs no access to that folder.
"""

from __future__ import annotations

from flask import Blueprint, send_file

from api import answers
from worker.endpoint import endpoint
from worker.errors import ApiError
from worker.plots import find_plot, find_plots
from worker.routes import API, models

bp = Blueprint("insights", __name__, url_prefix=API)


@bp.get("/insights/plots")
@endpoint(
    "The plots of the Insights page: name, title, caption and image URL",
    tag="insights",
    auth="required",
    answers={200: answers.Plots},
)
def plots():
    """``{"items": [{"name", "title", "caption", "url"}]}`` in the order the page shows them;
    empty until the models are built."""
    items = [
        {
            "name": plot.name,
            "title": plot.title,
            "caption": plot.caption,
            "url": f"{API}/insights/plots/{plot.name}",
        }
        for plot in find_plots(models().artifacts_dir)
    ]
    return {"items": items}


@bp.get("/insights/plots/<name>")
@endpoint(
    "One plot's PNG image",
    tag="insights",
    auth="required",
    answers={200: "image/png"},
    errors=(404,),
)
def plot(name: str):
    """The PNG of one plot listed by ``GET /insights/plots``; 404 ``plot_not_found`` else."""
    found = find_plot(models().artifacts_dir, name)
    if found is None:
        raise ApiError(404, "plot_not_found", "No plot has that name; see GET /insights/plots.")
    # absolute: Flask would resolve a relative path (ARTIFACTS_DIR=artifacts) against worker/
    return send_file(found.path.resolve(), mimetype="image/png", max_age=300)
