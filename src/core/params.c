/* params.c: Wide&Deep parameter counting, by the seed's formulas and as allocated. */
#include "core/backend.h"

/* *acc += a * b + c, failing on overflow. */
static int add_product(int64_t *acc, int64_t a, int64_t b, int64_t c) {
    int64_t p;
    return __builtin_mul_overflow(a, b, &p) || __builtin_add_overflow(*acc, p, acc) ||
           __builtin_add_overflow(*acc, c, acc);
}

static ember_status bad(const char *what) {
    return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "Wide&Deep spec: %s", what);
}

ember_status ember_widedeep_count_params(const ember_widedeep_spec *s, ember_param_count *out) {
    if (!s || !out) return bad("spec or out is NULL");
    if (s->num_wide_fields < 0 || s->num_deep_fields < 0 || s->num_numeric < 0 || s->num_hidden < 0)
        return bad("negative count");
    if ((s->num_wide_fields && !s->wide_buckets) ||
        (s->num_deep_fields && (!s->vocab || !s->emb_dim)) || (s->num_hidden && !s->hidden))
        return bad("NULL array with a nonzero count");
    ember_param_count c = {0};
    for (int64_t i = 0; i < s->num_wide_fields; i++) {
        if (s->wide_buckets[i] < 0) return bad("negative wide bucket count");
        if (add_product(&c.d_wide, s->wide_buckets[i], 1, 0)) return bad("overflow");
    }
    int64_t n_prev = s->num_numeric; /* n_0 = sum(emb_dim) + num_numeric */
    for (int64_t i = 0; i < s->num_deep_fields; i++) {
        if (s->vocab[i] < 0 || s->emb_dim[i] < 0) return bad("negative vocabulary or dimension");
        if (add_product(&c.embeddings, s->vocab[i], s->emb_dim[i], 0) ||
            add_product(&n_prev, s->emb_dim[i], 1, 0))
            return bad("overflow");
    }
    c.d_deep = n_prev;
    for (int64_t l = 0; l < s->num_hidden; l++) {
        if (s->hidden[l] < 1) return bad("hidden layer size below 1");
        if (add_product(&c.dnn, n_prev, s->hidden[l], s->hidden[l])) return bad("overflow");
        n_prev = s->hidden[l];
    }
    c.d_deep = n_prev;
    if (__builtin_add_overflow(c.d_wide, 1, &c.wide) ||
        __builtin_add_overflow(c.wide, c.d_deep, &c.output))
        return bad("overflow");
    c.shared = c.wide;
    if (__builtin_add_overflow(c.wide, c.embeddings, &c.formula_total) ||
        __builtin_add_overflow(c.formula_total, c.dnn, &c.formula_total) ||
        __builtin_add_overflow(c.formula_total, c.output, &c.formula_total))
        return bad("overflow");
    c.allocated = c.formula_total - c.shared;
    *out = c;
    return EMBER_STATUS_SUCCESS;
}
