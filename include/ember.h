/* ember.h: the whole public C API of ember, embedding-model building blocks on CPU, CUDA
 * and OpenCL. Sections: status codes, backends and contexts, device memory, embedding ops,
 * sparse optimizers, dense layers, sigmoid head, Wide&Deep parameter counting.
 *
 * Conventions (from cuBLAS, zstd, SQLite):
 * - Every fallible call returns ember_status; EMBER_STATUS_SUCCESS is 0.
 * - A context (ember_context) is one device of one backend, created and destroyed
 *   explicitly. After a failed call, ember_context_last_error() holds a message naming the
 *   problem and where (which index at which position, which native call failed).
 * - Threads: a context and everything allocated from it may be used by one thread at a
 *   time; different contexts may be used from different threads concurrently. The
 *   functions that take no context (status strings, device listing, parameter counting)
 *   are thread-safe.
 * - Memory: device memory (ember_buffer) comes from ember_buffer_alloc and is owned by the
 *   caller until ember_buffer_free, or wraps memory the caller owns (ember_buffer_wrap);
 *   copies between host and device are explicit (upload/download). Apart from wrapped
 *   memory, ember keeps no pointer to caller memory after a call returns. Every
 *   destroy/free function accepts NULL.
 * - Ops are ordered on their context: a call may return before the device has finished
 *   (CUDA, OpenCL); download and ember_context_synchronize wait for it.
 * - Validation happens before anything is written: when an op returns an error status,
 *   its outputs, the table and the optimizer state are exactly as they were.
 * - Aliasing: a buffer an op writes must not be one it reads, nor another it writes
 *   (INVALID_ARGUMENT naming both). What an op updates in place is one argument: the table
 *   and state of the optimizer steps and fused updates, dy of ember_dense_backward. A
 *   state argument the optimizer ignores (SGD) may be anything. In the table-batched
 *   update a table or state named by two entries is not refused, but what it then holds
 *   is unspecified (a GPU backend updates all entries at once, so the two may race).
 * - Sizes: every size is checked for overflow; a shape whose byte count does not fit in
 *   size_t (or an int64 count) is INVALID_ARGUMENT, never wrapped.
 * - PyTorch: the embedding ops and the head follow F.embedding, F.embedding_bag and
 *   F.binary_cross_entropy_with_logits, edge cases included, except for the differences
 *   named where they apply: padding_idx -1 means none (PyTorch: None), and BCE over n == 0
 *   gives 0 (PyTorch: NaN).
 *
 * Usage:
 *   ember_context *ctx;
 *   if (ember_context_create(&ctx, EMBER_BACKEND_CPU, 0) != EMBER_STATUS_SUCCESS) ...
 *   ember_buffer *table;
 *   ember_buffer_alloc(ctx, rows * dim * sizeof(float), &table);
 *   ember_buffer_upload(ctx, table, 0, host_table, rows * dim * sizeof(float));
 *   ...
 *   ember_buffer_free(table);
 *   ember_context_destroy(ctx);
 */
#ifndef EMBER_H
#define EMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EMBER_API
#else
#define EMBER_API __attribute__((visibility("default")))
#endif

/* EMBER_VERSION_MAJOR, _MINOR, _PATCH and EMBER_VERSION_STRING of the headers, generated
 * from the project version in CMakeLists.txt. */
#include "ember_version.h"

/* The version of the library actually loaded ("0.1.0"), which may differ from the headers'
 * EMBER_VERSION_STRING when a program runs against another build. */
EMBER_API const char *ember_version(void);

/* ======================================================================================
 * Status codes
 * ====================================================================================== */

/* X(name, message): one list gives the enum and ember_status_string(). */
#define EMBER_STATUS_LIST(X)                                                                       \
    X(SUCCESS, "success")                                                                          \
    X(INVALID_ARGUMENT, "invalid argument")                                                        \
    X(INDEX_OUT_OF_RANGE, "index out of range")                                                    \
    X(BAD_OFFSETS, "bad offsets")                                                                  \
    X(SHAPE_MISMATCH, "shape mismatch")                                                            \
    X(BUFFER_TOO_SMALL, "buffer too small for the given shape")                                    \
    X(WRONG_CONTEXT, "buffer belongs to another context")                                          \
    X(OUT_OF_MEMORY, "out of memory")                                                              \
    X(NOT_SUPPORTED, "not supported by this backend")                                              \
    X(BACKEND_NOT_COMPILED, "backend not compiled in")                                             \
    X(NO_DEVICE, "no usable device")                                                               \
    X(DEVICE_ERROR, "device or driver error")                                                      \
    X(BUILD_FAILED, "kernel build failed")                                                         \
    X(IO_ERROR, "input/output error")                                                              \
    X(BAD_DATA, "malformed input data")                                                            \
    X(CORRUPT_FILE, "corrupt or truncated file")                                                   \
    X(NUMERIC_ERROR, "non-finite value (NaN or infinity)")                                         \
    X(INTERNAL, "internal error")

typedef enum ember_status {
#define EMBER_STATUS_ENUM_(name, msg) EMBER_STATUS_##name,
    EMBER_STATUS_LIST(EMBER_STATUS_ENUM_)
#undef EMBER_STATUS_ENUM_
        EMBER_STATUS_COUNT_
} ember_status;

/* A short, static description of a status ("index out of range"); never NULL. */
EMBER_API const char *ember_status_string(ember_status status);
/* The enum name without prefix ("INDEX_OUT_OF_RANGE"); never NULL. */
EMBER_API const char *ember_status_name(ember_status status);

/* ======================================================================================
 * Backends, devices and contexts
 * ====================================================================================== */

typedef enum ember_backend_kind {
    EMBER_BACKEND_CPU = 0,
    EMBER_BACKEND_CUDA = 1,
    EMBER_BACKEND_OPENCL = 2,
    EMBER_BACKEND_KIND_COUNT_
} ember_backend_kind;

/* "cpu", "cuda", "opencl"; NULL for an unknown kind. (Test builds also know "perturbed", a
 * deliberately wrong backend outside this enum that proves `ember check` can fail.) */
EMBER_API const char *ember_backend_name(ember_backend_kind kind);
/* Parses a name as above (case-insensitive) into *kind. */
EMBER_API ember_status ember_backend_parse(const char *name, ember_backend_kind *kind);
/* 1 when the backend was compiled into this build (CUDA: when its plugin is found). */
EMBER_API int ember_backend_compiled(ember_backend_kind kind);

typedef struct ember_device_info {
    ember_backend_kind kind;
    int index;             /* device index within the backend, as passed to create */
    char name[256];        /* e.g. "NVIDIA H200", "pthread-skylake-avx512 (PoCL)" */
    char detail[256];      /* platform, driver version, compute capability, threads */
    uint64_t memory_bytes; /* device memory; host memory for the CPU */
    int usable;            /* 1 when a context can be created on it */
    char reason[256];      /* when not usable: why */
} ember_device_info;

/* Lists the devices of one backend. Writes at most `capacity` entries to `out` (which may
 * be NULL when capacity is 0) and the number found to *count. A backend that is compiled
 * in but finds no device returns EMBER_STATUS_NO_DEVICE and one entry (usable = 0) whose
 * reason says why; a backend not compiled in returns EMBER_STATUS_BACKEND_NOT_COMPILED and
 * one such entry. */
EMBER_API ember_status ember_backend_devices(ember_backend_kind kind, ember_device_info *out,
                                             size_t capacity, size_t *count);

typedef struct ember_context ember_context;

/* Creates a context on device `device` of backend `kind`. For OpenCL the device index
 * counts all devices of all platforms in order; EMBER_OPENCL_DEVICE=platform:device in the
 * environment chooses one when `device` is -1. On failure *out is NULL and the status says
 * why (BACKEND_NOT_COMPILED, NO_DEVICE, DEVICE_ERROR, BUILD_FAILED, OUT_OF_MEMORY);
 * ember_last_error() then holds the detail, since there is no context to ask. */
EMBER_API ember_status ember_context_create(ember_context **out, ember_backend_kind kind,
                                            int device);
/* Creates a context on the best usable backend: CUDA when a device is usable, else OpenCL
 * when EMBER_OPENCL_DEVICE names a device, else the CPU. */
EMBER_API ember_status ember_context_create_best(ember_context **out);
/* Waits for outstanding work, then releases every resource of the context. Accepts NULL.
 * Buffers should be freed before: a buffer still alive is released here too, and its
 * handle stays valid for ember_buffer_free (which then only frees the handle) and
 * ember_buffer_size; any other use of it returns WRONG_CONTEXT. Returns SUCCESS, or
 * INVALID_ARGUMENT when buffers were still alive (ember_last_error() says how many): the
 * context is destroyed either way. */
EMBER_API ember_status ember_context_destroy(ember_context *ctx);

EMBER_API ember_backend_kind ember_context_kind(const ember_context *ctx);
/* The device's name, as in ember_device_info.name. */
EMBER_API const char *ember_context_device_name(const ember_context *ctx);
/* The message of the last failed call on this context ("" when none); valid until the next
 * call on the context. */
EMBER_API const char *ember_context_last_error(const ember_context *ctx);
/* The message of the last failed call that had no context (create, device listing) in this
 * thread. */
EMBER_API const char *ember_last_error(void);
/* Waits until every op issued on the context has finished. */
EMBER_API ember_status ember_context_synchronize(ember_context *ctx);

/* Threads the CPU backend uses. 0 (the default): the idle cores, those of the allowed cores
 * no other process is running on, at least one, re-counted at most every 250 ms (from
 * /proc/loadavg), so that busy neighbours never make an op slower than on one thread;
 * N > 0: N threads whatever the load. Other backends ignore it. */
EMBER_API ember_status ember_context_set_threads(ember_context *ctx, int threads);

typedef enum ember_math_mode {
    EMBER_MATH_STRICT_FP32 = 0, /* default: IEEE float32 products in GEMMs */
    EMBER_MATH_ALLOW_TF32 = 1   /* CUDA: let cuBLAS use TF32 tensor cores (less precise) */
} ember_math_mode;
EMBER_API ember_status ember_context_set_math_mode(ember_context *ctx, ember_math_mode mode);

/* CUDA: runs the context's work from now on `stream`, a cudaStream_t of the context's device
 * that the caller owns (PyTorch's current stream, say), instead of the context's own stream,
 * so that ember's ops order with the caller's kernels without a device-wide synchronisation.
 * NULL returns to the context's own stream. Work already issued finishes first. The caller
 * keeps the stream alive while the context uses it. Other backends: NOT_SUPPORTED. */
EMBER_API ember_status ember_context_set_stream(ember_context *ctx, void *stream);

/* ======================================================================================
 * Device memory
 * ====================================================================================== */

typedef struct ember_buffer ember_buffer;

/* Allocates `bytes` (> 0) of device memory on the context. Contents are undefined.
 * EMBER_STATUS_OUT_OF_MEMORY names the size asked and, where known, the size free. */
EMBER_API ember_status ember_buffer_alloc(ember_context *ctx, size_t bytes, ember_buffer **out);
/* Wraps memory the caller owns as a buffer of `bytes` (> 0) bytes, without copying: a host
 * pointer for the CPU backend, a device pointer of the context's device for CUDA, a cl_mem
 * of the context's cl_context for OpenCL. The buffer then serves every call as an allocated
 * one would. ember never frees wrapped memory: ember_buffer_free and ember_context_destroy
 * release only the handle, and the caller keeps the memory (for OpenCL, a reference to the
 * cl_mem) alive while the buffer exists. ember keeps nothing derived from a wrapped
 * buffer's contents between calls, so the caller may change them between calls. Errors:
 * INVALID_ARGUMENT for NULL or 0 bytes, and where the backend can tell: CUDA memory that is
 * not the context's device's, an OpenCL cl_mem of another context or smaller than `bytes`
 * (host memory cannot be checked; nor can a CUDA allocation's size). */
EMBER_API ember_status ember_buffer_wrap(ember_context *ctx, void *native, size_t bytes,
                                         ember_buffer **out);
/* The memory behind a buffer, as ember_buffer_wrap takes it: host pointer (CPU), device
 * pointer (CUDA) or cl_mem (OpenCL), to share it with other libraries; NULL for NULL or a
 * buffer whose context was destroyed. An allocated buffer's memory stays ember's. */
EMBER_API void *ember_buffer_native(const ember_buffer *buf);
/* Frees a buffer (a wrapped buffer's handle only); accepts NULL. */
EMBER_API void ember_buffer_free(ember_buffer *buf);
EMBER_API size_t ember_buffer_size(const ember_buffer *buf);
/* Copies host memory into the buffer at byte `offset`; blocks until `src` may be reused. */
EMBER_API ember_status ember_buffer_upload(ember_context *ctx, ember_buffer *dst, size_t offset,
                                           const void *src, size_t bytes);
/* Copies from the buffer at byte `offset` to host memory; waits for earlier ops. */
EMBER_API ember_status ember_buffer_download(ember_context *ctx, const ember_buffer *src,
                                             size_t offset, void *dst, size_t bytes);
/* Sets `bytes` bytes from `offset` to zero. */
EMBER_API ember_status ember_buffer_zero(ember_context *ctx, ember_buffer *buf, size_t offset,
                                         size_t bytes);

/* ======================================================================================
 * Embedding lookup and backward
 * ====================================================================================== */

typedef enum ember_index_type {
    EMBER_INDEX_INT64 = 0, /* default, as PyTorch */
    EMBER_INDEX_INT32 = 1
} ember_index_type;

typedef enum ember_pooling {
    EMBER_POOLING_NONE = 0, /* one index per output row; offsets must be NULL */
    EMBER_POOLING_SUM = 1,  /* bags given by CSR offsets */
    EMBER_POOLING_MEAN = 2
} ember_pooling;

/* "none", "sum", "mean"; NULL for an unknown pooling. */
EMBER_API const char *ember_pooling_name(ember_pooling pooling);

/* How gradients of repeated indices are added. */
typedef enum ember_reduction_mode {
    EMBER_REDUCTION_ATOMIC = 0,       /* default: fastest; float sums may differ by rounding
                                         from run to run */
    EMBER_REDUCTION_DETERMINISTIC = 1 /* bit-identical from run to run and for any thread
                                         count: indices are grouped by row and each row's
                                         contributions are added in input order */
} ember_reduction_mode;

/* The shape of one embedding op. Zero-initialise it (or use ember_lookup_desc_init) and
 * set what you need.
 *
 * Indices (and offsets) are device buffers of index_type. With POOLING_NONE, output row i
 * is table row indices[i] (batch == num_indices). With SUM/MEAN, bag b holds indices
 * offsets[b] .. offsets[b+1]-1; offsets has batch+1 entries, offsets[0] == 0, never
 * decreasing, offsets[batch] == num_indices. An empty bag gives a zero row. An index equal
 * to padding_idx (when >= 0; -1 means none, where PyTorch uses None) never gets a gradient;
 * in SUM and MEAN bags it is also skipped (adds nothing, not counted by MEAN), as in
 * F.embedding_bag. With POOLING_NONE its output row is the table's row, as F.embedding
 * returns it. per_sample_weights (float, one per
 * index) scale each row with SUM (INVALID_ARGUMENT with other poolings); they are treated
 * as constants by the backward.
 *
 * The output (and the gradient given to the backward) is a [batch x out_row_stride] float
 * matrix whose columns out_col_offset .. out_col_offset+dim-1 hold this op's rows: several
 * tables can write side by side into one wide matrix, as FBGEMM's batched tables do.
 * out_row_stride 0 means dim. With accumulate = 1 the lookup adds into the output instead
 * of overwriting it. */
typedef struct ember_lookup_desc {
    int64_t num_rows;    /* table rows (vocabulary) */
    int64_t dim;         /* table columns (embedding dimension), >= 1 */
    int64_t num_indices; /* length of the index buffer, >= 0 */
    int64_t batch;       /* output rows, >= 0 */
    ember_index_type index_type;
    ember_pooling pooling;
    int64_t padding_idx;    /* -1: none */
    int64_t out_row_stride; /* 0: dim */
    int64_t out_col_offset; /* 0 */
    int accumulate;         /* lookup only: 1 adds into the output */
} ember_lookup_desc;

/* Fills a desc with the defaults: int64 indices, no pooling, no padding, dense output. */
EMBER_API void ember_lookup_desc_init(ember_lookup_desc *desc, int64_t num_rows, int64_t dim,
                                      int64_t num_indices, int64_t batch, ember_pooling pooling);

/* Gathers (and pools) table rows into `out`. `offsets` is NULL with POOLING_NONE and
 * required otherwise; per_sample_weights may be NULL. Errors: INDEX_OUT_OF_RANGE (message:
 * position and value), BAD_OFFSETS (message: which offset and why), SHAPE_MISMATCH,
 * BUFFER_TOO_SMALL, INVALID_ARGUMENT. */
EMBER_API ember_status ember_embedding_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                                              const ember_buffer *table,
                                              const ember_buffer *indices,
                                              const ember_buffer *offsets,
                                              const ember_buffer *per_sample_weights,
                                              ember_buffer *out);

/* Backward into a dense, table-shaped gradient: grad_table[row] += the gradient of every
 * output row that read `row` (scaled by the bag's 1/count for MEAN and by the sample
 * weight for SUM). Rows that no index names are not touched: zero grad_table first for a
 * fresh gradient. */
EMBER_API ember_status ember_embedding_backward_dense(
    ember_context *ctx, const ember_lookup_desc *desc, const ember_buffer *indices,
    const ember_buffer *offsets, const ember_buffer *per_sample_weights,
    const ember_buffer *grad_out, ember_reduction_mode mode, ember_buffer *grad_table);

/* Backward into a coalesced sparse gradient: unique_ids (int64, capacity num_indices)
 * receives the distinct rows used, in ascending order, and unique_grads (float, capacity
 * num_indices x dim) one summed gradient row for each; *num_unique (host) their number.
 * Padding indices are left out. */
EMBER_API ember_status ember_embedding_backward_sparse(
    ember_context *ctx, const ember_lookup_desc *desc, const ember_buffer *indices,
    const ember_buffer *offsets, const ember_buffer *per_sample_weights,
    const ember_buffer *grad_out, ember_reduction_mode mode, ember_buffer *unique_ids,
    ember_buffer *unique_grads, int64_t *num_unique);

/* Table-batched lookup (FBGEMM's TBE): one call over num_tables tables that share `batch`
 * and write side by side into one output matrix, table t into its descs[t].out_col_offset
 * columns (all descs must have the same batch and out_row_stride). tables, indices and
 * offsets are arrays of num_tables buffers; per_sample_weights is NULL or such an array
 * whose entries may be NULL. Every table's arguments and indices are validated before
 * anything is written; an error names the table. A GPU backend runs all tables in one
 * launch, so small tables do not leave the device idle between calls. */
EMBER_API ember_status ember_embedding_lookup_batched(ember_context *ctx, int64_t num_tables,
                                                      const ember_lookup_desc *descs,
                                                      const ember_buffer *const *tables,
                                                      const ember_buffer *const *indices,
                                                      const ember_buffer *const *offsets,
                                                      const ember_buffer *const *per_sample_weights,
                                                      ember_buffer *out);

/* ======================================================================================
 * Optimizers
 * ====================================================================================== */

typedef enum ember_optimizer_kind {
    EMBER_OPTIMIZER_SGD = 0,             /* w -= lr * g; no state */
    EMBER_OPTIMIZER_ADAGRAD = 1,         /* s += g*g; w -= lr * g / (sqrt(s) + eps);
                                            state: one float per parameter */
    EMBER_OPTIMIZER_ROWWISE_ADAGRAD = 2, /* s_row += mean(g*g over the row); w -= lr * g /
                                            (sqrt(s_row) + eps); state: one float per row.
                                            Sparse (embedding) only. */
    EMBER_OPTIMIZER_ADAM = 3             /* m, v with bias correction; state: two floats
                                            per parameter (state, then state2). Dense
                                            only. */
} ember_optimizer_kind;

typedef struct ember_optimizer {
    ember_optimizer_kind kind;
    float learning_rate;
    float eps;          /* Adagrad, Adam; 1e-10 / 1e-8 are usual */
    float beta1, beta2; /* Adam */
    float weight_decay; /* L2: g += weight_decay * w before the update (touched rows only) */
    int64_t step;       /* Adam: the 1-based number of this step, for bias correction */
} ember_optimizer;

/* "sgd", "adagrad", "rowwise_adagrad", "adam" (the names checkpoints store); NULL for an
 * unknown kind. */
EMBER_API const char *ember_optimizer_name(ember_optimizer_kind kind);

/* Fills an optimizer with PyTorch's defaults for the kind and the given learning rate. */
EMBER_API void ember_optimizer_init(ember_optimizer *opt, ember_optimizer_kind kind,
                                    float learning_rate);
/* Floats of `state` a table (rows x dim) needs for the kind: 0 (SGD), rows*dim (Adagrad,
 * Adam; Adam needs a `state2` of the same size too) or rows (row-wise Adagrad). -1 when
 * rows or dim is negative or the count does not fit in int64. */
EMBER_API int64_t ember_optimizer_state_size(ember_optimizer_kind kind, int64_t rows, int64_t dim);

/* Applies a coalesced sparse gradient (as ember_embedding_backward_sparse returns it) to
 * the rows it names and no others. `state` holds ember_optimizer_state_size floats
 * (initialised by the caller, usually to zero; NULL for SGD). The ids must be distinct. */
EMBER_API ember_status ember_sparse_optimizer_step(ember_context *ctx, const ember_optimizer *opt,
                                                   int64_t num_rows, int64_t dim,
                                                   ember_buffer *table, ember_buffer *state,
                                                   const ember_buffer *unique_ids,
                                                   const ember_buffer *unique_grads,
                                                   int64_t num_unique);

/* Backward fused with a sparse optimizer: each row used in the batch gets its summed
 * gradient and is updated once; no gradient table is materialised and no other row or
 * state entry changes. Equivalent to backward_sparse followed by sparse_optimizer_step: bit
 * for bit in DETERMINISTIC mode; in ATOMIC mode a linear update (SGD without weight decay)
 * may be applied contribution by contribution and so round differently. */
EMBER_API ember_status ember_embedding_backward_update(
    ember_context *ctx, const ember_lookup_desc *desc, const ember_buffer *indices,
    const ember_buffer *offsets, const ember_buffer *per_sample_weights,
    const ember_buffer *grad_out, ember_reduction_mode mode, const ember_optimizer *opt,
    ember_buffer *table, ember_buffer *state);

/* Table-batched ember_embedding_backward_update: grad_out is the gradient of the batched
 * lookup's output; tables and states are arrays of num_tables buffers (states may be NULL
 * for SGD). Validated whole before anything is written. */
EMBER_API ember_status ember_embedding_backward_update_batched(
    ember_context *ctx, int64_t num_tables, const ember_lookup_desc *descs,
    const ember_buffer *const *indices, const ember_buffer *const *offsets,
    const ember_buffer *const *per_sample_weights, const ember_buffer *grad_out,
    ember_reduction_mode mode, const ember_optimizer *opt, ember_buffer *const *tables,
    ember_buffer *const *states);

/* Dense update of `n` parameters: param, grad and state are float buffers of n entries
 * (state2 too for Adam; NULL otherwise). ROWWISE_ADAGRAD is NOT_SUPPORTED here. */
EMBER_API ember_status ember_dense_optimizer_step(ember_context *ctx, const ember_optimizer *opt,
                                                  int64_t n, ember_buffer *param,
                                                  const ember_buffer *grad, ember_buffer *state,
                                                  ember_buffer *state2);

/* ======================================================================================
 * Dense layer
 * ====================================================================================== */

typedef enum ember_activation {
    EMBER_ACTIVATION_NONE = 0,
    EMBER_ACTIVATION_RELU = 1
} ember_activation;

/* Y = act(X W^T + b): X is [batch x in], W [out x in] (PyTorch's Linear layout), b [out]
 * or NULL, Y [batch x out]; all row-major float32. batch may be 0. */
EMBER_API ember_status ember_dense_forward(ember_context *ctx, int64_t batch, int64_t in,
                                           int64_t out, const ember_buffer *x,
                                           const ember_buffer *w, const ember_buffer *b,
                                           ember_activation act, ember_buffer *y);

/* Backward of ember_dense_forward. dy is [batch x out]; with RELU, y must be the forward's
 * output and dy is overwritten with the pre-activation gradient dy * (y > 0). Writes
 * (overwrites) dx [batch x in] (may be NULL), dw [out x in] and db [out] (may be NULL). */
EMBER_API ember_status ember_dense_backward(ember_context *ctx, int64_t batch, int64_t in,
                                            int64_t out, const ember_buffer *x,
                                            const ember_buffer *w, const ember_buffer *y,
                                            ember_buffer *dy, ember_activation act,
                                            ember_buffer *dx, ember_buffer *dw, ember_buffer *db);

/* ======================================================================================
 * Sigmoid output head
 * ====================================================================================== */

/* y = 1 / (1 + exp(-x)) for n floats, computed without overflow for any finite x. */
EMBER_API ember_status ember_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x,
                                     ember_buffer *y);

/* Binary cross-entropy with logits, mean over n: loss = mean(max(x,0) - x*t +
 * log1p(exp(-|x|))), stable for logits from -1e4 to 1e4. labels t are floats in [0, 1].
 * *loss (host, may be NULL) receives the loss; grad (may be NULL) receives
 * (sigmoid(x) - t) / n. n == 0 gives loss 0 (PyTorch's mean of nothing is NaN). A
 * non-finite logit is reported through the loss value, not as an error, with PyTorch's
 * values: +inf for x = +inf with t < 1, NaN for NaN, for -inf and for +inf with t = 1. */
EMBER_API ember_status ember_bce_with_logits(ember_context *ctx, int64_t n,
                                             const ember_buffer *logits, const ember_buffer *labels,
                                             float *loss, ember_buffer *grad);

/* ======================================================================================
 * Wide&Deep parameter counting
 * ====================================================================================== */

/* A Wide&Deep model: the wide part is a linear model over d_wide = sum(wide_buckets)
 * one-hot / hashed-cross features; the deep part embeds each categorical field (vocab_i x
 * emb_dim_i), concatenates the numeric features and runs an MLP of hidden sizes
 * n_1..n_L (n_0 = sum(emb_dim) + num_numeric, d_deep = n_L); one joint sigmoid unit. */
typedef struct ember_widedeep_spec {
    int64_t num_wide_fields;
    const int64_t *wide_buckets; /* d_wide = sum of these */
    int64_t num_deep_fields;
    const int64_t *vocab;   /* rows of each deep embedding table */
    const int64_t *emb_dim; /* dimension of each deep embedding table */
    int64_t num_numeric;
    int64_t num_hidden;
    const int64_t *hidden; /* n_1 .. n_L */
} ember_widedeep_spec;

/* The seed's formulas term by term, and what the model allocates. */
typedef struct ember_param_count {
    int64_t d_wide, d_deep;
    int64_t wide;          /* d_wide + 1 */
    int64_t embeddings;    /* sum(vocab_i * emb_dim_i) */
    int64_t dnn;           /* sum(n_{l-1} * n_l + n_l) */
    int64_t output;        /* (d_wide + d_deep) + 1 */
    int64_t formula_total; /* wide + embeddings + dnn + output */
    /* The formulas' wide and output terms both hold the d_wide wide weights and a bias;
     * the model holds each once: allocated = formula_total - shared. */
    int64_t shared;    /* d_wide + 1 */
    int64_t allocated; /* d_wide + embeddings + dnn + d_deep + 1 */
} ember_param_count;

/* Counts parameters. INVALID_ARGUMENT for negative sizes or NULL arrays with a nonzero
 * count; overflow of int64 is reported as INVALID_ARGUMENT too. */
EMBER_API ember_status ember_widedeep_count_params(const ember_widedeep_spec *spec,
                                                   ember_param_count *out);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_H */
