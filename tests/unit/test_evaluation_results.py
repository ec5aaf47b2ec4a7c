"""The evaluation report's saved results: what a rerun reuses and what it measures again."""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.blend.components import COMPONENTS
from recommender.evaluation_report import new_user_protocol, rating_protocol, registry_fit
from recommender.evaluation_results import (
    SavedResults,
    data_fingerprint,
    describe,
    model_settings,
)
from recommender.models import make_model
from tests.recommender_contract import taste_groups

NAMES = ("popularity", "item-knn")


def counting_fit(params: dict, fitted: list[str]):
    """The registry's fit, noting each model name it fits in ``fitted``."""
    inner = registry_fit(params)

    def fit(name, train, movies):
        fitted.append(name)
        return inner(name, train, movies)

    return fit


def run(folder, ratings, movies, params=None, refit=(), measure=True, seeds=(0, 1)):
    """The rating protocol over ``seeds`` with a results folder: (results by model, fitted)."""
    params = params or {name: {} for name in NAMES}
    saved = SavedResults(
        folder,
        data=data_fingerprint(ratings, movies),
        settings={name: model_settings(name, params[name]) for name in NAMES},
        refit=refit,
        measure=measure,
    )
    fitted: list[str] = []
    results = rating_protocol(
        NAMES, ratings, movies, seeds=seeds, params=params, fit=counting_fit(params, fitted),
        saved=saved,
    )  # fmt: skip
    return {r.model: r for r in results}, fitted


@pytest.fixture()
def data():
    return taste_groups()


def test_a_rerun_reuses_every_saved_result_and_fits_nothing(tmp_path, data):
    first, fitted = run(tmp_path, *data)
    assert fitted == ["popularity", "item-knn"] * 2
    assert len(list(tmp_path.glob("rating-seed*-*.json"))) == 4
    again, fitted = run(tmp_path, *data)
    assert fitted == []
    for name in NAMES:  # the very figures of the first run, its fit times included
        assert again[name].values == first[name].values
        assert len(again[name].values["rmse"]) == 2


def test_a_stopped_run_resumes_with_the_seeds_it_had_not_measured(tmp_path, data):
    run(tmp_path, *data, seeds=(0,))
    results, fitted = run(tmp_path, *data, seeds=(0, 1, 2))
    assert fitted == ["popularity", "item-knn"] * 2  # seeds 1 and 2 only
    assert len(results["item-knn"].values["rmse"]) == 3


def test_changed_settings_refit_only_that_model(tmp_path, data):
    run(tmp_path, *data)
    _, fitted = run(tmp_path, *data, params={"popularity": {}, "item-knn": {"k": 5}})
    assert fitted == ["item-knn", "item-knn"]
    # a setting given explicitly at its default value is the same setting
    _, fitted = run(tmp_path, *data, params={"popularity": {"damping": 10.0}, "item-knn": {}})
    assert fitted == []


def test_changed_data_refits_every_model(tmp_path, data):
    ratings, movies = data
    run(tmp_path, ratings, movies)
    _, fitted = run(tmp_path, ratings.iloc[1:], movies)
    assert fitted == ["popularity", "item-knn"] * 2
    changed = ratings.assign(rating=ratings["rating"].where(ratings.index != 0, 3.0))
    assert data_fingerprint(changed, movies) != data_fingerprint(ratings, movies)
    renamed = movies.assign(title=movies["title"].where(movies.index != 0, "Another title"))
    assert data_fingerprint(ratings, renamed) != data_fingerprint(ratings, movies)


def test_refit_re_measures_the_named_model_and_replaces_its_saved_result(tmp_path, data):
    first, _ = run(tmp_path, *data)
    files = sorted(tmp_path.iterdir())
    refitted, fitted = run(tmp_path, *data, refit={"item-knn"})
    assert fitted == ["item-knn", "item-knn"]
    assert refitted["popularity"].values == first["popularity"].values
    assert refitted["item-knn"].values["fit_s"] != first["item-knn"].values["fit_s"]
    assert sorted(tmp_path.iterdir()) == files  # replaced, not added beside
    again, fitted = run(tmp_path, *data)
    assert fitted == [] and again["item-knn"].values == refitted["item-knn"].values


def test_an_unreadable_or_foreign_file_is_measured_again(tmp_path, data):
    run(tmp_path, *data)
    broken = next(tmp_path.glob("rating-seed0-item-knn-*.json"))
    broken.write_text('{"key": ')  # a run stopped mid-write (writes are atomic; still)
    foreign = next(tmp_path.glob("rating-seed1-popularity-*.json"))
    foreign.write_text(foreign.read_text().replace('"seed": 1', '"seed": 7'))
    _, fitted = run(tmp_path, *data)
    assert sorted(fitted) == ["item-knn", "popularity"]


def test_saved_only_measures_nothing_and_skips_what_is_missing(tmp_path, data):
    run(tmp_path, *data, seeds=(0,))
    results, fitted = run(tmp_path, *data, seeds=(0, 1), measure=False)
    assert fitted == []
    assert len(results["item-knn"].values["rmse"]) == 1  # seed 1 was never measured
    empty, fitted = run(tmp_path / "none", *data, measure=False)
    assert fitted == [] and all(not r.values for r in empty.values())


def test_new_user_results_depend_on_the_profile_sizes(tmp_path, data):
    ratings, movies = data
    more = ratings.assign(userId=ratings["userId"] + 40, timestamp=ratings["timestamp"] + 7)
    ratings = pd.concat([ratings, more])
    saved = SavedResults(tmp_path, data=data_fingerprint(ratings, movies), settings={})
    for given, expected in (((3,), ["popularity"]), ((3,), []), ((3, 5), ["popularity"])):
        fitted: list[str] = []
        new_user_protocol(
            ["popularity"], ratings, movies, seeds=[0], given=given, params={}, saved=saved,
            fit=counting_fit({}, fitted),
        )  # fmt: skip
        assert fitted == expected


def test_settings_include_defaults_so_a_changed_default_changes_the_key():
    knn = model_settings("item-knn", {})
    assert knn["k"] == 30 and knn == model_settings("item-knn", {"k": 30})
    assert model_settings("item-knn", {"k": 31}) != knn
    # the blend's component list is part of its settings: a new component means a refit
    served = describe(make_model("blend", neural="embed-implicit"))
    assert served != describe(
        make_model("blend", neural="embed-implicit", component_types=COMPONENTS[:-1])
    )
    assert "recommender.blend.components.neural.NeuralComponent" in served["component_types"]
    assert served["neural_name"] == "embed-implicit"
