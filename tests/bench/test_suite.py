"""A new suite is one module and one registry line: the README's example, registered by a
package of its own (an entry point), builds, reads, scores and answers as a baseline."""

import json
import textwrap

import pytest
from helpers import read_jsonl

from clevrlite.bench import registry
from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.errors import UsageError
from clevrlite.scoring.baselines import write_baseline
from clevrlite.scoring.evaluate import score

MODULE = '''
from clevrlite.bench.mate import MateSuite
from clevrlite.bench.roles import CROSS_MODAL_TASKS, Roles
from clevrlite.bench.suite import Split


class ColourOnlySuite(MateSuite):
    """MATE's cross-modal tasks with colour as the only image-side attribute."""

    name = "colour-only"
    splits = (Split("cross_modal", "cross_modal.jsonl", "co", CROSS_MODAL_TASKS),)

    def roles(self, vocab):
        return Roles(image=("color",), text=Roles.for_vocab(vocab).text)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """An installed package (a module and its dist-info) that registers the suite."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "colour_only_suite.py").write_text(textwrap.dedent(MODULE))
    info = site / "colour_only_suite-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: colour-only-suite\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[clevrlite.suites]\ncolour-only = colour_only_suite:ColourOnlySuite\n")
    monkeypatch.syspath_prepend(str(site))  # worker processes start with the same sys.path
    registry._registered.cache_clear()
    registry.get_suite.cache_clear()
    yield
    registry._registered.cache_clear()
    registry.get_suite.cache_clear()


def test_a_registered_suite_builds_scores_and_answers_baselines(plugin, tmp_path):
    assert registry.suite_names()[:3] == ("mate", "grounding", "gmner")
    assert "colour-only" in registry.suite_names()
    out = tmp_path / "bench"
    stats = build_benchmark(BenchmarkOptions(out=out, suite="colour-only", size=16, shots=1,
                                             n_objects=(3, 4), workers=1))
    assert stats["suite"] == "colour-only" and list(stats["counts"]) == ["cross_modal"]
    instances = read_jsonl(out / "cross_modal.jsonl")
    assert len(instances) == 16 and all(i["id"].startswith("co_") for i in instances)
    image_side = {i["pointer_attribute"] if i["task"] == "img2data" else i["target_attribute"]
                  for i in instances}
    assert image_side == {"color"}
    for kind, accuracy in (("oracle", 100.0), ("text-only", None)):
        path = tmp_path / f"{kind}.jsonl"
        write_baseline(kind, out, path)
        report = score(out, path)
        assert report.n == 16 and (accuracy is None or report.overall == accuracy)
    assert json.loads((out / "stats.json").read_text())["suite"] == "colour-only"


def test_an_unknown_suite_names_the_registered_ones(tmp_path):
    with pytest.raises(UsageError, match="unknown suite 'nope'; use one of mate, grounding, "
                                         "gmner"):
        build_benchmark(BenchmarkOptions(out=tmp_path / "b", suite="nope"))
    assert not (tmp_path / "b").exists()
