"""Chapter 2's module: the architecture diagrams have the boxes each architecture is defined by;
the experiment's data and its margin over chance, on hand-made cases."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn.chapters import ch02_five_architectures as arch  # noqa: E402
from minirnn.chapters.ch02_five_architectures import (  # noqa: E402
    ARCHITECTURES,
    architecture_layout,
    draw_architecture,
)


def test_beats_chance_needs_double_or_half_way():
    assert arch.beats_chance(0.2, 0.1) and not arch.beats_chance(0.19, 0.1)
    assert arch.beats_chance(0.8, 0.6) and not arch.beats_chance(0.79, 0.6)


def test_task_data_shapes_and_determinism():
    data = arch.task_data("synced", quick=True)
    x, tags = data.train
    assert x.shape == (800, 10, 256) and tags.shape == (800, 10)
    assert torch.equal(arch.task_data("synced", quick=True).train[0], x)
    with pytest.raises(ValueError, match="name: expected one of"):
        arch.task_data("two_to_two")


@pytest.mark.parametrize(
    "kind, n_inputs, n_hidden, n_outputs",
    [("one_to_one", 1, 1, 1), ("one_to_many", 1, 4, 4), ("many_to_one", 3, 3, 1),
     ("seq2seq", 3, 7, 4), ("synced", 3, 3, 3)],
)
def test_layout_box_counts(kind, n_inputs, n_hidden, n_outputs):
    layout = architecture_layout(kind, n_in=3, n_out=4)
    assert (len(layout.inputs), len(layout.hidden), len(layout.outputs)) == (
        n_inputs, n_hidden, n_outputs)


def test_seq2seq_writes_only_after_reading_everything():
    layout = architecture_layout("seq2seq", n_in=3, n_out=2)
    assert max(layout.inputs) < min(layout.outputs)


def test_synced_has_one_output_per_input_and_many_to_one_only_at_the_end():
    assert architecture_layout("synced", 5).outputs == architecture_layout("synced", 5).inputs
    assert architecture_layout("many_to_one", 5).outputs == (4,)


def test_draw_returns_layout_and_draws_every_box():
    fig, axes = plt.subplots(1, len(ARCHITECTURES))
    for ax, kind in zip(axes, ARCHITECTURES):
        layout = draw_architecture(ax, kind)
        assert len(ax.patches) == len(layout.inputs) + len(layout.hidden) + len(layout.outputs)
    plt.close(fig)


def test_bad_kind_and_sizes():
    with pytest.raises(ValueError, match="kind: expected one of"):
        architecture_layout("two_to_two")
    with pytest.raises(ValueError, match="n_in, n_out: expected at least 1"):
        architecture_layout("synced", n_in=0)


def test_one_frame_sees_one_frame_only():
    torch.manual_seed(0)
    last, each = arch.OneFrame(6, 5, 4, frame=-1), arch.OneFrame(6, 5, 4, frame=None)
    x = torch.randn(3, 7, 6)
    assert last(x).shape == (3, 4) and each(x).shape == (3, 7, 4)
    changed = x.clone()
    changed[:, :-1] = torch.randn(3, 6, 6)  # every frame but the last
    assert torch.equal(last(changed), last(x))
    changed = x.clone()
    changed[:, 3] = 0  # one frame changes only that frame's scores
    assert torch.equal(each(changed)[:, :3], each(x)[:, :3])
    with pytest.raises(ValueError, match=r"x: expected \(N, T, D\)"):
        last(torch.randn(3, 6))


def test_video_labels():
    heading = arch.task_data("many_to_one", quick=True)
    assert heading.train[1].shape == (800,) and int(heading.train[1].max()) == 3
    per_frame = arch.task_data("synced", quick=True, label="heading")
    assert per_frame.train[1].shape == (800, 10)
    assert torch.equal(per_frame.train[1][:, -1], heading.train[1])
    with pytest.raises(ValueError, match="label: expected one of"):
        arch.task_data("synced", label="digit")
    with pytest.raises(ValueError, match="name: expected 'many_to_one' or 'synced'"):
        arch.run_one_frame("seq2seq")
