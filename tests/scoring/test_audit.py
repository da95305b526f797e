"""The validity audit: blind readers against chance (no cross-modal link), cross-fitted."""

import json

import numpy as np
import pytest
from helpers import invoke, read_jsonl

from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.scoring.audit import THRESHOLD, audit, judge_units, summarise
from clevrlite.scoring.baselines import write_baseline
from clevrlite.scoring.blind import Unit
from clevrlite.scoring.evaluate import score


def unit(k, truth, rules, features, group="img2data|color->name", uniform=None):
    return Unit(f"u{k:04d}", f"4|{group}", group, group.split("|")[0], truth,
                lambda v, t=truth: float(v == t), rules, uniform, "classify",
                np.asarray(features, float))


def test_a_rule_that_reads_the_answer_off_the_text_shows_as_a_gap():
    rng = np.random.default_rng(0)
    units = []
    for k in range(400):
        truth = ["cube", "sphere", "cylinder"][int(rng.integers(3))]
        units.append(unit(k, truth, [truth], [1.0, rng.normal()]))
    row = summarise(judge_units(units))
    assert row.n == 400 and 28 < row.reference < 40  # the commonest shape, a third of them
    assert row.blind == 100.0 and row.gap > 60 and row.low > 55


def test_a_probe_learns_what_no_rule_knows_and_is_scored_out_of_sample():
    """The answer hides in a feature no rule reads: the probe, fitted on the other half,
    finds it; a feature of pure noise gains nothing."""
    rng = np.random.default_rng(1)
    leak, noise = [], []
    for k in range(600):
        truth = bool(rng.integers(2))
        leak.append(unit(k, truth, [], [1.0, float(truth) + 0.3 * rng.normal()]))
        noise.append(unit(k, truth, [], [1.0, rng.normal()]))
    leaked = summarise(judge_units(leak))
    assert leaked.gap > 30 and leaked.policies.get("probe", 0) > 500
    clean = summarise(judge_units(noise))
    assert clean.gap < THRESHOLD and clean.low < 0.5


def test_the_uniform_guess_is_chance_for_answers_the_scene_lists():
    units = [unit(k, f"Object_{k}", [], [1.0], uniform=[f"Object_{k + j}" for j in range(5)])
             for k in range(200)]
    row = summarise(judge_units(units))
    assert abs(row.reference - 20.0) < 1e-9 and abs(row.gap) < 1e-9


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """A build whose texts give centres (MATE's text): z tells cubes from other shapes."""
    out = tmp_path_factory.mktemp("leaky") / "bench"
    build_benchmark(BenchmarkOptions(out=out, size=192, unimodal_size=8, shots=0,
                                     n_objects=(3, 4), coords="centre", workers=2))
    return out


def test_the_audit_finds_the_centre_height_shortcut_and_fails(leaky):
    stats = json.loads((leaky / "stats.json").read_text())
    assert stats["audit"]["passed"] is False and "data2img" in stats["audit"]["failed_tasks"]
    data2img = audit(leaky).rows("task")["data2img"]
    assert data2img.gap > 10 and data2img.low > THRESHOLD
    result = invoke("audit", str(leaky))
    assert result.returncode == 1 and "FAILED" in result.stdout


def test_our_builds_pass_and_record_the_audit(mate, grounding, gmner):
    for out, _, _ in (mate, grounding, gmner):
        stats = json.loads((out / "stats.json").read_text())
        assert stats["audit"]["passed"], (out, stats["audit"]["by_task"])
        assert invoke("audit", str(out)).returncode == 0


def test_no_audit_leaves_stats_without_one(tmp_path):
    result = invoke("benchmark", "--size", "2", "--unimodal-size", "0", "--shots", "0",
                    "--n-objects", "3", "--workers", "1", "--no-audit", "--out",
                    str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    assert "audit" not in json.loads((tmp_path / "b" / "stats.json").read_text())


def test_the_blind_baseline_scores_what_the_audit_found(leaky, tmp_path):
    path = tmp_path / "blind.jsonl"
    write_baseline("blind", leaky, path)
    assert len(read_jsonl(path)) == 200
    report = score(leaky, path, split="cross_modal")
    blind = audit(leaky).rows("task")
    for task in ("data2img", "img2data"):
        assert abs(report.by_task[task].accuracy - blind[task].blind) < 10
    text = tmp_path / "text.jsonl"
    write_baseline("text-only", leaky, text)
    assert report.by_task["data2img"].accuracy > score(leaky, text).by_task[
        "data2img"].accuracy + 10
