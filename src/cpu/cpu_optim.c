/* cpu_optim.c: sparse (row) and dense optimizer updates: SGD, Adagrad, row-wise Adagrad,
 * Adam. */
#include "cpu/cpu_internal.h"

#include <math.h>
#include <omp.h>

/* Formulas, element by element, in float (weight decay first: g' = g + wd * w, skipped
 * when wd == 0 so that an infinite weight does not turn into NaN):
 *   SGD:      w = w - lr * g'
 *   Adagrad:  s = s + g' * g';  w = w - (lr * g') / (sqrtf(s) + eps)
 *   row-wise: s_row = s_row + (sum over the row of g' * g', one running sum in column
 *             order) / dim;
 *             w = w - (lr * g') / (sqrtf(s_row) + eps)
 *   Adam (PyTorch's form): m = b1 * m + (1 - b1) * g';  v = b2 * v + (1 - b2) * (g' * g');
 *             w = w - step_size * (m / (sqrtf(v) / sqrt_bc2 + eps)), with
 *             step_size = lr / (1 - b1^step) and sqrt_bc2 = sqrt(1 - b2^step) from double. */
CPU_HOT void cpu_optim_row(const ember_optimizer *opt, int64_t dim, float *w, const float *g,
                           float *state) {
    const float lr = opt->learning_rate, wd = opt->weight_decay, eps = opt->eps;
    switch (opt->kind) {
    case EMBER_OPTIMIZER_SGD:
        if (wd == 0.0f)
            for (int64_t d = 0; d < dim; d++) w[d] -= lr * g[d];
        else
            for (int64_t d = 0; d < dim; d++) {
                float gd = wd != 0.0f ? g[d] + wd * w[d] : g[d];
                w[d] -= lr * gd;
            }
        break;
    case EMBER_OPTIMIZER_ADAGRAD:
        for (int64_t d = 0; d < dim; d++) {
            float gd = wd != 0.0f ? g[d] + wd * w[d] : g[d];
            float s = state[d] + gd * gd;
            state[d] = s;
            w[d] -= (lr * gd) / (sqrtf(s) + eps);
        }
        break;
    case EMBER_OPTIMIZER_ROWWISE_ADAGRAD: {
        /* One running sum in column order: the order the CUDA and OpenCL backends use, so
         * row-wise Adagrad agrees bit for bit across backends (eight vectorised partial
         * sums were faster here but rounded differently from the GPUs). */
        float sum = 0.0f;
        for (int64_t d = 0; d < dim; d++) {
            float gd = wd != 0.0f ? g[d] + wd * w[d] : g[d];
            sum += gd * gd;
        }
        float s = state[0] + sum / (float)dim;
        state[0] = s;
        const float denom = sqrtf(s) + eps;
        for (int64_t d = 0; d < dim; d++) {
            float gd = wd != 0.0f ? g[d] + wd * w[d] : g[d];
            w[d] -= (lr * gd) / denom;
        }
        break;
    }
    case EMBER_OPTIMIZER_ADAM: /* dense only: never reaches here */
        break;
    }
}

ember_status cpu_sparse_step(ember_context *ctx, const ember_optimizer *opt, int64_t num_rows,
                             int64_t dim, ember_buffer *table, ember_buffer *state,
                             const ember_buffer *unique_ids, const ember_buffer *unique_grads,
                             int64_t num_unique) {
    float *w = (float *)table->handle;
    float *s = state ? (float *)state->handle : NULL;
    const int64_t *ids = (const int64_t *)unique_ids->handle;
    const float *g = (const float *)unique_grads->handle;
    const int rowwise = opt->kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD;
    int nt = cpu_threads_for(ctx, num_unique * ((dim * 4 + 63) / 64) * 2);
    /* The ids are distinct, so rows can be updated in any order and in parallel. */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t u = 0; u < num_unique; u++) {
        int64_t r = ids[u];
        if (u + 8 < num_unique) {
            /* Rows are scattered over the table: fetch the whole row (and its state)
             * ahead, or every row costs a full memory latency. */
            int64_t ahead = ids[u + 8];
            cpu_prefetch_lines(w + ahead * dim, (size_t)dim * sizeof(float), 1, 0);
            if (s && !rowwise)
                cpu_prefetch_lines(s + ahead * dim, (size_t)dim * sizeof(float), 1, 0);
            else if (s)
                __builtin_prefetch(s + ahead, 1, 3);
        }
        cpu_optim_row(opt, dim, w + r * dim, g + u * dim,
                      !s        ? NULL
                      : rowwise ? s + r
                                : s + r * dim);
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_dense_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                            ember_buffer *param, const ember_buffer *grad, ember_buffer *state,
                            ember_buffer *state2) {
    float *w = (float *)param->handle;
    const float *g = (const float *)grad->handle;
    const float lr = opt->learning_rate, wd = opt->weight_decay, eps = opt->eps;
    int nt = cpu_threads_for(ctx, n / 4);
    switch (opt->kind) {
    case EMBER_OPTIMIZER_SGD:
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < n; i++) {
            float gd = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            w[i] -= lr * gd;
        }
        break;
    case EMBER_OPTIMIZER_ADAGRAD: {
        float *s = (float *)state->handle;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < n; i++) {
            float gd = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            float si = s[i] + gd * gd;
            s[i] = si;
            w[i] -= (lr * gd) / (sqrtf(si) + eps);
        }
        break;
    }
    case EMBER_OPTIMIZER_ADAM: {
        float *m = (float *)state->handle, *v = (float *)state2->handle;
        const float b1 = opt->beta1, b2 = opt->beta2;
        const double step = opt->step > 0 ? (double)opt->step : 1.0;
        const float step_size = (float)((double)lr / (1.0 - pow((double)b1, step)));
        const float sqrt_bc2 = (float)sqrt(1.0 - pow((double)b2, step));
        const float one_b1 = 1.0f - b1, one_b2 = 1.0f - b2;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < n; i++) {
            float gd = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            float mi = b1 * m[i] + one_b1 * gd;
            float vi = b2 * v[i] + one_b2 * (gd * gd);
            m[i] = mi;
            v[i] = vi;
            float denom = sqrtf(vi) / sqrt_bc2 + eps;
            w[i] -= step_size * (mi / denom);
        }
        break;
    }
    case EMBER_OPTIMIZER_ROWWISE_ADAGRAD:
        break;
    }
    return EMBER_STATUS_SUCCESS;
}
