"""PyTorch modules over ember (needs torch).

- TableBatchedEmbeddingBags: FBGEMM's SplitTableBatchedEmbeddingBags in kind. Several
  embedding-bag tables in one module; forward is one ember_embedding_lookup_batched into
  one [B, sum(D)] output; backward applies ember's fused sparse optimizer (SGD, Adagrad,
  row-wise Adagrad) to the tables in place (ember_embedding_backward_update_batched). No
  sparse gradient tensor exists and no torch optimizer steps the tables; the module's
  backward returns no gradient for them.
- EmbeddingBag: a drop-in for torch.nn.EmbeddingBag whose weight is an ordinary Parameter
  and whose backward returns an ordinary sparse (or dense) gradient, so any torch optimizer
  works with it.

Both run on CPU tensors with the CPU backend (or, by `backend="opencl"`, on OpenCL, the
tensors still on the CPU), and on CUDA tensors with the CUDA backend. The ember tables of
TableBatchedEmbeddingBags live in ember buffers on the module's context; state_dict()
carries them (and the optimizer state) as ordinary tensors.
"""

from __future__ import annotations

import math
import threading
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ._staging import Staging
from .buffer import Buffer
from .context import Backend, Context
from .ops import (
    IndexType, LookupDesc, Optimizer, OptimizerKind, Pooling, Reduction, buffer_array,
    desc_array, embedding_backward_sparse, embedding_backward_update_batched, embedding_lookup,
    embedding_lookup_batched, optimizer_state_size,
)

__all__ = ["TableBatchedEmbeddingBags", "EmbeddingBag", "context_for"]

_contexts: Dict[Tuple[Backend, int], Tuple[Context, Staging]] = {}
_contexts_lock = threading.Lock()


def context_for(device: Union[str, torch.device], backend: Optional[str] = None) -> Context:
    """The shared ember Context for tensors on a torch device: the CPU backend for "cpu"
    (or the backend named, e.g. "opencl"), the CUDA backend on the same index for "cuda:N"."""
    return _shared(device, backend)[0]


def _shared(device: Union[str, torch.device],
            backend: Optional[str]) -> Tuple[Context, Staging]:
    device = torch.device(device)
    if device.type == "cuda":
        kind, index = Backend.CUDA, device.index if device.index is not None else 0
    elif device.type == "cpu":
        kind, index = Backend.parse(backend or "cpu"), -1
        if kind == Backend.CUDA:
            raise ValueError("ember.torch: the CUDA backend needs CUDA tensors")
    else:
        raise ValueError(f"ember.torch: no ember backend for {device.type} tensors")
    with _contexts_lock:
        shared = _contexts.get((kind, index))
        if shared is None:
            ctx = Context(kind, index)
            shared = _contexts[(kind, index)] = (ctx, Staging(ctx))
        return shared


def _from_buffer(buf: Buffer, device: torch.device) -> torch.Tensor:
    """A tensor on `device` holding a copy of an ember buffer (tables, optimizer state)."""
    return torch.from_numpy(buf.to_numpy()).to(device)


def _kind(optimizer: Union[str, OptimizerKind]) -> OptimizerKind:
    """sgd, adagrad or rowwise_adagrad (ember_optimizer_name; "rowwise" as the CLI says)."""
    if isinstance(optimizer, str):
        names = {k.label: k for k in OptimizerKind if k != OptimizerKind.ADAM}
        names["rowwise"] = OptimizerKind.ROWWISE_ADAGRAD
        if optimizer.lower() not in names:
            raise ValueError(f"ember.torch: optimizer '{optimizer}' is not one of "
                             f"{', '.join(sorted(names))}")
        return names[optimizer.lower()]
    return OptimizerKind(optimizer)


def _pooling(mode: Union[str, Pooling]) -> Pooling:
    if isinstance(mode, str):
        return {"sum": Pooling.SUM, "mean": Pooling.MEAN}[mode.lower()]
    return Pooling(mode)


def _reduction(mode: Union[str, Reduction]) -> Reduction:
    if isinstance(mode, str):
        return {"atomic": Reduction.ATOMIC, "deterministic": Reduction.DETERMINISTIC}[mode.lower()]
    return Reduction(mode)


# --- the table-batched module ------------------------------------------------------------


class _Call:
    """One forward's ember arguments, kept for its backward: the shape's descriptors, the
    per-table buffers (which keep their tensors alive) and their C arrays."""

    __slots__ = ("descs", "indices", "offsets", "weights", "indices_array", "offsets_array",
                 "weights_array")

    def __init__(self, descs, indices: List[Buffer], offsets: List[Buffer],
                 weights: Optional[List[Buffer]]) -> None:
        self.descs, self.indices, self.offsets, self.weights = descs, indices, offsets, weights
        self.indices_array = buffer_array(indices)
        self.offsets_array = buffer_array(offsets)
        self.weights_array = None if weights is None else buffer_array(weights)


class _FusedLookup(torch.autograd.Function):
    """forward: the batched lookup; backward: the fused update of the module's tables.
    `anchor` is a zero-size tensor that requires grad, so autograd calls backward even
    though the tables are no torch parameters."""

    @staticmethod
    def forward(fn_ctx, module: "TableBatchedEmbeddingBags", indices: torch.Tensor,
                offsets: torch.Tensor, per_sample_weights: Optional[torch.Tensor],
                anchor: torch.Tensor) -> torch.Tensor:
        out, call = module._forward(indices, offsets, per_sample_weights)
        fn_ctx.module, fn_ctx.call = module, call
        return out

    @staticmethod
    def backward(fn_ctx, grad_out: torch.Tensor):
        fn_ctx.module._backward_update(fn_ctx.call, grad_out)
        fn_ctx.call = None
        return None, None, None, None, None


class TableBatchedEmbeddingBags(nn.Module):
    """Embedding-bag tables whose backward applies ember's fused sparse optimizer in place.

    tables: (rows, dim) of each table. forward(indices, offsets) takes FBGEMM's layout: the
    indices of all tables concatenated (table 0's bags first), and offsets of T*B + 1
    entries (bag b of table t is indices[offsets[t*B + b] : offsets[t*B + b + 1]]); it
    returns [B, sum(dim)], table t in its own columns. Weights start U(-1/sqrt(rows),
    1/sqrt(rows)) like FBGEMM's, or from `weights` (one [rows, dim] tensor per table).

        tbe = TableBatchedEmbeddingBags([(1000, 16), (50, 8)], optimizer="adagrad", lr=0.05)
        out = tbe(indices, offsets)          # [B, 24]
        loss = head(out).sum(); loss.backward()   # the tables are updated here
    """

    def __init__(self, tables: Sequence[Tuple[int, int]],
                 optimizer: Union[str, OptimizerKind] = "sgd", lr: float = 0.01,
                 eps: float = 1e-10, weight_decay: float = 0.0,
                 pooling: Union[str, Pooling] = "sum",
                 reduction: Union[str, Reduction] = "deterministic",
                 device: Union[str, torch.device] = "cpu", backend: Optional[str] = None,
                 weights: Optional[Sequence[torch.Tensor]] = None, seed: int = 0) -> None:
        super().__init__()
        if not tables:
            raise ValueError("ember.torch: no tables")
        self.table_shapes = [(int(r), int(d)) for r, d in tables]
        self.optimizer = Optimizer(_kind(optimizer), lr, eps=eps, weight_decay=weight_decay)
        if self.optimizer.kind == OptimizerKind.ADAM:
            raise ValueError("ember.torch: Adam is a dense optimizer; the tables take sgd, "
                             "adagrad or rowwise_adagrad")
        self.pooling = _pooling(pooling)
        self.reduction = _reduction(reduction)
        self.device = torch.device(device)
        self.ctx, self._staging = _shared(self.device, backend)
        self.dims = [d for _, d in self.table_shapes]
        self.total_dim = sum(self.dims)
        self._anchor = torch.zeros(0, requires_grad=True)
        gen = torch.Generator().manual_seed(seed)
        self.tables: List[Buffer] = []
        self.states: List[Optional[Buffer]] = []
        for t, (rows, dim) in enumerate(self.table_shapes):
            if weights is not None:
                w = weights[t].detach().to(torch.float32)
                if tuple(w.shape) != (rows, dim):
                    raise ValueError(f"ember.torch: weights[{t}] is {tuple(w.shape)}, the table "
                                     f"({rows}, {dim})")
            else:
                bound = 1.0 / math.sqrt(rows)
                w = torch.empty(rows, dim).uniform_(-bound, bound, generator=gen)
            self.tables.append(Buffer.from_torch(self.ctx, w))
            n = optimizer_state_size(self.optimizer.kind, rows, dim)
            self.states.append(Buffer.zeros(self.ctx, n) if n > 0 else None)
        # the C arrays every call passes, built once (the buffers live as long as the module)
        self._table_array = buffer_array(self.tables)
        self._state_array = buffer_array(self.states)
        self._descs_cached = None

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        self.optimizer.learning_rate = lr

    def split_embedding_weights(self) -> List[torch.Tensor]:
        """The tables as [rows, dim] tensors on the module's device (copies)."""
        return [_from_buffer(b, self.device).reshape(s) for b, s in
                zip(self.tables, self.table_shapes)]

    def split_optimizer_states(self) -> List[Optional[torch.Tensor]]:
        """Each table's optimizer state (None for SGD), as FBGEMM names it (copies)."""
        return [None if s is None else _from_buffer(s, self.device) for s in self.states]

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for t, w in enumerate(self.split_embedding_weights()):
            destination[f"{prefix}weights.{t}"] = w
        for t, s in enumerate(self.split_optimizer_states()):
            if s is not None:
                destination[f"{prefix}optimizer_state.{t}"] = s

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        for t in range(len(self.tables)):
            for key, buf in ((f"{prefix}weights.{t}", self.tables[t]),
                             (f"{prefix}optimizer_state.{t}", self.states[t])):
                if buf is None:
                    continue
                if key not in state_dict:
                    missing_keys.append(key)
                    continue
                value = state_dict[key].detach().to(torch.float32).contiguous().cpu().numpy()
                if value.nbytes != buf.nbytes:
                    error_msgs.append(f"{key}: {value.nbytes} bytes for {buf.nbytes}")
                    continue
                buf.upload(value)

    def _desc_array(self, bounds: List[int], batch: int, index_type: IndexType):
        """The C descriptors of one call's shape, built once per shape: a training loop
        with fixed bag sizes reuses them every step (the array is never written after)."""
        key = (batch, index_type, tuple(b - bounds[0] for b in bounds))
        if self._descs_cached is None or self._descs_cached[0] != key:
            descs, col = [], 0
            for t, (rows, dim) in enumerate(self.table_shapes):
                descs.append(LookupDesc(rows, dim, bounds[t + 1] - bounds[t], batch,
                                        self.pooling, index_type,
                                        out_row_stride=self.total_dim, out_col_offset=col))
                col += dim
            self._descs_cached = (key, desc_array(descs))
        return self._descs_cached[1]

    def _split(self, indices: torch.Tensor, offsets: torch.Tensor,
               per_sample_weights: Optional[torch.Tensor]) -> _Call:
        """One call's ember arguments: per-table buffers over the indices, offsets (rebased
        to 0) and weights, without copies where the backend addresses the tensors."""
        T = len(self.tables)
        if offsets.dim() != 1 or (offsets.numel() - 1) % T != 0:
            raise ValueError(f"ember.torch: offsets must hold T*B + 1 entries (T = {T}), got "
                             f"{offsets.numel()}")
        batch = (offsets.numel() - 1) // T
        itype = IndexType.INT32 if indices.dtype == torch.int32 else IndexType.INT64
        offsets = offsets.to(indices.dtype if itype == IndexType.INT32 else torch.int64)
        bounds = offsets[::batch].tolist() if batch > 0 else [0] * (T + 1)
        descs = self._desc_array(bounds, batch, itype)
        # table t's bags are offsets[t*B .. (t+1)*B]: T overlapping windows of one view,
        # rebased to start at 0 in one op (none when there is one table starting at 0)
        own = offsets.unfold(0, batch + 1, batch) if batch > 0 else offsets.expand(T, 1)
        if any(bounds[:T]):
            own = own - own[:, :1]
        stage = self._staging.input
        idx, offs, psw = [], [], []
        for t in range(T):
            lo, hi = bounds[t], bounds[t + 1]
            idx.append(stage(indices[lo:hi]))
            offs.append(stage(own[t]))
            if per_sample_weights is not None:
                psw.append(stage(per_sample_weights[lo:hi]))
        return _Call(descs, idx, offs, psw if per_sample_weights is not None else None)

    def _forward(self, indices, offsets, per_sample_weights) -> Tuple[torch.Tensor, _Call]:
        self._staging.follow_stream(indices.device)
        call = self._split(indices, offsets, per_sample_weights)
        batch = (offsets.numel() - 1) // len(self.tables)
        out, finish = self._staging.output((batch, self.total_dim), indices.device)
        try:
            embedding_lookup_batched(self.ctx, call.descs, self._table_array, call.indices_array,
                                     call.offsets_array, call.weights_array, out)
        finally:
            result = finish()
        return result, call

    def _release(self, call: _Call) -> None:
        self._staging.release(call.indices + call.offsets + (call.weights or []))

    def _backward_update(self, call: _Call, grad_out: torch.Tensor) -> None:
        self._staging.follow_stream(grad_out.device)
        grad = self._staging.input(grad_out.to(torch.float32))
        try:
            embedding_backward_update_batched(
                self.ctx, call.descs, call.indices_array, call.offsets_array, call.weights_array,
                grad, self.reduction, self.optimizer, self._table_array, self._state_array)
        finally:
            self._staging.release([grad])
            self._release(call)

    def forward(self, indices: torch.Tensor, offsets: torch.Tensor,
                per_sample_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not self.training or not torch.is_grad_enabled():
            out, call = self._forward(indices, offsets, per_sample_weights)
            self._release(call)
            return out
        return _FusedLookup.apply(self, indices, offsets, per_sample_weights, self._anchor)

    def extra_repr(self) -> str:
        return (f"tables={self.table_shapes}, optimizer={self.optimizer.kind.name.lower()}, "
                f"lr={self.optimizer.learning_rate:g}, pooling={self.pooling.name.lower()}, "
                f"backend={self.ctx.backend.name.lower()}")


# --- the EmbeddingBag drop-in ------------------------------------------------------------


class _Bag(torch.autograd.Function):
    @staticmethod
    def forward(fn_ctx, module: "EmbeddingBag", weight: torch.Tensor, indices: torch.Tensor,
                offsets: Optional[torch.Tensor], per_sample_weights: Optional[torch.Tensor]):
        ctx, stage = module.ctx, module._staging
        stage.follow_stream(weight.device)
        desc = module._desc(indices, offsets)
        bufs = (stage.input(indices), None if offsets is None else stage.input(offsets),
                None if per_sample_weights is None else stage.input(per_sample_weights))
        table = stage.input(weight)
        out, finish = stage.output((desc.batch, desc.dim), weight.device)
        try:
            embedding_lookup(ctx, desc, table, bufs[0], bufs[1], bufs[2], out)
        finally:
            result = finish()
            stage.release([table])
        fn_ctx.module, fn_ctx.desc, fn_ctx.bufs = module, desc, bufs
        fn_ctx.weight_shape, fn_ctx.weight_device = weight.shape, weight.device
        return result

    @staticmethod
    def backward(fn_ctx, grad_out: torch.Tensor):
        module, desc, bufs = fn_ctx.module, fn_ctx.desc, fn_ctx.bufs
        ctx, stage, n = module.ctx, module._staging, max(desc.num_indices, 1)
        dev = fn_ctx.weight_device
        stage.follow_stream(dev)
        ids, ids_done = stage.output((n,), dev, torch.int64)
        grads, grads_done = stage.output((n, desc.dim), dev)
        grad_buf = stage.input(grad_out.to(torch.float32))
        try:
            num = embedding_backward_sparse(ctx, desc, bufs[0], bufs[1], bufs[2], grad_buf,
                                            module.reduction, ids, grads)
        finally:
            rows, vals = ids_done(), grads_done()
            stage.release([grad_buf, *bufs])
            fn_ctx.bufs = None
        grad = torch.sparse_coo_tensor(rows[:num].unsqueeze(0), vals[:num], fn_ctx.weight_shape,
                                       device=dev)._coalesced_(True)
        if not module.sparse:
            grad = grad.to_dense()
        return None, grad, None, None, None


class EmbeddingBag(nn.Module):
    """torch.nn.EmbeddingBag computed by ember: same arguments (mode "sum" or "mean",
    padding_idx, include_last_offset, per_sample_weights with "sum"), same forward, and a
    gradient torch optimizers understand: sparse (coalesced COO) with sparse=True, else
    dense. `reduction` chooses ember's atomic or deterministic scatter-add."""

    def __init__(self, num_embeddings: int, embedding_dim: int, mode: str = "mean",
                 sparse: bool = False, padding_idx: Optional[int] = None,
                 include_last_offset: bool = False, _weight: Optional[torch.Tensor] = None,
                 device: Union[str, torch.device] = "cpu", backend: Optional[str] = None,
                 reduction: Union[str, Reduction] = "deterministic") -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.pooling = _pooling(mode)
        self.mode = mode
        self.sparse = sparse
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        self.padding_idx = padding_idx
        self.include_last_offset = include_last_offset
        self.reduction = _reduction(reduction)
        device = torch.device(device)
        self.ctx, self._staging = _shared(device, backend)
        if _weight is None:
            w = torch.randn(num_embeddings, embedding_dim, device=device)
            if padding_idx is not None:
                w[padding_idx].zero_()
        else:
            w = _weight.detach().to(device, torch.float32).clone()
        self.weight = nn.Parameter(w)

    @classmethod
    def from_pretrained(cls, embeddings: torch.Tensor, freeze: bool = True,
                        **kwargs) -> "EmbeddingBag":
        bag = cls(embeddings.shape[0], embeddings.shape[1], _weight=embeddings,
                  device=embeddings.device, **kwargs)
        bag.weight.requires_grad = not freeze
        return bag

    def _desc(self, indices: torch.Tensor, offsets: Optional[torch.Tensor]) -> LookupDesc:
        itype = IndexType.INT32 if indices.dtype == torch.int32 else IndexType.INT64
        batch = (offsets.numel() - 1) if offsets is not None else indices.numel()
        pooling = self.pooling if offsets is not None else Pooling.NONE
        return LookupDesc(self.num_embeddings, self.embedding_dim, indices.numel(), batch,
                          pooling, itype,
                          -1 if self.padding_idx is None else self.padding_idx)

    def forward(self, input: torch.Tensor, offsets: Optional[torch.Tensor] = None,
                per_sample_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if input.dim() == 2:
            if offsets is not None:
                raise ValueError("ember.EmbeddingBag: offsets must be None with 2-D input")
            b, n = input.shape
            offsets = torch.arange(0, b * n + 1, n, dtype=input.dtype, device=input.device)
            input = input.reshape(-1)
        elif input.dim() == 1:
            if offsets is None:
                raise ValueError("ember.EmbeddingBag: 1-D input needs offsets")
            offsets = offsets.to(input.dtype)
            if not self.include_last_offset:
                end = torch.tensor([input.numel()], dtype=offsets.dtype, device=offsets.device)
                offsets = torch.cat([offsets, end])
        else:
            raise ValueError("ember.EmbeddingBag: input must be 1-D or 2-D")
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1).to(torch.float32)
        return _Bag.apply(self, self.weight, input, offsets, per_sample_weights)

    def extra_repr(self) -> str:
        return (f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}, "
                f"sparse={self.sparse}, backend={self.ctx.backend.name.lower()}")

