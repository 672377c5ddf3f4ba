/* cmd_demo.c: `ember demo`: the seed walkthrough (a 5x3 table, lookup of index 2,
 * loss = sum, its gradient, one SGD step) on any backend, through the public API only. */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "ember.h"

#include <stdio.h>
#include <string.h>

enum { ROWS = 5, DIM = 3 };
static const int64_t LOOKUP_INDEX = 2;
static const float LEARNING_RATE = 0.1f;

static void print_matrix(const char *title, const float *m, const float *before) {
    printf("%s\n", title);
    for (int r = 0; r < ROWS; r++) {
        printf("  row %d:", r);
        for (int c = 0; c < DIM; c++) printf(" %9.4f", m[r * DIM + c]);
        if (before != NULL && memcmp(&m[r * DIM], &before[r * DIM], DIM * sizeof(float)) != 0) {
            printf("   <- changed:");
            for (int c = 0; c < DIM; c++) printf(" %+.4f", m[r * DIM + c] - before[r * DIM + c]);
        }
        printf("\n");
    }
}

/* The walkthrough proper; buffers are passed in so the caller frees them on every path. */
static int walkthrough(const char *cmd, ember_context *ctx, ember_buffer *const *buf) {
    ember_buffer *table = buf[0], *indices = buf[1], *out = buf[2], *grad_out = buf[3],
                 *grad_table = buf[4];
    float initial[ROWS * DIM], grad[ROWS * DIM], after[ROWS * DIM], row[DIM];
    const float ones[DIM] = {1.0f, 1.0f, 1.0f};
    ember_status st;

    /* Row r holds r+1.1, r+1.2, r+1.3, so every entry says where it lives. */
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < DIM; c++) initial[r * DIM + c] = (float)(r + 1) + 0.1f * (float)(c + 1);
    }
    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, ROWS, DIM, 1, 1, EMBER_POOLING_NONE);

#define DEMO_CALL(expr, what)                                                                      \
    do {                                                                                           \
        if ((st = (expr)) != EMBER_STATUS_SUCCESS) return cli_api_error(cmd, ctx, st, what);       \
    } while (0)

    DEMO_CALL(ember_buffer_upload(ctx, table, 0, initial, sizeof initial), "upload of the table");
    DEMO_CALL(ember_buffer_upload(ctx, indices, 0, &LOOKUP_INDEX, sizeof LOOKUP_INDEX),
              "upload of the index");
    print_matrix("embedding table E (5 x 3), initial:", initial, NULL);

    DEMO_CALL(ember_embedding_lookup(ctx, &desc, table, indices, NULL, NULL, out), "lookup");
    DEMO_CALL(ember_buffer_download(ctx, out, 0, row, sizeof row), "download of the output");
    float loss = row[0] + row[1] + row[2];
    printf("\nlookup of index [2]: output = E[2] = [%.4f %.4f %.4f]\n", row[0], row[1], row[2]);
    printf("loss = sum(output) = %.4f, so dloss/doutput = [1 1 1]\n\n", loss);

    DEMO_CALL(ember_buffer_upload(ctx, grad_out, 0, ones, sizeof ones), "upload of the gradient");
    DEMO_CALL(ember_buffer_zero(ctx, grad_table, 0, sizeof grad), "zeroing the gradient");
    DEMO_CALL(ember_embedding_backward_dense(ctx, &desc, indices, NULL, NULL, grad_out,
                                             EMBER_REDUCTION_DETERMINISTIC, grad_table),
              "backward");
    DEMO_CALL(ember_buffer_download(ctx, grad_table, 0, grad, sizeof grad),
              "download of the gradient");
    print_matrix("gradient dloss/dE (dense backward): ones in row 2, zeros elsewhere:", grad, NULL);

    /* The update itself is the fused backward + SGD step: only row 2 is touched. */
    ember_optimizer sgd;
    ember_optimizer_init(&sgd, EMBER_OPTIMIZER_SGD, LEARNING_RATE);
    DEMO_CALL(ember_embedding_backward_update(ctx, &desc, indices, NULL, NULL, grad_out,
                                              EMBER_REDUCTION_DETERMINISTIC, &sgd, table, NULL),
              "SGD step (backward_update)");
    DEMO_CALL(ember_buffer_download(ctx, table, 0, after, sizeof after), "download of the table");
    printf("\n");
    print_matrix("after one SGD step, lr 0.1 (E -= 0.1 * dloss/dE):", after, initial);
#undef DEMO_CALL

    /* The seed's claims, checked bit for bit: the gradient is one-hot on row 2, and the
     * step is w - lr * g in float32 on that row alone. */
    float grad_expect[ROWS * DIM], after_expect[ROWS * DIM];
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < DIM; c++) {
            float g = r == LOOKUP_INDEX ? 1.0f : 0.0f;
            grad_expect[r * DIM + c] = g;
            after_expect[r * DIM + c] =
                r == LOOKUP_INDEX ? initial[r * DIM + c] - LEARNING_RATE * g : initial[r * DIM + c];
        }
    }
    int grad_ok = memcmp(grad, grad_expect, sizeof grad) == 0;
    int table_ok = memcmp(after, after_expect, sizeof after) == 0;
    printf("\ncheck: gradient is ones in row 2 and zeros elsewhere: %s\n",
           grad_ok ? "ok" : "FAILED");
    printf("check: row 2 is exactly E[2] - 0.1 in float32 and every other row is bit-for-bit "
           "unchanged: %s\n",
           table_ok ? "ok" : "FAILED");
    if (!grad_ok || !table_ok) {
        fprintf(stderr, "ember demo: the %s backend gave a result the seed does not predict\n",
                ember_backend_name(ember_context_kind(ctx)));
        return 1;
    }
    return 0;
}

int ember_cmd_demo(int argc, char **argv) {
    const char *cmd = argv[0];
    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int device = -1;
    const cli_flag flags[] = {
        {"--backend", CLI_BACKEND, &kind, .meta = "K", .help = "backend to run on"},
        {"--device", CLI_INT32, &device, .min = -1, .max = 1 << 20, .meta = "N",
         .help = "device index within the backend", .def = "the backend's default"},
    };
    const cli_command spec = {
        cmd, flags, CLI_COUNT(flags),
        .about =
            "The seed walkthrough on one backend: a 5x3 embedding table, the lookup of index\n"
            "[2], loss = sum of the output, the gradient (all ones in row 2, zeros elsewhere),\n"
            "and the table after one SGD step with lr 0.1, the changed row marked. It checks\n"
            "that row 2 moved by exactly -0.1 in float32 and that no other row changed.\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;

    ember_context *ctx = NULL;
    ember_status st = ember_context_create(&ctx, kind, device);
    if (st != EMBER_STATUS_SUCCESS) return cli_api_error(cmd, NULL, st, "creating the context");
    printf("ember demo on %s: %s\n\n", ember_backend_name(kind), ember_context_device_name(ctx));

    const size_t sizes[5] = {ROWS * DIM * sizeof(float), sizeof(int64_t), DIM * sizeof(float),
                             DIM * sizeof(float), ROWS * DIM * sizeof(float)};
    ember_buffer *buf[5] = {NULL, NULL, NULL, NULL, NULL};
    rc = 0;
    for (int b = 0; b < 5 && rc == 0; b++) {
        st = ember_buffer_alloc(ctx, sizes[b], &buf[b]);
        if (st != EMBER_STATUS_SUCCESS) rc = cli_api_error(cmd, ctx, st, "buffer allocation");
    }
    if (rc == 0) rc = walkthrough(cmd, ctx, buf);
    for (int b = 0; b < 5; b++) ember_buffer_free(buf[b]);
    ember_context_destroy(ctx);
    return rc;
}
