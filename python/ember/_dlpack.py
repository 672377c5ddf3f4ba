"""Reading a DLPack capsule (the `__dlpack__` protocol of the Python array API) with ctypes.

Any object with `__dlpack__` (numpy >= 1.22, torch, CuPy, JAX, ...) or a capsule made by
e.g. torch.utils.dlpack.to_dlpack describes its memory as a DLManagedTensor: a pointer,
the device it lives on, dtype, shape and strides. ember wraps that memory without a copy.

The capsule is not consumed (renamed "used_dltensor"): whoever wraps the memory keeps the
capsule alive instead, and the producer's capsule destructor calls the DLManagedTensor's
deleter when the capsule goes. So the memory lives exactly as long as the capsule, with
no deleter called from ember's side.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

# DLDeviceType values of dlpack.h that ember's backends can address.
CPU = 1
CUDA = 2
CUDA_HOST = 3  # pinned host memory: an ordinary host pointer for the CPU backend
CUDA_MANAGED = 13

_CODES = {0: "i", 1: "u", 2: "f"}  # kDLInt, kDLUInt, kDLFloat
_CAPSULE_NAME = b"dltensor"


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _Tensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _Device),
        ("ndim", ctypes.c_int32),
        ("dtype", _DataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _ManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _Tensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_is_valid = ctypes.pythonapi.PyCapsule_IsValid
_is_valid.restype = ctypes.c_int
_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]


@dataclass(frozen=True)
class Memory:
    """What a capsule describes: `pointer` (data + byte_offset) on `device_type` /
    `device_id`, `nbytes` of a C-contiguous array of `dtype` and `shape`; `capsule` keeps
    the memory alive."""

    pointer: int
    device_type: int
    device_id: int
    dtype: np.dtype
    shape: Tuple[int, ...]
    nbytes: int
    capsule: Any


def capsule_of(obj: Any, stream: Optional[int] = None) -> Any:
    """obj's DLPack capsule: obj itself when it is one, else obj.__dlpack__() (with the
    consumer's stream for CUDA producers when given)."""
    if type(obj).__name__ == "PyCapsule":
        return obj
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"ember: {type(obj).__name__} has no __dlpack__ and is no DLPack capsule")
    return obj.__dlpack__() if stream is None else obj.__dlpack__(stream=stream)


def read(capsule: Any) -> Memory:
    """The memory a "dltensor" capsule describes. Raises ValueError for memory ember cannot
    treat as one C-contiguous array (strided views, vector lanes, unknown dtypes) and for a
    capsule already consumed."""
    if not _is_valid(capsule, _CAPSULE_NAME):
        raise ValueError("ember: not an unconsumed DLPack capsule (named 'dltensor'); a "
                         "capsule can be used once")
    t = _ManagedTensor.from_address(_get_pointer(capsule, _CAPSULE_NAME)).dl_tensor
    code, bits, lanes = t.dtype.code, t.dtype.bits, t.dtype.lanes
    if code not in _CODES or lanes != 1 or bits % 8:
        raise ValueError(f"ember: DLPack dtype (code {code}, {bits} bits, {lanes} lanes) is "
                         "not a plain int, uint or float")
    dtype = np.dtype(f"{_CODES[code]}{bits // 8}")
    shape = tuple(int(t.shape[i]) for i in range(t.ndim))
    if t.strides:
        expected = 1
        for i in reversed(range(t.ndim)):
            if shape[i] != 1 and int(t.strides[i]) != expected:
                raise ValueError(f"ember: only a C-contiguous array can be wrapped (strides "
                                 f"{[int(t.strides[k]) for k in range(t.ndim)]} for shape "
                                 f"{list(shape)})")
            expected *= shape[i]
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return Memory((t.data or 0) + t.byte_offset, t.device.device_type, t.device.device_id,
                  dtype, shape, nbytes, capsule)
