"""The grading child: runs one graded question on the student's code, nothing else.

Started by grade.py as ``python -I -S -c <this file> SPEC_JSON`` in a scratch folder, under
resource limits. Nothing it writes is trusted as a grade: in "calls" mode it only calls the
student's functions on inputs the grader chose and saves what they return (raw arrays) to the
.npz file the grader created; the grader decides. In "pytest" mode (the assignments not yet
graded that way) it runs one graded test function and writes its outcome.

The spec (JSON) holds:
- path: the only sys.path entries (site folders the assignment needs), set before anything
  else; the student's scratch copy (`work`) is put first only after the check that no other
  ``minirnn`` can be imported;
- block: top-level modules that must not import (torch, for a NumPy assignment);
- mode "calls": inputs (an .npz) and calls [{name, module, function, args, kwargs, select}],
  or a program name; outputs: the .npz to write;
- mode "pytest": tests_file and test;
- report: the JSON file for the run's facts (errors, which files the minirnn modules came from).

This file imports only the standard library at the top: it must run before sys.path is set.
"""

import importlib
import importlib.abc
import importlib.util
import json
import resource
import sys
import time
import traceback


class Blocked(importlib.abc.MetaPathFinder):
    """Refuses to import the named top-level modules (torch, for a NumPy assignment)."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} cannot be imported while grading this assignment")
        return None


def flatten(tree, arrays, np):
    """A JSON skeleton of nested tuples/lists/dicts; arrays go to `arrays` under fresh keys."""
    if isinstance(tree, (tuple, list)):
        return {"t": type(tree).__name__, "items": [flatten(x, arrays, np) for x in tree]}
    if isinstance(tree, dict):
        if not all(isinstance(k, str) for k in tree):
            raise TypeError("only dicts with string keys can be returned")
        return {"t": "dict", "items": {k: flatten(v, arrays, np) for k, v in tree.items()}}
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return {"t": "py", "value": tree}
    if isinstance(tree, np.dtype):
        return {"t": "dtype", "value": tree.str}
    value = np.asarray(tree)
    if value.dtype == object:
        raise TypeError(f"a {type(tree).__name__} cannot be returned as an array")
    key = f"a{len(arrays)}"
    arrays[key] = value
    return {"t": "array", "key": key}


def unflatten(skeleton, arrays, np):
    kind = skeleton["t"]
    if kind in ("tuple", "list"):
        items = [unflatten(x, arrays, np) for x in skeleton["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: unflatten(v, arrays, np) for k, v in skeleton["items"].items()}
    if kind == "py":
        return skeleton["value"]
    if kind == "dtype":
        return np.dtype(skeleton["value"])
    return arrays[skeleton["key"]]


def tiny_language_model(inputs, np):
    """Plain gradient descent on one sequence through the student's layers; the final weights."""
    from minirnn.numpy.layers import (
        temporal_affine_backward,
        temporal_affine_forward,
        temporal_softmax_loss,
        word_embedding_backward,
        word_embedding_forward,
    )
    from minirnn.numpy.rnn import rnn_backward, rnn_forward

    names = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")
    params = {k: inputs[k] for k in names}
    seq = inputs["seq"]
    ids, targets = seq[:, :-1], seq[:, 1:]
    H = params["Wh"].shape[0]
    for _ in range(int(inputs["steps"])):
        p = params
        emb, emb_cache = word_embedding_forward(ids, p["W_embed"])
        h, rnn_cache = rnn_forward(emb, np.zeros((seq.shape[0], H)), p["Wx"], p["Wh"], p["b"])
        scores, aff_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        _, dscores = temporal_softmax_loss(scores, targets)
        dh, dW_out, db_out = temporal_affine_backward(dscores, aff_cache)
        demb, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        dW_embed = word_embedding_backward(demb, emb_cache)
        for key, grad in zip(names, (dW_embed, dWx, dWh, db, dW_out, db_out)):
            params[key] = params[key] - float(inputs["lr"]) * grad
    return params


PROGRAMS = {"tiny_language_model": tiny_language_model}


def run_calls(spec, report):
    import numpy as np

    with np.load(spec["inputs"], allow_pickle=False) as data:
        arrays = dict(data)
    results, skeletons = {}, {}
    for call in spec["calls"]:
        report["call"] = call["name"]
        if "program" in call:
            value = PROGRAMS[call["program"]](arrays, np)
        else:
            module = importlib.import_module(call["module"])
            function = getattr(module, call["function"], None)
            if function is None:
                raise AttributeError(f"{call['module']} has no function {call['function']}")
            args = unflatten(call["args"], arrays, np)
            kwargs = unflatten(call["kwargs"], arrays, np)
            value = function(*args, **kwargs)
            select = call.get("select")
            if isinstance(select, list):  # some of the returned values (never the cache)
                value = tuple(value[k] for k in select)
            elif select is not None:
                value = value[select]
        skeletons[call["name"]] = flatten(value, results, np)
    report["call"] = None
    with open(spec["outputs"], "wb") as f:
        np.savez(f, **results)
    report["returned"] = skeletons


def run_pytest(spec, report):
    loaded = importlib.util.spec_from_file_location("graded_tests", spec["tests_file"])
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    test = getattr(module, spec["test"], None)
    if test is None:
        raise LookupError(f"no test called {spec['test']}")
    test()


def apply_limits(limits):
    """The per-test rlimits, set first thing (before any student code can run). The grader does
    not set them between fork and exec: a fork hook in a threaded parent can deadlock."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["output"], limits["output"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits["memory"] is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))


def main(spec_file):
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    apply_limits(spec["limits"])
    sys.path[:] = list(spec["path"])
    importlib.invalidate_caches()
    report = {"other_minirnn": None, "status": "failed", "error": None, "message": "",
              "modules": {}}
    found = importlib.util.find_spec("minirnn")
    report["other_minirnn"] = None if found is None else str(found.origin)
    if spec["block"]:
        sys.meta_path.insert(0, Blocked(spec["block"]))
    start = time.perf_counter()
    try:
        if found is not None:
            raise ImportError(f"a minirnn other than the student's is importable: {found.origin}")
        sys.path.insert(0, spec["work"])
        (run_calls if spec["mode"] == "calls" else run_pytest)(spec, report)
        report["status"] = "passed" if spec["mode"] == "pytest" else "returned"
    except BaseException as err:  # any failure at all, SystemExit included, is the question's
        report["error"] = type(err).__name__
        text = str(err).strip()
        report["message"] = text.splitlines()[0][:300] if text else ""
        report["where"] = traceback.format_exc(limit=-3)[-1500:]
    report["seconds"] = round(time.perf_counter() - start, 3)
    for name, module in list(sys.modules.items()):
        if name == "minirnn" or name.startswith("minirnn."):
            report["modules"][name] = getattr(module, "__file__", None)
    with open(spec["report"], "w", encoding="utf-8") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])
