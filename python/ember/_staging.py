"""Torch tensors in and out of ember buffers for one context, as cheaply as the pair allows.

When the context's backend can address the tensor's memory (the CPU backend and a CPU
tensor; the CUDA backend and a CUDA tensor on its device), the buffer wraps the tensor
(ember_buffer_wrap): no copy, and ember never frees it. Otherwise (OpenCL) the values are
copied through buffers taken from a pool, so a training loop does not allocate device
memory on every call. On CUDA, every call first moves the context onto PyTorch's current
stream (ember_context_set_stream), so ember's kernels order with PyTorch's.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch

from .buffer import Buffer
from .context import Backend, Context

_POOL_DEPTH = 8  # buffers kept per size class
_NP = {torch.float32: np.float32, torch.int64: np.int64, torch.int32: np.int32}


class Staging:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        kind = ctx.backend
        self._host = kind in (Backend.CPU, Backend.PERTURBED)
        self._cuda = kind == Backend.CUDA
        self._pool: Dict[int, List[Buffer]] = {}
        self._stream = 0

    def can_wrap(self, device: torch.device) -> bool:
        """Whether tensors on `device` are wrapped rather than copied."""
        if device.type == "cpu":
            return self._host
        return self._cuda and device.type == "cuda"

    def follow_stream(self, device: torch.device) -> None:
        """CUDA: puts the context on PyTorch's current stream of `device` (once per change)."""
        if self._cuda and device.type == "cuda":
            stream = torch.cuda.current_stream(device).cuda_stream
            if stream != self._stream:
                self.ctx.set_stream(stream)
                self._stream = stream

    # --- the pool ----------------------------------------------------------------------

    def _take(self, nbytes: int) -> Buffer:
        cap = 1 << max(int(nbytes) - 1, 0).bit_length()
        free = self._pool.get(cap)
        if free:
            return free.pop()
        buf = Buffer(self.ctx, cap, np.uint8)
        buf._pool_cap = cap
        return buf

    def release(self, bufs: Sequence[object]) -> None:
        """Gives pooled buffers back (others, and None, are ignored)."""
        for b in bufs:
            cap = getattr(b, "_pool_cap", None)
            if cap is not None:
                free = self._pool.setdefault(cap, [])
                if len(free) < _POOL_DEPTH:
                    free.append(b)

    # --- tensors -----------------------------------------------------------------------

    def input(self, t: torch.Tensor) -> Buffer:
        """A buffer holding the tensor's values (made contiguous)."""
        t = t.detach().contiguous()
        nbytes = t.numel() * t.element_size()
        if nbytes > 0 and self.can_wrap(t.device):
            return Buffer.wrap(self.ctx, t.data_ptr(), nbytes, owner=t)
        buf = self._take(nbytes)
        if nbytes > 0:
            buf.upload(t.cpu().numpy())
        return buf

    def output(self, shape: Tuple[int, ...], device: torch.device,
               dtype: torch.dtype = torch.float32) -> Tuple[Buffer, Callable[[], torch.Tensor]]:
        """A buffer for an op to write, and a function giving the result as a tensor on
        `device` (call it after the op; it gives a pooled buffer back)."""
        if self.can_wrap(device):
            t = torch.empty(shape, dtype=dtype, device=device)
            if t.numel() > 0:
                return Buffer.wrap(self.ctx, t.data_ptr(), t.numel() * t.element_size(),
                                   owner=t), lambda: t
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(_NP[dtype]).itemsize
        buf = self._take(nbytes)

        def finish() -> torch.Tensor:
            host = np.empty(shape, _NP[dtype])
            if nbytes > 0:
                buf.download(host)
            self.release([buf])
            return torch.from_numpy(host).to(device)

        return buf, finish
