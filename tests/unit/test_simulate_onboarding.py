"""The onboarding simulation (scripts/simulate_onboarding.py): scrolling, chosen genres and a
fast run on a few held-out people of ml-latest-small."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from recommender.catalog import Catalog, count_ratings
from recommender.movielens import load_movielens
from recommender.onboarding import FirstGrid
from scripts import simulate_onboarding as sim


def test_scroll_counts_the_movies_passed_before_the_fifth_rating():
    grid = sim.StaticWalk(np.arange(1, 10))
    found, scrolled = sim.scroll(grid, {9, 8, 6, 5, 2, 1, 42})
    assert found == [1, 2, 5, 6, 8] and scrolled == 3  # passed 3, 4 and 7
    found, scrolled = sim.scroll(grid, {3, 7})  # the grid ends first
    assert found == [3, 7] and scrolled == 7


def test_an_adaptive_grid_changes_after_each_rating_as_the_worker_serves_it(data_dir):
    """The simulated person reads the adaptive grid the worker would serve them: after each
    rating, the next movies follow what they rated (the worker replays the same ratings)."""
    ml = load_movielens(data_dir / "ml-latest-small")
    ids = ml.movies["movieId"].to_numpy()
    catalog = Catalog(ml.movies, count_ratings(ml.ratings["movieId"].to_numpy(), ids))
    grid = FirstGrid.from_ratings(catalog, ml.ratings)
    genres = ["Comedy", "Drama", "Horror"]
    static = catalog.ids[grid.order(genres)]
    person = ml.ratings[ml.ratings["userId"] == 414]  # rated 2,698 movies: finds five soon
    known = set(person["movieId"].astype(int))
    walk = sim.AdaptiveWalk(grid.walk(genres))
    found, scrolled = sim.scroll(walk, known)
    assert len(found) == 5 and set(found) <= known
    places = scrolled + len(found)
    served = grid.order(genres, rated=found, shown=places)  # what GET /movies replays
    assert catalog.ids[served].tolist() == walk.ids.tolist()
    assert walk.ids[:places].tolist() != static[:places].tolist()  # it did adapt
    assert sorted(walk.ids.tolist()) == sorted(static.tolist())


def test_a_simulated_person_picks_their_three_most_rated_genres():
    genres_of = {1: ["Drama", "War"], 2: ["Comedy", "Drama"], 3: ["Comedy"], 4: ["Action"]}
    own = pd.DataFrame({"movieId": [1, 2, 3, 4]})
    assert sim.chosen_genres(own, genres_of, "top3") == ["Comedy", "Drama", "Action"]
    assert sim.chosen_genres(own, genres_of, "none") == []


def test_simulation_on_a_few_people_under_both_protocols(data_dir, tmp_path, capsys):
    code = sim.main(
        [
            "--seeds", "1", "--max-users", "12", "--quiet", "--target", "both",
            "--ratings", str(data_dir / "ml-latest-small"), "--out-dir", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    panels = json.loads((tmp_path / "onboarding.json").read_text())["targets"]
    assert set(panels) == {"rest", "fixed"} and "target fixed" in printed
    for rows in panels.values():
        assert [r["grid"] for r in rows] == [sim.TODAY, sim.STATIC, sim.FAMILIAR, sim.SERVED]
        assert all(r["people_per_seed"] == 12 for r in rows)
        today = rows[0]
        assert today["ndcg_ratio"] == 1.0 and today["scrolled_ratio"] == 1.0
        for row in rows:
            assert 0.0 < row["ndcg_mean"] <= 1.0 and row["scrolled_mean"] >= 0
            assert row["pages_mean"] >= 1.0
            assert f"{row['ndcg_mean']:.4f}" in printed
    assert (tmp_path / "onboarding.png").read_bytes()[:4] == b"\x89PNG"
    assert "target rest" in (tmp_path / "onboarding.md").read_text()


def test_every_grid_is_scored_on_the_same_people(data_dir):
    ml = load_movielens(data_dir / "ml-latest-small")
    outcomes = sim.simulate(ml.ratings, ml.movies, seeds=[1], max_users=20, progress=False)
    people = {name: out.people for name, out in outcomes.items()}
    assert set(map(tuple, people.values())) == {(20,)}
    # the grids show people different movies, so they rate different ones: the figures differ
    assert len({round(out.ndcg[0], 6) for out in outcomes.values()}) > 1
    assert outcomes[sim.SERVED].scrolled != outcomes[sim.STATIC].scrolled
