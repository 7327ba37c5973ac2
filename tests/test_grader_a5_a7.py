"""A5 and A7 against the grader: hostile submissions (a report forged at exit, a deleted file, a
symbolic link) score what the honest work in them earns, and the cheats each assignment invites
(a loop posing as a scan, a recurrence that leaves log space, clipping that is not in place, a
vanishing lag found by looping over powers) fail the grader's checks of the returned arrays."""

import shutil

import numpy as np
import pytest
from test_grader_attacks import FORGE_AT_EXIT, LIMITS, grader, hostile, points  # noqa: F401
from test_grader_verdicts import answer

from minirnn.assignments import build, catalog, verdicts_a5, verdicts_a7
from minirnn.numpy import clip, scan

CASES = [(catalog.A5, "minirnn/numpy/dynamics.py", 15),  # clip.py's two questions survive
         (catalog.A7, "minirnn/numpy/scan.py", 0)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (template folder, solution folder)."""
    out = tmp_path_factory.mktemp("a5a7")
    return {a.name: (build.build(a, out)[0], build.build(a, out, solution=True)[0])
            for a, _, _ in CASES}


@pytest.mark.parametrize("a, module, left", CASES, ids=["a5", "a7"])
def test_forged_report_deleted_file_and_symbolic_link_score_only_honest_work(
        built, grader, tmp_path, a, module, left):  # noqa: F811 - grader is a fixture
    template, solution = built[a.name]
    assert points(solution, grader, a)[0] == a.points
    forged = hostile(template, tmp_path, "forged", append={module: FORGE_AT_EXIT})
    assert points(forged, grader, a)[0] == 0
    deleted = hostile(solution, tmp_path, "deleted")
    (deleted / module).unlink()
    earned, result = points(deleted, grader, a)
    assert earned == left and result["refused"] == {module: "missing"}
    linked = hostile(template, tmp_path, "linked")
    (linked / module).unlink()
    (linked / module).symlink_to(build.PACKAGE_ROOT / module.removeprefix("minirnn/"))
    earned, result = points(linked, grader, a)
    assert earned == 0 and "symbolic link" in result["refused"][module]
    shutil.rmtree(tmp_path / "forged")


def sequential_scan(elems, combine):
    """A loop posing as a scan: right prefixes, honest counts, T - 1 rounds."""
    out = [tuple(x[:, :1] for x in elems)]
    for t in range(1, elems[0].shape[1]):
        out.append(combine(out[-1], tuple(x[:, t:t + 1] for x in elems)))
    return tuple(np.concatenate(parts, axis=1) for parts in zip(*out)), {
        "rounds": len(out) - 1, "combines": len(out) - 1}


def test_a_loop_posing_as_a_scan_fails(monkeypatch):
    case = verdicts_a7.CASES["test_parallel_scan"](np.random.default_rng(1))
    monkeypatch.setattr(scan, "parallel_scan", sequential_scan)
    with pytest.raises(AssertionError, match="log-depth scan needs at most"):
        case.check(answer(case))


def test_a_recurrence_that_skips_the_scan_fails(monkeypatch):
    case = verdicts_a7.CASES["test_linear_recurrence_scan"](np.random.default_rng(2))
    monkeypatch.setattr(scan, "linear_recurrence_scan", scan.linear_recurrence_loop)
    with pytest.raises(AssertionError, match="must use it"):
        case.check(answer(case))


def test_a_recurrence_that_leaves_log_space_fails(monkeypatch):
    case = verdicts_a7.CASES["test_linear_recurrence_log"](np.random.default_rng(3))

    def through_exp(log_a, log_b, log_h0=None):
        h0 = None if log_h0 is None else np.exp(log_h0)
        with np.errstate(divide="ignore"):
            return np.log(scan.linear_recurrence_loop(np.exp(log_a), np.exp(log_b), h0))
    monkeypatch.setattr(scan, "linear_recurrence_log", through_exp)
    with pytest.raises(AssertionError, match="did it leave log space"):
        case.check(answer(case))


def test_clipping_that_is_not_in_place_fails(monkeypatch):
    case = verdicts_a5.CASES["test_clip_grad_norm"](np.random.default_rng(4))

    def copying(grads, max_norm):
        arrays = list(grads.values()) if isinstance(grads, dict) else list(grads)
        total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in arrays)))
        [g * min(1.0, max_norm / (total + 1e-6)) for g in arrays]  # new arrays, dropped
        return total
    monkeypatch.setattr(clip, "clip_grad_norm", copying)
    with pytest.raises(AssertionError, match="in place"):
        case.check(answer(case))


def test_the_vanishing_lag_near_rho_1_is_out_of_reach_of_a_loop():
    """The lag of the radius a hair below 1 is above 5 * 10^7: a loop over k, at a microsecond
    per 8 x 8 product, would need more than 50 s, past the 20 s limit."""
    case = verdicts_a5.CASES["test_predicted_vanishing_lag"](np.random.default_rng(5))
    lags = answer(case)["lags"]
    assert lags[3] > 5e7 and lags[4] == -1
