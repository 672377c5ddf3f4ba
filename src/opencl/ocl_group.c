/* ocl_group.c: groups an embedding backward's index positions by table row on the device
 * (stable LSD radix sort of (row, position) pairs, then runs of equal rows), so each row's
 * contributions can be summed in input order without float atomics. See kernels/group.cl. */
#include "opencl/ocl_internal.h"

/* Bits per radix pass at most: 2^11 digit counts per chunk worker. */
#define OCL_RADIX_MAX_BITS 11
/* Positions per chunk worker, at least; and at most this many workers. */
#define OCL_GROUP_MIN_CHUNK 4096
#define OCL_GROUP_MAX_WORKERS 256

static int bit_length(uint64_t v) {
    int b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

/* How the positions are cut among chunk workers and the keys among radix passes. */
typedef struct radix_plan {
    int64_t n, chunk;
    uint32_t workers, sentinel, mask;
    int passes, digit_bits;
} radix_plan;

/* Starts a chunk-worker kernel: they all begin with (key, n, chunk, ...). */
static ocl_call begin_chunk_call(ember_context *ctx, ocl_kernel_id id, cl_mem key,
                                 const radix_plan *rp) {
    ocl_call c = ocl_begin(ctx, id);
    ocl_arg_mem(&c, key);
    ocl_arg_long(&c, rp->n);
    ocl_arg_long(&c, rp->chunk);
    return c;
}

/* In-place exclusive prefix sum of `count` uints, on a single work-item. */
static ember_status scan_exclusive(ember_context *ctx, cl_mem buf, int64_t count) {
    ocl_call c = ocl_begin(ctx, OCL_K_SCAN_EXCLUSIVE);
    ocl_arg_mem(&c, buf);
    ocl_arg_long(&c, count);
    return ocl_launch(ctx, &c, 1, 1);
}

/* Sorts (key, val) by key, ping-ponging between the two halves; *cur ends on the sorted one. */
static ember_status radix_sort(ember_context *ctx, const radix_plan *rp, cl_mem key[2],
                               cl_mem val[2], cl_mem hist, int *cur) {
    for (int p = 0; p < rp->passes; p++) {
        uint32_t shift = (uint32_t)(p * rp->digit_bits);
        ocl_call c = begin_chunk_call(ctx, OCL_K_RADIX_HIST, key[*cur], rp);
        ocl_arg_uint(&c, shift);
        ocl_arg_uint(&c, rp->mask);
        ocl_arg_mem(&c, hist);
        ocl_arg_uint(&c, rp->workers);
        EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, rp->workers, 1));

        EMBER_FORWARD_IF_ERROR(scan_exclusive(ctx, hist, (int64_t)(rp->mask + 1) * rp->workers));

        c = ocl_begin(ctx, OCL_K_RADIX_SCATTER);
        ocl_arg_mem(&c, key[*cur]);
        ocl_arg_mem(&c, val[*cur]);
        ocl_arg_mem(&c, key[1 - *cur]);
        ocl_arg_mem(&c, val[1 - *cur]);
        ocl_arg_long(&c, rp->n);
        ocl_arg_long(&c, rp->chunk);
        ocl_arg_uint(&c, shift);
        ocl_arg_uint(&c, rp->mask);
        ocl_arg_mem(&c, hist);
        ocl_arg_uint(&c, rp->workers);
        EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, rp->workers, 1));
        *cur = 1 - *cur;
    }
    return EMBER_STATUS_SUCCESS;
}

/* Finds the runs of equal rows in the sorted keys: their starts, rows and number (info). */
static ember_status find_runs(ember_context *ctx, const radix_plan *rp, cl_mem sorted_key,
                              cl_mem seg_cnt, cl_mem seg_start, cl_mem ukey, cl_mem info) {
    ocl_call c = begin_chunk_call(ctx, OCL_K_SEG_COUNT, sorted_key, rp);
    ocl_arg_uint(&c, rp->sentinel);
    ocl_arg_mem(&c, seg_cnt);
    ocl_arg_uint(&c, rp->workers);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, rp->workers, 1));

    EMBER_FORWARD_IF_ERROR(scan_exclusive(ctx, seg_cnt, (int64_t)rp->workers));

    c = ocl_begin(ctx, OCL_K_SEG_TOTAL);
    ocl_arg_mem(&c, seg_cnt);
    ocl_arg_uint(&c, rp->workers);
    ocl_arg_long(&c, rp->n);
    ocl_arg_mem(&c, seg_start);
    ocl_arg_mem(&c, info);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, 1, 1));

    c = begin_chunk_call(ctx, OCL_K_SEG_WRITE, sorted_key, rp);
    ocl_arg_uint(&c, rp->sentinel);
    ocl_arg_mem(&c, seg_cnt);
    ocl_arg_mem(&c, info);
    ocl_arg_mem(&c, seg_start);
    ocl_arg_mem(&c, ukey);
    ocl_arg_uint(&c, rp->workers);
    return ocl_launch(ctx, &c, rp->workers, 1);
}

/* Pooled lookups: each position's bag and (MEAN) each bag's 1/count. */
static ember_status bag_info(ember_context *ctx, const ember_lookup_desc *d,
                             const ember_buffer *indices, const ember_buffer *offsets,
                             ocl_groups *g) {
    cl_mem bag_of, inv_count = g->inv_count;
    EMBER_FORWARD_IF_ERROR(
        ocl_scratch(ctx, OCL_S_BAG_OF, (size_t)d->num_indices * sizeof(cl_uint), &bag_of));
    if (d->pooling == EMBER_POOLING_MEAN)
        EMBER_FORWARD_IF_ERROR(
            ocl_scratch(ctx, OCL_S_INV_COUNT, (size_t)d->batch * sizeof(cl_float), &inv_count));
    ocl_call c = ocl_begin(ctx, OCL_K_BAG_INFO);
    ocl_arg_mem(&c, (cl_mem)indices->handle);
    ocl_arg_mem(&c, (cl_mem)offsets->handle);
    ocl_arg_int(&c, ocl_is32(d));
    ocl_arg_int(&c, (int)d->pooling);
    ocl_arg_long(&c, d->padding_idx);
    ocl_arg_mem(&c, bag_of);
    ocl_arg_mem(&c, inv_count);
    ocl_arg_long(&c, d->batch);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, (size_t)d->batch, 16));
    g->bag_of = bag_of;
    g->inv_count = inv_count;
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_group_by_row(ember_context *ctx, const ember_lookup_desc *d,
                              const ember_buffer *indices, const ember_buffer *offsets,
                              ocl_groups *g) {
    int64_t n = d->num_indices;
    /* Keys are rows (padding: num_rows, sorted last) and positions, as 32-bit uints. */
    EMBER_RETURN_IF((uint64_t)d->num_rows >= UINT32_MAX || (uint64_t)n >= UINT32_MAX, ctx,
                    EMBER_STATUS_NOT_SUPPORTED,
                    "OpenCL: grouping supports fewer than 2^32 - 1 rows and indices (%lld rows, "
                    "%lld indices)",
                    (long long)d->num_rows, (long long)n);
    radix_plan rp = {.n = n, .sentinel = (uint32_t)d->num_rows};
    int bits = bit_length(rp.sentinel);
    if (bits == 0) bits = 1;
    rp.passes = (bits + OCL_RADIX_MAX_BITS - 1) / OCL_RADIX_MAX_BITS;
    rp.digit_bits = (bits + rp.passes - 1) / rp.passes;
    rp.mask = (1u << rp.digit_bits) - 1;

    int64_t workers = n / OCL_GROUP_MIN_CHUNK;
    if (workers < 1) workers = 1;
    if (workers > OCL_GROUP_MAX_WORKERS) workers = OCL_GROUP_MAX_WORKERS;
    rp.chunk = (n + workers - 1) / workers;
    rp.workers = (uint32_t)((n + rp.chunk - 1) / rp.chunk);
    uint32_t G = rp.workers;

    size_t nb = (size_t)n * sizeof(cl_uint);
    cl_mem key[2], val[2], hist, seg_start, ukey, seg_cnt, info;
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_KEY_A, nb, &key[0]));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_VAL_A, nb, &val[0]));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_KEY_B, nb, &key[1]));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_VAL_B, nb, &val[1]));
    EMBER_FORWARD_IF_ERROR(
        ocl_scratch(ctx, OCL_S_HIST, ((size_t)(rp.mask + 1) * G + 1) * sizeof(cl_uint), &hist));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_SEG_START, nb + sizeof(cl_uint), &seg_start));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_UKEY, nb, &ukey));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_SEG_CNT, (G + 1) * sizeof(cl_uint), &seg_cnt));
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_INFO, sizeof(cl_uint), &info));

    ocl_call c = ocl_begin(ctx, OCL_K_GROUP_KEYS);
    ocl_arg_mem(&c, (cl_mem)indices->handle);
    ocl_arg_int(&c, ocl_is32(d));
    ocl_arg_long(&c, d->padding_idx);
    ocl_arg_uint(&c, rp.sentinel);
    ocl_arg_mem(&c, key[0]);
    ocl_arg_mem(&c, val[0]);
    ocl_arg_long(&c, n);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, (size_t)n, 64));

    int cur = 0;
    EMBER_FORWARD_IF_ERROR(radix_sort(ctx, &rp, key, val, hist, &cur));
    EMBER_FORWARD_IF_ERROR(find_runs(ctx, &rp, key[cur], seg_cnt, seg_start, ukey, info));

    g->seg_start = seg_start;
    g->ukey = ukey;
    g->sorted_pos = val[cur];
    g->info = info;
    g->n = n;
    g->bag_of = g->inv_count = ocl_of(ctx)->scratch[OCL_S_FLAG];
    if (d->pooling == EMBER_POOLING_NONE) return EMBER_STATUS_SUCCESS;
    return bag_info(ctx, d, indices, offsets, g);
}

void ocl_group_args(ocl_call *c, const ember_lookup_desc *d, const ocl_groups *g,
                    const ember_buffer *grad_out, const ember_buffer *weights, ember_context *ctx) {
    ocl_arg_mem(c, g->seg_start);
    ocl_arg_mem(c, g->ukey);
    ocl_arg_mem(c, g->sorted_pos);
    ocl_arg_mem(c, g->info);
    ocl_arg_mem(c, (cl_mem)grad_out->handle);
    ocl_arg_long(c, d->out_row_stride);
    ocl_arg_long(c, d->out_col_offset);
    ocl_arg_long(c, d->dim);
    ocl_arg_int(c, d->pooling != EMBER_POOLING_NONE);
    ocl_arg_mem(c, g->bag_of);
    ocl_arg_mem(c, ocl_mem(ctx, weights));
    ocl_arg_int(c, weights != NULL);
    ocl_arg_mem(c, g->inv_count);
    ocl_arg_int(c, d->pooling == EMBER_POOLING_MEAN);
    ocl_arg_long(c, g->n);
}
