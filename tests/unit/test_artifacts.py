"""The one convention for versioned artifacts (recommender/artifacts.py): folder per version,
manifest with library versions, an atomically replaced ``latest`` pointer read by one function."""

from __future__ import annotations

import pytest

from recommender import artifacts


def test_a_version_is_current_once_latest_names_it(tmp_path):
    assert artifacts.latest_version(tmp_path) is None
    first = artifacts.new_version(tmp_path, "abc")
    second = artifacts.new_version(tmp_path, "abc")  # same second: still a new folder
    assert first != second and first.name.endswith("-abc") and second.name.startswith(first.name)
    with pytest.raises(artifacts.ArtifactNotFound):
        artifacts.set_latest(tmp_path, first.name)  # no manifest yet: not a complete version
    manifest = artifacts.write_manifest(first, {"model": "toy"})
    assert manifest["version"] == first.name and manifest["model"] == "toy"
    assert {"python", "numpy", "pandas", "scikit-learn"} <= set(manifest["software"])
    artifacts.set_latest(tmp_path, first.name)
    assert artifacts.latest_version(tmp_path) == first.name
    assert artifacts.latest_folder(tmp_path) == first
    assert artifacts.read_manifest(first) == manifest
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_older_blends_legacy_pointer_is_still_read(tmp_path):
    (tmp_path / "20261129-070658").mkdir()
    (tmp_path / "20261129-070658" / "blend.pkl").write_bytes(b"")
    (tmp_path / "LATEST").write_text("20261129-070658\n")
    assert artifacts.latest_version(tmp_path, "blend.pkl") == "20261129-070658"


def test_a_pointer_to_an_incomplete_or_foreign_folder_is_ignored(tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "latest").write_text("v1\n")  # no manifest in v1
    assert artifacts.latest_version(tmp_path) is None
    (tmp_path / "latest").write_text("../elsewhere\n")
    assert artifacts.latest_version(tmp_path) is None
    with pytest.raises(artifacts.ArtifactNotFound):
        artifacts.latest_folder(tmp_path)
