"""Backends, devices and contexts: ember_context_* and ember_backend_* of include/ember.h.

A Context is one device of one backend. It is released when the last Python reference to it
goes (every Buffer holds one, so a context always outlives its buffers), or at once with
close() / a `with` block.
"""

from __future__ import annotations

import ctypes
import enum
from dataclasses import dataclass
from typing import List, Optional, Union

from . import _library as L
from .errors import check, error_for


class Backend(enum.IntEnum):
    """ember_backend_kind."""

    CPU = 0
    CUDA = 1
    OPENCL = 2
    PERTURBED = 100  # test builds only (-DEMBER_TEST_BACKEND=ON); not in ember.h's enum

    @classmethod
    def parse(cls, backend: Union["Backend", str, int]) -> "Backend":
        """A Backend from itself, its number or its name ("cpu", "CUDA", "opencl")."""
        if isinstance(backend, str):
            kind = ctypes.c_int()
            check(L.lib.ember_backend_parse(backend.encode(), ctypes.byref(kind)))
            return cls(kind.value)
        return cls(int(backend))

    @property
    def label(self) -> str:
        """ember_backend_name: "cpu", "cuda", "opencl"."""
        return L.text(L.lib.ember_backend_name(int(self)))

    @property
    def compiled(self) -> bool:
        """Whether this build has the backend (CUDA: whether its plugin is found)."""
        return bool(L.lib.ember_backend_compiled(int(self)))


class MathMode(enum.IntEnum):
    """ember_math_mode."""

    STRICT_FP32 = 0
    ALLOW_TF32 = 1


@dataclass(frozen=True)
class Device:
    """One entry of ember_backend_devices."""

    backend: Backend
    index: int
    name: str
    detail: str
    memory_bytes: int
    usable: bool
    reason: str


def devices(backend: Union[Backend, str]) -> List[Device]:
    """The devices of a backend. A backend that is not compiled in, or finds no device,
    gives one entry with usable False whose `reason` says why (never an exception)."""
    kind = Backend.parse(backend)
    count = ctypes.c_size_t()
    L.lib.ember_backend_devices(int(kind), None, 0, ctypes.byref(count))
    cap = max(count.value, 1)
    infos = (L.DeviceInfo * cap)()
    L.lib.ember_backend_devices(int(kind), infos, cap, ctypes.byref(count))
    return [
        Device(Backend(i.kind), i.index, L.text(i.name), L.text(i.detail), int(i.memory_bytes),
               bool(i.usable), L.text(i.reason))
        for i in infos[: min(count.value, cap)]
    ]


class Context:
    """A context on `device` of `backend` (ember_context_create). device -1 is the backend's
    default (OpenCL: EMBER_OPENCL_DEVICE). threads: CPU threads, 0 = the idle cores
    (those no other process is running on, re-counted at most every 250 ms; the default).

        with ember.Context("cpu", threads=1) as ctx:
            table = ember.Buffer.from_numpy(ctx, weights)
    """

    def __init__(self, backend: Union[Backend, str, int] = Backend.CPU, device: int = -1,
                 threads: Optional[int] = None) -> None:
        self._handle: Optional[int] = None
        handle = L.ctx_p()
        check(L.lib.ember_context_create(ctypes.byref(handle), int(Backend.parse(backend)),
                                         device))
        self._handle = handle.value
        if threads is not None:
            self.set_threads(threads)

    @classmethod
    def best(cls) -> "Context":
        """The best usable backend: CUDA, else OpenCL when EMBER_OPENCL_DEVICE names a
        device, else the CPU (ember_context_create_best)."""
        self = cls.__new__(cls)
        self._handle = None
        handle = L.ctx_p()
        check(L.lib.ember_context_create_best(ctypes.byref(handle)))
        self._handle = handle.value
        return self

    @property
    def handle(self) -> int:
        """The ember_context pointer, for ctypes calls; raises once the context is closed."""
        if self._handle is None:
            raise ValueError("ember: the context is closed")
        return self._handle

    def check(self, status: int) -> None:
        """Raises the exception of a status returned by a call on this context."""
        if status != 0:
            check(status, self._handle)

    @property
    def backend(self) -> Backend:
        return Backend(L.lib.ember_context_kind(self.handle))

    @property
    def device_name(self) -> str:
        return L.text(L.lib.ember_context_device_name(self.handle))

    @property
    def last_error(self) -> str:
        return L.text(L.lib.ember_context_last_error(self.handle))

    def synchronize(self) -> None:
        """Waits until every op issued on the context has finished."""
        self.check(L.lib.ember_context_synchronize(self.handle))

    def set_threads(self, threads: int) -> None:
        """CPU threads (0: the idle cores, the default); other backends ignore it."""
        self.check(L.lib.ember_context_set_threads(self.handle, threads))

    def set_math_mode(self, mode: MathMode) -> None:
        self.check(L.lib.ember_context_set_math_mode(self.handle, int(mode)))

    def set_stream(self, stream: Optional[int]) -> None:
        """CUDA: run the context's work on a caller's cudaStream_t (an int, e.g.
        torch.cuda.current_stream().cuda_stream); None or 0: the context's own stream.
        Other backends raise NotSupported (ember_context_set_stream)."""
        self.check(L.lib.ember_context_set_stream(self.handle, stream or None))

    def close(self) -> None:
        """Destroys the context now. Buffers still alive keep it open until they go; close()
        is then refused with an exception naming how many."""
        if self._handle is None:
            return
        live = getattr(self, "_live_buffers", 0)
        if live:
            raise error_for(1, f"ember: {live} buffers of this context are still alive")
        L.lib.ember_context_destroy(self._handle)
        self._handle = None

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # The garbage collector may finalise a context before the buffers of the same
        # reference cycle: the last of them then destroys it (Buffer.free).
        if getattr(self, "_live_buffers", 0):
            self._orphaned = True
        elif getattr(self, "_handle", None) is not None:
            L.lib.ember_context_destroy(self._handle)
            self._handle = None

    def __repr__(self) -> str:
        if self._handle is None:
            return "<ember.Context closed>"
        return f"<ember.Context {self.backend.name.lower()} '{self.device_name}'>"
