/* test_buckets.c: the distinct-value counter, bucket sizing from the first pass over the data,
 * and a validation split for early stopping by default even when a test file is given. */
#include "test_util.h"

#include "wd_distinct.h"
#include "wd_hash.h"
#include "wd_trainer.h"

#include <criterion/criterion.h>
#include <math.h>

static double count_distinct(int n, int repeats) {
    ember_distinct d;
    memset(&d, 0, sizeof d);
    for (int r = 0; r < repeats; r++)
        for (int i = 0; i < n; i++) {
            char buf[32];
            int len = snprintf(buf, sizeof buf, "value-%d", i);
            ember_distinct_add(&d, ember_hash_bytes(buf, (size_t)len, 3));
        }
    return ember_distinct_estimate(&d);
}

Test(distinct, counts_small_fields_exactly_and_others_within_4_percent) {
    cr_assert_eq(count_distinct(0, 1), 0.0);
    for (int n = 1; n <= 10; n++) cr_assert_eq(floor(count_distinct(n, 3) + 0.5), n);
    const int sizes[] = {11,  48,  85,  122,  159,   196,   233,   270,
                         307, 344, 381, 1682, 10000, 20000, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const int n = sizes[k];
        const double est = count_distinct(n, 2);
        cr_assert(fabs(est - n) <= fmax(2.0, 0.04 * n), "%d values: %.2f", n, est);
    }
}

/* 4,000 rows: an item id of 1,682 values (MovieLens 100k's item count, more than the old
 * fixed 1,000 buckets), a colour of 3 values, a label from a hash of the row. */
static const char *items_csv(void) {
    size_t cap = 4000 * 32 + 64, o = 0;
    char *text = malloc(cap);
    o += (size_t)snprintf(text + o, cap - o, "label,item,color\n");
    for (int i = 0; i < 4000; i++) {
        uint64_t h = ember_hash_bytes(&i, sizeof i, 99);
        o += (size_t)snprintf(text + o, cap - o, "%d,it%d,%s\n", (int)(h & 1), i % 1682,
                              (h >> 8) % 3 == 0   ? "red"
                              : (h >> 8) % 3 == 1 ? "green"
                                                  : "blue");
    }
    const char *path = write_temp(0, ".csv", text);
    free(text);
    return path;
}

static void count_validated_epochs(void *user, const ember_epoch_report *r) {
    *(int *)user += r->has_valid;
}

/* Trains one epoch on items_csv with the defaults (and --test) and reads back the buckets. */
static void train_items(const char *field_buckets, int64_t cat_buckets, int64_t out[2],
                        int *validated) {
    const char *data = items_csv();
    char model[256];
    snprintf(model, sizeof model, "/tmp/ember_buckets_%d.safetensors", (int)getpid());
    ember_train_opts o;
    ember_train_opts_defaults(&o);
    o.format = EMBER_FORMAT_CSV;
    o.schema = "label,item:cat,color:cat";
    o.header = 1;
    o.data = data;
    o.test = data;
    o.epochs = 1;
    o.threads = 1;
    o.save = model;
    o.field_buckets = field_buckets;
    if (cat_buckets > 0) o.cat_buckets = cat_buckets;
    o.on_epoch = count_validated_epochs;
    o.user = validated;
    *validated = 0;
    ember_train_result r;
    ember_model_err err = {""};
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_checkpoint ck;
    cr_assert_eq(ember_checkpoint_read(model, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ck.fx->n_deep, 2);
    out[0] = ck.fx->field_buckets[0];
    out[1] = ck.fx->field_buckets[1];
    ember_checkpoint_free(&ck);
    unlink(model);
    char optim[300];
    snprintf(optim, sizeof optim, "%s.optim", model);
    unlink(optim);
    unlink(data);
}

Test(buckets, sized_from_the_data_by_default_with_a_validation_split_beside_test, .timeout = 60) {
    int64_t b[2];
    int validated;
    train_items(NULL, 0, b, &validated);
    /* EMBER_BUCKETS_PER_VALUE per distinct value plus the missing id (the item count is an
     * estimate within a few percent; the colours are counted exactly) */
    cr_assert(b[0] > 1600 * EMBER_BUCKETS_PER_VALUE && b[0] < 1760 * EMBER_BUCKETS_PER_VALUE,
              "item: %lld buckets for 1682 values", (long long)b[0]);
    cr_assert_eq(b[1], 1 + 3 * EMBER_BUCKETS_PER_VALUE, "color: %lld buckets", (long long)b[1]);
    cr_assert_eq(validated, 1, "a test file must not turn the validation split off");
}

Test(buckets, an_explicit_count_wins_over_sizing, .timeout = 60) {
    int64_t b[2];
    int validated;
    train_items("color=50", 0, b, &validated);
    cr_assert(b[0] > 1600 * EMBER_BUCKETS_PER_VALUE, "item still sized: %lld", (long long)b[0]);
    cr_assert_eq(b[1], 50);
    train_items(NULL, 1000, b, &validated); /* --buckets 1000: every field exactly that */
    cr_assert_eq(b[0], 1000);
    cr_assert_eq(b[1], 1000);
}
