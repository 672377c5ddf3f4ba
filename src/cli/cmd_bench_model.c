/* cmd_bench_model.c: `ember bench --model widedeep`: training and inference throughput of the
 * Wide&Deep model on a Criteo-shaped synthetic stream, beside the rate its GEMM FLOPs allow at
 * the OpenBLAS SGEMM GFLOP/s measured in the same run. */
#define _POSIX_C_SOURCE 200809L
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

static void usage(FILE *f) {
    fprintf(f,
            "usage: ember bench --model widedeep [--batch N] [--buckets N] [--dim N]\n"
            "                   [--hidden N,N,..] [--steps N] [--backend K] [--threads N]\n"
            "                   [--atomic] [--json]\n"
            "\n"
            "Trains the Wide&Deep model on a synthetic Criteo-shaped stream (26 categorical\n"
            "fields hashed into --buckets rows each (100000), dimension --dim (16), 13 numeric\n"
            "features, MLP --hidden (400,400,400), batch --batch (2048), Adagrad everywhere) and\n"
            "prints training and inference samples/s (medians over --steps timed steps, 20), and\n"
            "the samples/s the model's GEMM FLOPs would allow at the OpenBLAS SGEMM GFLOP/s\n"
            "measured in the same run on the same shapes (the ratio is the GEMM efficiency).\n");
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

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

int ember_cmd_bench_model(int argc, char **argv) {
    const char *cmd = argv[0], *v;
    int64_t batch = 2048, buckets = 100000, dim = 16, steps = 20, threads = 0, device = -1;
    int64_t hidden[EMBER_MAX_HIDDEN] = {400, 400, 400}, nhidden = 3;
    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int json = 0, atomic = 0, rc;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if ((m = cli_flag(argc, argv, &i, "--model", &v)) != 0) {
            if (m < 0) return 2;
            if (strcmp(v, "widedeep") != 0)
                return cli_usage_error(cmd, "--model: only 'widedeep' is known");
        } else if ((m = cli_flag(argc, argv, &i, "--batch", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 20, &batch))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--buckets", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--buckets", v, 2, (int64_t)1 << 28, &buckets)))
                return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--dim", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--dim", v, 1, 1024, &dim))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--steps", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--steps", v, 1, 100000, &steps))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--threads", v, 0, 4096, &threads))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--device", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--device", v, -1, 1024, &device))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--backend", &v)) != 0) {
            if (m < 0 || cli_parse_backend(cmd, "--backend", v, &kind)) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--hidden", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int_list(cmd, "--hidden", v, 1, 1 << 16, hidden,
                                                  EMBER_MAX_HIDDEN, &nhidden)))
                return 2;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--atomic") == 0) {
            atomic = 1;
        } else {
            return cli_usage_error(cmd, "unknown argument '%s'", argv[i]);
        }
    }
    ember_model_err err = {""};
    ember_schema *s = NULL;
    ember_features *fx = NULL;
    ember_context *ctx = NULL;
    ember_wd_model *m = NULL;
    ember_batch *b = NULL;
    float *probs = NULL, *A = NULL, *B = NULL, *C = NULL;
    ember_status st;
    rc = 1;
    if ((st = ember_schema_preset(EMBER_FORMAT_CRITEO, &s, &err)) ||
        (st = ember_features_create(&fx, s, buckets, 2, 0, EMBER_NUMERIC_RAW, "", &err)))
        goto fail;
    fx->stats_ready = 1;
    ember_wd_config cfg;
    ember_wd_config_defaults(&cfg);
    cfg.fx = fx;
    cfg.emb_dim = dim;
    cfg.nhidden = (int)nhidden;
    for (int l = 0; l < nhidden; l++) cfg.hidden[l] = hidden[l];
    cfg.wide_opt = cfg.deep_opt = cfg.emb_opt = EMBER_OPTIMIZER_ADAGRAD;
    cfg.wide_lr = cfg.emb_lr = cfg.deep_lr = 0.01f;
    cfg.deep_l2 = 0.0f;
    cfg.reduction = atomic ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC;
    if ((st = ember_open_context(kind, (int)device, (int)threads, &ctx, &err)) ||
        (st = ember_wd_create(ctx, &cfg, batch, &m, &err)))
        goto fail;
    if (ember_batch_create(&b, fx, batch) != EMBER_STATUS_SUCCESS ||
        (probs = malloc((size_t)batch * sizeof(float))) == NULL) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    const int ns = (int)steps;
    enum { NB = 4 };
    ember_batch *pool[NB] = {b};
    ember_rng rng;
    ember_rng_seed(&rng, 7);
    fill(b, fx, &rng);
    for (int k = 1; k < NB; k++) {
        if (ember_batch_create(&pool[k], fx, batch) != EMBER_STATUS_SUCCESS) {
            snprintf(err.msg, sizeof err.msg, "out of memory");
            for (int j = 1; j < k; j++) ember_batch_free(pool[j]);
            goto fail;
        }
        fill(pool[k], fx, &rng);
    }
    double *tt = malloc((size_t)ns * sizeof(double)), *ti = malloc((size_t)ns * sizeof(double));
    float loss = 0, first_loss = 0;
    /* training: 3 warm-up steps, then ns timed steps (batches generated outside the timing:
     * the stream's cost is not the model's) */
    for (int k = 0; k < 3 + ns; k++) {
        double t0 = ember_now();
        st = ember_wd_train_step(m, pool[k % NB], &loss, &err);
        if (st == EMBER_STATUS_SUCCESS) st = ember_context_synchronize(ctx);
        if (st != EMBER_STATUS_SUCCESS) break;
        if (k >= 3) tt[k - 3] = ember_now() - t0;
        if (k == 0) first_loss = loss;
        fill(pool[k % NB], fx, &rng); /* a fresh batch next time, outside the timing */
    }
    for (int k = 0; k < 2 + ns && st == EMBER_STATUS_SUCCESS; k++) {
        double t0 = ember_now();
        st = ember_wd_predict(m, pool[k % NB], probs, &err);
        if (k >= 2) ti[k - 2] = ember_now() - t0;
    }
    for (int k = 1; k < NB; k++) ember_batch_free(pool[k]);
    if (st != EMBER_STATUS_SUCCESS) {
        free(tt);
        free(ti);
        goto fail;
    }
    double t_train = median(tt, ns), t_inf = median(ti, ns);
    free(tt);
    free(ti);

    /* The GEMMs of one training step, by OpenBLAS directly on the same shapes: forward
     * Y = X W^T, backward dX = dY W and dW = dY^T X per layer (the output layer is a GEMV,
     * counted but negligible). */
    int64_t n[EMBER_MAX_HIDDEN + 2];
    n[0] = (int64_t)fx->n_deep * dim + fx->n_num;
    for (int l = 0; l < nhidden; l++) n[l + 1] = hidden[l];
    n[nhidden + 1] = 1;
    double fwd_flops = 0;
    int64_t maxn = 1;
    for (int l = 0; l <= nhidden; l++) {
        fwd_flops += 2.0 * (double)n[l] * (double)n[l + 1];
        if (n[l] > maxn) maxn = n[l];
    }
    double train_flops = 3.0 * fwd_flops; /* per sample */
    A = malloc((size_t)(batch * maxn) * sizeof(float));
    B = malloc((size_t)(maxn * maxn) * sizeof(float));
    C = malloc((size_t)(batch * maxn) * sizeof(float));
    if (!A || !B || !C) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < batch * maxn; i++) A[i] = C[i] = (float)((i % 13) - 6) * 0.01f;
    for (int64_t i = 0; i < maxn * maxn; i++) B[i] = (float)((i % 7) - 3) * 0.01f;
    double gsamples[9];
    int gn = 9;
    /* OpenBLAS with its own threads, as many as the model may use: the CPU backend leaves
     * it at one thread (it splits GEMMs over its OpenMP team itself). */
    int blas_saved = openblas_get_num_threads();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(threads > 0 ? (int)threads : ncpu > 0 ? (int)ncpu : 1);
    for (int rep = 0; rep < gn; rep++) {
        double t0 = ember_now();
        for (int l = 0; l < nhidden; l++) { /* the hidden layers: the GEMM part */
            const int M = (int)batch, N = (int)n[l + 1], K = (int)n[l];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C,
                        N);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, C, N, B, K, 0.0f,
                        A, K);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, C, N, A, K, 0.0f, B,
                        K);
        }
        gsamples[rep] = ember_now() - t0;
    }
    openblas_set_num_threads(blas_saved);
    double gemm_flops = 0;
    for (int l = 0; l < nhidden; l++)
        gemm_flops += 3 * 2.0 * (double)batch * (double)n[l] * (double)n[l + 1];
    double t_gemm = median(gsamples, gn);
    double gflops = gemm_flops / t_gemm / 1e9;
    double train_sps = (double)batch / t_train, inf_sps = (double)batch / t_inf;
    double allowed = gflops * 1e9 / train_flops;
    ember_param_count pc;
    ember_widedeep_spec spec;
    ember_wd_spec_storage ss;
    ember_wd_spec_from_config(&cfg, &spec, &ss);
    ember_widedeep_count_params(&spec, &pc);
    ember_wd_spec_storage_free(&ss);
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_string(&j, "model", "widedeep");
        ember_json_key_string(&j, "backend", ember_backend_name(kind));
        ember_json_key_string(&j, "device", ember_context_device_name(ctx));
        ember_json_key_int(&j, "batch", (long long)batch);
        ember_json_key_int(&j, "fields", fx->n_deep);
        ember_json_key_int(&j, "buckets", (long long)buckets);
        ember_json_key_int(&j, "dim", (long long)dim);
        ember_json_key_int(&j, "numeric", fx->n_num);
        ember_json_key_int(&j, "params", (long long)pc.allocated);
        ember_json_key_number(&j, "train_samples_per_s", train_sps);
        ember_json_key_number(&j, "inference_samples_per_s", inf_sps);
        ember_json_key_number(&j, "sgemm_gflops", gflops);
        ember_json_key_number(&j, "gemm_bound_samples_per_s", allowed);
        ember_json_key_number(&j, "train_vs_gemm_bound", train_sps / allowed);
        ember_json_key_number(&j, "train_step_ms", 1e3 * t_train);
        ember_json_key_string(&j, "openblas_coretype", core ? core : "auto");
        ember_json_key_number(&j, "first_loss", (double)first_loss);
        ember_json_key_number(&j, "last_loss", (double)loss);
        ember_json_end_object(&j);
        putchar('\n');
    } else {
        printf("ember bench --model widedeep on %s (%s)\n", ember_context_device_name(ctx),
               ember_backend_name(kind));
        printf("  model: %d fields x %lld buckets x dim %lld, %d numeric, MLP %lld", fx->n_deep,
               (long long)buckets, (long long)dim, fx->n_num, (long long)n[0]);
        for (int l = 0; l < nhidden; l++) printf("-%lld", (long long)hidden[l]);
        printf("-1, batch %lld, Adagrad; %lld parameters\n", (long long)batch,
               (long long)pc.allocated);
        printf("  training:   %10.0f samples/s  (%.2f ms/step, median of %d; loss %.4f -> %.4f)\n",
               train_sps, 1e3 * t_train, ns, (double)first_loss, (double)loss);
        printf("  inference:  %10.0f samples/s\n", inf_sps);
        printf("  OpenBLAS SGEMM on the MLP's shapes: %.1f GFLOP/s (OPENBLAS_CORETYPE=%s)\n",
               gflops, core ? core : "unset: detected");
        printf("  GEMM-bound training rate: %.0f samples/s (%.2f MFLOP/sample); ember reaches %.2f "
               "of it%s\n",
               allowed, train_flops / 1e6, train_sps / allowed,
               kind == EMBER_BACKEND_CPU ? ""
                                         : " (the bound is the host CPU's OpenBLAS, not this "
                                           "backend's GEMM)");
    }
    rc = 0;
fail:
    if (rc != 0) fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    free(A);
    free(B);
    free(C);
    free(probs);
    ember_batch_free(b);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_features_free(fx);
    ember_schema_free(s);
    return rc;
}
