"""Rewards (clevrlite.scoring.rewards): reward 1 exactly when the scorer says correct, parts and
weights, and the fast paths of the parser and the matcher against the general ones."""

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clevrlite.scoring import rewards
from clevrlite.scoring.answers import _last_answer_object, _only_json_answer
from clevrlite.scoring.baselines import baseline_predictions
from clevrlite.scoring.evaluate import score
from clevrlite.scoring.judge import Entities, _count_matched, _count_unique, _gold, _prediction

PARTS = {"mate": {"format", "answer"}, "grounding": {"format", "answer", "iou_credit"},
         "gmner": {"format", "count", "span", "type", "entailment", "grounding",
                   "iou_credit"}}


def spoiled(raw: str, rng: random.Random) -> str:
    """Nearby completions a policy might write: cut off, a value changed, prose around."""
    choice = rng.randrange(4)
    if choice == 0:
        return raw[: rng.randrange(len(raw) + 1)]
    if choice == 1:
        return raw.replace("Object_", "Object_1", 1)
    if choice == 2:
        return "Let me think. " + raw.replace("[", "[1", 1)
    return raw + ' and then {"answer": null}'


@pytest.mark.parametrize("suite", ["mate", "grounding", "gmner"])
def test_reward_one_exactly_when_the_scorer_says_correct(suite, request, tmp_path):
    out, _, instances = request.getfixturevalue(suite)
    by_id = {i["id"]: i for i in instances}
    kinds = ["oracle", "random", "text-only"] + (["lookalike"] if suite != "mate" else [])
    rng = random.Random(5)
    checked = correct = 0
    for kind in kinds:
        records = baseline_predictions(kind, out)
        records += [{"id": r["id"], "prediction": spoiled(r["prediction"], rng)}
                    for r in records[::2]]
        for batch in (records[: len(records) // 2 + 1], records[len(records) // 2 + 1:]):
            preds = tmp_path / "p.jsonl"
            seen = {}
            for r in batch:
                seen[r["id"]] = r
            preds.write_text("".join(json.dumps(r) + "\n" for r in seen.values()))
            outcomes = score(out, preds).outcomes
            for r in seen.values():
                reward = rewards.reward(r["prediction"], by_id[r["id"]])
                assert set(reward.parts) == PARTS[suite]
                assert all(0.0 <= v <= 1.0 for v in reward.parts.values())
                assert (reward.value == 1.0) == (outcomes[r["id"]] == "correct"), r
                assert reward.correct == (outcomes[r["id"]] == "correct")
                checked += 1
                correct += reward.correct
    assert checked > 2 * len(instances) and 0 < correct < checked


def test_weights_can_be_set_and_are_checked(gmner):
    _, _, instances = gmner
    inst = instances[0]
    wrong = json.dumps({"answer": [{**e, "box": None} for e in inst["answer"]]})
    default = rewards.gmner_reward(wrong, inst)
    heavy = rewards.gmner_reward(wrong, inst, weights={"span": 10.0})
    assert heavy.parts == default.parts and heavy.value > default.value
    assert heavy.value < 1.0
    with pytest.raises(ValueError, match="no part 'speed'"):
        rewards.gmner_reward(wrong, inst, weights={"speed": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        rewards.gmner_reward(wrong, inst, weights={"span": -1})
    with pytest.raises(ValueError, match="must stay positive"):
        rewards.gmner_reward(wrong, inst, weights={"grounding": 0})


def test_a_continuous_iou_part_below_the_threshold(grounding):
    _, _, instances = grounding
    inst = next(i for i in instances if i["target_attribute"] == "bbox" and i["answer"])
    x1, y1, x2, y2 = inst["answer"]
    slid = [x1 + (x2 - x1) * 3 // 4, y1, x2 + (x2 - x1) * 3 // 4, y2]  # IoU about 1/7
    r = rewards.grounding_reward(json.dumps({"answer": slid}), inst)
    assert 0.0 < r.parts["iou_credit"] < 1.0 and r.parts["answer"] == 0.0 and not r.correct
    exact = rewards.grounding_reward(json.dumps({"answer": inst["answer"]}), inst)
    assert exact.value == 1.0 and exact.parts["iou_credit"] == 1.0


fragments = st.sampled_from([
    '{"answer": [1, 2]}', '{"answer": "red"}', "{", "}", '"', "'", "\\", "answer", ":",
    " ", "x", '{"a": {"answer": 3}}', '{"Answer": 4}', "```json\n", "[", "]", "null",
    "{'answer': 'cube'}", '{"answer": {"nested": true}}'])


@settings(max_examples=400, deadline=None)
@given(st.lists(fragments, max_size=8))
def test_the_parsers_fast_path_agrees_with_the_full_search(parts):
    text = "".join(parts)
    quick = _only_json_answer(text)
    if quick is not None:
        full = _last_answer_object(text)
        assert full is not None and full[1] == quick.value


names = st.sampled_from(["Object_1", "object_1", "Object_2", " OBJECT_3 ", "Object_9", 7,
                         None])
kinds = st.sampled_from(["cube", "Cube", "sphere", None, 3])
boxes = st.sampled_from([None, [0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30],
                         [0, 0, 10], [10, 0, 0, 10], "null", [0.0, 0.0, 9.5, 9.5]])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.fixed_dictionaries({"entity": names, "type": kinds, "box": boxes}),
                          st.fixed_dictionaries({"Entity": names, "TYPE": kinds}),
                          st.just("not a dict")), max_size=6))
def test_the_one_pass_count_equals_the_maximum_matchings(items):
    inst = {"entities": [
        {"entity": "Object_1", "type": "cube", "box": [0, 0, 10, 10], "condition": "grounded"},
        {"entity": "Object_2", "type": "sphere", "box": None, "condition": "absent"},
        {"entity": "Object_3", "type": "cube", "box": [20, 20, 30, 30],
         "condition": "absent_lookalike"}], "image_only": ["Object_9"]}
    g = _gold(inst)
    fast, slow = Entities(True, by_condition={"grounded": [0, 1], "absent": [0, 1],
                                              "absent_lookalike": [0, 1]}), \
        Entities(True, by_condition={"grounded": [0, 1], "absent": [0, 1],
                                     "absent_lookalike": [0, 1]})
    _count_unique(fast, items, g, "xyxy", (480, 320))
    _count_matched(slow, [_prediction(i, "xyxy", (480, 320)) for i in items], g)
    keys = ("gmner", "mner", "eeg", "named", "hallucinated", "image_only", "malformed_boxes",
            "absent_boxed", "null_predicted", "null_right")
    assert {k: getattr(fast, k) for k in keys} == {k: getattr(slow, k) for k in keys}
    assert fast.iou_sum == pytest.approx(slow.iou_sum) and fast.by_condition == slow.by_condition
    assert fast.credit_sum == pytest.approx(slow.credit_sum)
