"""The C API from Python: statuses as exceptions, buffers, every op against numpy, errors
that write nothing, and buffers freed with their Python objects."""

import ctypes
import gc
import os
import re
import weakref

import numpy as np
import pytest

import ember
from ember import _library as L

U = np.finfo(np.float32).eps  # the conformance suite's unit roundoff (check_tolerance.h)


def close(a, b, terms=1):
    """Within the conformance suite's summation bound for `terms` added terms."""
    tol = 16.0 * (terms + 1) * U * (1.0 + np.abs(b))
    assert a.shape == b.shape
    assert np.all(np.abs(a - b) <= tol), float(np.max(np.abs(a - b) - tol))


def test_one_exception_class_per_status():
    names = []
    for status in range(1, 64):
        name = L.text(L.lib.ember_status_name(status))
        if name == "UNKNOWN":
            break
        names.append(name)
        cls = ember.errors.BY_STATUS[status]
        assert cls.name == name and issubclass(cls, ember.EmberError)
    assert len(names) == len(ember.errors.BY_STATUS)


def test_every_function_of_the_header_is_bound():
    """The whole C API from Python: each EMBER_API function of include/ember.h has a ctypes
    prototype (a function added to the header without one fails here)."""
    header = os.path.join(os.path.dirname(__file__), "..", "..", "include", "ember.h")
    with open(header) as f:
        declared = set(re.findall(r"EMBER_API[^;(]*?\b(ember_\w+)\s*\(", f.read()))
    assert len(declared) > 40
    assert declared - L.PROTOTYPED == set()


def test_version_and_names():
    assert re.fullmatch(r"\d+\.\d+\.\d+", ember.version())
    assert ember.OptimizerKind.ROWWISE_ADAGRAD.label == "rowwise_adagrad"
    assert ember.Pooling.MEAN.label == "mean" and ember.Backend.OPENCL.label == "opencl"
    assert ember.Backend.parse("CUDA") == ember.Backend.CUDA


def test_devices_and_contexts():
    cpu = ember.devices("cpu")
    assert cpu and cpu[0].usable and cpu[0].memory_bytes > 0
    with ember.Context("cpu", threads=1) as c:
        assert c.backend == ember.Backend.CPU and c.device_name == cpu[0].name
        c.synchronize()
    with pytest.raises(ValueError, match="closed"):
        c.synchronize()
    with pytest.raises(ember.InvalidArgument, match="unknown backend"):
        ember.Context("tpu")
    with pytest.raises(ember.InvalidArgument, match="device index"):
        ember.Context("cpu", device=-7)


def test_buffers_from_and_to_numpy_and_torch(ctx):
    import torch
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]  # not contiguous
    buf = ember.Buffer.from_numpy(ctx, a)
    assert buf.shape == (4, 3) and buf.nbytes == 48 and buf.dtype == np.float32
    assert np.array_equal(buf.to_numpy(), a)
    t = torch.arange(10, dtype=torch.int64)
    tb = ember.Buffer.from_torch(ctx, t)
    assert torch.equal(tb.to_torch(), t)
    tb.upload(np.array([7, 8], np.int64), offset=8)
    assert tb.to_numpy()[:4].tolist() == [0, 7, 8, 3]
    z = ember.Buffer.zeros(ctx, (3, 3))
    assert not z.to_numpy().any()
    with pytest.raises(ember.BufferTooSmall, match="outside"):
        z.upload(np.zeros(10, np.float32))


def _bags(rng, rows, batch, max_len):
    lens = rng.integers(0, max_len + 1, batch)
    offs = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return rng.integers(0, rows, offs[-1]).astype(np.int64), offs


@pytest.mark.parametrize("pooling", [ember.Pooling.SUM, ember.Pooling.MEAN])
def test_lookup_and_backward_against_numpy(ctx, pooling):
    rng = np.random.default_rng(1)
    rows, dim, batch = 40, 5, 9
    table = rng.standard_normal((rows, dim)).astype(np.float32)
    idx, offs = _bags(rng, rows, batch, 6)
    idx[0] = 3  # the padding row appears at least once
    desc = ember.LookupDesc(rows, dim, len(idx), batch, pooling, padding_idx=3)
    T, I, O = (ember.Buffer.from_numpy(ctx, x) for x in (table, idx, offs))
    out = ember.Buffer.empty(ctx, (batch, dim))
    ember.embedding_lookup(ctx, desc, T, I, O, None, out)
    want = np.zeros((batch, dim), np.float32)
    for b in range(batch):
        bag = [i for i in idx[offs[b]:offs[b + 1]] if i != 3]
        if bag:
            want[b] = table[bag].sum(0) / (len(bag) if pooling == ember.Pooling.MEAN else 1)
    close(out.to_numpy(), want, 6)
    # dense backward: every row gets the gradient of the bags that read it
    g = rng.standard_normal((batch, dim)).astype(np.float32)
    G = ember.Buffer.from_numpy(ctx, g)
    gt = ember.Buffer.zeros(ctx, (rows, dim))
    ember.embedding_backward_dense(ctx, desc, I, O, None, G, ember.Reduction.DETERMINISTIC, gt)
    want_g = np.zeros((rows, dim), np.float32)
    for b in range(batch):
        bag = [i for i in idx[offs[b]:offs[b + 1]] if i != 3]
        for i in bag:
            want_g[i] += g[b] / (len(bag) if pooling == ember.Pooling.MEAN else 1)
    close(gt.to_numpy(), want_g, len(idx))


@pytest.mark.parametrize("kind", [ember.OptimizerKind.SGD, ember.OptimizerKind.ADAGRAD,
                                  ember.OptimizerKind.ROWWISE_ADAGRAD])
def test_fused_update_equals_sparse_backward_then_step(ctx, kind):
    """The header's promise, bit for bit in DETERMINISTIC mode, through the Python API."""
    rng = np.random.default_rng(2)
    rows, dim, batch = 30, 4, 8
    table = rng.standard_normal((rows, dim)).astype(np.float32)
    idx, offs = _bags(rng, rows, batch, 5)
    g = rng.standard_normal((batch, dim)).astype(np.float32)
    desc = ember.LookupDesc(rows, dim, len(idx), batch, ember.Pooling.SUM)
    opt = ember.Optimizer(kind, 0.1)
    n_state = opt.state_size(rows, dim)
    I, O, G = (ember.Buffer.from_numpy(ctx, x) for x in (idx, offs, g))
    fused, split = (ember.Buffer.from_numpy(ctx, table) for _ in range(2))
    s1, s2 = ((ember.Buffer.zeros(ctx, n_state) if n_state else None) for _ in range(2))
    ember.embedding_backward_update(ctx, desc, I, O, None, G, ember.Reduction.DETERMINISTIC,
                                    opt, fused, s1)
    ids = ember.Buffer.empty(ctx, max(len(idx), 1), np.int64)
    grads = ember.Buffer.empty(ctx, (max(len(idx), 1), dim))
    n = ember.embedding_backward_sparse(ctx, desc, I, O, None, G, ember.Reduction.DETERMINISTIC,
                                        ids, grads)
    assert n == len(set(idx.tolist()))
    assert ids.to_numpy()[:n].tolist() == sorted(set(idx.tolist()))
    ember.sparse_optimizer_step(ctx, opt, rows, dim, split, s2, ids, grads, n)
    assert np.array_equal(fused.to_numpy(), split.to_numpy())
    untouched = sorted(set(range(rows)) - set(idx.tolist()))
    assert np.array_equal(fused.to_numpy().reshape(rows, dim)[untouched], table[untouched])


def test_batched_lookup_writes_side_by_side(ctx):
    rng = np.random.default_rng(3)
    batch, shapes = 6, [(20, 3), (7, 2)]
    tables = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    bags = [_bags(rng, s[0], batch, 4) for s in shapes]
    descs, col = [], 0
    for (rows, dim), (idx, _) in zip(shapes, bags):
        descs.append(ember.LookupDesc(rows, dim, len(idx), batch, ember.Pooling.SUM,
                                      out_row_stride=5, out_col_offset=col))
        col += dim
    out = ember.Buffer.empty(ctx, (batch, 5))
    T = [ember.Buffer.from_numpy(ctx, t) for t in tables]
    I = [ember.Buffer.from_numpy(ctx, i) for i, _ in bags]
    O = [ember.Buffer.from_numpy(ctx, o) for _, o in bags]
    ember.embedding_lookup_batched(ctx, descs, T, I, O, None, out)
    want = np.concatenate([
        np.stack([t[i[o[b]:o[b + 1]]].sum(0) for b in range(batch)])
        for t, (i, o) in zip(tables, bags)], 1)
    close(out.to_numpy(), want, 4)
    # the same call on C arrays built once (desc_array, buffer_array), as a loop reuses them
    again = ember.Buffer.zeros(ctx, (batch, 5))
    ember.embedding_lookup_batched(ctx, ember.desc_array(descs), ember.buffer_array(T),
                                   ember.buffer_array(I), ember.buffer_array(O), None, again)
    assert np.array_equal(again.to_numpy(), out.to_numpy())
    with pytest.raises(ValueError, match="1 buffers for 2 tables"):
        ember.embedding_lookup_batched(ctx, descs, ember.buffer_array(T[:1]), I, O, None, out)


def test_dense_layer_head_and_dense_optimizer(ctx):
    rng = np.random.default_rng(4)
    batch, nin, nout = 5, 7, 3
    x = rng.standard_normal((batch, nin)).astype(np.float32)
    w = rng.standard_normal((nout, nin)).astype(np.float32)
    b = rng.standard_normal(nout).astype(np.float32)
    X, W, Bb = (ember.Buffer.from_numpy(ctx, v) for v in (x, w, b))
    Y = ember.Buffer.empty(ctx, (batch, nout))
    ember.dense_forward(ctx, batch, nin, nout, X, W, Bb, ember.Activation.RELU, Y)
    y = np.maximum(x @ w.T + b, 0)
    close(Y.to_numpy(), y, nin)
    dy = rng.standard_normal((batch, nout)).astype(np.float32)
    DY = ember.Buffer.from_numpy(ctx, dy)
    DX, DW, DB = (ember.Buffer.empty(ctx, s) for s in ((batch, nin), (nout, nin), nout))
    ember.dense_backward(ctx, batch, nin, nout, X, W, Y, DY, ember.Activation.RELU, DX, DW, DB)
    g = dy * (y > 0)
    close(DW.to_numpy(), g.T @ x, batch)
    close(DX.to_numpy(), g @ w, nout)
    close(DB.to_numpy(), g.sum(0), batch)
    logits = np.array([-3.0, 0.0, 2.5, 40.0], np.float32)
    labels = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    Lg, Lb, P, Gr = (ember.Buffer.from_numpy(ctx, v) for v in (logits, labels, logits, logits))
    ember.sigmoid(ctx, 4, Lg, P)
    close(P.to_numpy(), (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32))
    loss = ember.bce_with_logits(ctx, 4, Lg, Lb, Gr)
    x64 = logits.astype(np.float64)
    want = np.mean(np.maximum(x64, 0) - x64 * labels + np.log1p(np.exp(-np.abs(x64))))
    assert abs(loss - want) <= 16 * U * want
    opt = ember.Optimizer(ember.OptimizerKind.ADAM, 0.01)
    p, st, st2 = (ember.Buffer.zeros(ctx, 4) for _ in range(3))
    ember.dense_optimizer_step(ctx, opt, 4, p, Gr, st, st2)
    assert np.all(np.sign(p.to_numpy()) == -np.sign(Gr.to_numpy()))


def test_errors_raise_with_the_message_and_write_nothing(ctx):
    rows, dim = 10, 2
    T = ember.Buffer.from_numpy(ctx, np.ones((rows, dim), np.float32))
    out = ember.Buffer.from_numpy(ctx, np.full((2, dim), 7.0, np.float32))
    desc = ember.LookupDesc(rows, dim, 3, 2, ember.Pooling.SUM)
    offs = ember.Buffer.from_numpy(ctx, np.array([0, 1, 3], np.int64))
    bad_idx = ember.Buffer.from_numpy(ctx, np.array([1, 2, 10], np.int64))
    with pytest.raises(ember.IndexOutOfRange, match=r"indices\[2\] = 10") as e:
        ember.embedding_lookup(ctx, desc, T, bad_idx, offs, None, out)
    assert e.value.status == 2 and isinstance(e.value, IndexError)
    good_idx = ember.Buffer.from_numpy(ctx, np.array([1, 2, 3], np.int64))
    bad_offs = ember.Buffer.from_numpy(ctx, np.array([0, 2, 1], np.int64))
    with pytest.raises(ember.BadOffsets):
        ember.embedding_lookup(ctx, desc, T, good_idx, bad_offs, None, out)
    with pytest.raises(ember.BufferTooSmall):
        ember.embedding_lookup(ctx, desc, T, good_idx, offs, None, ember.Buffer.empty(ctx, 3))
    other = ember.Context("cpu")
    with pytest.raises(ember.WrongContext):
        ember.embedding_lookup(ctx, desc, T, good_idx, offs, None,
                               ember.Buffer.empty(other, (2, dim)))
    opt = ember.Optimizer(ember.OptimizerKind.ADAGRAD, 0.1)
    state = ember.Buffer.zeros(ctx, rows * dim)
    G = ember.Buffer.from_numpy(ctx, np.ones((2, dim), np.float32))
    with pytest.raises(ember.IndexOutOfRange):
        ember.embedding_backward_update(ctx, desc, bad_idx, offs, None, G,
                                        ember.Reduction.ATOMIC, opt, T, state)
    assert np.all(out.to_numpy() == 7.0)
    assert np.all(T.to_numpy() == 1.0) and not state.to_numpy().any()
    with pytest.raises(ember.InvalidArgument):
        ember.Buffer(ctx, 0)


def test_buffers_are_freed_with_their_python_objects():
    ctx = ember.Context("cpu")
    buf = ember.Buffer.empty(ctx, 16)
    ref = weakref.ref(buf)
    assert ctx._live_buffers == 1
    with pytest.raises(ember.InvalidArgument, match="still alive"):
        ctx.close()
    del buf
    gc.collect()
    assert ref() is None and ctx._live_buffers == 0
    ctx.close()
    # a buffer keeps its context alive: dropping the context first is safe
    ctx2 = ember.Context("cpu")
    b2 = ember.Buffer.zeros(ctx2, 4)
    del ctx2
    gc.collect()
    assert not b2.to_numpy().any()
    b2.free()
    with pytest.raises(ValueError, match="freed"):
        b2.to_numpy()


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_no_leak_over_10000_create_free_cycles():
    """64 KiB a cycle: a leaked buffer or context would grow the process by 640 MiB."""
    data = np.ones(16384, np.float32)

    def cycles(n):
        for _ in range(n):
            with ember.Context("cpu") as c:
                b = ember.Buffer.from_numpy(c, data)
                assert b.to_numpy()[-1] == 1.0
                b.free()

    cycles(500)  # warm up allocator pools
    gc.collect()
    before = _rss_bytes()
    cycles(10000)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 16 << 20, f"RSS grew by {grown >> 20} MiB over 10,000 cycles"


def test_widedeep_count_params():
    pc = ember.widedeep_count_params([10, 20], [10, 20], [8, 8], 3, [16])
    assert pc.d_wide == 30 and pc.embeddings == 240 and pc.dnn == (19 * 16 + 16)
    assert pc.allocated == pc.formula_total - pc.shared
    with pytest.raises(ember.InvalidArgument):
        ember.widedeep_count_params([-1], [], [], 0, [])


def test_ctypes_struct_sizes_match_the_header():
    """The structs' layouts, as the C compiler lays them out (x86-64 / aarch64 LP64)."""
    assert ctypes.sizeof(L.LookupDescStruct) == 72
    assert ctypes.sizeof(L.OptimizerStruct) == 32
    assert ctypes.sizeof(L.DeviceInfo) == 4 + 4 + 256 + 256 + 8 + 4 + 256 + 4  # tail padding


def test_wrapped_arrays_are_used_in_place_and_never_freed():
    """CPU: ops read and write a wrapped numpy array's own memory; freeing the buffer (or
    destroying its context) leaves the array alone."""
    ctx = ember.Context("cpu")
    rows, dim = 20, 4
    table = np.arange(rows * dim, dtype=np.float32).reshape(rows, dim)
    idx = np.array([3, 3, 7, 19], np.int64)
    offs = np.array([0, 2, 4], np.int64)
    out = np.full((2, dim), -1.0, np.float32)
    T, I, O, Y = (ember.Buffer.wrap_numpy(ctx, a) for a in (table, idx, offs, out))
    assert T.native == table.ctypes.data and T.nbytes == table.nbytes
    desc = ember.LookupDesc(rows, dim, 4, 2, ember.Pooling.SUM)
    ember.embedding_lookup(ctx, desc, T, I, O, None, Y)
    assert np.array_equal(out, np.stack([2 * table[3], table[7] + table[19]]))
    G = ember.Buffer.wrap_numpy(ctx, np.ones((2, dim), np.float32))
    before = table.copy()
    ember.embedding_backward_update(ctx, desc, I, O, None, G, ember.Reduction.DETERMINISTIC,
                                    ember.Optimizer(ember.OptimizerKind.SGD, 0.5), T, None)
    assert np.array_equal(table[3], before[3] - 1.0) and np.array_equal(table[0], before[0])
    for b in (T, I, O, Y, G):
        b.free()
    ctx.close()
    assert np.array_equal(out, np.stack([2 * before[3], before[7] + before[19]]))
    table[:] = 0  # still the caller's memory


def test_wrapping_the_memory_of_a_buffer(ctx):
    """On every backend: a buffer wrapping another's memory (ember_buffer_native) sees its
    contents, writes through to it, and freeing it frees nothing."""
    rng = np.random.default_rng(5)
    table = rng.standard_normal((30, 3)).astype(np.float32)
    owner = ember.Buffer.from_numpy(ctx, table)
    assert owner.native != 0
    view = ember.Buffer.wrap(ctx, owner.native, owner.nbytes, owner, np.float32, (30, 3))
    assert np.array_equal(view.to_numpy(), table)
    view.upload(np.zeros(3, np.float32), offset=12)
    table[1] = 0
    idx = ember.Buffer.from_numpy(ctx, np.array([1, 29], np.int64))
    out = ember.Buffer.empty(ctx, (2, 3))
    ember.embedding_lookup(ctx, ember.LookupDesc(30, 3, 2, 2), view, idx, None, None, out)
    assert np.array_equal(out.to_numpy(), table[[1, 29]])
    view.free()
    assert np.array_equal(owner.to_numpy(), table)
    with pytest.raises(ember.InvalidArgument):
        ember.Buffer.wrap(ctx, 0, 16)
    with pytest.raises(ember.InvalidArgument):
        ember.Buffer.wrap(ctx, owner.native, 0)


def test_wrap_refuses_memory_ember_can_tell_is_not_the_contexts(device_backend):
    """(Host memory cannot be checked: the CPU backend takes any pointer.)"""
    backend = device_backend
    a = ember.Context(backend)
    owner = ember.Buffer(a, 64)  # 64 bytes
    if backend == "cuda":
        host = np.zeros(16, np.float32)
        with pytest.raises(ember.InvalidArgument):  # host memory, not the device's
            ember.Buffer.wrap(a, host.ctypes.data, 64)
        return
    b = ember.Context(backend)
    with pytest.raises(ember.InvalidArgument):  # another context's cl_mem
        ember.Buffer.wrap(b, owner.native, 64)
    with pytest.raises(ember.InvalidArgument):  # more bytes than the cl_mem holds
        ember.Buffer.wrap(a, owner.native, 65)


def test_streams_are_cuda_only(ctx, backend):
    if backend == "cuda":
        ctx.set_stream(None)  # back to its own stream: always allowed
        return
    with pytest.raises(ember.NotSupported):
        ctx.set_stream(1234)


def test_wrapped_buffers_sharing_memory_are_refused_as_aliases():
    """Two handles over overlapping memory count as the same buffer (src/core's alias check)."""
    ctx = ember.Context("cpu")
    mem = np.zeros((8, 2), np.float32)
    table = ember.Buffer.wrap_numpy(ctx, mem)
    out = ember.Buffer.wrap(ctx, mem.ctypes.data + 8, 8)  # rows 1..: inside the table
    idx = ember.Buffer.from_numpy(ctx, np.array([0], np.int64))
    with pytest.raises(ember.InvalidArgument, match="share memory"):
        ember.embedding_lookup(ctx, ember.LookupDesc(8, 2, 1, 1), table, idx, None, None, out)
    apart = ember.Buffer.wrap_numpy(ctx, np.zeros(2, np.float32))
    ember.embedding_lookup(ctx, ember.LookupDesc(8, 2, 1, 1), table, idx, None, None, apart)


def test_dlpack_producers_are_wrapped_in_place():
    """Buffer.from_dlpack: numpy arrays, torch tensors and raw capsules are wrapped without a
    copy (dtype and shape from the producer); ops write into the producer's memory, and the
    memory stays alive as long as the buffer, even when the producer object is gone."""
    torch = pytest.importorskip("torch")
    from torch.utils import dlpack as torch_dlpack

    ctx = ember.Context("cpu")
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    T = ember.Buffer.from_dlpack(ctx, table)
    assert (T.native, T.dtype, T.shape) == (table.ctypes.data, np.float32, (10, 4))
    idx_t = torch.tensor([9, 2, 2], dtype=torch.int32)
    I = ember.Buffer.from_dlpack(ctx, torch_dlpack.to_dlpack(idx_t))  # a raw capsule
    assert (I.native, I.dtype, I.shape) == (idx_t.data_ptr(), np.int32, (3,))
    out_t = torch.zeros(10, 4)[3:6]  # a view at an offset: byte_offset / data
    Y = ember.Buffer.from_dlpack(ctx, out_t)
    assert Y.native == out_t.data_ptr()
    ember.embedding_lookup(ctx, ember.LookupDesc(10, 4, 3, 3, index_type=ember.IndexType.INT32),
                           T, I, None, None, Y)
    assert np.array_equal(out_t.numpy(), table[[9, 2, 2]])
    producer = np.ones(5, np.float32)
    P = ember.Buffer.from_dlpack(ctx, producer)
    held = weakref.ref(producer)
    del producer
    gc.collect()
    assert held() is not None and np.array_equal(P.to_numpy(), np.ones(5))  # kept alive
    del P
    gc.collect()
    assert held() is None  # and let go with the buffer
    with pytest.raises(ValueError, match="C-contiguous"):
        ember.Buffer.from_dlpack(ctx, table[:, ::2])
    with pytest.raises(ValueError, match="dtype"):
        ember.Buffer.from_dlpack(ctx, np.zeros(3, np.complex64))
    with pytest.raises(TypeError, match="__dlpack__"):
        ember.Buffer.from_dlpack(ctx, [1.0, 2.0])
    used = torch_dlpack.to_dlpack(torch.ones(2))
    torch_dlpack.from_dlpack(used)  # consumed by torch: renamed "used_dltensor"
    with pytest.raises(ValueError, match="unconsumed"):
        ember.Buffer.from_dlpack(ctx, used)
    empty = ember.Buffer.from_dlpack(ctx, np.zeros((0, 4), np.float32))
    assert empty.shape == (0, 4)


def test_dlpack_memory_of_another_device_is_refused(device_backend):
    """Host memory is no OpenCL cl_mem nor CUDA device memory: refused before ember sees it."""
    ctx = ember.Context(device_backend)
    with pytest.raises(ValueError, match="cannot address"):
        ember.Buffer.from_dlpack(ctx, np.zeros(4, np.float32))


def test_views_share_the_buffers_memory(backend):
    """view_numpy / view_torch: no copy (writes go both ways, an op's output is seen at
    once); a view keeps its buffer alive, and free() is refused while one is alive. Only
    memory the host (or, for view_torch, CUDA) can address has views."""
    torch = pytest.importorskip("torch")
    ctx = ember.Context(backend)
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    buf = ember.Buffer.from_numpy(ctx, table)
    if backend == "opencl":
        with pytest.raises(ValueError, match="not host memory"):
            buf.view_numpy()
        with pytest.raises(ValueError, match="not host memory"):
            buf.view_torch()
        return
    t = buf.view_torch()
    assert t.data_ptr() == buf.native and tuple(t.shape) == (4, 3)
    if backend == "cuda":
        assert t.is_cuda and torch.equal(t.cpu(), torch.from_numpy(table))
        return
    v = buf.view_numpy()
    assert v.ctypes.data == buf.native and v.dtype == np.float32
    v[1] = -1.0
    assert np.array_equal(buf.to_numpy()[1], [-1.0, -1.0, -1.0]) and float(t[1, 2]) == -1.0
    idx = ember.Buffer.from_numpy(ctx, np.array([3, 0], np.int64))
    out = ember.Buffer.empty(ctx, (2, 3))
    out_view = out.view_numpy()
    ember.embedding_lookup(ctx, ember.LookupDesc(4, 3, 2, 2), buf, idx, None, None, out)
    assert np.array_equal(out_view, v[[3, 0]])
    with pytest.raises(ValueError, match="views of this buffer are alive"):
        buf.free()
    del v, t
    gc.collect()
    buf.free()
    held = weakref.ref(out)
    del out
    gc.collect()
    assert held() is not None and np.array_equal(out_view[0], table[3])  # kept alive
    del out_view
    gc.collect()
    assert held() is None
