/* wd_metrics.h: evaluation of a binary classifier: exact AUC (sort-based, ties counted half),
 * logloss and accuracy. */
#ifndef EMBER_MODEL_METRICS_H
#define EMBER_MODEL_METRICS_H

#include "ember.h"

#include <stdint.h>

/* Area under the ROC curve of scores against labels (label > 0.5 is positive): the
 * probability that a random positive scores above a random negative, ties counting 1/2.
 * Sorts a copy: O(n log n). NaN when either class is absent, a score is NaN, or memory
 * runs out. */
double ember_auc(const float *scores, const float *labels, int64_t n);
/* Mean binary cross-entropy of probabilities (clipped to [1e-7, 1 - 1e-7]). */
double ember_logloss(const float *probs, const float *labels, int64_t n);
/* Fraction with (prob >= 0.5) == (label > 0.5). */
double ember_accuracy(const float *probs, const float *labels, int64_t n);

/* A growable list of (probability, label) pairs for one evaluation pass. */
typedef struct ember_eval {
    float *prob, *label;
    int64_t n, cap;
} ember_eval;

/* Appends n pairs; NUMERIC_ERROR (nothing appended) when a probability is NaN: a model that
 * scores NaN is an error, never a metric. */
ember_status ember_eval_add(ember_eval *e, const float *probs, const float *labels, int64_t n);
void ember_eval_reset(ember_eval *e);
void ember_eval_free(ember_eval *e);

typedef struct ember_metrics {
    double auc, logloss, accuracy;
    int64_t n;
} ember_metrics;

ember_metrics ember_eval_metrics(const ember_eval *e);

#endif /* EMBER_MODEL_METRICS_H */
