"""Benchmarks that several test modules read: built once per test session."""

import pytest
from helpers import read_jsonl

from clevrlite.bench.build import BenchmarkOptions, build_benchmark


@pytest.fixture(scope="session")
def mate(tmp_path_factory):
    """A small benchmark of MATE's tasks: (dir, None, every instance)."""
    out = tmp_path_factory.mktemp("mate") / "bench"
    build_benchmark(BenchmarkOptions(out=out, size=24, unimodal_size=12, n_objects=(3, 5),
                                     workers=1))
    return out, None, read_jsonl(out / "cross_modal.jsonl") + read_jsonl(out / "unimodal.jsonl")


@pytest.fixture(scope="session")
def grounding(tmp_path_factory):
    """A small grounding benchmark: (dir, stats, every instance)."""
    out = tmp_path_factory.mktemp("grounding") / "bench"
    stats = build_benchmark(BenchmarkOptions(out=out, suite="grounding", size=96,
                                             unimodal_size=12, n_objects=(3, 5), workers=1))
    return out, stats, read_jsonl(out / "cross_modal.jsonl") + read_jsonl(out / "unimodal.jsonl")


@pytest.fixture(scope="session")
def gmner(tmp_path_factory):
    """A small gmner benchmark: (dir, stats, every instance)."""
    out = tmp_path_factory.mktemp("gmner") / "bench"
    stats = build_benchmark(BenchmarkOptions(out=out, suite="gmner", size=24, n_objects=(3, 6),
                                             workers=1, cot=True))
    return out, stats, read_jsonl(out / "gmner.jsonl")


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """A small chain benchmark with CoT prompts: (dir, stats, every instance)."""
    out = tmp_path_factory.mktemp("chain") / "bench"
    stats = build_benchmark(BenchmarkOptions(out=out, suite="chain", size=160,
                                             n_objects=(4, 6), cot=True, workers=2))
    return out, stats, read_jsonl(out / "chain.jsonl")
