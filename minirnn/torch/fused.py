"""The fast path: one layer, one direction, a whole sequence per ``autograd.Function``.

Same equations as ``cells.py``; what changes is how many operations PyTorch dispatches:

- all input projections x W_ih^T + b are one GEMM over the T*N rows, before the time loop;
- each step does one in-place ``addmm_`` for the recurrent product and a handful of in-place
  elementwise ops that write straight into preallocated (T, N, .) buffers;
- the backward is written by hand: every factor that does not depend on the incoming gradient
  (gate derivatives, tanh(c), ...) is computed for all steps at once before the backward loop,
  so each backward step is again a few multiplies and one ``addmm``; the weight gradients are
  one GEMM each over all steps after the loop.

For the LSTM the gate rows are reordered internally from torch's (i, f, g, o) to (o, i, f, g),
so the three sigmoid gates are contiguous and the three gates multiplied by dc in the
backward are contiguous; gradients are put back into torch's order at the end.

Ragged batches: columns are sorted by length, ``batch_sizes[t]`` sequences are still running
at step t and they are the first ones, so every step works on a prefix ``[:n]``. Rows past a
sequence's end are never written: their outputs stay zero and their gradients stay zero.

Layouts: x is given time-major (T, N, D) but may be a transposed view of a batch-first
(N, T, D) tensor; the buffers then use the same batch-first storage so no transpose is copied.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def _rows_of(x: Tensor) -> tuple[Tensor, bool]:
    """x (T, N, D) -> (its storage as a (T*N, D) row matrix, whether rows are batch-major)."""
    if x.is_contiguous():
        return x.view(-1, x.shape[2]), False
    if x.transpose(0, 1).is_contiguous():
        return x.transpose(0, 1).reshape(-1, x.shape[2]), True
    return x.contiguous().view(-1, x.shape[2]), False


def _time_major(rows: Tensor, steps: int, batch: int, batch_major: bool) -> Tensor:
    """A (T*N, K) row matrix -> its time-major (T, N, K) view."""
    if batch_major:
        return rows.view(batch, steps, -1).transpose(0, 1)
    return rows.view(steps, batch, -1)


def _rows(states: Tensor, batch_major: bool) -> Tensor:
    """Inverse of ``_time_major`` for a tensor stored in that layout: (T, N, K) -> (T*N, K)."""
    k = states.shape[2]
    return states.transpose(0, 1).reshape(-1, k) if batch_major else states.reshape(-1, k)


def _previous(states: Tensor, first: Tensor) -> Tensor:
    """states (T, N, K) time-major -> the states one step earlier, [first, states[:-1]]."""
    prev = torch.empty_like(states)  # same layout as states
    prev[0] = first
    prev[1:] = states[:-1]
    return prev


def _add_final_grad(dy: Tensor, d_last: Tensor, last_step: Tensor | None) -> None:
    """Add the gradient of the final state into dy (T, N, H) at each sequence's last step."""
    if last_step is None:
        dy[-1] += d_last
    else:
        dy.index_put_((last_step, torch.arange(dy.shape[1], device=dy.device)), d_last, True)


def _gather_last(y: Tensor, last_step: Tensor | None) -> Tensor:
    """y (T, N, H) -> (N, H): each sequence's value at its own last step."""
    if last_step is None:
        return y[-1].clone()
    return y[last_step, torch.arange(y.shape[1], device=y.device)]


def _input_grads(ctx, d_gates: Tensor, x_rows: Tensor, w_ih: Tensor, x_shape, batch_major):
    """Gradients of x and W_ih from the (T*N, G*H) pre-activation gradients: one GEMM each."""
    steps, batch, _ = x_shape
    dx = dw_ih = None
    if ctx.needs_input_grad[0]:
        dx = _time_major(d_gates @ w_ih, steps, batch, batch_major)
    if ctx.needs_input_grad[3]:
        dw_ih = d_gates.t() @ x_rows
    return dx, dw_ih


# ---------------------------------------------------------------------------------------------
# LSTM


def _lstm_perm(hidden: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Row index taking torch's gate blocks (i, f, g, o) to (o, i, f, g), and its inverse."""
    blocks = torch.arange(4 * hidden, device=device).view(4, hidden)
    to_ours = blocks[[3, 0, 1, 2]].reshape(-1)
    to_torch = blocks[[1, 2, 3, 0]].reshape(-1)
    return to_ours, to_torch


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
        ours, _ = _lstm_perm(hidden, x.device)
        w_ih_o, w_hh_o = w_ih[ours], w_hh[ours]
        x_rows, batch_major = _rows_of(x)

        # all input projections at once; each step adds its recurrent part in place
        if b_ih is not None:
            acts = torch.addmm((b_ih + b_hh)[ours], x_rows, w_ih_o.t())
        else:
            acts = x_rows @ w_ih_o.t()
        c_rows = x.new_zeros(x_rows.shape[0], hidden)
        y_rows, tanh_c_rows = torch.zeros_like(c_rows), torch.zeros_like(c_rows)
        acts_t = _time_major(acts, steps, batch, batch_major)
        c_t, y_t = _time_major(c_rows, steps, batch, batch_major), _time_major(y_rows, steps, batch, batch_major)
        tanh_c_t = _time_major(tanh_c_rows, steps, batch, batch_major)

        a4 = acts_t.view(steps, batch, 4, hidden)
        A, SIG, TANH = acts_t.unbind(0), a4[:, :, :3].unbind(0), a4[:, :, 3].unbind(0)
        O, I, F, G = (a4[:, :, k].unbind(0) for k in range(4))
        C, TC, Y = c_t.unbind(0), tanh_c_t.unbind(0), y_t.unbind(0)
        w_hh_t = w_hh_o.t()
        h, c = h0, c0
        full = batch_sizes is None
        for t in range(steps):
            n = batch if full else batch_sizes[t]
            if n == batch:
                a, sig, tan, o, i, f, g = A[t], SIG[t], TANH[t], O[t], I[t], F[t], G[t]
                c_new, tc, y = C[t], TC[t], Y[t]
            else:
                a, sig, tan, o, i, f, g = (v[:n] for v in (A[t], SIG[t], TANH[t], O[t], I[t], F[t], G[t]))
                c_new, tc, y = C[t][:n], TC[t][:n], Y[t][:n]
                h, c = h[:n], c[:n]
            a.addmm_(h, w_hh_t)
            sig.sigmoid_()
            tan.tanh_()
            torch.mul(f, c, out=c_new)
            c_new.addcmul_(i, g)
            torch.tanh(c_new, out=tc)
            torch.mul(o, tc, out=y)
            h, c = y, c_new

        h_n, c_n = _gather_last(y_t, last_step), _gather_last(c_t, last_step)
        ctx.save_for_backward(x_rows, h0, c0, w_ih_o, w_hh_o, acts, c_rows, tanh_c_rows, y_rows, last_step)
        ctx.meta = (x.shape, batch_major, batch_sizes, b_ih is not None)
        return y_t, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x_rows, h0, c0, w_ih_o, w_hh_o, acts, c_rows, tanh_c_rows, y_rows, last_step = ctx.saved_tensors
        (steps, batch, _), batch_major, batch_sizes, has_bias = ctx.meta
        hidden = w_hh_o.shape[1]
        tm = lambda rows: _time_major(rows, steps, batch, batch_major)  # noqa: E731

        # every factor that does not depend on the incoming gradient, for all steps at once
        a = acts.view(-1, 4, hidden)
        o, i, f, g = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        c_prev = _previous(tm(c_rows), c0)
        p_o = tanh_c_rows * o * (1 - o)  # dL/d(o pre) = dh * p_o
        p_c = o * (1 - tanh_c_rows * tanh_c_rows)  # dL/dc += dh * p_c
        p_ifg = torch.empty_like(a[:, 1:])  # (rows, 3, H)
        torch.mul(g, i * (1 - i), out=p_ifg[:, 0])
        torch.mul(_rows(c_prev, batch_major), f * (1 - f), out=p_ifg[:, 1])
        torch.mul(i, 1 - g * g, out=p_ifg[:, 2])

        # gradient flowing into the outputs, plus the final states' at each last step
        dy_t = tm(torch.empty_like(y_rows))
        dy_t.copy_(dy)
        _add_final_grad(dy_t, dh_n, last_step)
        dc = dc_n.clone()  # rows not yet running keep the final state's gradient

        d_gates = torch.zeros_like(acts)
        dg4 = tm(d_gates).view(steps, batch, 4, hidden)
        DG, DGO, DGIFG = tm(d_gates).unbind(0), dg4[:, :, 0].unbind(0), dg4[:, :, 1:].unbind(0)
        PO, PC, PIFG = tm(p_o).unbind(0), tm(p_c).unbind(0), tm(p_ifg.view(-1, 3 * hidden)).view(steps, batch, 3, hidden).unbind(0)
        FF = tm(acts).view(steps, batch, 4, hidden)[:, :, 2].unbind(0)
        DY = dy_t.unbind(0)
        full = batch_sizes is None
        dh = DY[steps - 1] if batch_sizes is None else DY[steps - 1][: batch_sizes[-1]]
        for t in range(steps - 1, -1, -1):
            n = batch if full else batch_sizes[t]
            if n == batch:
                dct, po, pc, pifg, ff, dgo, dgifg, dgt = dc, PO[t], PC[t], PIFG[t], FF[t], DGO[t], DGIFG[t], DG[t]
            else:
                dct = dc[:n]
                po, pc, pifg, ff, dgo, dgifg, dgt = (v[:n] for v in (PO[t], PC[t], PIFG[t], FF[t], DGO[t], DGIFG[t], DG[t]))
            dct.addcmul_(dh, pc)
            torch.mul(dh, po, out=dgo)
            torch.mul(dct.unsqueeze(1), pifg, out=dgifg)
            dct.mul_(ff)
            if t > 0:
                n_prev = batch if full else batch_sizes[t - 1]
                dh_prev = torch.addmm(DY[t - 1][:n], dgt, w_hh_o)
                if n_prev > n:  # sequences whose last step is t - 1 join here
                    dh_prev = torch.cat((dh_prev, DY[t - 1][n:n_prev]))
                dh = dh_prev
            else:
                dh0 = dgt @ w_hh_o
        dc0 = dc

        # weight gradients: one GEMM each over all steps (rows in our gate order)
        _, to_torch = _lstm_perm(hidden, acts.device)
        dx, dw_ih = _input_grads(ctx, d_gates, x_rows, w_ih_o, (steps, batch, 0), batch_major)
        if dw_ih is not None:
            dw_ih = dw_ih[to_torch]
        dw_hh = None
        if ctx.needs_input_grad[4]:
            h_prev = _previous(tm(y_rows), h0)
            dw_hh = (d_gates.t() @ _rows(h_prev, batch_major))[to_torch]
        db = d_gates.sum(0)[to_torch] if has_bias else None
        return dx, dh0, dc0, dw_ih, dw_hh, db, db, None, None


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
        x_rows, batch_major = _rows_of(x)
        if b_ih is not None:
            y_rows = torch.addmm(b_ih + b_hh, x_rows, w_ih.t())
        else:
            y_rows = x_rows @ w_ih.t()
        y_t = _time_major(y_rows, steps, batch, batch_major)
        Y = y_t.unbind(0)
        w_hh_t = w_hh.t()
        h = h0
        full = batch_sizes is None
        for t in range(steps):  # y_t holds x W_ih^T + b; each step adds h W_hh^T and activates
            n = batch if full else batch_sizes[t]
            y = Y[t] if n == batch else Y[t][:n]
            y.addmm_(h if n == h.shape[0] else h[:n], w_hh_t)
            if relu:
                y.relu_()
            else:
                y.tanh_()
            h = y
        if not full:  # steps past each end still hold their input projection: zero them
            running = torch.arange(batch).unsqueeze(0) < torch.tensor(batch_sizes).unsqueeze(1)
            y_t.masked_fill_(~running.to(x.device).unsqueeze(2), 0.0)
        h_n = _gather_last(y_t, last_step)
        ctx.save_for_backward(x_rows, h0, w_ih, w_hh, y_rows, last_step)
        ctx.meta = (x.shape, batch_major, batch_sizes, b_ih is not None, relu)
        return y_t, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x_rows, h0, w_ih, w_hh, y_rows, last_step = ctx.saved_tensors
        (steps, batch, _), batch_major, batch_sizes, has_bias, relu = ctx.meta
        tm = lambda rows: _time_major(rows, steps, batch, batch_major)  # noqa: E731

        # derivative of the activation at every step, computed at once
        act_grad = (y_rows > 0).to(y_rows.dtype) if relu else 1 - y_rows * y_rows
        dy_t = tm(torch.empty_like(y_rows))
        dy_t.copy_(dy)
        _add_final_grad(dy_t, dh_n, last_step)
        d_pre = torch.zeros_like(y_rows)
        DP, AG, DY = tm(d_pre).unbind(0), tm(act_grad).unbind(0), dy_t.unbind(0)
        full = batch_sizes is None
        dh = DY[steps - 1] if batch_sizes is None else DY[steps - 1][: batch_sizes[-1]]
        for t in range(steps - 1, -1, -1):
            n = batch if full else batch_sizes[t]
            dp = DP[t] if n == batch else DP[t][:n]
            torch.mul(dh, AG[t] if n == batch else AG[t][:n], out=dp)
            if t > 0:
                n_prev = batch if full else batch_sizes[t - 1]
                dh = torch.addmm(DY[t - 1][:n], dp, w_hh)
                if n_prev > n:  # sequences whose last step is t - 1 join here
                    dh = torch.cat((dh, DY[t - 1][n:n_prev]))
            else:
                dh0 = dp @ w_hh

        dx, dw_ih = _input_grads(ctx, d_pre, x_rows, w_ih, (steps, batch, 0), batch_major)
        dw_hh = None
        if ctx.needs_input_grad[3]:
            dw_hh = d_pre.t() @ _rows(_previous(tm(y_rows), h0), batch_major)
        db = d_pre.sum(0) if has_bias else None
        return dx, dh0, dw_ih, dw_hh, db, db, None, None, None


# ---------------------------------------------------------------------------------------------
# GRU


class GRUFunction(torch.autograd.Function):
    """One GRU layer and direction over a whole sequence (torch's r, z, n equations).

    apply(x (T, N, D), h0 (N, H), w_ih (3H, D), w_hh (3H, H), b_ih, b_hh (3H,) or None,
    batch_sizes, last_step) -> (y (T, N, H), h_n (N, H)).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, last_step):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        x_rows, batch_major = _rows_of(x)
        tm = lambda rows: _time_major(rows, steps, batch, batch_major)  # noqa: E731
        if b_ih is not None:
            acts = torch.addmm(b_ih, x_rows, w_ih.t())  # input parts of r, z, n
        else:
            acts = x_rows @ w_ih.t()
        hid = torch.zeros_like(acts)  # h W_hh^T + b_hh, kept for the backward
        y_rows = x.new_zeros(x_rows.shape[0], hidden)
        a3, h3 = tm(acts).view(steps, batch, 3, hidden), tm(hid).view(steps, batch, 3, hidden)
        RZ, R, Z, NN = a3[:, :, :2].unbind(0), a3[:, :, 0].unbind(0), a3[:, :, 1].unbind(0), a3[:, :, 2].unbind(0)
        HRZ, HN, HID = h3[:, :, :2].unbind(0), h3[:, :, 2].unbind(0), tm(hid).unbind(0)
        Y = tm(y_rows).unbind(0)
        w_hh_t = w_hh.t()
        h = h0
        full = batch_sizes is None
        for t in range(steps):
            n = batch if full else batch_sizes[t]
            if n == batch:
                rz, r, z, nn_, hrz, hn, hd, y = RZ[t], R[t], Z[t], NN[t], HRZ[t], HN[t], HID[t], Y[t]
            else:
                rz, r, z, nn_, hrz, hn, hd, y = (
                    v[:n] for v in (RZ[t], R[t], Z[t], NN[t], HRZ[t], HN[t], HID[t], Y[t])
                )
                h = h[:n]
            if b_hh is not None:
                torch.addmm(b_hh, h, w_hh_t, out=hd)
            else:
                torch.mm(h, w_hh_t, out=hd)
            rz.add_(hrz).sigmoid_()
            nn_.addcmul_(r, hn).tanh_()
            torch.lerp(nn_, h, z, out=y)  # (1 - z) * n + z * h
            h = y
        h_n = _gather_last(tm(y_rows), last_step)
        ctx.save_for_backward(x_rows, h0, w_ih, w_hh, acts, hid, y_rows, last_step)
        ctx.meta = (x.shape, batch_major, batch_sizes, b_ih is not None)
        return tm(y_rows), h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x_rows, h0, w_ih, w_hh, acts, hid, y_rows, last_step = ctx.saved_tensors
        (steps, batch, _), batch_major, batch_sizes, has_bias = ctx.meta
        hidden = w_hh.shape[1]
        tm = lambda rows: _time_major(rows, steps, batch, batch_major)  # noqa: E731

        # factors that do not depend on the incoming gradient, for all steps at once:
        #   da_n = dh * q_n, da_z = dh * q_z, da_r = da_n * q_r, d(h W_hn^T + b_hn) = da_n * r
        a = acts.view(-1, 3, hidden)
        r, z, n_ = a[:, 0], a[:, 1], a[:, 2]
        h_prev = _rows(_previous(tm(y_rows), h0), batch_major)
        q_nz = torch.empty_like(a[:, :2])  # (rows, 2, H): q_n, q_z
        torch.mul(1 - z, 1 - n_ * n_, out=q_nz[:, 0])
        torch.mul(h_prev - n_, z * (1 - z), out=q_nz[:, 1])
        q_rr = torch.empty_like(q_nz)  # (rows, 2, H): q_r, r
        torch.mul(hid.view(-1, 3, hidden)[:, 2], r * (1 - r), out=q_rr[:, 0])
        q_rr[:, 1] = r

        # e holds per step [da_n, da_z, da_r, da_n * r]; its last three blocks times
        # W_hh reordered to (z, r, n) give the recurrent gradient in one GEMM
        e = torch.zeros(acts.shape[0], 4, hidden, dtype=acts.dtype, device=acts.device)
        w_zrn = w_hh.view(3, hidden, hidden)[[1, 0, 2]].reshape(3 * hidden, hidden)
        e4 = tm(e.view(-1, 4 * hidden)).view(steps, batch, 4, hidden)
        E_NZ, E_N, E_RNR, E_GEMM = (
            e4[:, :, :2].unbind(0), e4[:, :, :1].unbind(0), e4[:, :, 2:].unbind(0),
            e4[:, :, 1:].unbind(0),
        )
        QNZ = tm(q_nz.view(-1, 2 * hidden)).view(steps, batch, 2, hidden).unbind(0)
        QRR = tm(q_rr.view(-1, 2 * hidden)).view(steps, batch, 2, hidden).unbind(0)
        ZZ = tm(acts).view(steps, batch, 3, hidden)[:, :, 1].unbind(0)

        dy_t = tm(torch.empty_like(y_rows))
        dy_t.copy_(dy)
        _add_final_grad(dy_t, dh_n, last_step)
        DY = dy_t.unbind(0)
        full = batch_sizes is None
        dh = DY[steps - 1] if batch_sizes is None else DY[steps - 1][: batch_sizes[-1]]
        for t in range(steps - 1, -1, -1):
            n = batch if full else batch_sizes[t]
            if n == batch:
                enz, en, ernr, egemm, qnz, qrr, zz = E_NZ[t], E_N[t], E_RNR[t], E_GEMM[t], QNZ[t], QRR[t], ZZ[t]
            else:
                enz, en, ernr, egemm, qnz, qrr, zz = (
                    v[:n] for v in (E_NZ[t], E_N[t], E_RNR[t], E_GEMM[t], QNZ[t], QRR[t], ZZ[t])
                )
            torch.mul(dh.unsqueeze(1), qnz, out=enz)
            torch.mul(en, qrr, out=ernr)
            egemm = egemm.reshape(n, 3 * hidden)
            if t > 0:
                n_prev = batch if full else batch_sizes[t - 1]
                dh_next = torch.addcmul(DY[t - 1][:n], dh, zz)
                dh_next.addmm_(egemm, w_zrn)
                if n_prev > n:  # sequences whose last step is t - 1 join here
                    dh_next = torch.cat((dh_next, DY[t - 1][n:n_prev]))
                dh = dh_next
            else:
                dh0 = torch.addmm(dh * zz, egemm, w_zrn)

        # pre-activation gradients in torch's (r, z, n) order
        d_in = e[:, [2, 1, 0]].reshape(-1, 3 * hidden)  # input side: da_r, da_z, da_n
        d_hid = e[:, [2, 1, 3]].reshape(-1, 3 * hidden)  # hidden side: da_r, da_z, da_n * r
        dx, dw_ih = _input_grads(ctx, d_in, x_rows, w_ih, (steps, batch, 0), batch_major)
        dw_hh = d_hid.t() @ h_prev if ctx.needs_input_grad[3] else None
        db_ih = d_in.sum(0) if has_bias else None
        db_hh = d_hid.sum(0) if has_bias else None
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None
