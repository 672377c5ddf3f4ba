// cuda_check.cu: the bounds-check pass: finds the lowest bad index / offset position on the device
// without device asserts (which would poison the CUDA context), so the op can return a status.
#include "cuda/cuda_common.cuh"

#include <string.h>

/* flags[0]: lowest position of an index outside [0, rows); flags[1]: lowest b >= 1 with
 * offsets[b] < offsets[b-1]; flags[2]: 0 when offsets[0] != 0; flags[3]: batch when
 * offsets[batch] != num_indices. All start at ~0 (none found). */
template <typename I>
static __global__ void check_kernel(const void *indices, int64_t n, int64_t rows,
                                    const void *offsets, int64_t batch, unsigned long long *flags) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t t0 = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    for (int64_t p = t0; p < n; p += stride) {
        int64_t v = idx_at<I>(indices, p);
        if (v < 0 || v >= rows) atomicMin(&flags[0], (unsigned long long)p);
    }
    if (offsets) {
        for (int64_t b = t0; b <= batch; b += stride) {
            int64_t v = idx_at<I>(offsets, b);
            if (b == 0 && v != 0) atomicMin(&flags[2], 0ull);
            if (b > 0 && v < idx_at<I>(offsets, b - 1)) atomicMin(&flags[1], (unsigned long long)b);
            if (b == batch && v != n) atomicMin(&flags[3], (unsigned long long)b);
        }
    }
}

/* The scan starts after the last hit: tables checked in the same order every step (a
 * batched call's T tables, or T per-table calls) then hit at the first probe. */
static int cache_find(cuda_impl *m, const ember_lookup_desc *d, const void *idx, const void *off) {
    if (!m->cache_enabled) return 0;
    for (unsigned k = 1; k <= CUDA_CHECK_CACHE; k++) {
        const unsigned i = (m->cache_last + k) % CUDA_CHECK_CACHE;
        const struct cuda_checked *c = &m->cache[i];
        if (c->used && c->indices == idx && c->offsets == off && c->num_rows == d->num_rows &&
            c->num_indices == d->num_indices && c->batch == d->batch &&
            c->index_type == (int)d->index_type) {
            m->cache_last = i;
            return 1;
        }
    }
    return 0;
}

static void cache_add(cuda_impl *m, const ember_lookup_desc *d, const void *idx, const void *off) {
    if (!m->cache_enabled) return;
    m->cache_last = m->cache_next % CUDA_CHECK_CACHE;
    struct cuda_checked *c = &m->cache[m->cache_next++ % CUDA_CHECK_CACHE];
    c->indices = idx;
    c->offsets = off;
    c->num_rows = d->num_rows;
    c->num_indices = d->num_indices;
    c->batch = d->batch;
    c->index_type = (int)d->index_type;
    c->used = 1;
}

/* Reads one index-typed value back (error paths only). */
static ember_status read_value(ember_context *ctx, cuda_impl *m, const void *base,
                               ember_index_type t, int64_t pos, int64_t *value) {
    size_t sz = ember_index_size(t);
    unsigned char buf[8];
    CUDA_TRY(ctx, cudaMemcpyAsync(buf, (const char *)base + (size_t)pos * sz, sz,
                                  cudaMemcpyDeviceToHost, m->stream));
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    *value = ember_index_at(buf, t, 0);
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_check_indices(ember_context *ctx, const ember_lookup_desc *desc,
                                           const ember_buffer *indices, const ember_buffer *offsets,
                                           ember_index_problem *problem) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    problem->kind = EMBER_INDEX_PROBLEM_NONE;
    problem->position = 0;
    problem->value = 0;
    const int64_t n = desc->num_indices, batch = desc->batch;
    const void *idx = (n > 0 && indices) ? indices->handle : NULL;
    const void *off = offsets ? offsets->handle : NULL;
    if (!idx && !off) return EMBER_STATUS_SUCCESS;
    /* The caller may rewrite wrapped memory between calls without ember seeing it. */
    const int cacheable = !(indices && indices->wrapped) && !(offsets && offsets->wrapped);
    if (cacheable && cache_find(m, desc, idx, off)) return EMBER_STATUS_SUCCESS;

    CUDA_TRY(ctx, cudaMemsetAsync(m->flags_dev, 0xff, 4 * sizeof(unsigned long long), m->stream));
    int64_t items = (idx ? n : 0) > (off ? batch + 1 : 0) ? (idx ? n : 0) : (off ? batch + 1 : 0);
    unsigned blocks = cuda_blocks(items, CUDA_BLOCK, (unsigned)m->sm_count * 8);
    if (desc->index_type == EMBER_INDEX_INT32)
        check_kernel<int32_t><<<blocks, CUDA_BLOCK, 0, m->stream>>>(
            idx, idx ? n : 0, desc->num_rows, off, batch, m->flags_dev);
    else
        check_kernel<int64_t><<<blocks, CUDA_BLOCK, 0, m->stream>>>(
            idx, idx ? n : 0, desc->num_rows, off, batch, m->flags_dev);
    CUDA_LAUNCHED(ctx, "check_kernel");
    CUDA_TRY(ctx, cudaMemcpyAsync(m->flags_host, m->flags_dev, 4 * sizeof(unsigned long long),
                                  cudaMemcpyDeviceToHost, m->stream));
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    const unsigned long long none = ~0ull;
    unsigned long long f[4];
    memcpy(f, m->flags_host, sizeof f);
    /* Offsets first (they decide which indices belong to which bag), then indices. */
    if (f[2] != none) {
        problem->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
        problem->position = 0;
        return read_value(ctx, m, off, desc->index_type, 0, &problem->value);
    }
    if (f[1] != none) {
        problem->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
        problem->position = (int64_t)f[1];
        return read_value(ctx, m, off, desc->index_type, problem->position, &problem->value);
    }
    if (f[3] != none) {
        problem->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
        problem->position = batch;
        return read_value(ctx, m, off, desc->index_type, batch, &problem->value);
    }
    if (f[0] != none) {
        problem->kind = EMBER_INDEX_PROBLEM_INDEX;
        problem->position = (int64_t)f[0];
        return read_value(ctx, m, idx, desc->index_type, problem->position, &problem->value);
    }
    if (cacheable) cache_add(m, desc, idx, off);
    return EMBER_STATUS_SUCCESS;
}
