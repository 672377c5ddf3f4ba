/* wd_layout.c: the tensor names and shapes of a model config; see wd_layout.h. */
#include "wd_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ember_st_tensor *add(ember_st_tensor *t, int *n, const char *name, int ndim, int64_t rows,
                            int64_t cols) {
    ember_st_tensor *p = &t[(*n)++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = rows;
    p->shape[1] = ndim == 2 ? cols : 0;
    p->count = ndim == 2 ? rows * cols : rows;
    return p;
}

/* The state tensors of parameter p under optimizer k; legacy0/legacy1 their old names. */
static void add_states(ember_wd_layout *l, const ember_st_tensor *p, ember_optimizer_kind k,
                       const char *legacy0, const char *legacy1) {
    const char *slot[2] = {"sum", NULL};
    if (k == EMBER_OPTIMIZER_SGD) return;
    if (k == EMBER_OPTIMIZER_ADAM) {
        slot[0] = "exp_avg";
        slot[1] = "exp_avg_sq";
    }
    for (int s = 0; s < 2 && slot[s] != NULL; s++) {
        char name[EMBER_ST_NAME_MAX];
        snprintf(name, sizeof name, "%.100s.%s", p->name, slot[s]);
        int rowwise = k == EMBER_OPTIMIZER_ROWWISE_ADAGRAD;
        snprintf(l->legacy[l->nstates], EMBER_ST_NAME_MAX, "%s", s == 0 ? legacy0 : legacy1);
        add(l->states, &l->nstates, name, rowwise ? 2 : p->ndim, p->shape[0],
            rowwise ? 1 : p->shape[1]);
    }
}

ember_status ember_wd_layout_of(const ember_wd_config *cfg, ember_wd_layout *l) {
    memset(l, 0, sizeof *l);
    const ember_features *fx = cfg->fx;
    if (cfg->nhidden < 0 || cfg->nhidden > EMBER_MAX_HIDDEN) return EMBER_STATUS_INVALID_ARGUMENT;
    const int nl = cfg->nhidden + 1, maxp = fx->n_deep + 2 * nl + 1, maxs = fx->n_deep + 4 * nl + 1;
    l->params = calloc((size_t)maxp, sizeof *l->params);
    l->states = calloc((size_t)maxs, sizeof *l->states);
    l->legacy = calloc((size_t)maxs, sizeof *l->legacy);
    if (!l->params || !l->states || !l->legacy) {
        ember_wd_layout_free(l);
        return EMBER_STATUS_OUT_OF_MEMORY;
    }
    int64_t n[EMBER_MAX_HIDDEN + 2];
    n[0] = (int64_t)fx->n_deep * cfg->emb_dim + fx->n_num;
    for (int i = 0; i < cfg->nhidden; i++) n[i + 1] = cfg->hidden[i];
    n[nl] = 1;
    char name[EMBER_ST_NAME_MAX], legacy[2][EMBER_ST_NAME_MAX];
    const ember_st_tensor *p = add(l->params, &l->nparams, "wide.weight", 2, fx->d_wide, 1);
    add_states(l, p, cfg->wide_opt, "state.wide", "");
    for (int f = 0; f < fx->n_deep; f++) {
        const char *col = fx->schema->cols[fx->deep_col[f]].name;
        snprintf(name, sizeof name, "deep.emb.%.100s", col);
        snprintf(legacy[0], sizeof legacy[0], "state.emb.%.100s", col);
        p = add(l->params, &l->nparams, name, 2, fx->field_buckets[f], cfg->emb_dim);
        add_states(l, p, cfg->emb_opt, legacy[0], "");
    }
    for (int i = 0; i < nl; i++) {
        const char *part[2] = {"weight", "bias"};
        for (int k = 0; k < 2; k++) {
            if (i < nl - 1)
                snprintf(name, sizeof name, "deep.fc%d.%s", i, part[k]);
            else
                snprintf(name, sizeof name, "out.%s", part[k]);
            snprintf(legacy[0], sizeof legacy[0], "state.layer%d.%s", i, part[k]);
            snprintf(legacy[1], sizeof legacy[1], "state2.layer%d.%s", i, part[k]);
            p = k == 0 ? add(l->params, &l->nparams, name, 2, n[i + 1], n[i])
                       : add(l->params, &l->nparams, name, 1, n[i + 1], 1);
            add_states(l, p, cfg->deep_opt, legacy[0], legacy[1]);
        }
    }
    return EMBER_STATUS_SUCCESS;
}

void ember_wd_layout_free(ember_wd_layout *l) {
    free(l->params);
    free(l->states);
    free(l->legacy);
    memset(l, 0, sizeof *l);
}
