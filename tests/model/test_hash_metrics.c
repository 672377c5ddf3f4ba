/* test_hash_metrics.c: the hash is stable (saved models depend on it) and the metrics match
 * hand-computed values. */
#include "wd_hash.h"
#include "wd_metrics.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#define EMBER_TEST_HASH_BACHELORS_3 0xe48a7cae58a5f6e6ull

Test(hash, stable_values_and_seeds) {
    /* Frozen values: a change here breaks every saved model. */
    uint64_t h1 = ember_hash_bytes("Bachelors", 9, 3);
    uint64_t h2 = ember_hash_bytes("Bachelors", 9, 3);
    cr_assert_eq(h1, h2);
    cr_assert_eq(h1, EMBER_TEST_HASH_BACHELORS_3, "hash changed: %llx", (unsigned long long)h1);
    cr_assert_neq(ember_hash_bytes("Bachelors", 9, 4), h1, "the seed (field) matters");
    cr_assert_neq(ember_hash_bytes("bachelors", 9, 3), h1);
    cr_assert_neq(ember_hash_bytes("", 0, 0), ember_hash_bytes("", 0, 1));
    /* buckets stay in [1, B) and spread */
    int hist[10] = {0};
    for (int i = 0; i < 10000; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "v%d", i);
        int64_t b = ember_hash_bucket(ember_hash_bytes(buf, (size_t)n, 7), 11);
        cr_assert(b >= 1 && b < 11);
        hist[b - 1]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert(hist[k] > 850 && hist[k] < 1150, "bucket %d: %d", k, hist[k]);
}

Test(metrics, auc_hand_computed) {
    const float y[4] = {0, 0, 1, 1};
    const float s1[4] = {0.1f, 0.4f, 0.35f, 0.8f}; /* 3 of 4 pairs ordered */
    cr_assert_float_eq(ember_auc(s1, y, 4), 0.75, 1e-12);
    const float s2[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    cr_assert_float_eq(ember_auc(s2, y, 4), 1.0, 1e-12);
    const float s3[4] = {0.5f, 0.5f, 0.5f, 0.5f}; /* all tied: 1/2 */
    cr_assert_float_eq(ember_auc(s3, y, 4), 0.5, 1e-12);
    /* ties across classes count half: pairs (n,p): (0.2,0.2)=.5 (0.2,0.9)=1 (0.6,0.2)=0
     * (0.6,0.9)=1 -> 2.5/4 */
    const float y4[4] = {0, 1, 0, 1};
    const float s4[4] = {0.2f, 0.2f, 0.6f, 0.9f};
    cr_assert_float_eq(ember_auc(s4, y4, 4), 0.625, 1e-12);
    const float y5[3] = {1, 1, 1};
    cr_assert(isnan(ember_auc(s4, y5, 3)), "one class only: NaN");
}

Test(metrics, logloss_and_accuracy) {
    const float y[2] = {1, 0};
    const float p[2] = {0.8f, 0.4f};
    double want = -(log(0.8f) + log(1.0 - 0.4f)) / 2.0;
    cr_assert_float_eq(ember_logloss(p, y, 2), want, 1e-6);
    cr_assert_float_eq(ember_accuracy(p, y, 2), 1.0, 1e-12);
    const float p0[2] = {0.0f, 1.0f}; /* clipped, finite */
    cr_assert(isfinite(ember_logloss(p0, y, 2)));
}
