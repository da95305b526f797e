"""Fixed builds of every suite and a render run keep their recorded bytes (tests/golden.py).

A change that alters output on purpose updates tests/data/golden.json in a commit that says
why the bytes changed; any other difference is a regression.
"""

import json

import pytest

import golden

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recorded():
    data = json.loads(golden.DATA.read_text())
    here = golden.renderer()
    if here != data["renderer"]:
        pytest.skip(f"golden pixels were recorded on {data['renderer']!r}, this machine "
                    f"renders with {here!r}")
    return data["runs"]


@pytest.mark.parametrize("name", sorted(golden.RUNS))
def test_outputs_keep_their_recorded_bytes(name, recorded, tmp_path):
    got = golden.build(name, tmp_path)
    want = recorded[name]
    changed = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    assert not changed, f"{name}: bytes changed in {changed}"
