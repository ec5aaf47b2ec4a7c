"""The scale benchmark's own parts: measuring a step, and the table and plot of the results."""

from __future__ import annotations

import json
import sys

from scripts.bench_scale import Results, plot, run_measured, table
from scripts.build_models import STEPS


def test_a_measured_step_reports_its_time_cpu_and_peak_memory(tmp_path):
    code = "import time; held = b'x' * 300_000_000; time.sleep(0.6)"  # 300 MB, written
    figures = run_measured([sys.executable, "-c", code], {}, tmp_path / "log")
    assert figures["exit_code"] == 0
    assert figures["seconds"] >= 0.6 and figures["cpu_seconds"] > 0
    assert 300 <= figures["peak_mb"] < 1_000  # the 300 MB it touched, sampled while it slept


def _step(seconds: float, cpu: float, peak: float) -> dict:
    return dict(seconds=seconds, cpu_seconds=cpu, peak_mb=peak, exit_code=0,
                load_start=1.0, load_end=2.5)  # fmt: skip


def test_the_table_and_plot_show_every_build_step_at_every_size(tmp_path):
    results = Results(tmp_path / "results.json")
    for size, ratings, scale in (("100k", 100_000, 1), ("2M", 2_000_000, 10)):
        entry = results.size(size)
        entry["data"] = {"people": 610 * scale, "movies": 9_742, "ratings": ratings}
        for number, step in enumerate(STEPS, start=1):
            entry["steps"][step.name] = _step(100.0 * number * scale, 90.0 * number * scale, 500)
        entry["disk"] = {"blend": 12.5 * scale}
        entry["serve"] = {
            "model": "blend",
            "recs_fresh": {"p50": 40, "p99": 90, "server_p99": 80, "count": 50},
        }
    results.save()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved) == {"100k", "2M"}

    text = table(Results(tmp_path / "results.json"))
    lines = text.splitlines()
    assert lines[0] == "| ratings | 100k | 2M |"
    for number, step in enumerate(STEPS, start=1):
        assert f"| {step.name}: time s (CPU s) | {100 * number} ({90 * number}) |" in text
    whole = sum(100 * n for n in range(1, len(STEPS) + 1))
    assert f"| whole build: time s | {whole:,} | {whole * 10:,} |" in text
    assert "| recs fresh, 2 people: p50 / p99 ms (worker's own p99; n) | 40 / 90 (80; 50) |" in text
    assert "| load average during build | 1.0–2.5 | 1.0–2.5 |" in text

    out = tmp_path / "scale.png"
    plot(results, out)
    assert out.read_bytes().startswith(b"\x89PNG")


def test_runs_sharing_the_results_file_lose_no_step(tmp_path):
    """Each size's run keeps the entry it holds live across saves, and another run's saves
    in between (other sizes) are kept: the 25M run adding steps for an hour beside the 2M run."""
    path = tmp_path / "results.json"
    small, large = Results(path), Results(path)
    small_steps = small.size("2M")["steps"]
    large_steps = large.size("25M")["steps"]
    for number, step in enumerate(STEPS, start=1):
        small_steps[step.name] = _step(number, number, 1)
        small.save()
        large_steps[step.name] = _step(10 * number, 10 * number, 2)
        large.save()
    small.size("2M")["serve"] = {"model": "blend"}
    small.save()
    saved = json.loads(path.read_text())
    assert list(saved["2M"]["steps"]) == [step.name for step in STEPS]
    assert list(saved["25M"]["steps"]) == [step.name for step in STEPS]
    assert saved["2M"]["serve"] == {"model": "blend"}
    assert Results(path).data == saved
