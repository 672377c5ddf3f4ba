"""ember from Python: the whole C API of libember (include/ember.h) through ctypes.

    import numpy as np, ember
    ctx = ember.Context("cpu")
    table = ember.Buffer.from_numpy(ctx, np.random.rand(1000, 16).astype(np.float32))
    idx = ember.Buffer.from_numpy(ctx, np.array([1, 5, 7], dtype=np.int64))
    out = ember.Buffer.empty(ctx, (3, 16))
    ember.embedding_lookup(ctx, ember.LookupDesc(1000, 16, 3, 3), table, idx, None, None, out)
    out.to_numpy()

Submodules: ember.torch (PyTorch modules; needs torch), ember.model (load_model of a
checkpoint written by `ember train --save`). Statuses raise ember.EmberError subclasses.
"""

from .buffer import Buffer
from .context import Backend, Context, Device, MathMode, devices
from .errors import (
    BackendNotCompiled, BadData, BadOffsets, BufferTooSmall, BuildFailed, CorruptFile,
    DeviceError, EmberError, IndexOutOfRange, Internal, InvalidArgument, IOError_, NoDevice,
    NotSupported, NumericError, OutOfMemory, ShapeMismatch, WrongContext,
)
from .model import Model, load_model
from .ops import (
    Activation, IndexType, LookupDesc, Optimizer, OptimizerKind, ParamCount, Pooling, Reduction,
    bce_with_logits, buffer_array, dense_backward, dense_forward, dense_optimizer_step,
    desc_array, embedding_backward_dense, embedding_backward_sparse, embedding_backward_update,
    embedding_backward_update_batched, embedding_lookup, embedding_lookup_batched,
    optimizer_state_size, sigmoid, sparse_optimizer_step, widedeep_count_params,
)

__version__ = "0.1.0"


def version() -> str:
    """The version of the libember loaded (ember_version), e.g. "0.1.0"."""
    from . import _library

    return _library.text(_library.lib.ember_version())


__all__ = [
    "version",
    "Buffer", "Backend", "Context", "Device", "MathMode", "devices",
    "BackendNotCompiled", "BadData", "BadOffsets", "BufferTooSmall", "BuildFailed",
    "CorruptFile", "DeviceError", "EmberError", "IndexOutOfRange", "Internal",
    "InvalidArgument", "IOError_", "NoDevice", "NotSupported", "NumericError", "OutOfMemory",
    "ShapeMismatch", "WrongContext", "Model", "load_model", "Activation", "IndexType",
    "LookupDesc", "Optimizer", "OptimizerKind", "ParamCount", "Pooling", "Reduction",
    "bce_with_logits", "buffer_array", "dense_backward", "dense_forward",
    "dense_optimizer_step", "desc_array", "embedding_backward_dense", "embedding_backward_sparse", "embedding_backward_update",
    "embedding_backward_update_batched", "embedding_lookup", "embedding_lookup_batched",
    "optimizer_state_size", "sigmoid", "sparse_optimizer_step", "widedeep_count_params",
]
