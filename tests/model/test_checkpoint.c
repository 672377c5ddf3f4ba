/* test_checkpoint.c: safetensors round trip; truncated, bit-flipped and hand-broken files are
 * rejected with CORRUPT_FILE and never crash; a model round-trips through a checkpoint and
 * its float count equals ember_widedeep_count_params(...).allocated. */
#include "test_util.h"

#include "wd_checkpoint.h"

#include <criterion/criterion.h>
#include <stdint.h>

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

static const char *small_file(void) {
    const char *p = write_temp(1, ".safetensors", "");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-7.5f};
    ember_st_tensor t[2] = {{.name = "a", .ndim = 2, .shape = {2, 3}, .data = a},
                            {.name = "b\"q", .ndim = 1, .shape = {1}, .data = b}};
    ember_st_meta meta[1] = {{"k\n", "v \"x\" \\ y"}};
    ember_model_err err = {""};
    cr_assert_eq(ember_st_write(p, t, 2, meta, 1, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    return p;
}

Test(checkpoint, safetensors_round_trip) {
    const char *p = small_file();
    ember_st_file f;
    ember_model_err err = {""};
    cr_assert_eq(ember_st_read(p, &f, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(f.ntensors, 2);
    cr_assert_eq(f.total_floats, 7);
    const ember_st_tensor *a = ember_st_find(&f, "a");
    cr_assert_not_null(a);
    cr_assert_eq(a->shape[1], 3);
    cr_assert_eq(a->data[5], 6.0f);
    cr_assert_eq(ember_st_find(&f, "b\"q")->data[0], -7.5f);
    cr_assert_str_eq(ember_st_meta_get(&f, "k\n"), "v \"x\" \\ y");
    ember_st_free(&f);
    /* 8-byte header length, little-endian, and the data 8-aligned */
    size_t n;
    unsigned char *raw = (unsigned char *)slurp(p, &n);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)raw[i] << (8 * i);
    cr_assert_eq(hl % 8, 0);
    cr_assert_eq(n, 8 + hl + 7 * 4);
    free(raw);
    unlink(p);
}

Test(checkpoint, truncations_and_bit_flips_are_rejected_without_crashing) {
    const char *p = small_file();
    size_t n;
    char *good = slurp(p, &n);
    char *bad = malloc(n);
    const char *q = write_temp(2, ".safetensors", "");
    ember_model_err err;
    ember_st_file f;
    /* every truncation */
    for (size_t len = 0; len < n; len++) {
        spit(q, good, len);
        ember_status st = ember_st_read(q, &f, &err);
        cr_assert_eq(st, EMBER_STATUS_CORRUPT_FILE, "truncated to %zu bytes: %s", len,
                     ember_status_name(st));
        cr_assert(strstr(err.msg, q) != NULL, "the message names the file: %s", err.msg);
    }
    /* every single-bit flip: either rejected or (data bytes, or a harmless header byte)
     * read back with the same structure */
    int rejected = 0;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, good, n);
            bad[i] ^= (char)(1 << bit);
            spit(q, bad, n);
            ember_status st = ember_st_read(q, &f, &err);
            if (st == EMBER_STATUS_SUCCESS) {
                cr_assert(f.total_floats * 4 + 8 <= (int64_t)n);
                ember_st_free(&f);
            } else {
                cr_assert_eq(st, EMBER_STATUS_CORRUPT_FILE, "flip %zu.%d: %s", i, bit,
                             ember_status_name(st));
                rejected++;
            }
        }
    }
    cr_assert(rejected > (int)n, "most flips are caught (%d)", rejected);
    /* hand-made lies */
    const char *lies[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", /* size */
        "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",    /* dtype */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",    /* hole */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", /* duplicate */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}",                       /* no offsets */
        "{\"__metadata__\":{\"k\":1}}",                                    /* not a string */
        "[1,2]",
    };
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        size_t hl = strlen(lies[k]);
        size_t total = 8 + hl + 8;
        unsigned char *b = calloc(1, total);
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
        memcpy(b + 8, lies[k], hl);
        spit(q, b, total);
        cr_assert_eq(ember_st_read(q, &f, &err), EMBER_STATUS_CORRUPT_FILE, "lie %zu accepted", k);
        free(b);
    }
    free(good);
    free(bad);
    unlink(p);
    unlink(q);
}

/* A small model on the CPU: save, read back, apply to a fresh model, compare. */
Test(checkpoint, model_round_trip_and_param_count) {
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("label,x:num,c:cat,t:multi:|", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_SUCCESS);
    ember_features *fx;
    cr_assert_eq(ember_features_create(&fx, s, 50, 70, 4, EMBER_NUMERIC_STD, "x*c", &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ember_features_set_field_buckets(fx, "c=30", &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_neq(ember_features_set_field_buckets(fx, "x=30", &err), EMBER_STATUS_SUCCESS,
                  "x is numeric");
    fx->mean[0] = 1.25;
    fx->std[0] = 3.5;
    fx->nbounds[0] = 2;
    fx->bounds[0] = -1;
    fx->bounds[1] = 2.5;
    fx->stats_ready = 1;
    ember_wd_config cfg;
    ember_wd_config_defaults(&cfg);
    cfg.fx = fx;
    cfg.emb_dim = 3;
    cfg.nhidden = 2;
    cfg.hidden[0] = 7;
    cfg.hidden[1] = 5;
    cfg.seed = 9;
    ember_context *ctx;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    ember_wd_model *m;
    cr_assert_eq(ember_wd_create(ctx, &cfg, 16, &m, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    const char *p = write_temp(3, ".safetensors", "");
    cr_assert_eq(ember_checkpoint_save(m, p, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);

    ember_checkpoint ck;
    cr_assert_eq(ember_checkpoint_read(p, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ck.cfg.emb_dim, 3);
    cr_assert_eq(ck.cfg.nhidden, 2);
    cr_assert_eq(ck.cfg.hidden[1], 5);
    cr_assert_eq(ck.fx->mean[0], 1.25);
    cr_assert_eq(ck.fx->bounds[1], 2.5);
    cr_assert_eq(ck.fx->ncross, 1);
    cr_assert(ember_schema_equal(ck.fx->schema, s));
    ember_wd_model *m2;
    cr_assert_eq(ember_wd_create(ctx, &ck.cfg, 16, &m2, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ember_checkpoint_apply(&ck, m2, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    int64_t n = ember_wd_num_params(m);
    float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
    cr_assert_eq(ember_wd_get_params(m, a, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_wd_get_params(m2, b, &err), EMBER_STATUS_SUCCESS);
    cr_assert(memcmp(a, b, (size_t)n * 4) == 0, "parameters round-trip bit for bit");

    ember_param_count pc;
    int64_t floats;
    cr_assert_eq(ember_checkpoint_params(p, &pc, &floats, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_eq(pc.allocated, floats);
    cr_assert_eq(pc.allocated, n);
    /* d_wide = c (30, its own count) + x buckets (5) + t (50) + cross (70) */
    cr_assert_eq(pc.d_wide, 155);
    cr_assert_eq(pc.embeddings, (30 + 50) * 3);
    cr_assert_eq(ck.fx->field_buckets[0], 30);

    /* a truncated checkpoint is rejected with a message naming the file */
    size_t len;
    char *raw = slurp(p, &len);
    spit(p, raw, len - 4);
    ember_checkpoint_free(&ck);
    cr_assert_eq(ember_checkpoint_read(p, &ck, &err), EMBER_STATUS_CORRUPT_FILE);
    cr_assert(strstr(err.msg, p) != NULL, "%s", err.msg);
    free(raw);
    free(a);
    free(b);
    unlink(p);
    ember_wd_free(m);
    ember_wd_free(m2);
    ember_context_destroy(ctx);
    ember_features_free(fx);
    ember_schema_free(s);
}
