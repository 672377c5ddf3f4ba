/* check_inputs.c: the random inputs of a case, drawn from its seed (util/rng.h), so a
 * printed seed reproduces every value. */
#include "check_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float chk_uniform(ember_rng *r) {
    /* 24 random bits: an exact float in [-1, 1). */
    int32_t v = (int32_t)(ember_rng_next(r) >> 40) - (1 << 23);
    return (float)v / (float)(1 << 23);
}

int64_t chk_below(ember_rng *r, int64_t n) {
    return n <= 1 ? 0 : (int64_t)(ember_rng_next(r) % (uint64_t)n);
}

void chk_fill(ember_rng *r, float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * 0.5f * (chk_uniform(r) + 1.0f);
}

static float sentinel_float(void) {
    uint32_t bits = CHK_SENTINEL;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void chk_optimizer_for(const ember_check_case *c, ember_optimizer *opt) {
    float lr = c->opt == EMBER_OPTIMIZER_SGD ? 0.1f : 0.05f;
    ember_optimizer_init(opt, c->opt, lr);
    opt->weight_decay = c->weight_decay;
    if (c->opt == EMBER_OPTIMIZER_ADAM) opt->step = 3; /* bias correction not trivial */
}

/* Zipf(1.05) over ranks 0..rows-1 by inverse CDF; rank 0 is the hottest row. */
static void draw_zipf(ember_rng *r, int64_t *idx, int64_t n, int64_t rows) {
    double *cdf = malloc((size_t)rows * sizeof *cdf);
    if (!cdf) {
        for (int64_t i = 0; i < n; i++) idx[i] = chk_below(r, rows);
        return;
    }
    double acc = 0;
    for (int64_t k = 0; k < rows; k++) cdf[k] = (acc += pow((double)(k + 1), -1.05));
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(ember_rng_next(r) >> 11) / 9007199254740992.0 * acc;
        int64_t lo = 0, hi = rows - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        idx[i] = lo;
    }
    free(cdf);
}

static void draw_indices(const ember_check_case *c, ember_rng *r, int64_t *idx, int64_t n) {
    int64_t rows = c->rows;
    switch (c->dist) {
    case EMBER_CHECK_DIST_DUPLICATES: {
        int64_t hot[3] = {0, rows - 1, rows / 2};
        for (int64_t i = 0; i < n; i++)
            idx[i] = chk_below(r, 10) < 9 ? hot[chk_below(r, 3)] : chk_below(r, rows);
        break;
    }
    case EMBER_CHECK_DIST_ALL_EQUAL:
        for (int64_t i = 0; i < n; i++) idx[i] = rows - 1;
        break;
    case EMBER_CHECK_DIST_ZIPF:
        draw_zipf(r, idx, n, rows);
        break;
    case EMBER_CHECK_DIST_UNIFORM:
    default:
        for (int64_t i = 0; i < n; i++) idx[i] = chk_below(r, rows);
        /* The edges of the table, where off-by-one errors show. */
        if (n > 0) idx[0] = 0;
        if (n > 1) idx[n - 1] = rows - 1;
        break;
    }
}

int64_t chk_max_run(const chk_emb *e) {
    int64_t rows = e->desc.num_rows, best = 0;
    int64_t *count = calloc((size_t)(rows > 0 ? rows : 1), sizeof *count);
    if (!count) return INT64_MAX; /* unknown: the caller falls back to the sum bound */
    for (int64_t p = 0; p < e->desc.num_indices; p++) {
        int64_t i = e->idx[p];
        if (i == e->desc.padding_idx || i < 0 || i >= rows) continue;
        if (++count[i] > best) best = count[i];
    }
    free(count);
    return best;
}

int chk_det_bit_exact(const ember_context *ctx, const ember_context *ref, const chk_emb *e) {
    if (!ref) return 0;
    return ember_context_kind(ctx) != EMBER_BACKEND_CUDA ||
           chk_max_run(e) <= EMBER_TOL_CUDA_DET_RUN;
}

void chk_emb_free(chk_emb *e) {
    free(e->idx);
    free(e->off);
    free(e->weights);
    free(e->table);
    free(e->out_init);
    free(e->grad_out);
    free(e->grad_init);
    free(e->state);
    free(e->uids);
    free(e->ugrads);
    memset(e, 0, sizeof *e);
}

/* calloc that never asks for 0 bytes, so NULL always means failure. */
static void *alloc0(int64_t n, size_t size) {
    return calloc(n > 0 ? (size_t)n : 1, size);
}

int chk_emb_make(const ember_check_case *c, uint64_t seed, chk_emb *e) {
    memset(e, 0, sizeof *e);
    ember_rng rng = {seed};
    int64_t R = c->rows, D = c->dim, B = c->batch, ni = B;
    int pooled = c->pooling != EMBER_POOLING_NONE;
    if (pooled) {
        e->off = alloc0(B + 1, sizeof *e->off);
        if (!e->off) return -1;
        ni = 0;
        for (int64_t b = 0; b < B; b++) {
            e->off[b] = ni;
            int64_t len = chk_below(&rng, 2 * c->bag + 1);
            if (c->empty_bags && (b == 0 || b % 3 == 1)) len = 0;
            ni += len;
        }
        e->off[B] = ni;
    }
    ember_lookup_desc_init(&e->desc, R, D, ni, B, c->pooling);
    e->desc.index_type = c->index_type;
    e->desc.out_row_stride = D + c->stride_extra;
    e->desc.out_col_offset = c->col_offset;
    e->desc.accumulate = c->accumulate;
    int64_t S = e->desc.out_row_stride;

    e->idx = alloc0(ni, sizeof *e->idx);
    e->table = alloc0(R * D, sizeof *e->table);
    e->out_init = alloc0(B * S, sizeof *e->out_init);
    e->grad_out = alloc0(B * S, sizeof *e->grad_out);
    e->grad_init = alloc0(R * D, sizeof *e->grad_init);
    if (!e->idx || !e->table || !e->out_init || !e->grad_out || !e->grad_init) return -1;
    draw_indices(c, &rng, e->idx, ni);
    if (c->padding) e->desc.padding_idx = ni > 0 ? e->idx[ni / 2] : 0;
    if (c->weights) {
        e->weights = alloc0(ni, sizeof *e->weights);
        if (!e->weights) return -1;
        chk_fill(&rng, e->weights, ni, -1.0f, 1.0f);
    }
    chk_fill(&rng, e->table, R * D, -1.0f, 1.0f);
    if (c->special && ni > 0) {
        int64_t c1 = D > 1 ? 1 : 0;
        e->table[e->idx[0] * D] = NAN;
        e->table[e->idx[ni / 3] * D + c1] = INFINITY;
        e->table[e->idx[(2 * ni) / 3] * D + c1] = -INFINITY;
    }
    float sentinel = sentinel_float();
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < S; j++) {
            int in_slice = j >= c->col_offset && j < c->col_offset + D;
            e->out_init[b * S + j] = in_slice && c->accumulate ? chk_uniform(&rng) : sentinel;
            /* Outside the slice a value that would wreck any sum that read it. */
            e->grad_out[b * S + j] = in_slice ? chk_uniform(&rng) : 1e30f;
        }
    }
    chk_fill(&rng, e->grad_init, R * D, -1.0f, 1.0f);

    chk_optimizer_for(c, &e->opt);
    e->state_n = ember_optimizer_state_size(c->opt, R, D);
    if (e->state_n > 0) {
        e->state = alloc0(e->state_n, sizeof *e->state);
        if (!e->state) return -1;
        chk_fill(&rng, e->state, e->state_n, 0.1f, 1.0f);
    }

    /* Sparse step input: about half the rows, always the first and the last. */
    e->uids = alloc0(R, sizeof *e->uids);
    e->ugrads = alloc0(R * D, sizeof *e->ugrads);
    if (!e->uids || !e->ugrads) return -1;
    if (B > 0) {
        for (int64_t row = 0; row < R; row++)
            if (row == 0 || row == R - 1 || chk_below(&rng, 2)) e->uids[e->num_unique++] = row;
    }
    chk_fill(&rng, e->ugrads, e->num_unique * D, -1.0f, 1.0f);
    return 0;
}
