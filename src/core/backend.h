/* backend.h: the private contract between the dispatch layer (src/core) and each backend.
 *
 * Design (after ggml's ggml-backend-impl.h): the public API validates every argument once,
 * applies defaults, runs the backend's index check pass, and only then calls the backend
 * through this table. A backend therefore never sees a NULL buffer it did not allow, a
 * shape that overflows, a buffer too small for its shape, an out-of-range index or bad
 * offsets: it only computes. Descs reaching a backend are normalised: out_row_stride is
 * never 0 and padding_idx is -1 or a valid row. No op is called with nothing to do: lookup
 * has batch > 0; the backward ops batch > 0 and num_indices > 0; sparse_step num_unique >
 * 0; dense_step, sigmoid and bce n > 0; the dense layer batch > 0; buffer copies and zeroing
 * bytes > 0. Optimizers fit the op (no Adam on embeddings, no row-wise Adagrad on dense
 * parameters), modes and math modes are known values, threads >= 0.
 *
 * Every table names every entry. A backend lacking an OPTIONAL op sets it to NULL with a
 * comment saying why; the dispatch layer then applies the default written beside the op in
 * EMBER_BACKEND_OPS. A backend never returns a wrong answer instead. What the dispatch
 * layer guarantees a backend does not check again.
 */
#ifndef EMBER_CORE_BACKEND_H
#define EMBER_CORE_BACKEND_H

#include "ember.h"
#include "util/status.h"

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ember_backend_ops;

struct ember_context {
    const struct ember_backend_ops *ops;
    ember_backend_kind kind;
    int device;
    char device_name[256];
    void *impl;  /* backend-private state */
    int threads; /* CPU: 0 = the idle cores (ember_context_set_threads) */
    ember_math_mode math_mode;
    /* The buffers allocated here and not yet freed (a list through ember_buffer.next), so
     * that destroy can release them and detach their handles (buffer.c). */
    struct ember_buffer *buffers;
    char last_error[2048];
};

struct ember_buffer {
    ember_context *ctx; /* NULL once the context was destroyed with it still alive */
    size_t bytes;
    void *handle; /* CPU: host pointer; CUDA: device pointer; OpenCL: cl_mem */
    int wrapped;  /* 1: the caller's memory (ember_buffer_wrap), never freed here;
                     a backend keeps nothing derived from its contents */
    struct ember_buffer *prev, *next; /* ctx->buffers */
};

/* Releases every buffer still alive on ctx (buffer.c): frees its memory and detaches its
 * handle (ctx NULL), as ember_context_destroy needs. Returns how many there were. */
size_t ember_buffer_release_all(ember_context *ctx);

/* What the index check pass found. kind NONE: all valid. */
typedef enum ember_index_problem_kind {
    EMBER_INDEX_PROBLEM_NONE = 0,
    EMBER_INDEX_PROBLEM_INDEX = 1,        /* indices[position] == value is < 0 or >= rows */
    EMBER_INDEX_PROBLEM_OFFSET_FIRST = 2, /* offsets[0] == value != 0 */
    EMBER_INDEX_PROBLEM_OFFSET_DECREASING =
        3,                              /* offsets[position] == value < offsets[position-1] */
    EMBER_INDEX_PROBLEM_OFFSET_LAST = 4 /* offsets[batch] == value != num_indices */
} ember_index_problem_kind;

typedef struct ember_index_problem {
    ember_index_problem_kind kind;
    int64_t position; /* the lowest offending position of that kind */
    int64_t value;
} ember_index_problem;

/* The ops list, declared once: X(presence, return type, name, (parameters)). presence is
 * REQUIRED (every table sets it) or OPTIONAL (NULL means: the dispatch layer applies the
 * default written beside it). The list makes the table's fields below and each backend's
 * prototypes (cpu_<name>, ocl_<name>, cuda_<name> in cpu_internal.h, ocl_internal.h,
 * cuda_internal.h), so the three can never disagree with the contract. */
#define EMBER_BACKEND_OPS(X)                                                                       \
    /* Device listing: as ember_backend_devices. */                                                \
    X(REQUIRED, ember_status, devices, (ember_device_info * out, size_t capacity, size_t * count)) \
    /* Opens device `device` (>= 0, or -1 meaning "the backend's default") on ctx: sets            \
     * ctx->impl and ctx->device_name; on failure sets the error and frees what it made. */        \
    X(REQUIRED, ember_status, init, (ember_context * ctx, int device))                             \
    /* Releases everything init made. */                                                           \
    X(REQUIRED, void, destroy, (ember_context * ctx))                                              \
    X(REQUIRED, ember_status, synchronize, (ember_context * ctx))                                  \
    /* threads >= 0 (checked). NULL: the dispatch layer just records the value. */                 \
    X(OPTIONAL, ember_status, set_threads, (ember_context * ctx, int threads))                     \
    /* mode is a known ember_math_mode (checked). NULL: the mode is recorded and the backend       \
     * computes strict FP32 anyway. */                                                             \
    X(OPTIONAL, ember_status, set_math_mode, (ember_context * ctx, ember_math_mode mode))          \
    /* CUDA: the stream the context's work runs on from now (NULL: its own); work issued           \
     * before finishes first. NULL: the dispatch layer returns NOT_SUPPORTED. */                   \
    X(OPTIONAL, ember_status, set_stream, (ember_context * ctx, void *stream))                     \
    /* Memory. alloc sets *handle; bytes > 0. Offsets and sizes are checked. */                    \
    X(REQUIRED, ember_status, buffer_alloc, (ember_context * ctx, size_t bytes, void **handle))    \
    X(REQUIRED, void, buffer_free, (ember_context * ctx, void *handle))                            \
    X(REQUIRED, ember_status, buffer_upload,                                                       \
      (ember_context * ctx, void *handle, size_t offset, const void *src, size_t bytes))           \
    X(REQUIRED, ember_status, buffer_download,                                                     \
      (ember_context * ctx, const void *handle, size_t offset, void *dst, size_t bytes))           \
    X(REQUIRED, ember_status, buffer_zero,                                                         \
      (ember_context * ctx, void *handle, size_t offset, size_t bytes))                            \
    /* Checks memory the caller wraps (ember_buffer_wrap; native not NULL, bytes > 0): that it     \
     * is this context's and holds `bytes`, as far as the backend can tell; INVALID_ARGUMENT       \
     * naming why not. NULL: every handle is taken (host memory cannot be checked). */             \
    X(OPTIONAL, ember_status, buffer_wrap_check,                                                   \
      (ember_context * ctx, void *native, size_t bytes))                                           \
    /* The bounds-check pass, run before every op that reads indices: checks offsets (when         \
     * not NULL; batch + 1 entries) and indices against [0, desc->num_rows). Reports the           \
     * lowest offending position in *problem and returns SUCCESS; a non-SUCCESS return is a        \
     * device failure. */                                                                          \
    X(REQUIRED, ember_status, check_indices,                                                       \
      (ember_context * ctx, const ember_lookup_desc *desc, const ember_buffer *indices,            \
       const ember_buffer *offsets, ember_index_problem *problem))                                 \
    /* The same pass over every table of a table-batched call (offsets NULL or an array whose      \
     * entries may be NULL), at most one host round trip when all are valid: *table gets the       \
     * lowest table with a problem (-1: none) and *problem that table's, as check_indices          \
     * reports it. NULL: the dispatch layer runs check_indices table by table. */                  \
    X(OPTIONAL, ember_status, check_indices_batched,                                               \
      (ember_context * ctx, int64_t num_tables, const ember_lookup_desc *descs,                    \
       const ember_buffer *const *indices, const ember_buffer *const *offsets, int64_t *table,     \
       ember_index_problem *problem))                                                              \
    /* The ops, with the public API's meaning; arguments already validated and indices             \
     * checked. */                                                                                 \
    X(REQUIRED, ember_status, lookup,                                                              \
      (ember_context * ctx, const ember_lookup_desc *desc, const ember_buffer *table,              \
       const ember_buffer *indices, const ember_buffer *offsets, const ember_buffer *weights,      \
       ember_buffer *out))                                                                         \
    X(REQUIRED, ember_status, backward_dense,                                                      \
      (ember_context * ctx, const ember_lookup_desc *desc, const ember_buffer *indices,            \
       const ember_buffer *offsets, const ember_buffer *weights, const ember_buffer *grad_out,     \
       ember_reduction_mode mode, ember_buffer *grad_table))                                       \
    X(REQUIRED, ember_status, backward_sparse,                                                     \
      (ember_context * ctx, const ember_lookup_desc *desc, const ember_buffer *indices,            \
       const ember_buffer *offsets, const ember_buffer *weights, const ember_buffer *grad_out,     \
       ember_reduction_mode mode, ember_buffer *unique_ids, ember_buffer *unique_grads,            \
       int64_t *num_unique))                                                                       \
    /* unique_ids already checked to be in range. */                                               \
    X(REQUIRED, ember_status, sparse_step,                                                         \
      (ember_context * ctx, const ember_optimizer *opt, int64_t num_rows, int64_t dim,             \
       ember_buffer *table, ember_buffer *state, const ember_buffer *unique_ids,                   \
       const ember_buffer *unique_grads, int64_t num_unique))                                      \
    /* NULL: the dispatch layer runs backward_sparse into scratch buffers and sparse_step          \
     * (correct, but materialises the sparse gradient). */                                         \
    X(OPTIONAL, ember_status, backward_update,                                                     \
      (ember_context * ctx, const ember_lookup_desc *desc, const ember_buffer *indices,            \
       const ember_buffer *offsets, const ember_buffer *weights, const ember_buffer *grad_out,     \
       ember_reduction_mode mode, const ember_optimizer *opt, ember_buffer *table,                 \
       ember_buffer *state))                                                                       \
    /* Table-batched forms; descs normalised, every table validated and index-checked.             \
     * NULL: the dispatch layer calls lookup / backward_update once per table. */                  \
    X(OPTIONAL, ember_status, lookup_batched,                                                      \
      (ember_context * ctx, int64_t num_tables, const ember_lookup_desc *descs,                    \
       const ember_buffer *const *tables, const ember_buffer *const *indices,                      \
       const ember_buffer *const *offsets, const ember_buffer *const *weights, ember_buffer *out)) \
    X(OPTIONAL, ember_status, backward_update_batched,                                             \
      (ember_context * ctx, int64_t num_tables, const ember_lookup_desc *descs,                    \
       const ember_buffer *const *indices, const ember_buffer *const *offsets,                     \
       const ember_buffer *const *weights, const ember_buffer *grad_out,                           \
       ember_reduction_mode mode, const ember_optimizer *opt, ember_buffer *const *tables,         \
       ember_buffer *const *states))                                                               \
    X(REQUIRED, ember_status, dense_step,                                                          \
      (ember_context * ctx, const ember_optimizer *opt, int64_t n, ember_buffer *param,            \
       const ember_buffer *grad, ember_buffer *state, ember_buffer *state2))                       \
    X(REQUIRED, ember_status, dense_forward,                                                       \
      (ember_context * ctx, int64_t batch, int64_t in, int64_t out, const ember_buffer *x,         \
       const ember_buffer *w, const ember_buffer *b, ember_activation act, ember_buffer *y))       \
    X(REQUIRED, ember_status, dense_backward,                                                      \
      (ember_context * ctx, int64_t batch, int64_t in, int64_t out, const ember_buffer *x,         \
       const ember_buffer *w, const ember_buffer *y, ember_buffer *dy, ember_activation act,       \
       ember_buffer *dx, ember_buffer *dw, ember_buffer *db))                                      \
    X(REQUIRED, ember_status, sigmoid,                                                             \
      (ember_context * ctx, int64_t n, const ember_buffer *x, ember_buffer *y))                    \
    X(REQUIRED, ember_status, bce_with_logits,                                                     \
      (ember_context * ctx, int64_t n, const ember_buffer *logits, const ember_buffer *labels,     \
       float *loss, ember_buffer *grad))

/* The version of this contract: of struct ember_backend_ops, struct ember_context and struct
 * ember_buffer, which the CUDA plugin, built separately, reads and writes. Bump it with any
 * change to them (an op added, removed or changed, a field moved); the registry refuses a
 * plugin whose table carries another version. */
#define EMBER_BACKEND_ABI_VERSION 4u

struct ember_backend_ops {
    /* First, and never moved: the registry reads them before trusting anything else. */
    uint32_t abi_version; /* EMBER_BACKEND_ABI_VERSION of the build that made the table */
    uint32_t size;        /* sizeof(struct ember_backend_ops) in that build */
    ember_backend_kind kind;
    const char *name;
#define EMBER_BACKEND_OP_FIELD_(presence, ret, op, params) ret(*op) params;
    EMBER_BACKEND_OPS(EMBER_BACKEND_OP_FIELD_)
#undef EMBER_BACKEND_OP_FIELD_
};

/* The start of every ops table: `EMBER_BACKEND_OPS_HEADER(EMBER_BACKEND_CPU, "cpu"),`. */
#define EMBER_BACKEND_OPS_HEADER(kind_, name_)                                                     \
    .abi_version = EMBER_BACKEND_ABI_VERSION, .size = sizeof(struct ember_backend_ops),            \
    .kind = (kind_), .name = (name_)

/* Checks a table that may come from another build (the CUDA plugin): its ABI version and
 * size, then that every REQUIRED op is set. SUCCESS, or BACKEND_NOT_COMPILED with why
 * written to `why` ("<what> was built for backend ABI 2, this libember (0.1.0) expects ABI 3 ...").
 */
EMBER_API ember_status ember_backend_ops_check(const struct ember_backend_ops *ops,
                                               const char *what, char *why, size_t why_size);

/* Loads a backend plugin: dlopens `path` and takes the table its symbol `symbol` names,
 * checked with ember_backend_ops_check. NULL with *status and `why` set when it cannot be
 * used (IO errors, a missing symbol, another ABI). The library stays loaded either way (the
 * CUDA runtime it links does not unload cleanly). The CUDA backend is loaded through it;
 * the tests load deliberately broken plugins through it. */
EMBER_API const struct ember_backend_ops *ember_backend_plugin_load(const char *path,
                                                                    const char *symbol,
                                                                    ember_status *status, char *why,
                                                                    size_t why_size);

/* Records a formatted message on ctx (or, when ctx is NULL, in the thread's last error)
 * and returns status, so a backend writes `return ember_error(ctx, ST, "...", ...)`. */
EMBER_API ember_status ember_error(ember_context *ctx, ember_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
EMBER_API ember_status ember_error_v(ember_context *ctx, ember_status status, const char *fmt,
                                     va_list ap);

/* zstd-style checks that return, never abort. */
#define EMBER_RETURN_IF(cond, ctx, status, ...)                                                    \
    do {                                                                                           \
        if (cond) return ember_error((ctx), (status), __VA_ARGS__);                                \
    } while (0)
/* EMBER_FORWARD_IF_ERROR(expr) comes from util/status.h, shared with the model library. */

/* The backends this build knows. CPU and OpenCL are linked in; CUDA lives in the plugin
 * libember_cuda.so, which exports `ember_cuda_backend_ops` (so processes that never ask for
 * CUDA never load cuBLAS); registry.c loads it with ember_backend_plugin_load. */
extern const struct ember_backend_ops ember_cpu_backend_ops;
#ifdef EMBER_WITH_OPENCL
extern const struct ember_backend_ops ember_opencl_backend_ops;
#endif
#ifdef EMBER_WITH_TEST_BACKEND
/* The test-only backend of src/check (the CPU backend with one op's result perturbed): not
 * in the public enum; ember_backend_parse("perturbed") gives this kind in test builds only. */
#define EMBER_BACKEND_PERTURBED ((ember_backend_kind)100)
extern const struct ember_backend_ops ember_perturbed_backend_ops;
#endif
#define EMBER_CUDA_PLUGIN_SYMBOL "ember_cuda_backend_ops"

/* Bytes of one index of the given type (8 or 4). */
static inline size_t ember_index_size(ember_index_type t) {
    return t == EMBER_INDEX_INT32 ? 4u : 8u;
}
/* Reads element i of an index array of the given type (host memory). */
static inline int64_t ember_index_at(const void *p, ember_index_type t, int64_t i) {
    return t == EMBER_INDEX_INT32 ? (int64_t)((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

#ifdef __cplusplus
}
#endif

#endif /* EMBER_CORE_BACKEND_H */
