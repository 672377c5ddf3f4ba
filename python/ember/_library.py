"""Finding and loading libember, and the ctypes prototypes of include/ember.h.

ctypes rather than cffi: ember's API is a flat C interface of opaque handles, plain structs
and int status codes, which ctypes describes completely; ctypes ships with every CPython,
so the package needs no compiler, no build step and no dependency beyond numpy, and one
source tree serves every Python >= 3.9. (cffi's ABI mode would buy nothing here; its API
mode would need a compiler at install time.)

Where libember is looked for, first found wins:
1. the file named by the environment variable EMBER_LIBRARY;
2. beside the package when `make install` put it there: _install_paths.LIBDIR, written at
   install time relative to the installed package (so a moved prefix still works);
3. the dynamic linker's search (ctypes.util.find_library, e.g. /usr/local/lib after
   ldconfig) and the usual prefixes of `make install` (/usr/local/lib, /usr/lib).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_float,
    c_int,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from typing import List, Optional

_SONAME = "libember.so.0"


def _candidates() -> List[str]:
    found: List[str] = []
    env = os.environ.get("EMBER_LIBRARY")
    if env:
        return [env]  # an explicit choice is never second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from . import _install_paths  # written by `make install` only

        found.append(os.path.normpath(os.path.join(here, _install_paths.LIBDIR, _SONAME)))
    except ImportError:
        pass
    name = ctypes.util.find_library("ember")
    if name:
        found.append(name)
    for prefix in ("/usr/local/lib", "/usr/local/lib64", "/usr/lib"):
        found.append(os.path.join(prefix, _SONAME))
    return found


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise ImportError(
        "ember: cannot load libember; install it (`make install`) or set EMBER_LIBRARY to "
        "the path of libember.so. Tried:\n  " + "\n  ".join(tried)
    )


lib = _load()


# --- structs (same layout as include/ember.h) ------------------------------------------


class DeviceInfo(Structure):
    _fields_ = [
        ("kind", c_int),
        ("index", c_int),
        ("name", c_char * 256),
        ("detail", c_char * 256),
        ("memory_bytes", c_uint64),
        ("usable", c_int),
        ("reason", c_char * 256),
    ]


class LookupDescStruct(Structure):
    _fields_ = [
        ("num_rows", c_int64),
        ("dim", c_int64),
        ("num_indices", c_int64),
        ("batch", c_int64),
        ("index_type", c_int),
        ("pooling", c_int),
        ("padding_idx", c_int64),
        ("out_row_stride", c_int64),
        ("out_col_offset", c_int64),
        ("accumulate", c_int),
    ]


class OptimizerStruct(Structure):
    _fields_ = [
        ("kind", c_int),
        ("learning_rate", c_float),
        ("eps", c_float),
        ("beta1", c_float),
        ("beta2", c_float),
        ("weight_decay", c_float),
        ("step", c_int64),
    ]


class WideDeepSpec(Structure):
    _fields_ = [
        ("num_wide_fields", c_int64),
        ("wide_buckets", POINTER(c_int64)),
        ("num_deep_fields", c_int64),
        ("vocab", POINTER(c_int64)),
        ("emb_dim", POINTER(c_int64)),
        ("num_numeric", c_int64),
        ("num_hidden", c_int64),
        ("hidden", POINTER(c_int64)),
    ]


class ParamCount(Structure):
    _fields_ = [
        (name, c_int64)
        for name in (
            "d_wide",
            "d_deep",
            "wide",
            "embeddings",
            "dnn",
            "output",
            "formula_total",
            "shared",
            "allocated",
        )
    ]


# --- prototypes ------------------------------------------------------------------------

ctx_p = c_void_p
buf_p = c_void_p
buf_pp = POINTER(c_void_p)
desc_p = POINTER(LookupDescStruct)
opt_p = POINTER(OptimizerStruct)
status = c_int


PROTOTYPED = set()  # the C functions declared here (a test checks ember.h has no other)


def _proto(name: str, restype, *argtypes) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    PROTOTYPED.add(name)


_proto("ember_version", c_char_p)
_proto("ember_status_string", c_char_p, c_int)
_proto("ember_status_name", c_char_p, c_int)
_proto("ember_backend_name", c_char_p, c_int)
_proto("ember_backend_parse", status, c_char_p, POINTER(c_int))
_proto("ember_backend_compiled", c_int, c_int)
_proto("ember_backend_devices", status, c_int, POINTER(DeviceInfo), c_size_t, POINTER(c_size_t))
_proto("ember_context_create", status, POINTER(ctx_p), c_int, c_int)
_proto("ember_context_create_best", status, POINTER(ctx_p))
_proto("ember_context_destroy", status, ctx_p)
_proto("ember_context_kind", c_int, ctx_p)
_proto("ember_context_device_name", c_char_p, ctx_p)
_proto("ember_context_last_error", c_char_p, ctx_p)
_proto("ember_last_error", c_char_p)
_proto("ember_context_synchronize", status, ctx_p)
_proto("ember_context_set_threads", status, ctx_p, c_int)
_proto("ember_context_set_math_mode", status, ctx_p, c_int)
_proto("ember_context_set_stream", status, ctx_p, c_void_p)
_proto("ember_buffer_alloc", status, ctx_p, c_size_t, POINTER(buf_p))
_proto("ember_buffer_free", None, buf_p)
_proto("ember_buffer_size", c_size_t, buf_p)
_proto("ember_buffer_upload", status, ctx_p, buf_p, c_size_t, c_void_p, c_size_t)
_proto("ember_buffer_download", status, ctx_p, buf_p, c_size_t, c_void_p, c_size_t)
_proto("ember_buffer_zero", status, ctx_p, buf_p, c_size_t, c_size_t)
_proto("ember_buffer_wrap", status, ctx_p, c_void_p, c_size_t, POINTER(buf_p))
_proto("ember_buffer_native", c_void_p, buf_p)
_proto("ember_pooling_name", c_char_p, c_int)
_proto("ember_lookup_desc_init", None, desc_p, c_int64, c_int64, c_int64, c_int64, c_int)
_proto("ember_embedding_lookup", status, ctx_p, desc_p, buf_p, buf_p, buf_p, buf_p, buf_p)
_proto(
    "ember_embedding_backward_dense", status, ctx_p, desc_p, buf_p, buf_p, buf_p, buf_p, c_int,
    buf_p,
)
_proto(
    "ember_embedding_backward_sparse", status, ctx_p, desc_p, buf_p, buf_p, buf_p, buf_p, c_int,
    buf_p, buf_p, POINTER(c_int64),
)
_proto(
    "ember_embedding_lookup_batched", status, ctx_p, c_int64, desc_p, buf_pp, buf_pp, buf_pp,
    buf_pp, buf_p,
)
_proto("ember_optimizer_name", c_char_p, c_int)
_proto("ember_optimizer_init", None, opt_p, c_int, c_float)
_proto("ember_optimizer_state_size", c_int64, c_int, c_int64, c_int64)
_proto(
    "ember_sparse_optimizer_step", status, ctx_p, opt_p, c_int64, c_int64, buf_p, buf_p, buf_p,
    buf_p, c_int64,
)
_proto(
    "ember_embedding_backward_update", status, ctx_p, desc_p, buf_p, buf_p, buf_p, buf_p, c_int,
    opt_p, buf_p, buf_p,
)
_proto(
    "ember_embedding_backward_update_batched", status, ctx_p, c_int64, desc_p, buf_pp, buf_pp,
    buf_pp, buf_p, c_int, opt_p, buf_pp, buf_pp,
)
_proto("ember_dense_optimizer_step", status, ctx_p, opt_p, c_int64, buf_p, buf_p, buf_p, buf_p)
_proto(
    "ember_dense_forward", status, ctx_p, c_int64, c_int64, c_int64, buf_p, buf_p, buf_p, c_int,
    buf_p,
)
_proto(
    "ember_dense_backward", status, ctx_p, c_int64, c_int64, c_int64, buf_p, buf_p, buf_p, buf_p,
    c_int, buf_p, buf_p, buf_p,
)
_proto("ember_sigmoid", status, ctx_p, c_int64, buf_p, buf_p)
_proto("ember_bce_with_logits", status, ctx_p, c_int64, buf_p, buf_p, POINTER(c_float), buf_p)
_proto("ember_widedeep_count_params", status, POINTER(WideDeepSpec), POINTER(ParamCount))


def text(p: Optional[bytes]) -> str:
    return p.decode("utf-8", "replace") if p else ""
