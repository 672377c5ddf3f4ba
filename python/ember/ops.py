"""Every op of include/ember.h on Buffers: embedding lookup and backward, table-batched
lookup and fused update, sparse and dense optimizers, dense layers, the sigmoid/BCE head and
Wide&Deep parameter counting. Each function is the C call of the same name without the
`ember_` prefix; the C header's comments are the reference for the semantics. Errors raise
the status's EmberError subclass; as in C, a failed op has written nothing.
"""

from __future__ import annotations

import ctypes
import enum
from dataclasses import dataclass, fields
from typing import Optional, Sequence

from . import _library as L
from .buffer import Buffer, handle_of
from .context import Context
from .errors import check


class IndexType(enum.IntEnum):
    INT64 = 0
    INT32 = 1


class Pooling(enum.IntEnum):
    NONE = 0
    SUM = 1
    MEAN = 2

    @property
    def label(self) -> str:
        """ember_pooling_name: "none", "sum", "mean"."""
        return L.text(L.lib.ember_pooling_name(int(self)))


class Reduction(enum.IntEnum):
    ATOMIC = 0
    DETERMINISTIC = 1


class OptimizerKind(enum.IntEnum):
    SGD = 0
    ADAGRAD = 1
    ROWWISE_ADAGRAD = 2
    ADAM = 3

    @property
    def label(self) -> str:
        """ember_optimizer_name: "sgd", "adagrad", "rowwise_adagrad", "adam" (the names
        checkpoints store)."""
        return L.text(L.lib.ember_optimizer_name(int(self)))


class Activation(enum.IntEnum):
    NONE = 0
    RELU = 1


@dataclass
class LookupDesc:
    """ember_lookup_desc: the shape of one embedding op (see include/ember.h)."""

    num_rows: int
    dim: int
    num_indices: int
    batch: int
    pooling: Pooling = Pooling.NONE
    index_type: IndexType = IndexType.INT64
    padding_idx: int = -1
    out_row_stride: int = 0
    out_col_offset: int = 0
    accumulate: bool = False

    def to_c(self) -> L.LookupDescStruct:
        return L.LookupDescStruct(
            self.num_rows, self.dim, self.num_indices, self.batch, int(self.index_type),
            int(self.pooling), self.padding_idx, self.out_row_stride, self.out_col_offset,
            int(bool(self.accumulate)))


class Optimizer:
    """ember_optimizer, starting from PyTorch's defaults for the kind (ember_optimizer_init);
    keyword arguments override them:

        Optimizer(OptimizerKind.ADAGRAD, 0.01, eps=1e-10, weight_decay=1e-5)
    """

    __slots__ = ("kind", "learning_rate", "eps", "beta1", "beta2", "weight_decay", "step")

    def __init__(self, kind: OptimizerKind, learning_rate: float, **overrides: float) -> None:
        c = L.OptimizerStruct()
        L.lib.ember_optimizer_init(ctypes.byref(c), int(kind), learning_rate)
        self.kind = OptimizerKind(kind)
        for name in self.__slots__[1:]:
            setattr(self, name, getattr(c, name))
        for name, value in overrides.items():
            if name not in self.__slots__:
                raise TypeError(f"ember.Optimizer: unknown setting '{name}'")
            setattr(self, name, value)

    def to_c(self) -> L.OptimizerStruct:
        return L.OptimizerStruct(int(self.kind), self.learning_rate, self.eps, self.beta1,
                                 self.beta2, self.weight_decay, int(self.step))

    def state_size(self, rows: int, dim: int) -> int:
        """Floats of state a rows x dim table needs (ember_optimizer_state_size)."""
        return optimizer_state_size(self.kind, rows, dim)

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__[1:])
        return f"Optimizer({self.kind.name}, {args})"


def optimizer_state_size(kind: OptimizerKind, rows: int, dim: int) -> int:
    return int(L.lib.ember_optimizer_state_size(int(kind), rows, dim))


def buffer_array(bufs: Sequence[Optional[Buffer]]) -> ctypes.Array:
    """The C array of ember_buffer pointers (NULL for None) that the batched ops take. Build
    it once for buffers passed on every call (a module's tables and states) and pass it
    where a list of buffers goes; the buffers must outlive it."""
    return (L.buf_p * len(bufs))(*[handle_of(b) for b in bufs])


def desc_array(descs: Sequence[LookupDesc]) -> ctypes.Array:
    """The C array of ember_lookup_desc that the batched ops take; like buffer_array, for
    descriptors reused across calls of one shape."""
    return (L.LookupDescStruct * len(descs))(*[d.to_c() for d in descs])


def _bufs(bufs, n: int, what: str):
    """A C array of n ember_buffer pointers (NULL entries allowed), or NULL for None; an
    array from buffer_array passes as it is."""
    if bufs is None:
        return None
    if len(bufs) != n:
        raise ValueError(f"ember: {what} lists {len(bufs)} buffers for {n} tables")
    return bufs if isinstance(bufs, ctypes.Array) else buffer_array(bufs)


def _descs(descs):
    return descs if isinstance(descs, ctypes.Array) else desc_array(descs)


def embedding_lookup(ctx: Context, desc: LookupDesc, table: Buffer, indices: Buffer,
                     offsets: Optional[Buffer], per_sample_weights: Optional[Buffer],
                     out: Buffer) -> None:
    """Gathers (and pools) table rows into `out`."""
    c = desc.to_c()
    ctx.check(L.lib.ember_embedding_lookup(ctx.handle, ctypes.byref(c), table.handle,
                                           indices.handle, handle_of(offsets),
                                           handle_of(per_sample_weights), out.handle))


def embedding_backward_dense(ctx: Context, desc: LookupDesc, indices: Buffer,
                             offsets: Optional[Buffer], per_sample_weights: Optional[Buffer],
                             grad_out: Buffer, mode: Reduction, grad_table: Buffer) -> None:
    """grad_table[row] += the gradient of every output row that read `row`."""
    c = desc.to_c()
    ctx.check(L.lib.ember_embedding_backward_dense(
        ctx.handle, ctypes.byref(c), indices.handle, handle_of(offsets),
        handle_of(per_sample_weights), grad_out.handle, int(mode), grad_table.handle))


def embedding_backward_sparse(ctx: Context, desc: LookupDesc, indices: Buffer,
                              offsets: Optional[Buffer], per_sample_weights: Optional[Buffer],
                              grad_out: Buffer, mode: Reduction, unique_ids: Buffer,
                              unique_grads: Buffer) -> int:
    """Coalesced sparse gradient into unique_ids / unique_grads; returns their number."""
    c = desc.to_c()
    n = ctypes.c_int64()
    ctx.check(L.lib.ember_embedding_backward_sparse(
        ctx.handle, ctypes.byref(c), indices.handle, handle_of(offsets),
        handle_of(per_sample_weights), grad_out.handle, int(mode), unique_ids.handle,
        unique_grads.handle, ctypes.byref(n)))
    return n.value


def embedding_lookup_batched(ctx: Context, descs: Sequence[LookupDesc],
                             tables: Sequence[Buffer], indices: Sequence[Buffer],
                             offsets: Optional[Sequence[Optional[Buffer]]],
                             per_sample_weights: Optional[Sequence[Optional[Buffer]]],
                             out: Buffer) -> None:
    """Table-batched lookup (FBGEMM's TBE) into one wide output matrix."""
    n = len(descs)
    ctx.check(L.lib.ember_embedding_lookup_batched(
        ctx.handle, n, _descs(descs), _bufs(tables, n, "tables"), _bufs(indices, n, "indices"),
        _bufs(offsets, n, "offsets"), _bufs(per_sample_weights, n, "per_sample_weights"),
        out.handle))


def sparse_optimizer_step(ctx: Context, opt: Optimizer, num_rows: int, dim: int, table: Buffer,
                          state: Optional[Buffer], unique_ids: Buffer, unique_grads: Buffer,
                          num_unique: int) -> None:
    """Applies a coalesced sparse gradient to the rows it names."""
    c = opt.to_c()
    ctx.check(L.lib.ember_sparse_optimizer_step(
        ctx.handle, ctypes.byref(c), num_rows, dim, table.handle, handle_of(state),
        unique_ids.handle, unique_grads.handle, num_unique))


def embedding_backward_update(ctx: Context, desc: LookupDesc, indices: Buffer,
                              offsets: Optional[Buffer], per_sample_weights: Optional[Buffer],
                              grad_out: Buffer, mode: Reduction, opt: Optimizer, table: Buffer,
                              state: Optional[Buffer]) -> None:
    """Backward fused with a sparse optimizer: each used row updated once, in place."""
    d, o = desc.to_c(), opt.to_c()
    ctx.check(L.lib.ember_embedding_backward_update(
        ctx.handle, ctypes.byref(d), indices.handle, handle_of(offsets),
        handle_of(per_sample_weights), grad_out.handle, int(mode), ctypes.byref(o),
        table.handle, handle_of(state)))


def embedding_backward_update_batched(
        ctx: Context, descs: Sequence[LookupDesc], indices: Sequence[Buffer],
        offsets: Optional[Sequence[Optional[Buffer]]],
        per_sample_weights: Optional[Sequence[Optional[Buffer]]], grad_out: Buffer,
        mode: Reduction, opt: Optimizer, tables: Sequence[Buffer],
        states: Optional[Sequence[Optional[Buffer]]]) -> None:
    """Table-batched embedding_backward_update."""
    n = len(descs)
    o = opt.to_c()
    ctx.check(L.lib.ember_embedding_backward_update_batched(
        ctx.handle, n, _descs(descs), _bufs(indices, n, "indices"), _bufs(offsets, n, "offsets"),
        _bufs(per_sample_weights, n, "per_sample_weights"), grad_out.handle, int(mode),
        ctypes.byref(o), _bufs(tables, n, "tables"), _bufs(states, n, "states")))


def dense_optimizer_step(ctx: Context, opt: Optimizer, n: int, param: Buffer, grad: Buffer,
                         state: Optional[Buffer] = None, state2: Optional[Buffer] = None) -> None:
    """Dense update of n parameters (SGD, Adagrad, Adam)."""
    c = opt.to_c()
    ctx.check(L.lib.ember_dense_optimizer_step(ctx.handle, ctypes.byref(c), n, param.handle,
                                               grad.handle, handle_of(state), handle_of(state2)))


def dense_forward(ctx: Context, batch: int, in_features: int, out_features: int, x: Buffer,
                  w: Buffer, b: Optional[Buffer], act: Activation, y: Buffer) -> None:
    """Y = act(X W^T + b), PyTorch's Linear layout."""
    ctx.check(L.lib.ember_dense_forward(ctx.handle, batch, in_features, out_features, x.handle,
                                        w.handle, handle_of(b), int(act), y.handle))


def dense_backward(ctx: Context, batch: int, in_features: int, out_features: int, x: Buffer,
                   w: Buffer, y: Optional[Buffer], dy: Buffer, act: Activation,
                   dx: Optional[Buffer], dw: Buffer, db: Optional[Buffer]) -> None:
    """Backward of dense_forward (with RELU, dy is overwritten by dy * (y > 0))."""
    ctx.check(L.lib.ember_dense_backward(ctx.handle, batch, in_features, out_features, x.handle,
                                         w.handle, handle_of(y), dy.handle, int(act),
                                         handle_of(dx), dw.handle, handle_of(db)))


def sigmoid(ctx: Context, n: int, x: Buffer, y: Buffer) -> None:
    ctx.check(L.lib.ember_sigmoid(ctx.handle, n, x.handle, y.handle))


def bce_with_logits(ctx: Context, n: int, logits: Buffer, labels: Buffer,
                    grad: Optional[Buffer] = None) -> float:
    """Mean binary cross-entropy with logits; grad (optional) gets (sigmoid(x) - t) / n."""
    loss = ctypes.c_float()
    ctx.check(L.lib.ember_bce_with_logits(ctx.handle, n, logits.handle, labels.handle,
                                          ctypes.byref(loss), handle_of(grad)))
    return float(loss.value)


@dataclass(frozen=True)
class ParamCount:
    """ember_param_count: the seed's Wide&Deep formulas term by term, and what is allocated."""

    d_wide: int
    d_deep: int
    wide: int
    embeddings: int
    dnn: int
    output: int
    formula_total: int
    shared: int
    allocated: int


def widedeep_count_params(wide_buckets: Sequence[int], vocab: Sequence[int],
                          emb_dim: Sequence[int], num_numeric: int,
                          hidden: Sequence[int]) -> ParamCount:
    """Counts a Wide&Deep model's parameters (ember_widedeep_count_params)."""
    def arr(v: Sequence[int]):
        return (ctypes.c_int64 * max(len(v), 1))(*v)

    if len(vocab) != len(emb_dim):
        raise ValueError("ember: vocab and emb_dim must have one entry per deep field")
    keep = [arr(wide_buckets), arr(vocab), arr(emb_dim), arr(hidden)]
    spec = L.WideDeepSpec(len(wide_buckets), keep[0], len(vocab), keep[1], keep[2], num_numeric,
                          len(hidden), keep[3])
    out = L.ParamCount()
    check(L.lib.ember_widedeep_count_params(ctypes.byref(spec), ctypes.byref(out)))
    return ParamCount(**{f.name: int(getattr(out, f.name)) for f in fields(ParamCount)})
