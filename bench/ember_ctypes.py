"""ember_ctypes.py: the structs of include/ember.h that the bench scripts pass to libember
through ctypes (ember_lookup_desc, ember_optimizer), written once for all of them."""
import ctypes


class LookupDesc(ctypes.Structure):
    _fields_ = [("num_rows", ctypes.c_int64), ("dim", ctypes.c_int64),
                ("num_indices", ctypes.c_int64), ("batch", ctypes.c_int64),
                ("index_type", ctypes.c_int), ("pooling", ctypes.c_int),
                ("padding_idx", ctypes.c_int64), ("out_row_stride", ctypes.c_int64),
                ("out_col_offset", ctypes.c_int64), ("accumulate", ctypes.c_int)]


class Optimizer(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("learning_rate", ctypes.c_float),
                ("eps", ctypes.c_float), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("weight_decay", ctypes.c_float), ("step", ctypes.c_int64)]
