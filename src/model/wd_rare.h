/* wd_rare.h: ids that few training rows have are left out of the deep part's training
 * (`ember train --emb-min-count K`).
 *
 * The embeddings start at zero, and an id no training row has keeps its zero row, which is
 * what the deep part meets for every unseen id at prediction. An id with a handful of rows
 * instead gets a row of its own that memorises those rows (docs/quality.md). Leaving such
 * ids out of the embedding lookups while training (the threshold of CTR pipelines, which map
 * ids seen fewer than K times to one "rare" id) keeps their rows at zero too, so the deep
 * part learns what to predict for a rare or unknown id from real rows of rare ids. The wide
 * part learns every id as before, and prediction needs no change: a rare id's row is still
 * the zero row.
 *
 * Per categorical field, the training rows that hit each bucket (held-out validation rows
 * not counted). In a training batch:
 * - a single-valued field's rare ids are renamed to the field's first bucket (> 0, 0 being
 *   the missing id) that no training row hits, and that bucket is the lookup's padding row
 *   (ember_lookup_desc.padding_idx): it gets no gradient, so it stays zero. A field whose
 *   every bucket is hit keeps its rare ids;
 * - a bag field's rare ids are taken out of their bags (an empty bag pools to zero).
 * Prediction pools a bag with a rare id in it over its zero row too (the mean counts it). */
#ifndef EMBER_MODEL_RARE_H
#define EMBER_MODEL_RARE_H

#include "wd_features.h"
#include "wd_reader.h"

typedef struct ember_rare_ids {
    int n_deep;
    int64_t min_count;    /* ids of fewer training rows are rare; <= 1: none is */
    unsigned char *multi; /* [n_deep] 1: a bag field */
    int64_t *padding;     /* [n_deep]: the bucket rare ids are renamed to; -1: none */
    int64_t **rows;       /* [n_deep][field_buckets]: training rows per bucket */
} ember_rare_ids;

/* The counting pass over rd's training rows (those ember_is_holdout_line(seed, threshold)
 * leaves to training; from the start of the file, in its order). Nothing is counted or
 * allocated when min_count <= 1. Free with ember_rare_ids_free. */
ember_status ember_rare_ids_count(ember_rare_ids *r, const ember_features *fx, int64_t min_count,
                                  ember_reader *rd, uint64_t seed, uint64_t threshold,
                                  ember_model_err *err);
void ember_rare_ids_free(ember_rare_ids *r);
/* Field f's padding row in training batches, -1 for none (the distributed trainer's table
 * specs take it). */
int64_t ember_rare_ids_padding(const ember_rare_ids *r, int f);
/* Takes a training batch's rare ids out of the embeddings' training (renamed to the padding
 * row, which b->deep_pad names, or out of their bags); nothing when min_count <= 1. */
void ember_rare_ids_apply(const ember_rare_ids *r, ember_batch *b);

#endif /* EMBER_MODEL_RARE_H */
