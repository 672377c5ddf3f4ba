"""ember's status codes as exceptions: one subclass of EmberError per status of
include/ember.h's EMBER_STATUS_LIST, its message the library's last error (which names the
problem and where: the index at which position, the native call that failed).

    try:
        ember.embedding_lookup(ctx, desc, table, idx, offsets, None, out)
    except ember.IndexOutOfRange as e:
        print(e.status, e)   # 2 "index out of range: indices[7] = 1000 ..."
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _library as L


class EmberError(Exception):
    """A call into libember failed. `status` is the ember_status code, `name` its enum name
    without prefix ("INDEX_OUT_OF_RANGE")."""

    status: int = -1
    name: str = "UNKNOWN"


class InvalidArgument(EmberError, ValueError):
    status, name = 1, "INVALID_ARGUMENT"


class IndexOutOfRange(EmberError, IndexError):
    status, name = 2, "INDEX_OUT_OF_RANGE"


class BadOffsets(EmberError, ValueError):
    status, name = 3, "BAD_OFFSETS"


class ShapeMismatch(EmberError, ValueError):
    status, name = 4, "SHAPE_MISMATCH"


class BufferTooSmall(EmberError, ValueError):
    status, name = 5, "BUFFER_TOO_SMALL"


class WrongContext(EmberError, ValueError):
    status, name = 6, "WRONG_CONTEXT"


class OutOfMemory(EmberError, MemoryError):
    status, name = 7, "OUT_OF_MEMORY"


class NotSupported(EmberError):
    status, name = 8, "NOT_SUPPORTED"


class BackendNotCompiled(EmberError):
    status, name = 9, "BACKEND_NOT_COMPILED"


class NoDevice(EmberError):
    status, name = 10, "NO_DEVICE"


class DeviceError(EmberError):
    status, name = 11, "DEVICE_ERROR"


class BuildFailed(EmberError):
    status, name = 12, "BUILD_FAILED"


class IOError_(EmberError, OSError):
    status, name = 13, "IO_ERROR"


class BadData(EmberError, ValueError):
    status, name = 14, "BAD_DATA"


class CorruptFile(EmberError, ValueError):
    status, name = 15, "CORRUPT_FILE"


class NumericError(EmberError, ArithmeticError):
    status, name = 16, "NUMERIC_ERROR"


class Internal(EmberError):
    status, name = 17, "INTERNAL"


IOError_.__name__ = IOError_.__qualname__ = "IOError"  # not to shadow the builtin on import

BY_STATUS: Dict[int, Type[EmberError]] = {
    cls.status: cls
    for cls in (
        InvalidArgument, IndexOutOfRange, BadOffsets, ShapeMismatch, BufferTooSmall,
        WrongContext, OutOfMemory, NotSupported, BackendNotCompiled, NoDevice, DeviceError,
        BuildFailed, IOError_, BadData, CorruptFile, NumericError, Internal,
    )
}


def error_for(status: int, message: str) -> EmberError:
    """The exception of a status, carrying `message`."""
    cls = BY_STATUS.get(status)
    if cls is None:  # a status newer than this package: still an EmberError
        err = EmberError(f"{L.text(L.lib.ember_status_name(status))}: {message}")
        err.status = status
        return err
    return cls(message)


def check(status: int, ctx_handle: Optional[int] = None) -> None:
    """Raises the status's exception unless it is SUCCESS; the message is the context's last
    error, or the thread's when the call had no context."""
    if status == 0:
        return
    if ctx_handle is not None:
        msg = L.text(L.lib.ember_context_last_error(ctx_handle))
    else:
        msg = L.text(L.lib.ember_last_error())
    raise error_for(status, msg or L.text(L.lib.ember_status_string(status)))
