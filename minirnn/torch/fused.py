"""The fast path: one layer, one direction, a whole sequence per ``autograd.Function``.

Same equations as ``cells.py``; what changes is how many operations PyTorch dispatches:

- all input projections x W_ih^T + b are one GEMM over the T*N rows, before the time loop;
- each step does one in-place ``addmm_`` for the recurrent product and a handful of in-place
  elementwise ops that write straight into preallocated (T, N, .) buffers;
- the backward is written by hand: every factor that does not depend on the incoming gradient
  (gate derivatives times tanh(c), c_{t-1}, ...) is computed for many steps at once (a
  cache-sized chunk of steps at a time; the RNN's single factor for all steps), so each
  backward step is a few multiplies and one ``addmm``; the weight gradients are one GEMM each
  over all steps after the loop.

Buffers are time-major. The hidden states live in ``hs`` of shape (T+1, N, H) with
``hs[0] = h_0`` and ``hs[t+1] = h_t``, so ``hs[t]`` is both step t's input state and, for the
weight gradient, the state that multiplies step t's gate gradient; the gate gradients get a
zero slot T so that dW_hh = dG^T hs is one GEMM over (T+1)*N rows without a shifted copy.

For the LSTM the gate rows are reordered internally from torch's (i, f, g, o) to (o, i, f, g):
the three sigmoid gates are then contiguous, and so are the three gates whose gradient is
dc times something; gradients go back to torch's order at the end.

Ragged batches: columns are sorted by length, ``batch_sizes[t]`` sequences are still running
at step t and they are the first ones, so every step works on the prefix ``[:n]``. Rows past a
sequence's end are never written: their outputs and gradients stay zero.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def _at(t: int, n: int, full: int, *buffers: tuple[Tensor, ...]) -> list[Tensor]:
    """Step t of each unbound buffer, cut to the n running sequences (no cut when n == full)."""
    if n == full:
        return [b[t] for b in buffers]
    return [b[t][:n] for b in buffers]


def _alloc(full: bool):
    """Buffers every step writes completely can skip the zero fill; ragged ones cannot."""
    return torch.empty if full else torch.zeros


def _last_of(ys: Tensor, last_step: Tensor | None) -> Tensor:
    """ys (T, N, H) -> (N, H): each sequence's value at its own last step."""
    if last_step is None:
        return ys[-1].clone()
    return ys[last_step, torch.arange(ys.shape[1], device=ys.device)]


def _first_dh(dy: Tensor, dh_n: Tensor, batch_sizes: list[int] | None) -> Tensor:
    """Gradient reaching the last step's state: its output's plus the final state's."""
    if batch_sizes is None:
        return dy[-1] + dh_n
    n = batch_sizes[-1]
    return dy[-1][:n] + dh_n[:n]


def _next_dh(dh: Tensor, dy: Tensor, dh_n: Tensor, t: int, n: int, batch_sizes) -> Tensor:
    """Sequences whose last step is t-1 join the backward loop there: append their rows."""
    if batch_sizes is None or batch_sizes[t - 1] == n:
        return dh
    n_prev = batch_sizes[t - 1]
    return torch.cat((dh, dy[t - 1][n:n_prev] + dh_n[n:n_prev]))


def _one_minus_square(x: Tensor) -> Tensor:
    """1 - x*x in one op (tanh' from tanh)."""
    return torch.addcmul(x.new_ones(()), x, x, value=-1)


def _to_ours(rows: Tensor) -> Tensor:
    """LSTM gate blocks along dim 0 from torch's (i, f, g, o) to ours (o, i, f, g)."""
    return torch.roll(rows, rows.shape[0] // 4, dims=0)


def _to_torch(rows: Tensor) -> Tensor:
    """Inverse of ``_to_ours``: (o, i, f, g) -> (i, f, g, o)."""
    return torch.roll(rows, -(rows.shape[0] // 4), dims=0)


def _gemm_operand(w_hh: Tensor, steps: int) -> Tensor:
    """W_hh^T (H, G*H) for the per-step ``h @ W_hh^T``: a contiguous copy multiplies faster
    (about 25% on a CPU), which pays for the copy once there are more than a few steps."""
    return w_hh.t().contiguous() if steps > 4 else w_hh.t()


def _input_projection(x_rows: Tensor, w_ih: Tensor, bias: Tensor | None, out=None) -> Tensor:
    """x W_ih^T + bias for all T*N rows at once: (T*N, D) -> (T*N, G*H)."""
    if bias is None:
        return torch.mm(x_rows, w_ih.t(), out=out)
    return torch.addmm(bias, x_rows, w_ih.t(), out=out)


def _input_grads(ctx, d_pre: Tensor, x_rows: Tensor, w_ih: Tensor, w_ih_index: int,
                 x_shape: torch.Size) -> tuple[Tensor | None, Tensor | None]:
    """dx (T, N, D) and dW_ih from the (T*N, G*H) pre-activation gradients: a GEMM each,
    only where needed. w_ih_index: position of w_ih among the Function's inputs (x is 0)."""
    dx = d_pre.mm(w_ih).view(x_shape) if ctx.needs_input_grad[0] else None
    dw_ih = d_pre.t().mm(x_rows) if ctx.needs_input_grad[w_ih_index] else None
    return dx, dw_ih


# The LSTM and GRU backwards compute their step-independent factors a chunk of steps at a
# time, sized so a chunk's factors (4 to 5 N*H numbers a step) stay in the CPU cache until the
# loop reads them.
_CHUNK_ELEMENTS = 1 << 15


# ---------------------------------------------------------------------------------------------
# LSTM


def _lstm_factors(acts: Tensor, hs: Tensor, cs: Tensor, tanh_cs: Tensor, start: int, end: int):
    """Factors of the LSTM backward for steps [start, end) that do not depend on the gradient.

    acts (T, N, 4, H) activated gates (o, i, f, g); hs, cs (T+1, N, H) states with h_0, c_0
    first; tanh_cs (T, N, H). Returns p_o, p_c (K, N, H) and p_ifg (K, N, 3, H), K = end - start:
    d(o pre) = dh * p_o,   dc += dh * p_c,   d(i, f, g pre) = dc * p_ifg.
    Each is one fused multiply-add, using h = o * tanh(c) to avoid recomputing products:
    p_o = tanh(c) o (1 - o) = h - h o,        p_c = o (1 - tanh(c)^2) = o - tanh(c) h,
    p_i = g i (1 - i) = ig - ig i,            p_f = c_prev f (1 - f) = fc - fc f,
    p_g = i (1 - g^2) = i - ig g.
    """
    a, tc, c_prev = acts[start:end], tanh_cs[start:end], cs[start:end]
    h = hs[start + 1 : end + 1]
    o, i, f, g = a.unbind(2)
    p_o = torch.addcmul(h, h, o, value=-1)
    p_c = torch.addcmul(o, tc, h, value=-1)
    p_ifg = torch.empty_like(a[:, :, 1:])
    p_i, p_f, p_g = p_ifg.unbind(2)
    ig, fc = i * g, f * c_prev
    torch.addcmul(ig, ig, i, value=-1, out=p_i)
    torch.addcmul(fc, fc, f, value=-1, out=p_f)
    torch.addcmul(i, ig, g, value=-1, out=p_g)
    return p_o, p_c, p_ifg


class LSTMFunction(torch.autograd.Function):
    """One LSTM layer and direction over a whole sequence.

    apply(x (T, N, D), h0 (N, H), c0 (N, H), w_ih (4H, D), w_hh (4H, H), b_ih, b_hh (4H,) or
    None, batch_sizes: list of T ints or None, last_step: (N,) int64 or None)
    -> (y (T, N, H), h_n (N, H), c_n (N, H)).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes, last_step):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        w_ih_o, w_hh_o = _to_ours(w_ih), _to_ours(w_hh)
        w_hh_t = _gemm_operand(w_hh_o, steps)
        bias = None if b_ih is None else _to_ours(b_ih + b_hh)
        x_rows = x.reshape(steps * batch, -1)

        full = batch_sizes is None
        new = _alloc(full)
        acts = _input_projection(x_rows, w_ih_o, bias).view(steps, batch, 4, hidden)
        hs = new(steps + 1, batch, hidden, dtype=x.dtype, device=x.device)
        cs = torch.empty_like(hs) if full else torch.zeros_like(hs)
        tanh_cs = new(steps, batch, hidden, dtype=x.dtype, device=x.device)
        hs[0], cs[0] = h0, c0

        A, SIG, TAN = acts.flatten(2).unbind(0), acts[:, :, :3].unbind(0), acts[:, :, 3].unbind(0)
        O, I, F, G = (acts[:, :, k].unbind(0) for k in range(4))
        HS, CS, TC = hs.unbind(0), cs.unbind(0), tanh_cs.unbind(0)
        for t in range(steps):
            n = batch if full else batch_sizes[t]
            a, sig, tan, o, i, f, g, h, c, c_new, tc, h_new = _at(
                t, n, batch, A, SIG, TAN, O, I, F, G, HS, CS, CS[1:], TC, HS[1:]
            )
            a.addmm_(h, w_hh_t)  # gate pre-activations: input part was computed above
            sig.sigmoid_()  # o, i, f
            tan.tanh_()  # g
            torch.mul(f, c, out=c_new)
            c_new.addcmul_(i, g)  # c' = f*c + i*g
            torch.tanh(c_new, out=tc)
            torch.mul(o, tc, out=h_new)  # h' = o*tanh(c')

        ys = hs[1:]
        h_n, c_n = _last_of(ys, last_step), _last_of(cs[1:], last_step)
        ctx.save_for_backward(x_rows, w_ih_o, w_hh_o, acts, hs, cs, tanh_cs)
        ctx.meta = (x.shape, batch_sizes, b_ih is not None)
        return ys, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x_rows, w_ih_o, w_hh_o, acts, hs, cs, tanh_cs = ctx.saved_tensors
        x_shape, batch_sizes, has_bias = ctx.meta
        steps, batch, hidden = dy.shape
        full = batch_sizes is None

        # gate gradients, with a zero slot T (see the module docstring)
        d_gates = _alloc(full)(steps + 1, batch, 4, hidden, dtype=dy.dtype, device=dy.device)
        d_gates[steps].zero_()
        DO, DIFG = d_gates[:, :, 0].unbind(0), d_gates[:, :, 1:].unbind(0)
        DG, DY, FF = d_gates.flatten(2).unbind(0), dy.unbind(0), acts[:, :, 2].unbind(0)
        dh = _first_dh(dy, dh_n, batch_sizes)
        dc = dc_n.clone()  # rows not yet running keep their final cell gradient
        chunk = max(1, _CHUNK_ELEMENTS // (batch * hidden))
        for end in range(steps, 0, -chunk):
            start = max(0, end - chunk)
            # the factors of a chunk of steps at once, just before the loop reads them from cache
            PO, PC, PIFG = (f.unbind(0) for f in _lstm_factors(acts, hs, cs, tanh_cs, start, end))
            for t in range(end - 1, start - 1, -1):
                n = batch if full else batch_sizes[t]
                dct = dc if n == batch else dc[:n]
                po, pc, pifg = _at(t - start, n, batch, PO, PC, PIFG)
                ff, do, difg, dg = _at(t, n, batch, FF, DO, DIFG, DG)
                dct.addcmul_(dh, pc)
                torch.mul(dh, po, out=do)
                torch.mul(dct.unsqueeze(1), pifg, out=difg)
                dct.mul_(ff)  # dc flowing to step t-1
                if t > 0:
                    dh = torch.addmm(DY[t - 1] if n == batch else DY[t - 1][:n], dg, w_hh_o)
                    dh = _next_dh(dh, dy, dh_n, t, n, batch_sizes)
                else:
                    dh0 = dg.mm(w_hh_o)

        # weight gradients: one GEMM each over all steps (rows in our gate order)
        d_pre = d_gates[:steps].view(steps * batch, 4 * hidden)
        dx, dw_ih = _input_grads(ctx, d_pre, x_rows, w_ih_o, 3, x_shape)
        dw_ih = None if dw_ih is None else _to_torch(dw_ih)
        dw_hh = None
        if ctx.needs_input_grad[4]:
            dw_hh = _to_torch(d_gates.view(-1, 4 * hidden).t().mm(hs.view(-1, hidden)))
        db = _to_torch(d_pre.sum(0)) if has_bias else None
        return dx, dh0, dc, dw_ih, dw_hh, db, db, None, None


# ---------------------------------------------------------------------------------------------
# vanilla RNN


class RNNFunction(torch.autograd.Function):
    """One tanh/ReLU RNN layer and direction over a whole sequence.

    apply(x (T, N, D), h0 (N, H), w_ih (H, D), w_hh (H, H), b_ih, b_hh (H,) or None,
    batch_sizes, last_step, relu: bool) -> (y (T, N, H), h_n (N, H)).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, last_step, relu):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        x_rows = x.reshape(steps * batch, -1)
        full = batch_sizes is None
        hs = torch.empty(steps + 1, batch, hidden, dtype=x.dtype, device=x.device)
        hs[0] = h0
        bias = None if b_ih is None else b_ih + b_hh
        _input_projection(x_rows, w_ih, bias, out=hs[1:].view(steps * batch, hidden))
        w_hh_t = _gemm_operand(w_hh, steps)
        HS = hs.unbind(0)
        for t in range(steps):  # hs[t+1] holds x W_ih^T + b; add h W_hh^T, then activate
            n = batch if full else batch_sizes[t]
            h, h_new = _at(t, n, batch, HS, HS[1:])
            h_new.addmm_(h, w_hh_t)
            h_new.relu_() if relu else h_new.tanh_()
        ys = hs[1:]
        if not full:  # steps past each end still hold their input projection: zero them
            running = torch.arange(batch) < torch.tensor(batch_sizes).unsqueeze(1)  # (T, N)
            ys.masked_fill_(~running.to(x.device).unsqueeze(2), 0.0)
        h_n = _last_of(ys, last_step)
        ctx.save_for_backward(x_rows, w_ih, w_hh, hs)
        ctx.meta = (x.shape, batch_sizes, b_ih is not None, relu)
        return ys, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x_rows, w_ih, w_hh, hs = ctx.saved_tensors
        x_shape, batch_sizes, has_bias, relu = ctx.meta
        steps, batch, hidden = dy.shape
        full = batch_sizes is None

        ys = hs[1:]
        act_grad = (ys > 0).to(ys.dtype) if relu else _one_minus_square(ys)  # all steps at once
        d_pre = _alloc(full)(steps + 1, batch, hidden, dtype=dy.dtype, device=dy.device)
        d_pre[steps].zero_()
        DP, AG, DY = d_pre.unbind(0), act_grad.unbind(0), dy.unbind(0)
        dh = _first_dh(dy, dh_n, batch_sizes)
        for t in range(steps - 1, -1, -1):
            n = batch if full else batch_sizes[t]
            dp, ag = _at(t, n, batch, DP, AG)
            torch.mul(dh, ag, out=dp)
            if t > 0:
                dh = _next_dh(torch.addmm(DY[t - 1][:n], dp, w_hh), dy, dh_n, t, n, batch_sizes)
            else:
                dh0 = dp.mm(w_hh)

        d_rows = d_pre[:steps].view(steps * batch, hidden)
        dx, dw_ih = _input_grads(ctx, d_rows, x_rows, w_ih, 2, x_shape)
        dw_hh = None
        if ctx.needs_input_grad[3]:
            dw_hh = d_pre.view(-1, hidden).t().mm(hs.view(-1, hidden))
        db = d_rows.sum(0) if has_bias else None
        return dx, dh0, dw_ih, dw_hh, db, db, None, None, None


# ---------------------------------------------------------------------------------------------
# GRU


def _gru_factors(acts: Tensor, hid: Tensor, hs: Tensor, start: int, end: int):
    """Factors of the GRU backward for steps [start, end) that do not depend on the gradient.

    acts (T, N, 3, H) activated r, z, n; hid (T, N, 3, H) the h W_hh^T + b_hh parts; hs
    (T+1, N, H) states with h_0 first. Returns q_nz = [q_n, q_z] and q_rr = [q_r, r], each
    (K, N, 2, H), K = end - start, such that da_n = dh * q_n, da_z = dh * q_z,
    da_r = da_n * q_r and d(h W_hn^T + b_hn) = da_n * r, where
    q_n = (1 - z)(1 - n^2),  q_z = (h_prev - n) z (1 - z),  q_r = (h W_hn^T + b_hn) r (1 - r).
    """
    r, z, n = acts[start:end].unbind(2)
    q_nz = torch.empty_like(acts[start:end, :, :2])
    torch.mul(1 - z, _one_minus_square(n), out=q_nz[:, :, 0])
    torch.mul(hs[start:end] - n, torch.addcmul(z, z, z, value=-1), out=q_nz[:, :, 1])
    q_rr = torch.empty_like(q_nz)
    torch.mul(hid[start:end, :, 2], torch.addcmul(r, r, r, value=-1), out=q_rr[:, :, 0])
    q_rr[:, :, 1] = r
    return q_nz, q_rr


class GRUFunction(torch.autograd.Function):
    """One GRU layer and direction over a whole sequence (torch's r, z, n equations).

    apply(x (T, N, D), h0 (N, H), w_ih (3H, D), w_hh (3H, H), b_ih, b_hh (3H,) or None,
    batch_sizes, last_step) -> (y (T, N, H), h_n (N, H)).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, last_step):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        x_rows = x.reshape(steps * batch, -1)
        full = batch_sizes is None
        new = _alloc(full)
        acts = _input_projection(x_rows, w_ih, b_ih).view(steps, batch, 3, hidden)  # x parts
        hid = new(steps, batch, 3, hidden, dtype=x.dtype, device=x.device)  # h W_hh^T + b_hh
        hs = new(steps + 1, batch, hidden, dtype=x.dtype, device=x.device)
        hs[0] = h0
        w_hh_t = _gemm_operand(w_hh, steps)

        RZ, R, Z, NN = acts[:, :, :2].unbind(0), *(acts[:, :, k].unbind(0) for k in range(3))
        HRZ, HN, HID = hid[:, :, :2].unbind(0), hid[:, :, 2].unbind(0), hid.flatten(2).unbind(0)
        HS = hs.unbind(0)
        for t in range(steps):
            n = batch if full else batch_sizes[t]
            rz, r, z, nn, hrz, hn, hd, h, h_new = _at(
                t, n, batch, RZ, R, Z, NN, HRZ, HN, HID, HS, HS[1:]
            )
            if b_hh is None:
                torch.mm(h, w_hh_t, out=hd)
            else:
                torch.addmm(b_hh, h, w_hh_t, out=hd)
            rz.add_(hrz).sigmoid_()  # r, z
            nn.addcmul_(r, hn).tanh_()  # n = tanh(x_n + r * (h W_hn^T + b_hn))
            torch.lerp(nn, h, z, out=h_new)  # h' = (1 - z) * n + z * h
        ys = hs[1:]
        h_n = _last_of(ys, last_step)
        ctx.save_for_backward(x_rows, w_ih, w_hh, acts, hid, hs)
        ctx.meta = (x.shape, batch_sizes, b_ih is not None)
        return ys, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x_rows, w_ih, w_hh, acts, hid, hs = ctx.saved_tensors
        x_shape, batch_sizes, has_bias = ctx.meta
        steps, batch, hidden = dy.shape
        full = batch_sizes is None

        # e holds per step [da_n, da_z, da_r, da_n * r], with a zero slot T; its last three
        # blocks times W_hh reordered to (z, r, n) are the recurrent gradient in one GEMM
        e = _alloc(full)(steps + 1, batch, 4, hidden, dtype=dy.dtype, device=dy.device)
        e[steps].zero_()
        w_zrn = w_hh.view(3, hidden, hidden)[[1, 0, 2]].reshape(3 * hidden, hidden)
        E_NZ, E_N, E_RNR = e[:, :, :2].unbind(0), e[:, :, :1].unbind(0), e[:, :, 2:].unbind(0)
        E_ZRN = e[:, :, 1:].flatten(2).unbind(0)
        ZZ, DY = acts[:, :, 1].unbind(0), dy.unbind(0)
        dh = _first_dh(dy, dh_n, batch_sizes)
        chunk = max(1, _CHUNK_ELEMENTS // (batch * hidden))
        for end in range(steps, 0, -chunk):
            start = max(0, end - chunk)
            QNZ, QRR = (q.unbind(0) for q in _gru_factors(acts, hid, hs, start, end))
            for t in range(end - 1, start - 1, -1):
                n = batch if full else batch_sizes[t]
                qnz, qrr = _at(t - start, n, batch, QNZ, QRR)
                enz, en, ernr, ezrn, zz = _at(t, n, batch, E_NZ, E_N, E_RNR, E_ZRN, ZZ)
                torch.mul(dh.unsqueeze(1), qnz, out=enz)  # da_n, da_z
                torch.mul(en, qrr, out=ernr)  # da_r, da_n * r
                if t > 0:
                    dh_prev = torch.addcmul(DY[t - 1][:n], dh, zz).addmm_(ezrn, w_zrn)
                    dh = _next_dh(dh_prev, dy, dh_n, t, n, batch_sizes)
                else:
                    dh0 = torch.addmm(dh * zz, ezrn, w_zrn)

        # pre-activation gradients in torch's (r, z, n) order
        d_in = e[:steps, :, [2, 1, 0]].reshape(steps * batch, 3 * hidden)  # da_r, da_z, da_n
        d_hid = e[:, :, [2, 1, 3]].reshape(-1, 3 * hidden)  # da_r, da_z, da_n * r
        dx, dw_ih = _input_grads(ctx, d_in, x_rows, w_ih, 2, x_shape)
        dw_hh = d_hid.t().mm(hs.view(-1, hidden)) if ctx.needs_input_grad[3] else None
        db_ih = d_in.sum(0) if has_bias else None
        db_hh = d_hid.sum(0) if has_bias else None
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None
