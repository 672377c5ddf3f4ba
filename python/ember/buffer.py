"""Device memory: ember_buffer_* of include/ember.h, to and from numpy arrays and torch
tensors.

A Buffer owns its ember_buffer and frees it when the Python object goes (or at once with
free() / a `with` block); it keeps its Context alive meanwhile. It remembers a dtype and a
shape, so that to_numpy() gives back what from_numpy() took; ops only look at the bytes.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _dlpack
from . import _library as L
from .context import Backend, Context

Shape = Union[int, Sequence[int]]

# The DLPack device types whose memory each backend addresses as its own (ember_buffer_wrap).
_ADDRESSABLE = {
    Backend.CPU: (_dlpack.CPU, _dlpack.CUDA_HOST),
    Backend.PERTURBED: (_dlpack.CPU, _dlpack.CUDA_HOST),
    Backend.CUDA: (_dlpack.CUDA, _dlpack.CUDA_MANAGED),
}


def _shape(shape: Shape) -> Tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


class Buffer:
    """`nbytes` bytes of device memory on `ctx` (ember_buffer_alloc; contents undefined).
    dtype and shape describe the contents for to_numpy (default: float32, flat)."""

    def __init__(self, ctx: Context, nbytes: int, dtype: Any = np.float32,
                 shape: Optional[Shape] = None) -> None:
        self._handle: Optional[int] = None
        self.ctx = ctx
        self.dtype = np.dtype(dtype)
        self.shape = _shape(shape) if shape is not None else (int(nbytes) // self.dtype.itemsize,)
        handle = L.buf_p()
        ctx.check(L.lib.ember_buffer_alloc(ctx.handle, int(nbytes), ctypes.byref(handle)))
        self._adopt(handle.value)

    def _adopt(self, handle: int) -> None:
        self._handle = handle
        self.ctx._live_buffers = getattr(self.ctx, "_live_buffers", 0) + 1

    # --- construction --------------------------------------------------------------------

    @classmethod
    def empty(cls, ctx: Context, shape: Shape, dtype: Any = np.float32) -> "Buffer":
        """An uninitialised buffer holding an array of `shape` and `dtype` (at least one byte
        is allocated: ember refuses empty buffers)."""
        shape = _shape(shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return cls(ctx, max(nbytes, 1), dtype, shape)

    @classmethod
    def zeros(cls, ctx: Context, shape: Shape, dtype: Any = np.float32) -> "Buffer":
        buf = cls.empty(ctx, shape, dtype)
        buf.zero()
        return buf

    @classmethod
    def from_numpy(cls, ctx: Context, array: np.ndarray) -> "Buffer":
        """A new buffer holding a copy of `array` (any layout; uploaded C-contiguous)."""
        array = np.ascontiguousarray(array)
        buf = cls.empty(ctx, array.shape, array.dtype)
        buf.upload(array)
        return buf

    @classmethod
    def from_torch(cls, ctx: Context, tensor: Any) -> "Buffer":
        """A new buffer holding a copy of a torch tensor (CPU or CUDA)."""
        return cls.from_numpy(ctx, tensor.detach().cpu().numpy())

    @classmethod
    def wrap(cls, ctx: Context, native: int, nbytes: int, owner: Any = None,
             dtype: Any = np.uint8, shape: Optional[Shape] = None) -> "Buffer":
        """A buffer over memory the caller owns, without copying (ember_buffer_wrap): a host
        pointer for the CPU backend, a device pointer for CUDA, a cl_mem for OpenCL. ember
        never frees it; the Buffer keeps `owner` (the object owning the memory) alive."""
        self = cls.__new__(cls)
        self._handle = None
        self.ctx, self.owner = ctx, owner
        self.dtype = np.dtype(dtype)
        self.shape = _shape(shape) if shape is not None else (int(nbytes) // self.dtype.itemsize,)
        handle = L.buf_p()
        ctx.check(L.lib.ember_buffer_wrap(ctx.handle, native, int(nbytes), ctypes.byref(handle)))
        self._adopt(handle.value)
        return self

    @classmethod
    def wrap_numpy(cls, ctx: Context, array: np.ndarray) -> "Buffer":
        """A buffer over a C-contiguous numpy array's memory (CPU backend): ops write into
        the array itself."""
        if not array.flags.c_contiguous:
            raise ValueError("ember: only a C-contiguous array can be wrapped")
        return cls.wrap(ctx, array.ctypes.data, array.nbytes, array, array.dtype, array.shape)

    @classmethod
    def wrap_torch(cls, ctx: Context, tensor: Any) -> "Buffer":
        """A buffer over a contiguous torch tensor's memory: a CPU tensor on the CPU backend,
        a CUDA tensor on the CUDA backend."""
        if not tensor.is_contiguous():
            raise ValueError("ember: only a contiguous tensor can be wrapped")
        dtype = np.dtype(str(tensor.dtype).replace("torch.", ""))
        return cls.wrap(ctx, tensor.data_ptr(), tensor.numel() * tensor.element_size(), tensor,
                        dtype, tuple(tensor.shape))

    @classmethod
    def from_dlpack(cls, ctx: Context, obj: Any, stream: Optional[int] = None) -> "Buffer":
        """A buffer over the memory of any DLPack producer (an object with __dlpack__:
        numpy, torch, CuPy, JAX, ...; or a capsule such as torch.utils.dlpack.to_dlpack
        makes), without copying: host memory for the CPU backend, the CUDA device's for
        CUDA. `stream`: the cudaStream_t the producer should make the data ready on (the
        context's, when it runs on one). dtype and shape come from the producer; the
        memory must be C-contiguous. The buffer keeps the producer's memory alive."""
        capsule = _dlpack.capsule_of(obj, stream)
        mem = _dlpack.read(capsule)
        kind = ctx.backend
        if mem.device_type not in _ADDRESSABLE.get(kind, ()):
            raise ValueError(f"ember: the {kind.name.lower()} backend cannot address DLPack "
                             f"memory of device type {mem.device_type}; copy it "
                             "(Buffer.from_numpy / from_torch)")
        if mem.nbytes == 0:  # nothing to share; ember refuses empty buffers
            return cls.empty(ctx, mem.shape, mem.dtype)
        return cls.wrap(ctx, mem.pointer, mem.nbytes, (obj, capsule), mem.dtype, mem.shape)

    # --- properties ----------------------------------------------------------------------

    @property
    def handle(self) -> int:
        """The ember_buffer pointer, for ctypes calls; raises once freed."""
        if self._handle is None:
            raise ValueError("ember: the buffer has been freed")
        return self._handle

    @property
    def native(self) -> int:
        """The memory behind the buffer as ember_buffer_wrap takes it (ember_buffer_native):
        a host pointer (CPU), device pointer (CUDA) or cl_mem (OpenCL)."""
        return int(L.lib.ember_buffer_native(self.handle) or 0)

    @property
    def nbytes(self) -> int:
        return int(L.lib.ember_buffer_size(self.handle))

    @property
    def size(self) -> int:
        """Elements of dtype the buffer holds."""
        return int(np.prod(self.shape, dtype=np.int64))

    # --- copies --------------------------------------------------------------------------

    def upload(self, array: np.ndarray, offset: int = 0) -> None:
        """Copies a host array into the buffer at byte `offset` (ember_buffer_upload)."""
        array = np.ascontiguousarray(array)
        self.ctx.check(L.lib.ember_buffer_upload(self.ctx.handle, self.handle, offset,
                                                 array.ctypes.data, array.nbytes))

    def download(self, out: np.ndarray, offset: int = 0) -> np.ndarray:
        """Copies bytes from `offset` into `out` (C-contiguous, writeable) and returns it."""
        if not (out.flags.c_contiguous and out.flags.writeable):
            raise ValueError("ember: download needs a C-contiguous, writeable array")
        self.ctx.check(L.lib.ember_buffer_download(self.ctx.handle, self.handle, offset,
                                                   out.ctypes.data, out.nbytes))
        return out

    def to_numpy(self) -> np.ndarray:
        """A new host array of the buffer's dtype and shape."""
        return self.download(np.empty(self.shape, self.dtype))

    def to_torch(self, device: Any = "cpu") -> Any:
        """A new torch tensor of the buffer's contents."""
        import torch

        return torch.from_numpy(self.to_numpy()).to(device)

    def zero(self, offset: int = 0, nbytes: Optional[int] = None) -> None:
        """Sets bytes [offset, offset + nbytes) to zero (default: to the end)."""
        n = self.nbytes - offset if nbytes is None else nbytes
        self.ctx.check(L.lib.ember_buffer_zero(self.ctx.handle, self.handle, offset, n))

    # --- views (no copy) -----------------------------------------------------------------

    def view_numpy(self) -> np.ndarray:
        """A numpy array over the buffer's own memory (host memory: the CPU backend), of its
        dtype and shape, without a copy: writes go both ways. The array keeps the buffer
        alive; free() is refused while a view is alive."""
        if self.ctx.backend not in (Backend.CPU, Backend.PERTURBED):
            raise ValueError(f"ember: a {self.ctx.backend.name.lower()} buffer is not host "
                             "memory; copy it (to_numpy)")
        return np.asarray(self._view("__array_interface__"))

    def view_torch(self) -> Any:
        """A torch tensor over the buffer's own memory, without a copy: a CPU tensor on the
        CPU backend, a CUDA tensor on the CUDA backend (through __cuda_array_interface__).
        Like view_numpy, it keeps the buffer alive."""
        import torch

        if self.ctx.backend == Backend.CUDA:
            return torch.as_tensor(self._view("__cuda_array_interface__"), device="cuda")
        return torch.from_numpy(self.view_numpy())

    def _view(self, protocol: str) -> object:
        """An object describing the buffer by `protocol` (numpy's array interface, version
        3), holding the buffer; whatever array is made from it holds it in turn."""
        holder = _View()
        holder.buffer = self
        setattr(holder, protocol, {"shape": self.shape, "typestr": self.dtype.str,
                                   "data": (self.native, False), "version": 3})
        if not hasattr(self, "_views"):
            self._views = weakref.WeakSet()
        self._views.add(holder)
        return holder

    # --- lifetime ------------------------------------------------------------------------

    def free(self) -> None:
        """Frees the buffer now (ember_buffer_free); later use raises ValueError. Refused
        (ValueError) while a view of it (view_numpy, view_torch) is alive."""
        if self._handle is not None and getattr(self, "_views", None):
            raise ValueError(f"ember: {len(self._views)} views of this buffer are alive; "
                             "drop them before freeing it")
        if self._handle is not None:
            L.lib.ember_buffer_free(self._handle)
            self._handle = None
            ctx = self.ctx
            ctx._live_buffers -= 1
            if ctx._live_buffers == 0 and getattr(ctx, "_orphaned", False):
                ctx._orphaned = False
                ctx.__del__()

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.free()

    def __repr__(self) -> str:
        state = "freed" if self._handle is None else f"{self.nbytes} bytes"
        return f"<ember.Buffer {self.dtype} {self.shape} {state}>"


class _View:
    """Carries a buffer and its array interface to numpy / torch (see Buffer._view)."""


def handle_of(buf: Optional[Buffer]) -> Optional[int]:
    """The ember_buffer pointer of an optional buffer (None -> NULL)."""
    return None if buf is None else buf.handle
