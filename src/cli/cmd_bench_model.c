/* cmd_bench_model.c: `ember bench --model widedeep`: training and inference throughput of the
 * Wide&Deep model on a Criteo-shaped synthetic stream, beside the rate its GEMM FLOPs allow at
 * the OpenBLAS SGEMM GFLOP/s measured in the same run. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"
#include "util/json_writer.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bench_model_args {
    int64_t batch, buckets, dim, steps, threads, device;
    int64_t hidden[EMBER_MAX_HIDDEN], nhidden;
    ember_backend_kind kind;
    int json, atomic;
} bench_model_args;

/* What one run measured. */
typedef struct bench_model_result {
    double t_train, t_inf;  /* median seconds per step */
    float first_loss, loss; /* the loss of the first and the last training step */
    double gflops;          /* OpenBLAS SGEMM on the MLP's shapes */
    double train_flops;     /* per sample */
    int64_t n0;             /* the MLP's input width */
    ember_param_count pc;
} bench_model_result;

/* Fills a batch with uniform ids, normal numerics and labels from a fixed random rule (so the
 * loss moves like real data's). */
static void fill(ember_batch *b, const ember_features *fx, ember_rng *r) {
    b->n = b->cap;
    int64_t w = 0;
    b->wide_offs[0] = 0;
    for (int64_t i = 0; i < b->n; i++) {
        double z = 0;
        for (int f = 0; f < fx->n_deep; f++) {
            int64_t id = (int64_t)(ember_rng_next(r) % (uint64_t)fx->field_buckets[f]);
            b->deep_ids[f][i] = id;
            b->wide_ids[w++] = fx->wide_offset[f] + id;
            z += (id % 7 == 0) ? 0.3 : -0.05;
        }
        for (int k = 0; k < fx->n_num; k++) {
            float x = (float)ember_rng_normal(r);
            b->num[i * fx->n_num + k] = x;
            z += 0.1 * x;
        }
        b->wide_offs[i + 1] = w;
        b->label[i] = ember_rng_uniform(r) < 1.0 / (1.0 + exp(-z)) ? 1.0f : 0.0f;
        b->line[i] = i + 1;
    }
}

static int model_flag(const char *cmd, const cli_flag *flag, const char *value) {
    if (strcmp(value, "widedeep") != 0)
        return cli_usage_error(cmd, "%s: only 'widedeep' is known", flag->name);
    return 0;
}

/* Parses the flags into *a; CLI_CONTINUE or the exit code. */
static int parse_args(int argc, char **argv, bench_model_args *a) {
    *a = (bench_model_args){.batch = 2048,
                            .buckets = 100000,
                            .dim = 16,
                            .steps = 20,
                            .threads = 0,
                            .device = -1,
                            .hidden = {400, 400, 400},
                            .nhidden = 3,
                            .kind = EMBER_BACKEND_CPU};
    const cli_flag flags[] = {
        {"--model", CLI_CUSTOM, NULL, .parse = model_flag, .meta = "widedeep", .required = 1,
         .help = "the model to benchmark (the only one: widedeep)"},
        {"--batch", CLI_INT, &a->batch, .min = 1, .max = 1 << 20, .meta = "N",
         .help = "rows per step"},
        {"--buckets", CLI_INT, &a->buckets, .min = 2, .max = (int64_t)1 << 28, .meta = "N",
         .help = "hash buckets (embedding rows) of each of the 26 categorical fields"},
        {"--dim", CLI_INT, &a->dim, .min = 1, .max = 1024, .meta = "N",
         .help = "embedding dimension"},
        {"--hidden", CLI_INT_LIST, a->hidden, .min = 1, .max = 1 << 16,
         .capacity = EMBER_MAX_HIDDEN, .count = &a->nhidden, .meta = "N,N,..",
         .help = "hidden layer sizes"},
        {"--steps", CLI_INT, &a->steps, .min = 1, .max = 100000, .meta = "N",
         .help = "timed steps (the figures are their medians)"},
        {"--backend", CLI_BACKEND, &a->kind, .meta = "K", .help = "cpu, cuda or opencl"},
        {"--device", CLI_INT, &a->device, .min = -1, .max = 1024, .meta = "N",
         .help = "device index", .def = "the backend's default"},
        {"--threads", CLI_INT, &a->threads, .min = 0, .max = 4096, .meta = "N",
         .help = "CPU threads, 0 = the idle cores"},
        {"--atomic", CLI_SWITCH, &a->atomic,
         .help = "ATOMIC gradient reduction (default DETERMINISTIC)"},
        {"--json", CLI_SWITCH, &a->json, .help = "one JSON object instead of text"},
    };
    const cli_command spec = {
        argv[0], flags, CLI_COUNT(flags),
        .about = "Trains the Wide&Deep model on a synthetic Criteo-shaped stream (26 categorical\n"
                 "fields, 13 numeric features, Adagrad everywhere) and prints training and\n"
                 "inference samples/s (medians over --steps timed steps), and the samples/s the\n"
                 "model's GEMM FLOPs would allow at the OpenBLAS SGEMM GFLOP/s measured in the\n"
                 "same run on the same shapes (the ratio is the GEMM efficiency).\n"};
    return cli_flags_parse(&spec, argc, argv);
}

/* Times ns training steps (after 3 warm-up steps) and ns inference calls (after 2) on a pool
 * of batches refilled outside the timing: the stream's cost is not the model's. */
static ember_status time_model(ember_context *ctx, ember_wd_model *m, const ember_features *fx,
                               int64_t batch, int ns, float *probs, bench_model_result *res,
                               ember_model_err *err) {
    enum { NB = 4 };
    ember_batch *pool[NB] = {NULL};
    double *tt = malloc((size_t)ns * sizeof(double)), *ti = malloc((size_t)ns * sizeof(double));
    ember_status st = tt != NULL && ti != NULL ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    ember_rng rng;
    ember_rng_seed(&rng, 7);
    for (int k = 0; k < NB && st == EMBER_STATUS_SUCCESS; k++) {
        st = ember_batch_create(&pool[k], fx, batch);
        if (st == EMBER_STATUS_SUCCESS) fill(pool[k], fx, &rng);
    }
    if (st != EMBER_STATUS_SUCCESS) snprintf(err->msg, sizeof err->msg, "out of memory");
    float loss = 0;
    for (int k = 0; k < 3 + ns && st == EMBER_STATUS_SUCCESS; k++) {
        double t0 = ember_now();
        st = ember_wd_train_step(m, pool[k % NB], &loss, err);
        if (st == EMBER_STATUS_SUCCESS) st = ember_context_synchronize(ctx);
        if (st != EMBER_STATUS_SUCCESS) break;
        if (k >= 3) tt[k - 3] = ember_now() - t0;
        if (k == 0) res->first_loss = loss;
        fill(pool[k % NB], fx, &rng); /* a fresh batch next time, outside the timing */
    }
    res->loss = loss;
    for (int k = 0; k < 2 + ns && st == EMBER_STATUS_SUCCESS; k++) {
        double t0 = ember_now();
        st = ember_wd_predict(m, pool[k % NB], probs, err);
        if (k >= 2) ti[k - 2] = ember_now() - t0;
    }
    if (st == EMBER_STATUS_SUCCESS) {
        res->t_train = bench_median(tt, ns);
        res->t_inf = bench_median(ti, ns);
    }
    for (int k = 0; k < NB; k++) ember_batch_free(pool[k]);
    free(tt);
    free(ti);
    return st;
}

/* The GEMMs of one training step, by OpenBLAS directly on the same shapes: forward
 * Y = X W^T, backward dX = dY W and dW = dY^T X per layer (the output layer is a GEMV,
 * counted in train_flops but negligible). Returns 0, or 1 when out of memory. */
static int time_gemms(const bench_model_args *a, const ember_features *fx,
                      bench_model_result *res) {
    const int64_t batch = a->batch, nhidden = a->nhidden;
    int64_t n[EMBER_MAX_HIDDEN + 2];
    n[0] = res->n0 = (int64_t)fx->n_deep * a->dim + fx->n_num;
    for (int l = 0; l < nhidden; l++) n[l + 1] = a->hidden[l];
    n[nhidden + 1] = 1;
    double fwd_flops = 0;
    int64_t maxn = 1;
    for (int l = 0; l <= nhidden; l++) {
        fwd_flops += 2.0 * (double)n[l] * (double)n[l + 1];
        if (n[l] > maxn) maxn = n[l];
    }
    res->train_flops = 3.0 * fwd_flops; /* per sample */
    float *A = malloc((size_t)(batch * maxn) * sizeof(float));
    float *B = malloc((size_t)(maxn * maxn) * sizeof(float));
    float *C = malloc((size_t)(batch * maxn) * sizeof(float));
    int rc = A && B && C ? 0 : 1;
    if (rc == 0) {
        for (int64_t i = 0; i < batch * maxn; i++) A[i] = C[i] = (float)((i % 13) - 6) * 0.01f;
        for (int64_t i = 0; i < maxn * maxn; i++) B[i] = (float)((i % 7) - 3) * 0.01f;
        double gsamples[9];
        const int gn = 9;
        /* OpenBLAS with its own threads, as many as the model may use: the CPU backend leaves
         * it at one thread (it splits GEMMs over its OpenMP team itself). */
        int blas_saved = openblas_get_num_threads();
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        openblas_set_num_threads(a->threads > 0 ? (int)a->threads : ncpu > 0 ? (int)ncpu : 1);
        for (int rep = 0; rep < gn; rep++) {
            double t0 = ember_now();
            for (int l = 0; l < nhidden; l++) { /* the hidden layers: the GEMM part */
                const int M = (int)batch, N = (int)n[l + 1], K = (int)n[l];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K,
                            0.0f, C, N);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, C, N, B, K,
                            0.0f, A, K);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, C, N, A, K,
                            0.0f, B, K);
            }
            gsamples[rep] = ember_now() - t0;
        }
        openblas_set_num_threads(blas_saved);
        double gemm_flops = 0;
        for (int l = 0; l < nhidden; l++)
            gemm_flops += 3 * 2.0 * (double)batch * (double)n[l] * (double)n[l + 1];
        res->gflops = gemm_flops / bench_median(gsamples, gn) / 1e9;
    }
    free(A);
    free(B);
    free(C);
    return rc;
}

static void print_result(const bench_model_args *a, const ember_features *fx, const char *device,
                         const bench_model_result *r) {
    double train_sps = (double)a->batch / r->t_train, inf_sps = (double)a->batch / r->t_inf;
    double allowed = r->gflops * 1e9 / r->train_flops;
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (a->json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_string(&j, "model", "widedeep");
        ember_json_key_string(&j, "backend", ember_backend_name(a->kind));
        ember_json_key_string(&j, "device", device);
        ember_json_key_int(&j, "batch", (long long)a->batch);
        ember_json_key_int(&j, "fields", fx->n_deep);
        ember_json_key_int(&j, "buckets", (long long)a->buckets);
        ember_json_key_int(&j, "dim", (long long)a->dim);
        ember_json_key_int(&j, "numeric", fx->n_num);
        ember_json_key_int(&j, "params", (long long)r->pc.allocated);
        ember_json_key_number(&j, "train_samples_per_s", train_sps);
        ember_json_key_number(&j, "inference_samples_per_s", inf_sps);
        ember_json_key_number(&j, "sgemm_gflops", r->gflops);
        ember_json_key_number(&j, "gemm_bound_samples_per_s", allowed);
        ember_json_key_number(&j, "train_vs_gemm_bound", train_sps / allowed);
        ember_json_key_number(&j, "train_step_ms", 1e3 * r->t_train);
        ember_json_key_string(&j, "openblas_coretype", core ? core : "auto");
        ember_json_key_number(&j, "first_loss", (double)r->first_loss);
        ember_json_key_number(&j, "last_loss", (double)r->loss);
        ember_json_end_object(&j);
        putchar('\n');
        return;
    }
    printf("ember bench --model widedeep on %s (%s)\n", device, ember_backend_name(a->kind));
    printf("  model: %d fields x %lld buckets x dim %lld, %d numeric, MLP %lld", fx->n_deep,
           (long long)a->buckets, (long long)a->dim, fx->n_num, (long long)r->n0);
    for (int l = 0; l < a->nhidden; l++) printf("-%lld", (long long)a->hidden[l]);
    printf("-1, batch %lld, Adagrad; %lld parameters\n", (long long)a->batch,
           (long long)r->pc.allocated);
    printf("  training:   %10.0f samples/s  (%.2f ms/step, median of %lld; loss %.4f -> %.4f)\n",
           train_sps, 1e3 * r->t_train, (long long)a->steps, (double)r->first_loss,
           (double)r->loss);
    printf("  inference:  %10.0f samples/s\n", inf_sps);
    printf("  OpenBLAS SGEMM on the MLP's shapes: %.1f GFLOP/s (OPENBLAS_CORETYPE=%s)\n", r->gflops,
           core ? core : "unset: detected");
    printf("  GEMM-bound training rate: %.0f samples/s (%.2f MFLOP/sample); ember reaches %.2f "
           "of it%s\n",
           allowed, r->train_flops / 1e6, train_sps / allowed,
           a->kind == EMBER_BACKEND_CPU ? ""
                                        : " (the bound is the host CPU's OpenBLAS, not this "
                                          "backend's GEMM)");
}

/* The benchmark's model configuration: Adagrad everywhere at one learning rate. */
static void model_config(const bench_model_args *a, ember_features *fx, ember_wd_config *cfg) {
    ember_wd_config_defaults(cfg);
    cfg->fx = fx;
    cfg->emb_dim = a->dim;
    cfg->nhidden = (int)a->nhidden;
    for (int l = 0; l < a->nhidden; l++) cfg->hidden[l] = a->hidden[l];
    cfg->wide_opt = cfg->deep_opt = cfg->emb_opt = EMBER_OPTIMIZER_ADAGRAD;
    cfg->wide_lr = cfg->emb_lr = cfg->deep_lr = 0.01f;
    cfg->deep_l2 = 0.0f;
    cfg->reduction = a->atomic ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC;
}

int ember_cmd_bench_model(int argc, char **argv) {
    const char *cmd = argv[0];
    bench_model_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE) return rc;
    ember_model_err err = {""};
    ember_schema *s = NULL;
    ember_features *fx = NULL;
    ember_context *ctx = NULL;
    ember_wd_model *m = NULL;
    float *probs = NULL;
    bench_model_result res = {0};
    ember_wd_config cfg;
    rc = 1;
    if (ember_schema_preset(EMBER_FORMAT_CRITEO, &s, &err) ||
        ember_features_create(&fx, s, a.buckets, 2, 0, EMBER_NUMERIC_RAW, "", &err))
        goto fail;
    fx->stats_ready = 1;
    model_config(&a, fx, &cfg);
    if (ember_open_context(a.kind, (int)a.device, (int)a.threads, &ctx, &err) ||
        ember_wd_create(ctx, &cfg, a.batch, &m, &err))
        goto fail;
    if ((probs = malloc((size_t)a.batch * sizeof(float))) == NULL) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    if (time_model(ctx, m, fx, a.batch, (int)a.steps, probs, &res, &err) != EMBER_STATUS_SUCCESS)
        goto fail;
    if (time_gemms(&a, fx, &res) != 0) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    ember_widedeep_spec spec;
    ember_wd_spec_storage ss;
    ember_wd_spec_from_config(&cfg, &spec, &ss);
    ember_widedeep_count_params(&spec, &res.pc);
    ember_wd_spec_storage_free(&ss);
    print_result(&a, fx, ember_context_device_name(ctx), &res);
    rc = 0;
fail:
    if (rc != 0) fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    free(probs);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_features_free(fx);
    ember_schema_free(s);
    return rc;
}
