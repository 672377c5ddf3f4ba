"""ember.torch against torch.nn.EmbeddingBag + torch.optim over several training steps."""

import numpy as np
import pytest

import torch  # noqa: E402  (a test dependency: scripts/install-deps.sh installs it)
import ember  # noqa: E402
import ember.torch as et  # noqa: E402

U = float(np.finfo(np.float32).eps)


def assert_close(a, b, terms):
    """The conformance suite's optimizer bound (K_OPT = 16 roundoffs) per added term."""
    tol = 16.0 * (terms + 1) * U * (1.0 + b.abs())
    assert a.shape == b.shape
    over = (a - b).abs() - tol
    assert bool((over <= 0).all()), float(over.max())


def batch_of(gen, shapes, B, L):
    """FBGEMM layout: all tables' indices concatenated, T*B + 1 offsets; bags of 0..L."""
    idx, offs = [], [0]
    for rows, _ in shapes:
        for _ in range(B):
            n = int(torch.randint(0, L + 1, (1,), generator=gen))
            idx.append(torch.randint(0, rows, (n,), generator=gen))
            offs.append(offs[-1] + n)
    return torch.cat(idx), torch.tensor(offs, dtype=torch.int64)


def torch_reference(shapes, weights, kind, lr, mode):
    bags = [torch.nn.EmbeddingBag(r, d, mode=mode, sparse=True, _weight=w.clone())
            for (r, d), w in zip(shapes, weights)]
    params = [b.weight for b in bags]
    opt = (torch.optim.SGD(params, lr=lr) if kind == "sgd"
           else torch.optim.Adagrad(params, lr=lr, eps=1e-10))
    return bags, opt


def torch_forward(bags, shapes, idx, offs, B):
    outs = []
    for t, bag in enumerate(bags):
        o = offs[t * B:(t + 1) * B + 1]
        outs.append(bag(idx[o[0]:o[-1]], o[:-1] - o[0]))
    return torch.cat(outs, 1)


@pytest.mark.parametrize("kind", ["sgd", "adagrad"])
@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_table_batched_module_trains_like_torch(backend, kind, mode):
    shapes, B, L, lr, steps = [(60, 8), (15, 4), (200, 16)], 12, 5, 0.05, 6
    gen = torch.Generator().manual_seed(7)
    weights = [torch.randn(r, d, generator=gen) for r, d in shapes]
    tbe = et.TableBatchedEmbeddingBags(shapes, optimizer=kind, lr=lr, pooling=mode,
                                       backend=backend, weights=weights)
    bags, opt = torch_reference(shapes, weights, kind, lr, mode)
    for step in range(steps):
        idx, offs = batch_of(gen, shapes, B, L)
        g = torch.randn(B, sum(d for _, d in shapes), generator=gen)
        out = tbe(idx, offs)
        ref = torch_forward(bags, shapes, idx, offs, B)
        assert_close(out.detach(), ref.detach(), L * (step + 1))
        (out * g).sum().backward()
        opt.zero_grad()
        (ref * g).sum().backward()
        opt.step()
    for w, bag in zip(tbe.split_embedding_weights(), bags):
        assert_close(w, bag.weight.detach(), L * steps)
    if kind == "adagrad":
        for s, bag in zip(tbe.split_optimizer_states(), bags):
            assert_close(s.reshape(bag.weight.shape), opt.state[bag.weight]["sum"].to_dense(),
                         L * steps)


def test_rowwise_adagrad_follows_fbgemm_formula(backend):
    rows, dim, B, L, lr, eps = 25, 6, 10, 4, 0.1, 1e-8
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(rows, dim, generator=gen)
    tbe = et.TableBatchedEmbeddingBags([(rows, dim)], optimizer="rowwise_adagrad", lr=lr,
                                       eps=eps, backend=backend, weights=[w])
    ref_w, ref_s = w.clone().double(), torch.zeros(rows, dtype=torch.float64)
    for step in range(4):
        idx, offs = batch_of(gen, [(rows, dim)], B, L)
        g = torch.randn(B, dim, generator=gen)
        (tbe(idx, offs) * g).sum().backward()
        grad = torch.zeros(rows, dim, dtype=torch.float64)
        for b in range(B):
            for i in idx[offs[b]:offs[b + 1]]:
                grad[i] += g[b].double()
        used = torch.unique(idx)
        ref_s[used] += (grad[used] ** 2).mean(1)
        ref_w[used] -= lr * grad[used] / (ref_s[used].sqrt() + eps).unsqueeze(1)
    assert_close(tbe.split_embedding_weights()[0], ref_w.float(), 4 * L)
    assert_close(tbe.split_optimizer_states()[0], ref_s.float(), 4 * L)


def test_deterministic_runs_are_bit_identical(backend):
    def run():
        gen = torch.Generator().manual_seed(11)
        shapes = [(40, 8), (40, 8)]
        tbe = et.TableBatchedEmbeddingBags(shapes, optimizer="adagrad", lr=0.1,
                                           reduction="deterministic", backend=backend, seed=5)
        for _ in range(5):
            idx, offs = batch_of(gen, shapes, 64, 8)  # many repeats of each row
            (tbe(idx, offs) * torch.randn(64, 16, generator=gen)).sum().backward()
        return tbe.split_embedding_weights()

    a, b = run(), run()
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_module_errors_raise_and_leave_the_tables(backend):
    tbe = et.TableBatchedEmbeddingBags([(10, 4)], optimizer="adagrad", backend=backend)
    before = tbe.split_embedding_weights()[0]
    with pytest.raises(ember.IndexOutOfRange, match="10"):
        tbe(torch.tensor([1, 10]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="T\\*B"):
        et.TableBatchedEmbeddingBags([(10, 4), (10, 4)], backend=backend)(
            torch.tensor([1, 2]), torch.tensor([0, 1, 2, 2]))
    assert torch.equal(tbe.split_embedding_weights()[0], before)
    assert not tbe.split_optimizer_states()[0].any()


def test_state_dict_round_trip(backend):
    a = et.TableBatchedEmbeddingBags([(9, 3), (4, 2)], optimizer="adagrad", backend=backend,
                                     seed=1)
    idx, offs = torch.tensor([1, 2, 3, 0]), torch.tensor([0, 2, 3, 4, 4])
    (a(idx, offs) ** 2).sum().backward()
    b = et.TableBatchedEmbeddingBags([(9, 3), (4, 2)], optimizer="adagrad", backend=backend,
                                     seed=2)
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(x, y) for x, y in
               zip(a.split_embedding_weights(), b.split_embedding_weights()))
    assert torch.equal(a.split_optimizer_states()[0], b.split_optimizer_states()[0])
    with torch.no_grad():
        assert torch.equal(a(idx, offs), b(idx, offs))


@pytest.mark.parametrize("optim", ["sgd", "adagrad"])
def test_embedding_bag_drop_in_with_torch_optimizers(backend, optim):
    rows, dim, B, L = 30, 5, 8, 4
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(rows, dim, generator=gen)
    ours = et.EmbeddingBag(rows, dim, mode="sum", sparse=True, padding_idx=0, _weight=w,
                           backend=backend)
    ref = torch.nn.EmbeddingBag(rows, dim, mode="sum", sparse=True, padding_idx=0,
                                _weight=w.clone())
    make = (lambda p: torch.optim.SGD(p, lr=0.1)) if optim == "sgd" else \
        (lambda p: torch.optim.Adagrad(p, lr=0.1))
    o1, o2 = make(ours.parameters()), make(ref.parameters())
    for step in range(5):
        idx, offs = batch_of(gen, [(rows, dim)], B, L)
        psw = torch.rand(idx.numel(), generator=gen)
        g = torch.randn(B, dim, generator=gen)
        for mod, opt in ((ours, o1), (ref, o2)):
            opt.zero_grad()
            out = mod(idx, offs[:-1], per_sample_weights=psw)
            (out * g).sum().backward()
            assert mod.weight.grad.is_sparse
            opt.step()
        assert_close(ours.weight.detach(), ref.weight.detach(), L * (step + 1))


def test_embedding_bag_dense_gradient_and_2d_input(backend):
    w = torch.randn(12, 3)
    ours = et.EmbeddingBag(12, 3, mode="mean", _weight=w, backend=backend)
    ref = torch.nn.EmbeddingBag(12, 3, mode="mean", _weight=w.clone())
    idx = torch.tensor([[1, 2, 2], [11, 0, 5]])
    a, b = ours(idx), ref(idx)
    assert_close(a.detach(), b.detach(), 3)
    a.sum().backward()
    b.sum().backward()
    assert not ours.weight.grad.is_sparse
    assert_close(ours.weight.grad, ref.weight.grad, 3)
    with pytest.raises(ember.IndexOutOfRange):
        ours(torch.tensor([[1, 12]]))


def test_cuda_tensors_use_the_cuda_backend_on_torchs_stream():
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    if not any(d.usable for d in ember.devices("cuda")):
        pytest.skip("ember's CUDA backend has no usable device: "
                    + "; ".join(d.reason for d in ember.devices("cuda")))
    w = torch.randn(100, 8)
    ref = torch.nn.EmbeddingBag(100, 8, mode="sum", _weight=w.clone())
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        tbe = et.TableBatchedEmbeddingBags([(100, 8)], optimizer="sgd", lr=0.1, device="cuda",
                                           weights=[w])
        idx, offs = torch.tensor([1, 2, 3]), torch.tensor([0, 1, 3])
        out = tbe(idx.cuda(), offs.cuda())
        assert tbe.ctx.backend == ember.Backend.CUDA
        assert tbe._staging._stream == stream.cuda_stream  # ember's work on torch's stream
        (out * 2).sum().backward()
    torch.cuda.synchronize()
    assert out.device.type == "cuda"
    assert_close(out.cpu().detach(), ref(idx, offs[:-1]).detach(), 2)
    want = w.clone()
    want[[1, 2, 3]] -= 0.2
    assert_close(tbe.split_embedding_weights()[0].cpu(), want, 2)


def test_tensors_are_wrapped_where_the_backend_can_address_them(backend):
    """CPU tensors on the CPU backend (CUDA tensors on CUDA) go to ember without a copy;
    OpenCL copies through pooled buffers."""
    ctx = et.context_for("cpu", backend if backend != "cuda" else None)
    t = torch.zeros(4, 2)
    if ctx.backend == ember.Backend.CPU:
        b = ember.Buffer.wrap_torch(ctx, t)
        b.upload(np.ones(2, np.float32), offset=8)
        assert t[1].tolist() == [1.0, 1.0] and b.native == t.data_ptr()
        staging = et._shared("cpu", None)[1]
        assert staging.can_wrap(torch.device("cpu"))
    else:
        assert not et._shared("cpu", backend)[1].can_wrap(torch.device("cpu"))
