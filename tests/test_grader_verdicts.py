"""The grader's own verdicts (minirnn.assignments.verdicts), without a child process.

Each case's calls are answered here by the reference package, as an honest child would answer
them; the case's check must accept those answers and reject a planted mistake. Backward cases
must also carry a large call that finite differences of the student's forward pass cannot
answer within the CPU limit."""

import importlib

import numpy as np
import pytest

from minirnn.assignments import _child, verdicts, verdicts_a6
from minirnn.assignments._child import unflatten

ALL = {name: make for cases in verdicts.JUDGED.values() for name, make in cases.items()}
BACKWARD = [name for name in ALL if "backward" in name]
# the embedding's backward is a scatter-add: finite differences would be as cheap as the answer
LARGE = [name for name in BACKWARD if "embedding" not in name]


def answer(case, plant=None):
    """The reference package's answers to the case's calls; `plant(name, result)` may change
    one."""
    out = {}
    for call in case.calls:
        if "program" in call:
            prefix = call["name"] + "__"
            inputs = {k[len(prefix):]: v for k, v in case.arrays.items() if k.startswith(prefix)}
            result = _child.PROGRAMS[call["program"]](inputs, np)
            out[call["name"]] = plant(call["name"], result) if plant else result
            continue
        function = getattr(importlib.import_module(call["module"]), call["function"])
        result = function(*unflatten(call["args"], case.arrays, np),
                          **unflatten(call["kwargs"], case.arrays, np))
        select = call["select"]
        if isinstance(select, int):
            result = result[select]
        elif select is not None:
            result = tuple(result[k] for k in select)
        out[call["name"]] = plant(call["name"], result) if plant else result
    return out


@pytest.mark.parametrize("name", sorted(ALL))
def test_the_reference_answers_pass(name):
    case = ALL[name](np.random.default_rng([7, 1]))
    case.check(answer(case))


def nudged(tree, name=""):
    """Every number in `tree` changed a little: floats by 2% plus 0.01, integers by one (the
    weights of a trained model go back to a fresh model's instead: see below)."""
    if isinstance(tree, dict):
        return {k: nudged(v, k) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(nudged(v) for v in tree)
    if isinstance(tree, np.ndarray) and tree.dtype.kind == "f":
        return tree * 1.02 + 0.01
    if isinstance(tree, np.ndarray) and tree.dtype.kind in "iu":
        return tree + 1
    if isinstance(tree, float):
        return tree * 1.02 + 0.01
    return tree


@pytest.mark.parametrize("name", sorted(n for n in ALL if "learn" not in n))
def test_a_planted_change_of_every_answer_fails(name):
    case = ALL[name](np.random.default_rng([7, 4]))
    with pytest.raises(AssertionError):
        case.check(answer(case, lambda call, result: nudged(result)))


def test_untrained_weights_do_not_pass_the_training_questions():
    case = verdicts.A3_CASES["test_a_small_model_learns_to_caption"](np.random.default_rng(5))
    fresh = {k: v.numpy() for k, v in verdicts.reference_captioner(0, 0, seed=1)
             .state_dict().items()}
    with pytest.raises(AssertionError, match="loss fell"):
        case.check(answer(case, lambda call, result: {"state": fresh}))
    lm = verdicts.CASES["test_tiny_language_model_learns"](np.random.default_rng(5))
    with pytest.raises(AssertionError, match="loss fell"):
        lm.check(answer(lm, lambda call, result: {
            k: lm.arrays[f"params__{k}"] for k in result}))


@pytest.mark.parametrize("name", LARGE)
def test_a_backward_wrong_only_on_the_large_case_fails(name):
    """Right on the small case, one weight gradient off by 0.1% on the large one: rejected."""
    case = ALL[name](np.random.default_rng([7, 2]))

    def plant(call, grads):
        if call != "big":
            return grads
        grads = list(grads)
        if isinstance(grads[3], tuple):  # A6's bidirectional: (dx, dh0, dforward, dbackward)
            grads[3] = (grads[3][0] * 1.001, *grads[3][1:])  # the backward direction's dWx
        else:
            grads[3] = grads[3] * 1.001  # dWh (dWx for the embedding has no large case)
        return tuple(grads)
    with pytest.raises(AssertionError, match="large case"):
        case.check(answer(case, plant))


@pytest.mark.parametrize("name", LARGE)
def test_the_large_case_is_too_big_for_finite_differences(name):
    """Finite differences need two forward passes per input entry: at least 40,000 entries
    means at least 80,000 forward passes of a layer at least 48 wide, far past 20 CPU s."""
    case = ALL[name](np.random.default_rng([7, 3]))
    grads = verdicts_a6.leaves(answer(case)["big"])  # nested weight gradients flattened
    assert sum(np.asarray(g).size for g in grads) >= 40_000


def test_every_graded_test_of_the_catalog_is_judged_by_the_grader():
    """No assignment of the course is graded by believing its child (pytest mode is left for
    the toy assignments of the tests)."""
    from minirnn.assignments import catalog

    for a in catalog.ASSIGNMENTS.values():
        assert set(verdicts.JUDGED.get(a.name, {})) == set(a.tests), a.name


@pytest.mark.parametrize("name", LARGE)
def test_an_honest_large_backward_passes_on_many_seeds(name):
    """The large case is checked along one unit direction with a five-point difference; a
    tolerance too tight for rounding once cost honest students points on about 1 seed in 60."""
    for seed in range(12):
        case = ALL[name](np.random.default_rng([seed, 50]))
        case.check(answer(case))
