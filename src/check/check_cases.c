/* check_cases.c: THE conformance case list (the Criterion suite and `ember check` both run
 * exactly these). Names are built from the fields and each seed is a hash of the name, so
 * adding a case never changes another's inputs. */
#include "check_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list grows as cases are added: no count to outgrow. */
static ember_check_case *cases;
static size_t ncases, capacity;
static int incomplete; /* 1: growing it failed; every case run then fails (check_runner.c) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const op_names[EMBER_CHECK_OP_COUNT_] = {"lookup",
                                                            "backward_dense",
                                                            "backward_sparse",
                                                            "sparse_step",
                                                            "backward_update",
                                                            "dense_step",
                                                            "dense_forward",
                                                            "dense_backward",
                                                            "sigmoid",
                                                            "bce",
                                                            "seed",
                                                            "errors",
                                                            "lookup_batched",
                                                            "backward_update_batched",
                                                            "out_of_memory"};

const char *ember_check_op_name(ember_check_op op) {
    return (int)op >= 0 && op < EMBER_CHECK_OP_COUNT_ ? op_names[op] : "?";
}

static const char *pool_name(ember_pooling p) {
    return p == EMBER_POOLING_SUM ? "sum" : p == EMBER_POOLING_MEAN ? "mean" : "none";
}
static const char *dist_name(ember_check_dist d) {
    static const char *const n[] = {"uniform", "dups", "allequal", "zipf"};
    return n[d];
}
static const char *opt_name(ember_optimizer_kind k) {
    static const char *const n[] = {"sgd", "adagrad", "rowwise", "adam"};
    return n[k];
}
static const char *err_name(int e) {
    static const char *const n[] = {"index_negative",    "index_too_big",   "offset_first",
                                    "offset_decreasing", "offset_last",     "out_too_small",
                                    "table_too_small",   "batch_mismatch",  "slice_too_wide",
                                    "weights_with_mean", "padding_too_big", "rowwise_dense",
                                    "dense_too_small",   "wrong_context",   "batch_differs",
                                    "stride_differs",    "two_tables_bad"};
    return n[e];
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h & 0xFFFFFFFFull; /* short enough to type */
}

static int is_embedding(ember_check_op op) {
    return op <= EMBER_CHECK_BACKWARD_UPDATE;
}

static void make_name(ember_check_case *c) {
    char *p = c->name;
    size_t left = sizeof c->name;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(p, left, __VA_ARGS__);                                                   \
        if (n_ > 0 && (size_t)n_ < left) p += n_, left -= (size_t)n_;                              \
    } while (0)
    PUT("%s", ember_check_op_name(c->op));
    switch (c->op) {
    case EMBER_CHECK_SPARSE_STEP:
        PUT("/%s%s/%lldx%lld", opt_name(c->opt), c->weight_decay != 0 ? "+wd" : "",
            (long long)c->rows, (long long)c->dim);
        break;
    case EMBER_CHECK_DENSE_STEP:
        PUT("/%s%s/n%lld", opt_name(c->opt), c->weight_decay != 0 ? "+wd" : "", (long long)c->n);
        break;
    case EMBER_CHECK_DENSE_FORWARD:
    case EMBER_CHECK_DENSE_BACKWARD:
        PUT("/%lldx%lldx%lld%s%s%s", (long long)c->batch, (long long)c->in, (long long)c->out,
            c->act == EMBER_ACTIVATION_RELU ? "/relu" : "", c->bias ? "/bias" : "",
            c->no_dx ? "/nodx" : "");
        if (c->tf32) PUT("/tf32");
        break;
    case EMBER_CHECK_OUT_OF_MEMORY:
        if (c->alloc_bytes == SIZE_MAX)
            PUT("/size_max");
        else
            PUT("/%llu_bytes", (unsigned long long)c->alloc_bytes);
        break;
    case EMBER_CHECK_SIGMOID:
    case EMBER_CHECK_BCE:
        PUT("/n%lld%s%s", (long long)c->n, c->special ? "/nan_inf" : "",
            c->head_outputs == 1   ? "/loss_only"
            : c->head_outputs == 2 ? "/grad_only"
                                   : "");
        break;
    case EMBER_CHECK_SEED:
        PUT("/%s", c->seed_kind == EMBER_CHECK_SEED_WALKTHROUGH_SPARSE  ? "walkthrough_sparse"
                   : c->seed_kind == EMBER_CHECK_SEED_WALKTHROUGH_FUSED ? "walkthrough_fused"
                                                                        : "onehot");
        if (c->seed_kind == EMBER_CHECK_SEED_ONEHOT)
            PUT("/%lldx%lldb%lld", (long long)c->rows, (long long)c->dim, (long long)c->batch);
        break;
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED:
        if (c->op == EMBER_CHECK_BACKWARD_UPDATE_BATCHED)
            PUT("/%s%s/%s", opt_name(c->opt), c->weight_decay != 0 ? "+wd" : "",
                c->mode == EMBER_REDUCTION_DETERMINISTIC ? "det" : "atomic");
        PUT("/%dt/v%d/b%lldl%lld", c->num_tables, c->first_variant, (long long)c->batch,
            (long long)c->bag);
        if (c->stride_extra) PUT("/gap%lld", (long long)c->stride_extra);
        if (c->accumulate) PUT("/acc");
        break;
    case EMBER_CHECK_ERRORS:
        PUT("/%s/%s/%s/%s", ember_check_op_name(c->target), err_name(c->error),
            pool_name(c->pooling), c->index_type == EMBER_INDEX_INT32 ? "int32" : "int64");
        break;
    default:
        break;
    }
    if (is_embedding(c->op) && c->op != EMBER_CHECK_SPARSE_STEP) {
        if (c->op == EMBER_CHECK_BACKWARD_UPDATE)
            PUT("/%s%s", opt_name(c->opt), c->weight_decay != 0 ? "+wd" : "");
        if (c->op != EMBER_CHECK_LOOKUP)
            PUT("/%s", c->mode == EMBER_REDUCTION_DETERMINISTIC ? "det" : "atomic");
        PUT("/%s/%s/%s/%lldx%lldb%lld", pool_name(c->pooling),
            c->index_type == EMBER_INDEX_INT32 ? "int32" : "int64", dist_name(c->dist),
            (long long)c->rows, (long long)c->dim, (long long)c->batch);
        if (c->pooling != EMBER_POOLING_NONE) PUT("l%lld", (long long)c->bag);
        if (c->weights) PUT("/weights");
        if (c->padding) PUT("/pad");
        if (c->empty_bags) PUT("/emptybags");
        if (c->stride_extra)
            PUT("/stride+%lldcol%lld", (long long)c->stride_extra, (long long)c->col_offset);
        if (c->accumulate) PUT("/acc");
        if (c->special) PUT("/nan_inf");
    }
    if (c->wrapped) PUT("/wrapped");
    if (c->full_only) PUT("/large");
#undef PUT
}

static void add(ember_check_case c) {
    if (ncases == capacity) {
        size_t grown = capacity ? 2 * capacity : 256;
        ember_check_case *p = realloc(cases, grown * sizeof *p);
        if (!p) {
            /* A silently shorter list would pass as a complete one: say so, and make every
             * case that does run fail with the reason (chk_case_list_incomplete). */
            if (!incomplete)
                fprintf(stderr,
                        "ember check: out of memory building the case list after %zu "
                        "cases\n",
                        ncases);
            incomplete = 1;
            return;
        }
        cases = p, capacity = grown;
    }
    make_name(&c);
    c.seed = fnv1a(c.name);
    cases[ncases++] = c;
}

/* An embedding case with defaults: SUM pooling, int64, uniform, atomic, SGD. */
static ember_check_case emb(ember_check_op op, int64_t rows, int64_t dim, int64_t batch,
                            int64_t bag) {
    ember_check_case c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.rows = rows, c.dim = dim, c.batch = batch, c.bag = bag;
    c.pooling = EMBER_POOLING_SUM;
    return c;
}

static ember_check_case with_pool(ember_check_case c, ember_pooling p) {
    c.pooling = p;
    return c;
}

static void add_lookup_cases(void) {
    const ember_check_op L = EMBER_CHECK_LOOKUP;
    for (int p = 0; p < 3; p++)
        for (int it = 0; it < 2; it++) {
            ember_check_case c = with_pool(emb(L, 93, 7, 13, 3), (ember_pooling)p);
            c.index_type = (ember_index_type)it;
            add(c);
        }
    for (int d = 1; d < 4; d++) {
        ember_check_case c = emb(L, 93, 7, 13, 4);
        c.dist = (ember_check_dist)d;
        add(c);
        add(with_pool(c, EMBER_POOLING_NONE));
    }
    {
        ember_check_case c = emb(L, 1000, 16, 64, 8);
        c.dist = EMBER_CHECK_DIST_ZIPF;
        add(c);
        add(with_pool(c, EMBER_POOLING_MEAN));
    }
    add(with_pool(emb(L, 1, 1, 1, 1), EMBER_POOLING_NONE));
    add(emb(L, 1, 1, 1, 1));
    add(with_pool(emb(L, 7, 5, 7, 2), EMBER_POOLING_MEAN));
    add(emb(L, 7, 33, 9, 2)); /* dim one past a multiple of 32 */
    for (int p = 0; p < 3; p++) {
        ember_check_case c = with_pool(emb(L, 93, 7, 13, 3), (ember_pooling)p);
        c.padding = 1;
        add(c);
    }
    {
        ember_check_case c = emb(L, 93, 7, 13, 3);
        c.weights = 1;
        add(c);
        c.index_type = EMBER_INDEX_INT32;
        add(c);
        c.padding = 1;
        add(c);
    }
    {
        ember_check_case c = emb(L, 93, 7, 13, 3);
        c.empty_bags = 1;
        add(c);
        add(with_pool(c, EMBER_POOLING_MEAN));
    }
    /* all-padding bags: MEAN counts nothing */
    {
        ember_check_case c = with_pool(emb(L, 5, 3, 4, 2), EMBER_POOLING_MEAN);
        c.dist = EMBER_CHECK_DIST_ALL_EQUAL;
        c.padding = 1;
        add(c);
    }
    /* empty batch */
    add(with_pool(emb(L, 93, 7, 0, 3), EMBER_POOLING_NONE));
    add(emb(L, 93, 7, 0, 3));
    /* a column slice of a wider output, overwrite and accumulate */
    for (int p = 0; p < 2; p++)
        for (int acc = 0; acc < 2; acc++) {
            ember_check_case c =
                with_pool(emb(L, 93, 7, 13, 3), p ? EMBER_POOLING_SUM : EMBER_POOLING_NONE);
            c.stride_extra = 5, c.col_offset = 3, c.accumulate = acc;
            add(c);
        }
    {
        ember_check_case c = with_pool(emb(L, 93, 7, 13, 3), EMBER_POOLING_MEAN);
        c.stride_extra = 2;
        c.col_offset = 0;
        c.accumulate = 1;
        add(c);
    }
    /* NaN / infinity parity */
    {
        ember_check_case c = emb(L, 93, 7, 13, 3);
        c.special = 1;
        add(c);
        add(with_pool(c, EMBER_POOLING_NONE));
        add(with_pool(c, EMBER_POOLING_MEAN));
    }
    /* wide rows (a GPU kernel's other column paths): d=256 MEAN, int32, padding, a slice */
    {
        ember_check_case c = with_pool(emb(L, 2000, 256, 40, 20), EMBER_POOLING_MEAN);
        c.index_type = EMBER_INDEX_INT32, c.padding = 1, c.stride_extra = 8, c.col_offset = 4;
        add(c);
    }
    /* medium: big enough for the CPU backend to use both threads */
    {
        ember_check_case c = emb(L, 5000, 64, 256, 8);
        c.dist = EMBER_CHECK_DIST_ZIPF;
        add(c);
        add(with_pool(c, EMBER_POOLING_MEAN));
    }
    /* large (--full): FBGEMM-like shapes */
    {
        ember_check_case c = emb(L, 100000, 64, 2048, 20);
        c.full_only = 1;
        add(c);
        c.dist = EMBER_CHECK_DIST_ZIPF;
        add(c);
    }
    {
        ember_check_case c = with_pool(emb(L, 100000, 128, 4096, 1), EMBER_POOLING_NONE);
        c.full_only = 1;
        add(c);
    }
}

static void add_backward_cases(void) {
    for (int op = EMBER_CHECK_BACKWARD_DENSE; op <= EMBER_CHECK_BACKWARD_SPARSE; op++) {
        for (int m = 0; m < 2; m++) {
            ember_check_case c = emb((ember_check_op)op, 93, 7, 13, 3);
            c.mode = (ember_reduction_mode)m;
            for (int p = 0; p < 3; p++) add(with_pool(c, (ember_pooling)p));
            for (int d = 1; d < 4; d++) {
                ember_check_case x = c;
                x.dist = (ember_check_dist)d;
                x.bag = 6;
                add(x);
            }
            {
                ember_check_case x = c;
                x.weights = 1;
                add(x);
                x.index_type = EMBER_INDEX_INT32;
                add(x);
            }
            {
                ember_check_case x = c;
                x.padding = 1;
                x.dist = EMBER_CHECK_DIST_DUPLICATES;
                add(x);
                add(with_pool(x, EMBER_POOLING_MEAN));
            }
            {
                ember_check_case x = with_pool(c, EMBER_POOLING_MEAN);
                x.empty_bags = 1;
                add(x);
            }
            {
                ember_check_case x = c;
                x.stride_extra = 5, x.col_offset = 3;
                add(x);
                add(with_pool(x, EMBER_POOLING_NONE));
            }
            {
                ember_check_case x = c;
                x.batch = 0;
                add(x);
            }
            {
                ember_check_case x = with_pool(c, EMBER_POOLING_NONE);
                x.rows = x.dim = x.batch = 1;
                add(x);
            }
            /* maximum contention: every index the same row, many of them */
            {
                ember_check_case x = emb((ember_check_op)op, 7, 5, 64, 16);
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ALL_EQUAL;
                add(x);
            }
            {
                ember_check_case x = emb((ember_check_op)op, 1000, 16, 64, 8);
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ZIPF;
                add(x);
            }
            /* one hot row of 128 floats, weighted, far more than 64 times (CUDA splits such
             * runs in DETERMINISTIC mode) */
            {
                ember_check_case x = emb((ember_check_op)op, 9, 128, 200, 10);
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ALL_EQUAL;
                x.weights = 1;
                add(x);
            }
            /* medium: the CPU uses both threads, so DETERMINISTIC's 1-vs-2-thread identity means
             * something */
            {
                ember_check_case x = emb((ember_check_op)op, 5000, 64, 256, 8);
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ZIPF;
                add(x);
                x.dist = EMBER_CHECK_DIST_ALL_EQUAL;
                add(x);
            }
            {
                ember_check_case x = emb((ember_check_op)op, 100000, 64, 2048, 20);
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ZIPF;
                x.full_only = 1;
                add(x);
            }
        }
    }
}

static void add_optimizer_cases(void) {
    for (int o = 0; o < 3; o++) {
        for (int wd = 0; wd < 2; wd++) {
            ember_check_case c = emb(EMBER_CHECK_SPARSE_STEP, 93, 7, 1, 1);
            c.opt = (ember_optimizer_kind)o;
            c.weight_decay = wd ? 0.01f : 0.0f;
            add(c);
        }
        {
            ember_check_case c = emb(EMBER_CHECK_SPARSE_STEP, 1, 1, 1, 1);
            c.opt = (ember_optimizer_kind)o;
            add(c);
        }
        {
            ember_check_case c = emb(EMBER_CHECK_SPARSE_STEP, 100000, 64, 1, 1);
            c.opt = (ember_optimizer_kind)o;
            c.full_only = 1;
            add(c);
        }
        for (int m = 0; m < 2; m++) {
            ember_check_case c = emb(EMBER_CHECK_BACKWARD_UPDATE, 93, 7, 13, 3);
            c.opt = (ember_optimizer_kind)o;
            c.mode = (ember_reduction_mode)m;
            add(c);
            {
                ember_check_case x = c;
                x.dist = EMBER_CHECK_DIST_DUPLICATES;
                x.bag = 6;
                x.weight_decay = 0.01f;
                add(x);
            }
            {
                ember_check_case x = with_pool(c, EMBER_POOLING_MEAN);
                x.padding = 1;
                x.index_type = EMBER_INDEX_INT32;
                add(x);
            }
            {
                ember_check_case x = emb(EMBER_CHECK_BACKWARD_UPDATE, 7, 5, 32, 8);
                x.opt = c.opt;
                x.mode = c.mode;
                x.dist = EMBER_CHECK_DIST_ALL_EQUAL;
                add(x);
            }
            {
                ember_check_case x = with_pool(emb(EMBER_CHECK_BACKWARD_UPDATE, 2000, 256, 40, 20),
                                               EMBER_POOLING_MEAN);
                x.opt = c.opt;
                x.mode = c.mode;
                x.index_type = EMBER_INDEX_INT32, x.padding = 1;
                add(x);
            }
        }
        for (int m = 0; m < 2; m++) {
            ember_check_case c = emb(EMBER_CHECK_BACKWARD_UPDATE, 5000, 64, 256, 8);
            c.opt = (ember_optimizer_kind)o, c.mode = (ember_reduction_mode)m,
            c.dist = EMBER_CHECK_DIST_ZIPF;
            add(c);
        }
        {
            ember_check_case c = emb(EMBER_CHECK_BACKWARD_UPDATE, 100000, 64, 2048, 20);
            c.opt = (ember_optimizer_kind)o;
            c.dist = EMBER_CHECK_DIST_ZIPF;
            c.full_only = 1;
            add(c);
        }
        {
            ember_check_case c = emb(EMBER_CHECK_BACKWARD_UPDATE, 93, 7, 13, 3);
            c.opt = (ember_optimizer_kind)o;
            c.weights = 1;
            c.stride_extra = 4;
            c.col_offset = 1;
            add(c);
        }
        {
            ember_check_case c = emb(EMBER_CHECK_BACKWARD_UPDATE, 93, 7, 0, 3);
            c.opt = (ember_optimizer_kind)o;
            add(c);
        }
    }
    static const ember_optimizer_kind dense_kinds[] = {EMBER_OPTIMIZER_SGD, EMBER_OPTIMIZER_ADAGRAD,
                                                       EMBER_OPTIMIZER_ADAM};
    static const int64_t ns[] = {1, 93, 1000};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 3; i++) {
            ember_check_case c;
            memset(&c, 0, sizeof c);
            c.op = EMBER_CHECK_DENSE_STEP;
            c.opt = dense_kinds[k];
            c.n = ns[i];
            add(c);
            if (i == 1) {
                c.weight_decay = 0.01f;
                add(c);
            }
        }
        ember_check_case c;
        memset(&c, 0, sizeof c);
        c.op = EMBER_CHECK_DENSE_STEP, c.opt = dense_kinds[k], c.n = 1 << 20, c.full_only = 1;
        add(c);
    }
}

static void add_dense_cases(void) {
    static const int64_t shapes[][3] = {{1, 1, 1},    {7, 93, 5}, {13, 7, 93},
                                        {64, 37, 61}, {0, 5, 3},  {3, 1, 7}};
    for (int op = EMBER_CHECK_DENSE_FORWARD; op <= EMBER_CHECK_DENSE_BACKWARD; op++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int v = 0; v < 4; v++) {
                /* every shape with ReLU+bias; the first three in all four variants */
                if (s >= 3 && v != 3) continue;
                ember_check_case c;
                memset(&c, 0, sizeof c);
                c.op = (ember_check_op)op;
                c.batch = shapes[s][0], c.in = shapes[s][1], c.out = shapes[s][2];
                c.act = (v & 1) ? EMBER_ACTIVATION_RELU : EMBER_ACTIVATION_NONE;
                c.bias = (v & 2) != 0;
                add(c);
            }
        }
        ember_check_case c;
        memset(&c, 0, sizeof c);
        c.op = (ember_check_op)op;
        c.batch = 13, c.in = 7, c.out = 93, c.act = EMBER_ACTIVATION_RELU, c.bias = 1;
        if (op == EMBER_CHECK_DENSE_BACKWARD) {
            c.no_dx = 1;
            add(c);
            c.no_dx = 0;
        }
        /* TF32 allowed: within the TF32 bound where the backend uses it (CUDA), bit for bit
         * the strict result where it does not */
        ember_check_case t = c;
        t.tf32 = 1;
        add(t);
        t.batch = 64, t.in = 37, t.out = 61, t.act = EMBER_ACTIVATION_NONE, t.bias = 0;
        add(t);
        c.batch = 512, c.in = 400, c.out = 400, c.full_only = 1;
        add(c);
        c.tf32 = 1;
        add(c);
    }
}

/* Recovery after a device out-of-memory: far more than any device has, and a size whose
 * rounding up to an alignment or guard would overflow. */
static void add_out_of_memory_cases(void) {
    ember_check_case c;
    memset(&c, 0, sizeof c);
    c.op = EMBER_CHECK_OUT_OF_MEMORY;
    c.alloc_bytes = (uint64_t)1 << 50; /* 1 PiB */
    add(c);
    c.alloc_bytes = SIZE_MAX;
    add(c);
}

static void add_head_cases(void) {
    static const int64_t ns[] = {1, 7, 93, 1000};
    for (int op = EMBER_CHECK_SIGMOID; op <= EMBER_CHECK_BCE; op++) {
        for (int i = 0; i < 4; i++) {
            ember_check_case c;
            memset(&c, 0, sizeof c);
            c.op = (ember_check_op)op;
            c.n = ns[i];
            add(c);
            if (i == 2) {
                c.special = 1;
                add(c);
            }
        }
        ember_check_case c;
        memset(&c, 0, sizeof c);
        c.op = (ember_check_op)op;
        if (op == EMBER_CHECK_BCE) {
            c.n = 0;
            add(c);
            c.n = 93;
            c.head_outputs = 1;
            add(c);
            c.head_outputs = 2;
            add(c);
            c.head_outputs = 0;
        }
        c.n = 1 << 20, c.full_only = 1;
        add(c);
    }
}

static void add_seed_cases(void) {
    for (int k = 0; k < 3; k++) {
        ember_check_case c;
        memset(&c, 0, sizeof c);
        c.op = EMBER_CHECK_SEED;
        c.seed_kind = k;
        c.rows = 7, c.dim = 5, c.batch = 9;
        add(c);
        if (k == EMBER_CHECK_SEED_ONEHOT) {
            c.rows = 93, c.dim = 7, c.batch = 100;
            add(c);
        }
    }
}

static void add_error(ember_check_op target, int err, ember_pooling pool, ember_index_type it) {
    ember_check_case c;
    memset(&c, 0, sizeof c);
    c.op = EMBER_CHECK_ERRORS;
    c.target = target;
    c.error = err;
    c.pooling = pool;
    c.index_type = it;
    add(c);
}

static void add_error_cases(void) {
    const ember_check_op emb_ops[] = {EMBER_CHECK_LOOKUP, EMBER_CHECK_BACKWARD_DENSE,
                                      EMBER_CHECK_BACKWARD_SPARSE, EMBER_CHECK_BACKWARD_UPDATE};
    for (int t = 0; t < 4; t++) {
        for (int e = EMBER_CHECK_ERR_INDEX_NEGATIVE; e <= EMBER_CHECK_ERR_OUT_TOO_SMALL; e++)
            add_error(emb_ops[t], e, EMBER_POOLING_SUM, EMBER_INDEX_INT64);
        add_error(emb_ops[t], EMBER_CHECK_ERR_INDEX_TOO_BIG, EMBER_POOLING_NONE, EMBER_INDEX_INT64);
        add_error(emb_ops[t], EMBER_CHECK_ERR_INDEX_TOO_BIG, EMBER_POOLING_MEAN, EMBER_INDEX_INT32);
        add_error(emb_ops[t], EMBER_CHECK_ERR_OFFSET_DECREASING, EMBER_POOLING_MEAN,
                  EMBER_INDEX_INT32);
        add_error(emb_ops[t], EMBER_CHECK_ERR_BATCH_MISMATCH, EMBER_POOLING_NONE,
                  EMBER_INDEX_INT64);
        add_error(emb_ops[t], EMBER_CHECK_ERR_SLICE_TOO_WIDE, EMBER_POOLING_SUM, EMBER_INDEX_INT64);
        add_error(emb_ops[t], EMBER_CHECK_ERR_WEIGHTS_WITH_MEAN, EMBER_POOLING_MEAN,
                  EMBER_INDEX_INT64);
        add_error(emb_ops[t], EMBER_CHECK_ERR_PADDING_TOO_BIG, EMBER_POOLING_SUM,
                  EMBER_INDEX_INT64);
    }
    add_error(EMBER_CHECK_LOOKUP, EMBER_CHECK_ERR_TABLE_TOO_SMALL, EMBER_POOLING_SUM,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_BACKWARD_UPDATE, EMBER_CHECK_ERR_TABLE_TOO_SMALL, EMBER_POOLING_SUM,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_SPARSE_STEP, EMBER_CHECK_ERR_INDEX_NEGATIVE, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_SPARSE_STEP, EMBER_CHECK_ERR_INDEX_TOO_BIG, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_SPARSE_STEP, EMBER_CHECK_ERR_TABLE_TOO_SMALL, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_SPARSE_STEP, EMBER_CHECK_ERR_OUT_TOO_SMALL, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_DENSE_STEP, EMBER_CHECK_ERR_ROWWISE_DENSE, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_DENSE_FORWARD, EMBER_CHECK_ERR_DENSE_TOO_SMALL, EMBER_POOLING_NONE,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_LOOKUP, EMBER_CHECK_ERR_WRONG_CONTEXT, EMBER_POOLING_SUM,
              EMBER_INDEX_INT64);
    add_error(EMBER_CHECK_BACKWARD_UPDATE, EMBER_CHECK_ERR_WRONG_CONTEXT, EMBER_POOLING_SUM,
              EMBER_INDEX_INT64);
    /* batched ops: the bad input in table 2 of 3 */
    const ember_check_op batched_ops[] = {EMBER_CHECK_LOOKUP_BATCHED,
                                          EMBER_CHECK_BACKWARD_UPDATE_BATCHED};
    for (int t = 0; t < 2; t++) {
        for (int e = EMBER_CHECK_ERR_INDEX_NEGATIVE; e <= EMBER_CHECK_ERR_OFFSET_LAST; e++)
            add_error(batched_ops[t], e, EMBER_POOLING_SUM, EMBER_INDEX_INT64);
        add_error(batched_ops[t], EMBER_CHECK_ERR_INDEX_TOO_BIG, EMBER_POOLING_NONE,
                  EMBER_INDEX_INT32);
        add_error(batched_ops[t], EMBER_CHECK_ERR_OFFSET_DECREASING, EMBER_POOLING_MEAN,
                  EMBER_INDEX_INT32);
        add_error(batched_ops[t], EMBER_CHECK_ERR_BATCHED_BATCH, EMBER_POOLING_SUM,
                  EMBER_INDEX_INT64);
        add_error(batched_ops[t], EMBER_CHECK_ERR_BATCHED_STRIDE, EMBER_POOLING_SUM,
                  EMBER_INDEX_INT64);
        /* tables 1 and 2 both bad: the lowest is named, with its own position */
        add_error(batched_ops[t], EMBER_CHECK_ERR_BATCHED_TWO_BAD, EMBER_POOLING_SUM,
                  EMBER_INDEX_INT64);
        add_error(batched_ops[t], EMBER_CHECK_ERR_BATCHED_TWO_BAD, EMBER_POOLING_NONE,
                  EMBER_INDEX_INT32);
    }
}

/* Table-batched ops: 1, 3 and 7 tables of the variant list (every dim 1, 7, 16, 33, every
 * pooling, int32/int64, weights, padding, empty bags), side by side in one output. */
static ember_check_case batched(ember_check_op op, int nt, int first, int64_t batch) {
    ember_check_case c = emb(op, 0, 0, batch, 3);
    c.num_tables = nt, c.first_variant = first;
    return c;
}

static void add_batched_cases(void) {
    const ember_check_op L = EMBER_CHECK_LOOKUP_BATCHED, U = EMBER_CHECK_BACKWARD_UPDATE_BATCHED;
    add(batched(L, 1, 0, 13));
    add(batched(L, 3, 0, 13));
    add(batched(L, 3, 3, 13));
    {
        ember_check_case c = batched(L, 7, 0, 13);
        add(c);
        c.stride_extra = 2; /* untouched columns after every table */
        add(c);
        c.accumulate = 1;
        add(c);
        c.batch = 0;
        add(c);
    }
    {
        ember_check_case c = batched(L, 7, 2, 64);
        c.bag = 8;
        add(c);
    }
    for (int o = 0; o < 3; o++) {
        for (int m = 0; m < 2; m++) {
            ember_check_case c = batched(U, 3, 0, 13);
            c.opt = (ember_optimizer_kind)o, c.mode = (ember_reduction_mode)m;
            add(c);
            c.num_tables = 7, c.stride_extra = 1, c.weight_decay = 0.01f;
            add(c);
        }
        ember_check_case c = batched(U, 7, 3, 0);
        c.opt = (ember_optimizer_kind)o;
        add(c);
    }
    /* SGD ATOMIC (the path a GPU runs in one launch) with hot rows across 7 tables */
    {
        ember_check_case c = batched(U, 7, 2, 64);
        c.bag = 8;
        add(c);
        c.num_tables = 1;
        add(c);
    }
    /* 40 tables: more than one CUDA launch takes (32) */
    {
        ember_check_case c = batched(L, 40, 0, 9);
        add(c);
        c.op = U;
        add(c);
        c.mode = EMBER_REDUCTION_DETERMINISTIC;
        add(c);
    }
    /* medium (a GPU kernel's blocks span tables), and large with --full */
    for (int op = (int)L; op <= (int)U; op++) {
        ember_check_case c = batched((ember_check_op)op, 7, 0, 256);
        c.bag = 8;
        add(c);
        c.batch = 2048, c.bag = 20, c.full_only = 1;
        add(c);
    }
}

/* The embedding and batched ops on wrapped memory (ember_check_case.wrapped). */
static void add_wrapped_cases(void) {
    for (int p = 0; p < 3; p++) {
        ember_check_case c = with_pool(emb(EMBER_CHECK_LOOKUP, 93, 7, 13, 3), (ember_pooling)p);
        c.wrapped = 1;
        add(c);
    }
    const ember_check_op backward[] = {EMBER_CHECK_BACKWARD_DENSE, EMBER_CHECK_BACKWARD_SPARSE,
                                       EMBER_CHECK_BACKWARD_UPDATE};
    for (int k = 0; k < 3; k++) {
        ember_check_case c = emb(backward[k], 93, 7, 13, 3);
        c.mode = EMBER_REDUCTION_DETERMINISTIC, c.dist = EMBER_CHECK_DIST_DUPLICATES;
        c.opt = EMBER_OPTIMIZER_ADAGRAD, c.wrapped = 1;
        add(c);
    }
    ember_check_case c = batched(EMBER_CHECK_LOOKUP_BATCHED, 3, 0, 13);
    c.wrapped = 1;
    add(c);
    c.op = EMBER_CHECK_BACKWARD_UPDATE_BATCHED;
    c.opt = EMBER_OPTIMIZER_ADAGRAD, c.mode = EMBER_REDUCTION_DETERMINISTIC;
    add(c);
}

static void build(void) {
    add_seed_cases();
    add_lookup_cases();
    add_backward_cases();
    add_optimizer_cases();
    add_dense_cases();
    add_head_cases();
    add_error_cases();
    add_batched_cases();
    add_wrapped_cases();
    add_out_of_memory_cases();
}

int chk_case_list_incomplete(void) {
    pthread_once(&once, build);
    return incomplete;
}

size_t ember_check_case_count(void) {
    pthread_once(&once, build);
    return ncases;
}

const ember_check_case *ember_check_case_at(size_t i) {
    pthread_once(&once, build);
    return i < ncases ? &cases[i] : NULL;
}

const ember_check_case *ember_check_case_find(const char *name) {
    pthread_once(&once, build);
    for (size_t i = 0; name && i < ncases; i++)
        if (strcmp(cases[i].name, name) == 0) return &cases[i];
    return NULL;
}

void ember_check_case_describe(const ember_check_case *c, char *buf, size_t size) {
    switch (c->op) {
    case EMBER_CHECK_DENSE_FORWARD:
    case EMBER_CHECK_DENSE_BACKWARD:
        snprintf(buf, size, "x [%lld x %lld], W [%lld x %lld]%s%s%s", (long long)c->batch,
                 (long long)c->in, (long long)c->out, (long long)c->in, c->bias ? ", bias" : "",
                 c->act == EMBER_ACTIVATION_RELU ? ", ReLU" : "",
                 c->tf32 ? ", EMBER_MATH_ALLOW_TF32" : "");
        break;
    case EMBER_CHECK_OUT_OF_MEMORY:
        snprintf(buf, size, "ember_buffer_alloc of %llu bytes, then a small lookup",
                 (unsigned long long)c->alloc_bytes);
        break;
    case EMBER_CHECK_SPARSE_STEP:
        snprintf(buf, size,
                 "table %lld x %lld, about half the rows (first and last among them) "
                 "updated, %s%s",
                 (long long)c->rows, (long long)c->dim, opt_name(c->opt),
                 c->weight_decay != 0 ? ", weight decay" : "");
        break;
    case EMBER_CHECK_DENSE_STEP:
        snprintf(buf, size, "n=%lld, %s%s", (long long)c->n, opt_name(c->opt),
                 c->weight_decay != 0 ? ", weight decay" : "");
        break;
    case EMBER_CHECK_SIGMOID:
    case EMBER_CHECK_BCE:
        snprintf(buf, size, "n=%lld", (long long)c->n);
        break;
    case EMBER_CHECK_ERRORS:
        snprintf(buf, size, "%s given %s (table%s 13 x 5, batch 6 x 2 indices)",
                 ember_check_op_name(c->target), err_name(c->error),
                 c->target < EMBER_CHECK_LOOKUP_BATCHED ? ""
                 : c->error == EMBER_CHECK_ERR_BATCHED_TWO_BAD
                     ? "s 0..2 each, bad indices in tables 1 and 2, table 1 to be named,"
                     : "s 0..2 each, the bad input in table 2,");
        break;
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED: {
        size_t at = (size_t)snprintf(buf, size, "%d tables, batch %lld, gap %lld:", c->num_tables,
                                     (long long)c->batch, (long long)c->stride_extra);
        for (int t = 0; t < c->num_tables && at < size; t++) {
            ember_check_case tc;
            chk_batched_table(c, t, &tc);
            at += (size_t)snprintf(buf + at, size - at, "%s %lldx%lld %s %s%s%s%s col %lld",
                                   t ? "," : "", (long long)tc.rows, (long long)tc.dim,
                                   pool_name(tc.pooling),
                                   tc.index_type == EMBER_INDEX_INT32 ? "int32" : "int64",
                                   tc.weights ? " weights" : "", tc.padding ? " pad" : "",
                                   tc.empty_bags ? " emptybags" : "", (long long)tc.col_offset);
        }
        break;
    }
    case EMBER_CHECK_SEED:
        if (c->seed_kind == EMBER_CHECK_SEED_ONEHOT)
            snprintf(buf, size, "table %lld x %lld, %lld lookups", (long long)c->rows,
                     (long long)c->dim, (long long)c->batch);
        else
            snprintf(buf, size, "table 5 x 3, index [2], SGD lr 0.1");
        break;
    default:
        snprintf(buf, size,
                 "table %lld x %lld, batch %lld, %s pooling%s, %s indices, %s, stride dim+%lld "
                 "col %lld%s",
                 (long long)c->rows, (long long)c->dim, (long long)c->batch, pool_name(c->pooling),
                 c->pooling != EMBER_POOLING_NONE ? " (bags 0..2*bag)" : "",
                 c->index_type == EMBER_INDEX_INT32 ? "int32" : "int64", dist_name(c->dist),
                 (long long)c->stride_extra, (long long)c->col_offset,
                 c->accumulate ? ", accumulate" : "");
        break;
    }
}
