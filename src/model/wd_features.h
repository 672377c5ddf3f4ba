/* wd_features.h: turns parsed rows into model inputs: the hashing trick per categorical field,
 * hashed crosses, numeric transforms (log1p, standardise) and numeric buckets, and the batch
 * those land in.
 *
 * Fields, in this order:
 * - deep fields: one per categorical/multi column; ids in [0, buckets), 0 = missing; a
 *   multi column gives a bag of ids (mean-pooled), a single-valued column exactly one id.
 * - numeric features: one float per numeric column: log1p(max(x, 0)) and/or standardised
 *   with the training data's mean and deviation (missing -> 0, the mean).
 * - wide fields (sum of one-weight lookups): each categorical column (its ids), each numeric
 *   column bucketised at quantiles of the training data (num_bins + 1 ids, 0 = missing;
 *   when num_bins > 0), then each cross (cross_buckets ids). Wide ids in a batch are global:
 *   field offset + id, in [0, d_wide). */
#ifndef EMBER_MODEL_FEATURES_H
#define EMBER_MODEL_FEATURES_H

#include "wd_distinct.h"
#include "wd_reader.h"

typedef enum ember_numeric_mode {
    EMBER_NUMERIC_LOG_STD = 0, /* log1p(max(x,0)), then standardised (default) */
    EMBER_NUMERIC_LOG = 1,     /* log1p(max(x,0)) */
    EMBER_NUMERIC_STD = 2,     /* standardised */
    EMBER_NUMERIC_RAW = 3      /* as read */
} ember_numeric_mode;

const char *ember_numeric_mode_name(ember_numeric_mode m);
ember_status ember_numeric_mode_parse(const char *s, ember_numeric_mode *m);

#define EMBER_MAX_CROSS 16
#define EMBER_MAX_CROSS_LEN 4

typedef struct ember_features {
    ember_schema *schema;     /* owned */
    int64_t cat_buckets;      /* the default buckets of a categorical field (when sized from
                                 the data: the most a field gets) */
    int64_t *field_buckets;   /* [n_deep]: each categorical field's buckets */
    unsigned char *sized;     /* [n_deep]: 1 when the statistics pass sizes the field */
    ember_distinct *distinct; /* [n_deep] while a statistics pass sizes buckets, else NULL */
    int64_t cross_buckets;
    int num_bins;
    ember_numeric_mode numeric_mode;
    int ncross;
    int cross_len[EMBER_MAX_CROSS];
    int cross_cols[EMBER_MAX_CROSS][EMBER_MAX_CROSS_LEN];
    /* derived from the schema */
    int n_deep;
    int *deep_col;
    int n_num;
    int *num_col;
    int n_wide;
    int64_t *wide_buckets;
    int64_t *wide_offset;
    int64_t d_wide;
    /* statistics of the training data, per numeric column */
    int stats_ready;
    double *mean, *std;
    int *nbounds;   /* <= num_bins - 1 */
    double *bounds; /* [n_num x max(num_bins-1,1)] ascending */
    /* statistics pass state */
    int64_t stat_count;
    double *w_n, *w_mean, *w_m2;
    double *reservoir; /* [n_num x EMBER_RESERVOIR] */
    int64_t *res_n;
    uint64_t res_rng;
} ember_features;

#define EMBER_RESERVOIR 20000

/* Creates the feature map of a schema (copied). crosses: "a*b,c*d*e" by column names (or
 * NULL/"" for none); a numeric column in a cross contributes its bucket. */
ember_status ember_features_create(ember_features **out, const ember_schema *schema,
                                   int64_t cat_buckets, int64_t cross_buckets, int num_bins,
                                   ember_numeric_mode mode, const char *crosses,
                                   ember_model_err *err);
void ember_features_free(ember_features *fx);
/* Per-field bucket counts: "NAME=N,NAME=N" (other fields keep cat_buckets). Call before the
 * statistics pass; recomputes the wide layout. */
ember_status ember_features_set_field_buckets(ember_features *fx, const char *spec,
                                              ember_model_err *err);
/* Bucket sizing from the data: every categorical field that ember_features_set_field_buckets
 * does not name gets EMBER_BUCKETS_PER_VALUE buckets per distinct value the statistics pass
 * sees (so about 3% of the values share a bucket with another: hashing an id field of 1,682
 * values into a fixed 1,000 buckets merged most of them), plus the missing id, at most
 * cat_buckets. Call before the statistics pass. */
#define EMBER_BUCKETS_PER_VALUE 32
/* cat_buckets of `ember train` when sizing: 2^17 rows per field (4 MiB at dimension 8). */
#define EMBER_AUTO_BUCKETS_MAX 131072
ember_status ember_features_size_buckets_from_data(ember_features *fx, ember_model_err *err);
/* The same from one count per categorical field, in field order. */
ember_status ember_features_set_bucket_list(ember_features *fx, const int64_t *buckets,
                                            ember_model_err *err);
/* The bucket count every categorical field has (as `--buckets N` gives), or 0 when the
 * fields differ (sized from the data, or --field-buckets): what checkpoints and `encode`
 * report as cat_buckets, beside each field's own count. */
int64_t ember_features_common_buckets(const ember_features *fx);
/* Room for the text of the most crosses of the longest names: each name and its separator. */
#define EMBER_CROSSES_TEXT_MAX (EMBER_MAX_CROSS * EMBER_MAX_CROSS_LEN * EMBER_NAME_MAX + 1)
/* The crosses in the text form create takes, into buf. Returns 0, or -1 when they do not fit
 * in cap bytes (never with EMBER_CROSSES_TEXT_MAX): a cut text would name fewer crosses. */
int ember_features_crosses_string(const ember_features *fx, char *buf, size_t cap);

/* The statistics pass: add every training row, then finish (computes mean, deviation and
 * bucket boundaries; a numeric column never seen gets mean 0, deviation 1; sizes buckets
 * when asked to, which recomputes the wide layout). */
void ember_features_stats_add(ember_features *fx, const ember_row *row);
ember_status ember_features_stats_finish(ember_features *fx, ember_model_err *err);

/* One batch of encoded examples (host memory). */
typedef struct ember_batch {
    int64_t cap, n;
    int n_deep, n_num;
    float *label;              /* [cap] */
    int64_t *line;             /* [cap] source line, for messages */
    float *num;                /* [cap x n_num] */
    unsigned char *deep_multi; /* [n_deep] 1: bag field */
    int64_t **deep_ids;        /* [n_deep][...] */
    int64_t *deep_ids_cap;
    int64_t **deep_offs; /* [n_deep][cap + 1]; used for bag fields */
    int64_t *deep_pad;   /* [n_deep]: the field's padding row, which gets no gradient
                            (wd_rare.h), -1: none; ember_batch_clear resets it */
    int64_t *wide_ids;   /* global ids */
    int64_t wide_cap;
    int64_t *wide_offs; /* [cap + 1] */
} ember_batch;

ember_status ember_batch_create(ember_batch **out, const ember_features *fx, int64_t cap);
void ember_batch_free(ember_batch *b);
void ember_batch_clear(ember_batch *b);
/* Encodes one row and appends it (b->n < b->cap). */
ember_status ember_features_encode(const ember_features *fx, const ember_row *row, ember_batch *b,
                                   ember_model_err *err);

#endif /* EMBER_MODEL_FEATURES_H */
