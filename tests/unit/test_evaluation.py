"""Evaluation: splits, metrics computed by hand, and both protocols on the taste-groups data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender.calibration import expected_calibration_error
from recommender.evaluation import (
    evaluate_new_users,
    evaluate_rating_prediction,
    first_ratings,
    format_markdown,
    mae,
    new_user_split,
    ranking_metrics,
    rating_split,
    rmse,
)
from tests.recommender_contract import taste_groups


def test_ranking_metrics_by_hand():
    # hits at ranks 1 and 3 of 4; 3 relevant movies (one never recommended)
    metrics = ranking_metrics([10, 20, 30, 40], {10, 30, 99}, k=4)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["precision"] == pytest.approx(2 / 3)  # hits / min(k, n_relevant) = 2 / 3
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics["ndcg"] == pytest.approx(dcg / ideal)


def test_ranking_metrics_with_more_relevant_than_k():
    metrics = ranking_metrics([1, 2, 3], set(range(1, 11)), k=3)
    assert metrics == pytest.approx({"recall": 0.3, "precision": 1.0, "ndcg": 1.0})
    assert ranking_metrics([7, 8], {1}, k=2) == pytest.approx(
        {"recall": 0, "precision": 0, "ndcg": 0}
    )
    with pytest.raises(ValueError):
        ranking_metrics([1], set(), k=1)


def test_expected_calibration_error_by_hand():
    assert expected_calibration_error([0.8] * 10, [1] * 8 + [0] * 2) == pytest.approx(0.0)
    # bin [0.2, 0.3): said 0.25, 1 of 2 happened -> gap 0.25; bin [0.9, 1]: said 1.0, 1 of 2 -> 0.5
    ece = expected_calibration_error([0.25, 0.25, 1.0, 1.0], [1, 0, 1, 0], bins=10)
    assert ece == pytest.approx(0.5 * 0.25 + 0.5 * 0.5)
    assert expected_calibration_error([1.0, 0.0], [0, 1]) == pytest.approx(1.0)
    assert math.isnan(expected_calibration_error([], []))


def test_rmse_and_mae():
    assert rmse(np.array([3.0, 5.0]), np.array([4.0, 4.0])) == pytest.approx(1.0)
    assert mae(np.array([3.0, 4.5]), np.array([4.0, 4.0])) == pytest.approx(0.75)


def test_rating_split_is_seeded_and_complete():
    ratings, _ = taste_groups()
    train, test = rating_split(ratings, 0.1, seed=3)
    again, _ = rating_split(ratings, 0.1, seed=3)
    assert len(train) + len(test) == len(ratings)
    assert 0.05 < len(test) / len(ratings) < 0.15
    assert train.index.equals(again.index)
    assert not train.index.intersection(test.index).size


def test_new_user_split_holds_out_whole_users():
    ratings, _ = taste_groups()
    train, held_out = new_user_split(ratings, 0.2, seed=1)
    assert held_out["userId"].nunique() == 8
    assert not set(train["userId"]) & set(held_out["userId"])
    assert len(train) + len(held_out) == len(ratings)


def test_first_ratings_are_the_earliest():
    user = pd.DataFrame(
        {"movieId": [5, 6, 7, 8], "rating": [1.0, 2.0, 3.0, 4.0], "timestamp": [40, 10, 30, 10]}
    )
    profile, hidden = first_ratings(user, 2)
    assert profile == {6: 2.0, 8: 4.0}  # ties in time: lower movieId first
    assert hidden["movieId"].tolist() == [7, 5]


def test_new_user_protocol_prefers_pearson_on_taste_groups():
    ratings, movies = taste_groups()
    params = {"pearson": {"candidates": 40}}
    results = evaluate_new_users(
        ["popularity", "pearson"],
        ratings,
        movies,
        seeds=[0, 1],
        given=[6],
        k=5,
        params=params,
        progress=False,
    )
    by_model = {r.model: r for r in results}
    # only movies the user rated can count as hits, so even right-genre lists score well below 1
    assert by_model["pearson"].mean("recall") > 0.5
    assert by_model["pearson"].mean("ndcg") > 2 * by_model["popularity"].mean("ndcg")
    assert by_model["pearson"].counts["users"] == [8, 8]
    assert 0 <= by_model["pearson"].mean("ece") <= 1
    table = format_markdown(results, k=5)
    assert "ndcg@5" in table and "| pearson | 6 |" in table


def test_rating_protocol_prefers_pearson_on_taste_groups():
    ratings, movies = taste_groups()
    results = evaluate_rating_prediction(
        ["popularity", "pearson"], ratings, movies, seeds=[0, 1], progress=False
    )
    by_model = {r.model: r for r in results}
    assert by_model["pearson"].mean("rmse") < 0.5 < by_model["popularity"].mean("rmse")
    assert len(by_model["pearson"].values["mae"]) == 2
    summary = by_model["pearson"].summary()
    rmse = by_model["pearson"].values["rmse"]
    assert summary["mean"]["rmse"] == pytest.approx(np.mean(rmse))
    assert summary["std"]["rmse"] == pytest.approx(np.std(rmse, ddof=1))  # sample std, 2 seeds
    assert rmse[0] != rmse[1], "two seeds split the ratings differently"


def test_users_without_a_liked_held_out_movie_are_skipped_and_counted():
    ratings, movies = taste_groups()
    ratings = ratings.assign(rating=np.float32(2.0))  # nobody likes anything
    (result,) = evaluate_new_users(
        ["popularity"], ratings, movies, seeds=[0], given=[6], k=5, progress=False
    )
    assert result.counts == {"users": [0], "skipped_no_relevant": [8]}
    assert math.isnan(result.mean("ndcg"))
    assert 0 <= result.mean("ece") <= 1  # calibration still counts their ratings
