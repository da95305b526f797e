"""The `clevrlite` console script as users run it: help, version, and the bad-input matrix.

Every mistake a user can make gives exactly one line on stderr naming the problem, exit code 2
(usage) or 1 (runtime), never a traceback, and leaves no output directory behind. The matrix
runs the console script's entry point in this process (helpers.invoke); the checks at the top
start the installed script, as a user does.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from helpers import assert_one_line_error, invoke, run_cli

from clevrlite import __version__
from clevrlite.cli import cli


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory) -> Path:
    """One small rendered scene's JSON file."""
    out = tmp_path_factory.mktemp("one") / "out"
    proc = invoke("render", "--count", "1", "--workers", "1", "--width", "96", "--height",
                   "64", "--min-pixels", "10", "--n-objects", "4", "--formats", "none",
                   "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out / "scenes" / "CLEVRLITE_new_000000.json"


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    """A two-instance benchmark to score predictions against."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    proc = invoke("benchmark", "--size", "2", "--unimodal-size", "0", "--shots", "0",
                   "--n-objects", "3", "--workers", "1", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


# ------------------------------------------------------------------------- help and version

@pytest.mark.parametrize("command", sorted(cli.commands))
def test_help_works_for_every_command(command):
    proc = invoke(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: clevrlite {command}")
    assert proc.stderr == ""


def test_top_level_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in cli.commands:
        assert command in proc.stdout


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"clevrlite, version {__version__}"


def test_unknown_command_and_option_are_usage_errors():
    assert_one_line_error(run_cli("paint"), 2, "paint")
    assert_one_line_error(run_cli("render", "--colour", "red"), 2, "--colour")


# ------------------------------------------------------------------------ bad-input matrix

# Small runs, so that a check that stops working costs seconds, not minutes.
CHEAP_RENDER = ["--count", "1", "--width", "64", "--height", "48", "--min-pixels", "5",
                "--workers", "1"]
CHEAP_BENCHMARK = ["--size", "2", "--unimodal-size", "0", "--shots", "0", "--n-objects", "3",
                   "--workers", "1"]

RENDER_USAGE_ERRORS = [
    # (arguments, words the message must contain)
    (["--n-objects", "0"], ["--n-objects", "at least 1"]),
    (["--n-objects", "11..3"], ["--n-objects", "11..3", "3..11"]),
    (["--n-objects", "3..x"], ["--n-objects", "3..x"]),
    (["--count", "-1"], ["--count", "-1"]),
    (["--count", "0"], ["--count"]),
    (["--width", "0"], ["--width", "0x48"]),
    (["--height", "-5"], ["--height"]),
    (["--width", "100000"], ["--width", "16384"]),
    (["--formats", "foo"], ["'foo'", "json,yaml,xml,text"]),
    (["--workers", "0"], ["--workers", "0"]),
    (["--workers", "-2"], ["--workers"]),
    (["--min-pixels", "-1"], ["--min-pixels"]),
    (["--start-index", "-1"], ["--start-index"]),
    (["--floor-extent", "0"], ["--floor-extent"]),
    (["--backend", "vulkan"], ["--backend", "vulkan"]),
    (["--prefix", "a/b"], ["--prefix"]),
]


@pytest.mark.parametrize("args,words", RENDER_USAGE_ERRORS,
                         ids=[" ".join(a) for a, _ in RENDER_USAGE_ERRORS])
def test_render_rejects_bad_values(tmp_path, args, words):
    out = tmp_path / "out"
    proc = invoke("render", *CHEAP_RENDER, *args, "--out", str(out))  # the last value wins
    assert_one_line_error(proc, 2, *words)
    assert not out.exists()


PROPERTIES_ERRORS = [
    # (file name, contents or None for a missing file, words the message must contain)
    ("missing.json", None, ["missing.json", "does not exist"]),
    ("broken.json", '{"colors": {"pink": [1, 2, 3]}', ["broken.json", "not valid JSON"]),
    ("list.json", "[1, 2, 3]", ["list.json", "JSON object"]),
    ("section.json", '{"colors": ["pink"]}', ["'colors'", "JSON object"]),
    ("size.json", '{"sizes": {"huge": "big"}}', ["'huge'", "scale"]),
    ("material.json", '{"materials": {"glass": {"metallic": "yes"}}}', ["'glass'", "metallic"]),
    ("unknown_section.json", '{"textures": {}}', ["'textures'"]),
    ("pink_null.json", '{"colors": {"pink": null}}', ["'pink'", "RGB"]),
    ("pink_name.json", '{"colors": {"pink": "pink"}}', ["'pink'", "RGB"]),
    ("pink_range.json", '{"colors": {"pink": [255, 300, 0]}}', ["'pink'", "0-255"]),
]


@pytest.mark.parametrize("name,text,words", PROPERTIES_ERRORS,
                         ids=[name for name, _, _ in PROPERTIES_ERRORS])
def test_render_rejects_bad_properties_files(tmp_path, name, text, words):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    out = tmp_path / "out"
    proc = invoke("render", *CHEAP_RENDER, "--properties", str(path), "--out", str(out))
    assert_one_line_error(proc, 2, *words)
    assert not out.exists()


def test_properties_file_that_is_a_directory(tmp_path):
    out = tmp_path / "out"
    proc = invoke("render", *CHEAP_RENDER, "--properties", str(tmp_path), "--out", str(out))
    assert_one_line_error(proc, 2, str(tmp_path))
    assert not out.exists()


@pytest.mark.parametrize("command", ["render", "benchmark"])
def test_out_under_a_regular_file_is_a_usage_error(tmp_path, command):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    cheap = CHEAP_RENDER if command == "render" else CHEAP_BENCHMARK
    proc = invoke(command, *cheap, "--out", str(blocker / "sub"))
    assert_one_line_error(proc, 2, "--out", "file.txt", "not a directory")
    assert blocker.read_text() == "not a directory"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_on_a_file_system_that_refuses_writes_is_a_usage_error():
    # Permissions do not stop root, but /proc refuses new files for everyone.
    proc = invoke("render", *CHEAP_RENDER, "--out", "/proc/clevrlite-out")
    assert_one_line_error(proc, 2, "--out", "/proc/clevrlite-out", "not writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
def test_out_in_a_read_only_directory_is_a_usage_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    proc = invoke("render", *CHEAP_RENDER, "--out", str(locked / "out"))
    assert_one_line_error(proc, 2, "not writable")
    assert not (locked / "out").exists()


def test_impossible_placement_fails_fast_naming_the_numbers(tmp_path):
    out = tmp_path / "out"
    proc = invoke("render", "--n-objects", "40", "--floor-extent", "2", "--count", "1",
                  "--workers", "1", "--width", "64", "--height", "48", "--min-pixels", "0",
                  "--out", str(out))
    line = assert_one_line_error(proc, 1, "40 objects", "4x4", "min_dist 0.25")
    assert "fewer objects" in line and "larger floor" in line
    assert not out.exists()


def test_a_failing_run_keeps_an_existing_out_directory_and_its_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    impossible = ["render", "--n-objects", "40", "--floor-extent", "2", "--count", "1",
                  "--workers", "1", "--width", "64", "--height", "48", "--min-pixels", "0",
                  "--out", str(out)]
    assert_one_line_error(invoke(*impossible), 2, "not empty", "--overwrite", "--resume")
    assert_one_line_error(invoke(*impossible, "--overwrite"), 2, "no manifest.json",
                          "another --out")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_file_system_errors_during_a_run_are_one_line(tmp_path):
    """Say, a final name taken by a directory: the OS refuses the rename; no traceback."""
    out = tmp_path / "out"
    cheap = ["render", "--workers", "1", "--width", "64", "--height", "48", "--min-pixels",
             "5", "--n-objects", "3", "--out", str(out)]
    assert invoke(*cheap, "--count", "1").returncode == 0
    (out / "images" / "CLEVRLITE_new_000001.png").mkdir()
    proc = invoke(*cheap, "--count", "2", "--resume")
    assert_one_line_error(proc, 1, "CLEVRLITE_new_000001.png")
    assert not list(out.rglob("*.part"))


BENCHMARK_USAGE_ERRORS = [
    (["--size", "0"], ["--size", "0"]),
    (["--size", "-4"], ["--size"]),
    (["--unimodal-size", "-1"], ["--unimodal-size"]),
    (["--n-objects", "1"], ["--n-objects"]),
    (["--n-objects", "5..2"], ["--n-objects", "5..2"]),
    (["--shots", "3"], ["--shots"]),
    (["--precision", "9"], ["--precision"]),
    (["--format", "csv"], ["--format", "csv"]),
    (["--workers", "0"], ["--workers"]),
    (["--preset", "mate", "--balance-linking"], ["--preset mate", "--balance-linking"]),
    (["--preset", "clevr"], ["--preset", "clevr"]),
    (["--size", "100000000"], ["--size 100000000", "1,000,000", "--seed"]),
    (["--unimodal-size", "2000000"], ["--unimodal-size 2000000", "1,000,000"]),
    (["--n-objects", "45"], ["--n-objects 45", "at most", "--min-pixels"]),
    (["--suite", "grounding", "--n-objects", "39"], ["--n-objects 39", "1 more that texts"]),
]


@pytest.mark.parametrize("args,words", BENCHMARK_USAGE_ERRORS,
                         ids=[" ".join(a) for a, _ in BENCHMARK_USAGE_ERRORS])
def test_benchmark_rejects_bad_values(tmp_path, args, words):
    out = tmp_path / "bench"
    proc = invoke("benchmark", *CHEAP_BENCHMARK, *args, "--out", str(out))
    assert_one_line_error(proc, 2, *words)
    assert not out.exists()


def test_preset_mate_through_the_cli_keeps_explicit_flags(tmp_path):
    out = tmp_path / "b"
    proc = invoke("benchmark", "--preset", "mate", "--size", "2", "--unimodal-size", "2",
                   "--n-objects", "3", "--shots", "1", "--workers", "1", "--out", str(out),
                   "--quiet")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["preset"], stats["shots"], stats["shot_source"]) == ("mate", 1, "same_scene")
    assert "cone" in stats["vocabulary"]["shapes"]
    assert sorted(p.name for p in (out / "mate").glob("*.jsonl")) == sorted(
        f"{s}.jsonl" for s in ("mm_0shot", "mm_1shot", "mm_2shot", "mm_2shot_cot", "um_0shot",
                               "um_1shot", "um_2shot"))


def test_benchmark_rejects_bad_properties(tmp_path):
    path = tmp_path / "props.json"
    path.write_text('{"colors": {"pink": null}}')
    out = tmp_path / "bench"
    proc = invoke("benchmark", *CHEAP_BENCHMARK, "--properties", str(path), "--out", str(out))
    assert_one_line_error(proc, 2, "'pink'")
    assert not out.exists()


# ----------------------------------------------------------------------------------- score

GARBAGE_PREDICTIONS = {
    "binary": (b"\x00\xff\xfe\x80garbage\n", ["not UTF-8"]),
    "prose": (b"the answer is red\n", [":1:", "not a JSON line"]),
    "json_list": (b"[1, 2, 3]\n", [":1:", "JSON object"]),
    "no_prediction_key": (b'{"id": "cm_000000"}\n', [":1:", "'prediction'"]),
    "prediction_not_text": (b'{"id": "cm_000000", "prediction": {"answer": 1}}\n',
                            [":1:", "string"]),
    "second_line_truncated": (b'{"id": "cm_000000", "prediction": "red"}\n{"id": "cm_0',
                              [":2:", "not a JSON line"]),
    "empty": (b"", ["no predictions"]),
    "other_benchmark": (b'{"id": "elsewhere_1", "prediction": "red"}\n', ["none of the 1 ids"]),
}


@pytest.mark.parametrize("kind", sorted(GARBAGE_PREDICTIONS))
def test_score_rejects_garbage_predictions(tmp_path, bench_dir, kind):
    data, words = GARBAGE_PREDICTIONS[kind]
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(data)
    proc = invoke("score", "--benchmark", str(bench_dir), "--predictions", str(path))
    assert_one_line_error(proc, 2, *words)


def test_score_missing_files(tmp_path, bench_dir):
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "cm_000000", "prediction": "red"}\n')
    assert_one_line_error(invoke("score", "--benchmark", str(tmp_path / "nope"),
                                  "--predictions", str(preds)), 2, "nope")
    assert_one_line_error(invoke("score", "--benchmark", str(bench_dir),
                                  "--predictions", str(tmp_path / "none.jsonl")),
                          2, "none.jsonl")


def test_baseline_keeps_an_existing_file_unless_overwrite(tmp_path, bench_dir):
    preds = tmp_path / "mine.jsonl"
    preds.write_text("my model's answers\n")
    args = ["baseline", "random", "--benchmark", str(bench_dir), "--out", str(preds)]
    assert_one_line_error(invoke(*args), 2, "already exists", "--overwrite")
    assert preds.read_text() == "my model's answers\n"
    assert invoke(*args, "--overwrite").returncode == 0
    assert all(json.loads(l)["id"] for l in preds.read_text().splitlines())


def test_score_refuses_predictions_made_for_another_benchmark(tmp_path, bench_dir):
    """Same suite, same ids, other answers: oracle predictions scored 4.3% without a word."""
    other = tmp_path / "other"
    assert invoke("benchmark", "--size", "2", "--unimodal-size", "0", "--shots", "0",
                  "--n-objects", "3", "--workers", "1", "--seed", "9", "--out", str(other),
                  "--quiet").returncode == 0
    preds = tmp_path / "oracle.jsonl"
    assert invoke("baseline", "oracle", "--benchmark", str(other), "--out",
                  str(preds)).returncode == 0
    line = assert_one_line_error(invoke("score", "--benchmark", str(bench_dir),
                                        "--predictions", str(preds)), 2, "mate-seed9-")
    assert "benchmark it came from" in line
    unnamed = tmp_path / "unnamed.jsonl"  # a model's own file, without the field, is scored
    unnamed.write_text("".join(json.dumps({"id": json.loads(l)["id"], "prediction": "x"}) + "\n"
                               for l in preds.read_text().splitlines()))
    assert invoke("score", "--benchmark", str(bench_dir), "--predictions",
                  str(unnamed)).returncode == 0


def test_score_accepts_a_real_predictions_file(tmp_path, bench_dir):
    """The garbage tests above fail for the right reason: good input does score."""
    preds = tmp_path / "oracle.jsonl"
    proc = invoke("baseline", "oracle", "--benchmark", str(bench_dir), "--out", str(preds))
    assert proc.returncode == 0, proc.stderr
    proc = invoke("score", "--benchmark", str(bench_dir), "--predictions", str(preds),
                   "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["overall"] == 100.0


# --------------------------------------------------------------------------------- inspect

def brute_force_sets(objects, index, attributes):
    """Inclusion-minimal attribute sets no other object matches on all of, as inspect writes."""
    found = [set(c) for r in range(1, len(attributes) + 1)
             for c in itertools.combinations(attributes, r)
             if all(any(o[a] != objects[index][a] for a in c)
                    for j, o in enumerate(objects) if j != index)]
    minimal = [s for s in found if not any(o < s for o in found)]
    return " | ".join("+".join(sorted(s)) for s in sorted(minimal, key=lambda s: (len(s),
                                                                                 sorted(s))))


@pytest.mark.parametrize("args, attributes", [
    ([], ["shape", "color", "material", "size"]),
    (["--task", "data2img", "--pointer", "size", "--target", "color"],
     ["shape", "material", "size"]),  # MATE's rule: the pointer size links when both show it
    (["--task", "img2data", "--pointer", "color", "--target", "name"],
     ["shape", "material", "size"]),  # img2data's text withholds the pointer
    (["--task", "img2img", "--target", "shape"], ["color", "material", "size"]),
])
def test_inspect_a_rendered_scene(scene_file, args, attributes):
    proc = invoke("inspect", str(scene_file), *args)
    assert proc.returncode == 0, proc.stderr
    objects = json.loads(scene_file.read_text())["objects"]
    header, *lines = proc.stdout.strip().splitlines()
    assert sorted(header.split(": ")[1].split(" (")[0].split(", ")) == sorted(attributes)
    assert [line.split(":")[0] for line in lines] == [o["name"] for o in objects]
    for i, line in enumerate(lines):
        sets = line.split("minimal linking sets: ")[1]
        assert sets == (brute_force_sets(objects, i, attributes) or "none (coordinates only)")


def test_inspect_needs_the_target_with_a_task(scene_file):
    assert_one_line_error(invoke("inspect", str(scene_file), "--task", "data2img"), 2,
                          "--target")


def test_inspect_bad_files(tmp_path, scene_file):
    assert_one_line_error(invoke("inspect", str(tmp_path / "missing.json")), 2,
                          "missing.json", "does not exist")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x89PNG not json")
    assert_one_line_error(invoke("inspect", str(garbage)), 2, "garbage.json")
    no_objects = tmp_path / "no_objects.json"
    no_objects.write_text('{"scenes": []}')
    assert_one_line_error(invoke("inspect", str(no_objects)), 2, "objects")
    assert_one_line_error(invoke("inspect", str(scene_file), "--attributes", "shape,smell"),
                          2, "'smell'")
