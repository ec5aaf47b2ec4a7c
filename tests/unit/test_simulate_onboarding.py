"""The onboarding simulation (scripts/simulate_onboarding.py): scrolling, chosen genres and a
fast run on a few held-out people of ml-latest-small."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.movielens import load_movielens
from scripts import simulate_onboarding as sim


def _pager(pages: list[list[int]]):
    return lambda genres, page: np.array(pages[page - 1] if page <= len(pages) else [], int)


def test_scroll_counts_the_movies_passed_before_the_fifth_rating():
    pager = _pager([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    found, scrolled = sim.scroll(pager, [], {9, 8, 6, 5, 2, 1, 42})
    assert found == [1, 2, 5, 6, 8] and scrolled == 3  # passed 3, 4 and 7
    found, scrolled = sim.scroll(pager, [], {3, 7})  # the grid ends first
    assert found == [3, 7] and scrolled == 7


def test_a_simulated_person_picks_their_three_most_rated_genres():
    genres_of = {1: ["Drama", "War"], 2: ["Comedy", "Drama"], 3: ["Comedy"], 4: ["Action"]}
    own = pd.DataFrame({"movieId": [1, 2, 3, 4]})
    assert sim.chosen_genres(own, genres_of, "top3") == ["Comedy", "Drama", "Action"]
    assert sim.chosen_genres(own, genres_of, "none") == []


@pytest.mark.parametrize("target", ["rest", "fixed"])
def test_simulation_on_a_few_people(data_dir, tmp_path, capsys, target):
    code = sim.main(
        [
            "--seeds", "1", "--max-users", "12", "--quiet", "--target", target,
            "--ratings", str(data_dir / "ml-latest-small"), "--out-dir", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    rows = json.loads((tmp_path / "onboarding.json").read_text())["rows"]
    assert [r["grid"] for r in rows][0] == sim.TODAY and sim.SERVED in printed
    assert len(rows) == 4 and all(r["people_per_seed"] == 12 for r in rows)
    today = rows[0]
    assert today["ndcg_ratio"] == 1.0 and today["scrolled_ratio"] == 1.0
    for row in rows:
        assert 0.0 < row["ndcg_mean"] <= 1.0 and row["scrolled_mean"] >= 0
        assert row["pages_mean"] >= 1.0
        assert f"{row['ndcg_mean']:.4f}" in printed
    assert (tmp_path / "onboarding.png").read_bytes()[:4] == b"\x89PNG"


def test_every_grid_is_scored_on_the_same_people(data_dir):
    ml = load_movielens(data_dir / "ml-latest-small")
    outcomes = sim.simulate(ml.ratings, ml.movies, seeds=[1], max_users=20, progress=False)
    people = {name: out.people for name, out in outcomes.items()}
    assert set(map(tuple, people.values())) == {(20,)}
    # the served grid puts informative movies first: people rate different first movies,
    # so at least one grid's figures differ from today's
    assert len({round(out.ndcg[0], 6) for out in outcomes.values()}) > 1
