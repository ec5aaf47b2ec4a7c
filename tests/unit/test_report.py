"""The evaluation report: its metrics and one real run of ``scripts.report`` on small data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.evaluation_report import half_star_accuracy, personalisation
from scripts import report
from tests.recommender_contract import taste_groups


def test_half_star_accuracy_rounds_to_the_nearest_half_star():
    truth = np.array([4.0, 3.5, 2.0, 5.0])
    assert half_star_accuracy(np.array([4.2, 3.3, 2.3, 4.8]), truth) == 0.75  # 2.3 -> 2.5
    assert half_star_accuracy(truth, truth) == 1.0


def test_personalisation_is_one_minus_mean_pairwise_overlap():
    assert personalisation([[1, 2], [1, 2], [1, 2]], k=2) == 0.0
    assert personalisation([[1, 2], [3, 4]], k=2) == 1.0
    # pairs: (a,b) share 1 of 2, (a,c) 0, (b,c) 1 -> mean overlap 1/3
    assert personalisation([[1, 2], [2, 3], [3, 4]], k=2) == pytest.approx(2 / 3)
    assert np.isnan(personalisation([[1, 2]], k=2))


def test_report_writes_tables_plots_and_json(tmp_path, capfd):
    ratings, movies = taste_groups()
    folder = tmp_path / "data"
    folder.mkdir()
    # more people so that 20% held out still gives several new users
    more = ratings.assign(userId=ratings["userId"] + 40, timestamp=ratings["timestamp"] + 7)
    pd.concat([ratings, more]).to_csv(folder / "ratings.csv", index=False)
    movies.assign(genres=movies["genres"].str.join("|")).to_csv(folder / "movies.csv", index=False)
    out = tmp_path / "docs" / "evaluation.md"
    out.parent.mkdir()
    options = [
        "--models", "popularity,item-knn,mf-sgd,rating-blend", "--newuser-seeds", "1",
        "--given", "3", "--param", "mf-sgd.epochs=5", "--param", "item-knn.calibration_users=10",
        "--param", "rating-blend.components=item-knn,popularity",
        "--param", "rating-blend.calibration_users=10",
        "--note", "Reduced settings for a test.",
        "--ratings", str(folder / "ratings.csv"), "--out", str(out),
    ]  # fmt: skip
    report.main([*options, "--seeds", "2", "--jobs", "2"])
    text = out.read_text()
    assert "python -m scripts.report --models popularity,item-knn,mf-sgd,rating-blend" in text
    assert "seeds [0, 1]" in text and "load average" in text
    assert "- Reduced settings for a test." in text
    assert "| rating-blend | 0." in text and "Best RMSE: **" in text
    for header in ("RMSE (stars)", "half-star accuracy", "NDCG@24", "personalisation"):
        assert header in text
    assert "| item-knn | 0." in text and "Reference E" in text and "24.7%" in text
    assert "order of the three models (AutoRec > MF > KNN)" in text and "by RMSE item-knn" in text
    for png in ("rating.png", "newuser.png", "accuracy_vs_time.png", "training_mf-sgd.png"):
        assert (out.parent / "evaluation" / png).stat().st_size > 5_000
        assert f"evaluation/{png}" in text
    payload = json.loads(out.with_suffix(".json").read_text())
    rows = {(r["protocol"], r["model"]): r for r in payload["results"]}
    knn = rows[("rating", "item-knn")]
    assert len(knn["values"]["rmse"]) == 2 and knn["mean"]["rmse"] < 1.0  # two groups, learnable
    assert rows[("rating", "popularity")]["mean"]["rmse"] > knn["mean"]["rmse"]
    assert 0 < rows[("newuser", "item-knn")]["mean"]["personalisation"] <= 1
    assert "rating seed 1: item-knn RMSE" in capfd.readouterr().out  # from the child process
    # the report can be re-rendered from its JSON alone, word for word
    again = tmp_path / "again" / "evaluation.md"
    again.parent.mkdir()
    report.main(["--render", str(out.with_suffix(".json")), "--out", str(again)])
    assert again.read_text() == text
    assert (again.parent / "evaluation" / "training_mf-sgd.png").exists()

    # a rerun reuses the saved results and measures only what --refit names
    capfd.readouterr()
    report.main([*options, "--seeds", "2", "--refit", "mf-sgd"])
    progress = capfd.readouterr().out
    assert "rating seed 1: item-knn reused (measured 20" in progress
    assert "rating seed 1: fitting mf-sgd" in progress
    assert "fitting item-knn" not in progress and "fitting rating-blend" not in progress
    assert "(protocol, seed, model) result is saved in" in out.read_text()
    assert "9 of the 12 were reused" in out.read_text()  # 4 models x (2 + 1 seeds), 3 refitted
    # while a run goes on, --saved-only writes the report of what is saved and lists the rest
    report.main([*options, "--seeds", "3", "--saved-only"])
    assert "fitting" not in capfd.readouterr().out
    text = out.read_text()
    assert "**Not measured yet** (4 results" in text and "item-knn (rating seeds 2)" in text
    assert "written from its saved results with `--saved-only`" in text
    assert "--seeds 3 --saved-only" not in text  # the command that measures the rest


def test_best_against_svd_is_measured_on_the_splits_both_have():
    from recommender.evaluation import Result

    best, svd = Result("rating", "item-knn"), Result("rating", "surprise-svd")
    best.add({"rmse": 0.80}, {"seed": 0})
    for seed, rmse in ((0, 0.86), (1, 0.70), (2, 0.70)):  # seeds 1, 2 not measured for best
        svd.add({"rmse": rmse}, {"seed": seed})
    text = report.against(best, svd)
    assert f"{0.80 / 0.86:.3f}× Surprise SVD (0.8600) on the same splits (seeds [0])" in text
    popularity, blend = Result("newuser", "popularity", 5), Result("newuser", "blend", 5)
    for seed, ndcg in ((0, 0.25), (1, 0.35)):
        popularity.add({"ndcg": ndcg}, {"seed": seed})
    blend.add({"ndcg": 0.30}, {"seed": 0})
    assert report.against_popularity([popularity, blend], popularity) == "blend 1.20× (seeds [0])"
