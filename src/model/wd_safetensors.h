/* wd_safetensors.h: reading and writing the safetensors format (Hugging Face): an 8-byte
 * little-endian header length N, N bytes of JSON ({"__metadata__": {string: string},
 * "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}), then the
 * raw little-endian data. Only F32 tensors. Python loads ember's files with
 * `safetensors.numpy.load_file` or 20 lines of stdlib (see docs/formats.md).
 *
 * Writes are atomic (util/atomic_file.h): a failed write leaves any older file untouched.
 * Reads check every length, offset and shape against the file and report
 * EMBER_STATUS_CORRUPT_FILE naming what is wrong. */
#ifndef EMBER_MODEL_SAFETENSORS_H
#define EMBER_MODEL_SAFETENSORS_H

#include "wd_util.h"

#define EMBER_ST_NAME_MAX 128
#define EMBER_ST_MAX_DIMS 8

typedef struct ember_st_tensor {
    char name[EMBER_ST_NAME_MAX];
    int ndim;
    int64_t shape[EMBER_ST_MAX_DIMS];
    int64_t count; /* product of the shape */
    float *data;   /* read: points into the file's blob; write: the caller's floats */
} ember_st_tensor;

typedef struct ember_st_meta {
    char *key;
    char *value;
} ember_st_meta;

typedef struct ember_st_file {
    int ntensors;
    ember_st_tensor *tensors; /* in file order of their data */
    int nmeta;
    ember_st_meta *meta;
    float *blob;
    int64_t total_floats;
    int *by_name; /* tensor indices sorted by name: ember_st_find is a binary search */
} ember_st_file;

/* Writes tensors (count = product of shape is computed here) and string metadata. */
ember_status ember_st_write(const char *path, const ember_st_tensor *tensors, int ntensors,
                            const ember_st_meta *meta, int nmeta, ember_model_err *err);
/* Reads and checks a whole file; free with ember_st_free. */
ember_status ember_st_read(const char *path, ember_st_file *out, ember_model_err *err);
void ember_st_free(ember_st_file *f);
const ember_st_tensor *ember_st_find(const ember_st_file *f, const char *name);
const char *ember_st_meta_get(const ember_st_file *f, const char *key);

#endif /* EMBER_MODEL_SAFETENSORS_H */
