"""End-to-end runs of the command-line contracts on ml-latest-small (real files, real models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scripts import evaluate, predict, recommend

ROOT = Path(__file__).resolve().parents[2]
PROFILE_USERS = [1, 2, 3]


@pytest.fixture(scope="module")
def files(data_dir, tmp_path_factory) -> dict[str, Path]:
    """A training file without users 1–3, their first 10 ratings as profiles, and pairs."""
    folder = tmp_path_factory.mktemp("cli")
    ratings = pd.read_csv(data_dir / "ml-latest-small" / "ratings.csv")
    mine = ratings["userId"].isin(PROFILE_USERS)
    ratings[~mine].to_csv(folder / "train.csv", index=False)
    profiles = ratings[mine].groupby("userId").head(10)
    profiles.to_csv(folder / "profiles.csv", index=False)
    pairs = pd.DataFrame(
        {"userId": [1, 1, 2, 5, 5, 3, 999_999], "movieId": [1, 50, 260, 1, 999_999, 2571, 1]}
    )
    pairs.to_csv(folder / "pairs.csv", index=False)
    return {
        "folder": folder,
        "train": folder / "train.csv",
        "profiles": folder / "profiles.csv",
        "pairs": folder / "pairs.csv",
        "movies": data_dir / "ml-latest-small" / "movies.csv",
    }


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_recommend_writes_k_unrated_movies_per_profile_user(files):
    out = files["folder"] / "recs.csv"
    done = _run(
        "scripts.recommend", "--model", "pearson", "--train", str(files["train"]),
        "--movies", str(files["movies"]), "--profiles", str(files["profiles"]),
        "--k", "24", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recs = pd.read_csv(out)
    assert list(recs.columns) == ["userId", "rank", "movieId", "score", "match"]
    assert sorted(recs["userId"].unique()) == PROFILE_USERS
    profiles = pd.read_csv(files["profiles"])
    for user, mine in recs.groupby("userId"):
        assert mine["rank"].tolist() == list(range(1, 25))
        assert mine["movieId"].is_unique
        assert (mine["score"].diff().dropna() <= 0).all()
        rated = set(profiles.loc[profiles["userId"] == user, "movieId"])
        assert not rated & set(mine["movieId"])
    assert recs["match"].between(0, 100).all()


def test_predict_writes_one_row_per_pair_on_the_rating_scales(files):
    out = files["folder"] / "pred.csv"
    done = _run(
        "scripts.predict", "--model", "pearson", "--train", str(files["train"]),
        "--profiles", str(files["profiles"]), "--test", str(files["pairs"]), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    pairs = pd.read_csv(files["pairs"])
    assert list(pred.columns) == ["userId", "movieId", "prediction", "match"]
    assert pred[["userId", "movieId"]].equals(pairs[["userId", "movieId"]])
    assert pred["prediction"].between(0.5, 5).all()
    assert pred["match"].between(0, 100).all()
    assert pred["match"].iloc[4] == 0  # unknown movie


def test_popularity_works_through_the_same_commands(files, tmp_path):
    out = tmp_path / "recs.csv"
    recommend.main(
        ["--model", "popularity", "--train", str(files["train"]), "--profiles",
         str(files["profiles"]), "--k", "5", "--out", str(out)]
    )  # fmt: skip
    recs = pd.read_csv(out)
    assert len(recs) == 15 and recs["rank"].max() == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--train": "missing.csv"}, "--train"),
        ({"--test": "missing.csv"}, "--test"),
        ({"--model": "nonsense"}, "unknown model"),
        ({"--test": "BAD"}, "userId,movieId"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(files, tmp_path, capsys, change, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    args = {
        "--model": "popularity",
        "--train": str(files["train"]),
        "--test": str(files["pairs"]),
        "--out": str(tmp_path / "out.csv"),
    }
    args.update({k: str(bad) if v == "BAD" else str(tmp_path / v) if v.endswith(".csv") else v
                 for k, v in change.items()})  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        predict.main([item for pair in args.items() for item in pair])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err


def test_profiles_users_must_not_be_in_train(files, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        recommend.main(
            ["--model", "popularity", "--train", str(files["train"]), "--profiles",
             str(files["train"]), "--out", str(tmp_path / "x.csv")]
        )  # fmt: skip
    assert exit_info.value.code == 2
    assert "also in --train" in capsys.readouterr().err


def test_evaluate_on_a_small_sample(data_dir, tmp_path, capsys):
    evaluate.main(
        ["--models", "popularity,pearson", "--protocol", "rating,newuser", "--seeds", "1",
         "--given", "5", "--max-users", "15", "--quiet", "--out-dir", str(tmp_path),
         "--ratings", str(data_dir / "ml-latest-small")]
    )  # fmt: skip
    report = json.loads((tmp_path / "evaluation.json").read_text())
    rows = {(r["protocol"], r["model"]): r for r in report["results"]}
    assert set(rows) == {(p, m) for p in ("rating", "newuser") for m in ("popularity", "pearson")}
    assert 0.5 < rows[("rating", "pearson")]["mean"]["rmse"] < 1.5
    assert 0 < rows[("newuser", "popularity")]["mean"]["ndcg"] <= 1
    assert rows[("newuser", "pearson")]["counts"]["users"][0] <= 15
    assert "| pearson | 5 |" in (tmp_path / "evaluation.md").read_text()
    assert "ndcg@24" in capsys.readouterr().out


def test_a_rating_off_the_scale_in_profiles_exits_2(files, tmp_path, capsys):
    bad = tmp_path / "profiles.csv"
    bad.write_text("userId,movieId,rating,timestamp\n1,1,9.0,0\n")
    with pytest.raises(SystemExit) as exit_info:
        recommend.main(
            ["--model", "popularity", "--train", str(files["train"]), "--profiles", str(bad),
             "--out", str(tmp_path / "x.csv")]
        )  # fmt: skip
    assert exit_info.value.code == 2
    assert "outside 0.5–5" in capsys.readouterr().err


def test_the_registry_imports_a_model_only_when_asked_for():
    code = (
        "import sys; from recommender.models import make_model, MODEL_NAMES; "
        "assert {'popularity', 'pearson'} <= set(MODEL_NAMES); "
        "make_model('pearson', neighbours=30); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_load_test_reports_each_kind_of_recommendation_page(live_worker, capsys):
    """A short real run of ``scripts.load_test`` against the session's gunicorn worker: no
    errors, and fresh lists, pages explained on first view and cached pages are told apart."""
    from scripts import load_test

    code = load_test.main(
        ["--url", live_worker, "--users", "2", "--duration", "6", "--ratings", "6"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "errors: 0" in out
    rows = {
        line.split()[1] if line.startswith("recs") else line.split()[0]
        for line in out.splitlines()
        if line.strip()
    }
    assert {"fresh", "explained", "cached"} <= rows, out
