/* wd_rare.h: ids that few training rows have are left out of the deep part's training.
 *
 * The embeddings start at zero, and an id no training row has keeps its zero row, which is
 * what the deep part meets for every unseen id at prediction. An id with a handful of rows
 * would instead get a row of its own that memorises those rows (docs/quality.md). Leaving
 * such ids out of the embedding lookups while training (the threshold of CTR pipelines,
 * which map ids seen fewer than K times to one "rare" id) keeps their rows at zero too, so
 * the deep part learns what to predict for a rare or unknown id from real rows of rare
 * ids. The wide part learns every id as before, and prediction needs no change: a rare id's
 * row is still the zero row.
 *
 * Per categorical field: the training rows that hit each bucket (counted from the training
 * rows, held-out validation rows excluded), and the field's first bucket (> 0, 0 being the
 * missing id) that no training row hits: a training batch's rare ids are renamed to it,
 * and the batch names it as the field's padding row, which gets no gradient and, in a bag,
 * is skipped (ember_lookup_desc.padding_idx). A field with no such bucket (every bucket
 * hit) keeps its rare ids. */
#ifndef EMBER_MODEL_RARE_H
#define EMBER_MODEL_RARE_H

#include "wd_features.h"
#include "wd_reader.h"

typedef struct ember_rare_ids {
    int n_deep;
    int64_t min_count; /* ids of fewer training rows are rare; <= 1: none is */
    int64_t *empty;    /* [n_deep]: the bucket rare ids are renamed to; -1: none */
    int64_t **rows;    /* [n_deep][field_buckets]: training rows per bucket */
} ember_rare_ids;

/* Zero counts for fx's fields (nothing allocated when min_count <= 1). */
ember_status ember_rare_ids_init(ember_rare_ids *r, const ember_features *fx, int64_t min_count);
void ember_rare_ids_free(ember_rare_ids *r);
/* Counts a batch of training rows. */
void ember_rare_ids_count(ember_rare_ids *r, const ember_batch *b);
/* After the counting: each field's empty bucket. */
void ember_rare_ids_finish(ember_rare_ids *r, const ember_features *fx);
/* Renames a training batch's rare ids to their field's empty bucket and sets
 * b->deep_pad (nothing when min_count <= 1). */
void ember_rare_ids_apply(const ember_rare_ids *r, ember_batch *b);

/* The counting pass: every training row of rd (the rows ember_is_holdout_line leaves to
 * training), encoded through b, then finish. */
ember_status ember_rare_ids_pass(ember_rare_ids *r, const ember_features *fx, ember_reader *rd,
                                 ember_batch *b, uint64_t seed, uint64_t threshold,
                                 ember_model_err *err);

#endif /* EMBER_MODEL_RARE_H */
