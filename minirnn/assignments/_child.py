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


# -- A3 and A4 (PyTorch): the child builds what cannot travel as arrays (models, step
# functions), calls the student's code and returns arrays; the grader checks them with its own
# reference code. Scalars arrive as 0-d arrays.
CONDITIONS, CELLS = ("h0", "first_input", "every_step"), ("lstm", "gru")


def _state_arrays(model, np):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _captioning_model(inputs):
    import torch

    from minirnn.torch.models import CaptioningModel, ShapesEncoder

    torch.set_num_threads(1)
    torch.manual_seed(int(inputs["seed"]))
    return CaptioningModel(int(inputs["vocab"]), ShapesEncoder(feature_size=16),
                           hidden_size=int(inputs["hidden"]), embed_size=int(inputs["embed"]),
                           cell=CELLS[int(inputs["cell"])],
                           condition=CONDITIONS[int(inputs["condition"])], backend="torch")


def captioning_outputs(inputs, np):
    """A freshly built captioning model's weights, its logits on the given images and caption
    prefixes, the first decoding step's logits through start/step, and greedy captions."""
    import torch

    model = _captioning_model(inputs)
    model.eval()
    images = torch.from_numpy(inputs["images"])
    words = torch.from_numpy(inputs["words"])
    with torch.no_grad():
        logits = model(images, words)
        p, state = model.start(images)
        first, _ = model.step(words[:, 0], (state, p[None]))
    captions = model.caption(images[:2], max_len=4)
    width = max([len(c) for c in captions] + [1])
    padded = np.full((len(captions), width), -1, dtype=np.int64)
    for k, c in enumerate(captions):
        padded[k, :len(c)] = [int(i) for i in c]
    return {"state": _state_arrays(model, np), "logits": logits.numpy(),
            "first": first.numpy(), "captions": padded}


def captioning_training(inputs, np):
    """The student's model trained with Adam on the given images and captions; its weights."""
    import torch

    model = _captioning_model(inputs)
    images = torch.from_numpy(inputs["images"])
    captions = torch.from_numpy(inputs["captions"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                 lr=float(inputs["lr"]))
    for _ in range(int(inputs["steps"])):
        loss = model.loss(images, captions[:, :-1], captions[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"state": _state_arrays(model, np)}


def tbptt_batches(inputs, np):
    """Batches of the student's TBPTTBatcher: x, y (B, n, batch, seq_len), new-epoch flags,
    batches per epoch, for one process and for each rank of two."""
    from minirnn.data.text import TBPTTBatcher

    ids, size, length = inputs["ids"], int(inputs["batch_size"]), int(inputs["seq_len"])
    out = {}
    for key, rank, world in (("one", 0, 1), ("rank0", 0, 2), ("rank1", 1, 2)):
        batcher = TBPTTBatcher(ids, size, length, rank=rank, world_size=world)
        got = [batcher.next_batch() for _ in range(int(inputs["batches"]))]
        out[key] = {"x": np.stack([np.asarray(x) for x, _, _ in got]),
                    "y": np.stack([np.asarray(y) for _, y, _ in got]),
                    "new_epoch": np.array([bool(n) for _, _, n in got]),
                    "per_epoch": np.asarray(int(batcher.batches_per_epoch))}
    return out


def _table_step(table):
    def step(tokens, state):
        return table[tokens], state
    return step


def decoding(inputs, np):
    """One part of A4's decoding on the grader's logits and tables: 0 the student's
    filter_top_k, 1 sample at several temperatures (and along a chain), 2 sample with top-k,
    3 beam_search. Each part calls only the functions its question grades."""
    import torch

    from minirnn.torch import decode

    torch.set_num_threads(1)
    part, out = int(inputs["part"]), {}
    if part == 0:
        logits = torch.from_numpy(inputs["logits"])
        out["top_k"] = [decode.filter_top_k(logits, int(k)).numpy() for k in inputs["ks"]]
        out["top_k_none"] = decode.filter_top_k(logits, None).numpy()
    elif part in (1, 2):
        row = torch.from_numpy(inputs["row"])[None]
        draws = torch.zeros(int(inputs["draws"]), dtype=torch.long)
        out["samples"] = [
            decode.sample(_table_step(row.expand(row.shape[1], -1)), draws, None, 2,
                          temperature=float(t), top_k=int(k) if k > 0 else None,
                          generator=torch.Generator().manual_seed(int(inputs["seed"]) + j)
                          ).numpy()
            for j, (t, k) in enumerate(zip(inputs["temperatures"], inputs["tops"]))]
        if part == 1:
            out["chain"] = decode.sample(
                _table_step(torch.from_numpy(inputs["chain"])), torch.zeros(3, dtype=torch.long),
                None, int(inputs["chain_length"]), temperature=1.0,
                generator=torch.Generator().manual_seed(int(inputs["seed"]))).numpy()
    else:
        table = torch.from_numpy(inputs["table"])
        out["beams"] = []
        for width, length, eos in inputs["beams"]:
            ids, log_prob = decode.beam_search(_table_step(table), torch.zeros(1, dtype=torch.long),
                                               None, int(length), int(width),
                                               eos=int(eos) if eos >= 0 else None)
            out["beams"].append({"ids": np.asarray([int(i) for i in ids], dtype=np.int64),
                                 "log_prob": float(log_prob)})
    return out


# -- A5 and A7 (NumPy): calls whose effect is not (only) their return value: clipping in place,
# an answer per matrix, and scans whose operator the child counts.
def clipping(inputs, np):
    """The student's clip_grad_norm (value 0) or clip_grad_value (value 1) on fresh copies of
    g0..g{count-1}, in a list or a dict; what it returned, and those same arrays afterwards."""
    from minirnn.numpy import clip

    grads = [inputs[f"g{k}"].copy() for k in range(int(inputs["count"]))]
    held = list(grads)  # the caller's own references: in place means these change
    container = {f"p{k}": g for k, g in enumerate(grads)} if int(inputs["as_dict"]) else grads
    function = clip.clip_grad_value if int(inputs["value"]) else clip.clip_grad_norm
    return {"returned": function(container, float(inputs["limit"])), "after": held}


def vanishing_lags(inputs, np):
    """predicted_vanishing_lag of each W{k} at thresholds[k]; -1 stands for None."""
    from minirnn.numpy.dynamics import predicted_vanishing_lag

    lags = []
    for k, threshold in enumerate(inputs["thresholds"]):
        lag = predicted_vanishing_lag(inputs[f"W{k}"], float(threshold))
        lags.append(-1 if lag is None else int(lag))
    return np.asarray(lags, dtype=np.int64)


def scan_structure(inputs, np):
    """The student's parallel_scan with an operator it cannot know in advance (products of 2x2
    matrices, entry by entry, m0..m3 their entries), counting every call and its width."""
    from minirnn.numpy.scan import parallel_scan

    widths = []

    def product(earlier, later):  # "earlier, then later" acts as later @ earlier
        e11, e12, e21, e22 = earlier
        l11, l12, l21, l22 = later
        if len({np.shape(x) for x in (*earlier, *later)}) != 1 or np.ndim(e11) != 3:
            raise ValueError("combine: expected eight arrays of one shape (N, m, H)")
        widths.append(int(np.shape(e11)[1]))
        return (l11 * e11 + l12 * e21, l11 * e12 + l12 * e22,
                l21 * e11 + l22 * e21, l21 * e12 + l22 * e22)

    prefixes, counts = parallel_scan(tuple(inputs[f"m{k}"].copy() for k in range(4)), product)
    return {"prefixes": list(prefixes), "counts": dict(counts),
            "widths": np.asarray(widths, dtype=np.int64)}


def recurrence_by_scan(inputs, np):
    """The student's linear_recurrence_scan, its module's parallel_scan watched: h and how many
    times the operator was called through it."""
    from minirnn.numpy import scan

    real, rounds = scan.parallel_scan, []

    def watched(elems, combine):
        def counted(earlier, later):
            rounds.append(1)
            return combine(earlier, later)
        return real(elems, counted)

    scan.parallel_scan = watched
    try:
        h = scan.linear_recurrence_scan(inputs["a"], inputs["b"], inputs["h0"])
    finally:
        scan.parallel_scan = real
    return {"h": h, "rounds": np.asarray(len(rounds), dtype=np.int64)}


# -- A6 (PyTorch part): the student's GRU module, with torch's own GRU out of reach.
REFUSED_IN_GRU = ("nn.GRU", "nn.GRUCell", "nn.RNNBase", "nn.modules.rnn.GRU",
                  "nn.modules.rnn.GRUCell", "nn.modules.rnn.RNNBase", "gru", "gru_cell",
                  "_VF.gru", "_VF.gru_cell", "_VF._pad_packed_sequence",
                  "_C._VariableFunctions.gru", "_C._VariableFunctions.gru_cell",
                  "_C._VariableFunctions._pad_packed_sequence", "ops.aten.gru",
                  "ops.aten.gru_cell", "nn.utils.rnn.pad_packed_sequence",
                  "nn.utils.rnn.unpack_sequence", "nn.utils.rnn.unpad_sequence")


def _refuse(torch):
    """Replace torch's own GRU (modules, functions, kernels) and its unpacking helpers by
    functions that raise, before the student's code is imported: the module must compute.
    Returns the function that puts them back (for the tests, which call programs in-process)."""
    saved = []
    for dotted in REFUSED_IN_GRU:
        *path, name = dotted.split(".")
        owner = torch
        for part in path:
            owner = getattr(owner, part)

        def refused(*args, _name=f"torch.{dotted}", **kwargs):
            raise RuntimeError(f"{_name} cannot be used while grading this question")
        try:
            old = getattr(owner, name)
            setattr(owner, name, refused)
            saved.append((owner, name, old))
        except (AttributeError, TypeError):  # an attribute of a C type cannot be replaced
            pass

    def restore():
        for owner, name, old in reversed(saved):
            setattr(owner, name, old)
    return restore


def gru_module(inputs, np):
    """The student's minirnn.torch.rnn.GRU (batch-first, float64) on the grader's input, padded
    or packed (unsorted lengths): its state dict, output (the packed data when packed), h_n,
    with `grads` the gradients of sum(output * w_out) + sum(h_n * w_h), and with `step_x`,
    `step_h` one gru_step on layer 0's weights with its gates (r, z, n), which torch's own GRU
    kernels do not give."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.set_num_threads(1)
    x = torch.from_numpy(inputs["x"]).requires_grad_(bool(inputs["grads"]))
    packed = bool(inputs["packed"])
    data = (pack_padded_sequence(x, torch.from_numpy(inputs["lengths"]), batch_first=True,
                                 enforce_sorted=False) if packed else x)
    restore = _refuse(torch)
    try:
        from minirnn.torch.rnn import GRU

        torch.manual_seed(int(inputs["seed"]))
        model = GRU(x.shape[2], int(inputs["hidden"]), num_layers=int(inputs["layers"]),
                    batch_first=True, bidirectional=bool(inputs["bidirectional"]),
                    dtype=torch.float64)
        output, h_n = model(data, torch.from_numpy(inputs["h0"]))
        output = output.data if packed else output
        out = {"state": _state_arrays(model, np), "output": output.detach().numpy().copy(),
               "h_n": h_n.detach().numpy().copy()}
        if "step_x" in inputs:  # one step of the student's gru_step, with its gates
            from minirnn.torch.cells import gru_step

            weights = [getattr(model, f"{k}_l0") for k in ("weight_ih", "weight_hh", "bias_ih",
                                                          "bias_hh")]
            with torch.no_grad():
                h_next, gates = gru_step(torch.from_numpy(inputs["step_x"]),
                                         torch.from_numpy(inputs["step_h"]), *weights,
                                         return_gates=True)
            out["step"] = [h_next.numpy().copy(), [g.numpy().copy() for g in gates]]
        if bool(inputs["grads"]):
            loss = ((output * torch.from_numpy(inputs["w_out"])).sum()
                    + (h_n * torch.from_numpy(inputs["w_h"])).sum())
            loss.backward()
            out["grads"] = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
            out["dx"] = x.grad.numpy().copy()
    finally:
        restore()
    return out


def tbptt_memory(inputs, np):
    """A8: the student's tbptt_gradients on the grader's weights, with autograd's live saved
    bytes recorded after each chunk (minirnn.debugging.meters, the grader's copy)."""
    import torch

    from minirnn.debugging.loops import tbptt_gradients
    from minirnn.debugging.meters import LiveSavedBytes

    torch.set_num_threads(1)
    params = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
    with LiveSavedBytes() as meter:
        grads = tbptt_gradients(params, inputs["x"], inputs["y"], int(inputs["chunk"]),
                                on_chunk=meter.record)
    return {"grads": grads, "alive": np.asarray(meter.history, dtype=np.int64)}


PROGRAMS = {"tiny_language_model": tiny_language_model, "captioning_outputs": captioning_outputs,
            "captioning_training": captioning_training, "tbptt_batches": tbptt_batches,
            "decoding": decoding, "clipping": clipping, "vanishing_lags": vanishing_lags,
            "scan_structure": scan_structure, "recurrence_by_scan": recurrence_by_scan,
            "gru_module": gru_module,
            "tbptt_memory": tbptt_memory}


def run_calls(spec, report):
    import numpy as np

    with np.load(spec["inputs"], allow_pickle=False) as data:
        arrays = dict(data)
    results, skeletons = {}, {}
    for call in spec["calls"]:
        report["call"] = call["name"]
        if "program" in call:
            prefix = call["name"] + "__"
            inputs = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            value = PROGRAMS[call["program"]](inputs, np)
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
