/* util/status.h: the one way to pass a failed status up the call chain, used by the core,
 * the backends and the model library alike.
 *
 * The core also has EMBER_RETURN_IF (src/core/backend.h), which records its message in an
 * ember_context. The model library has no context to record into: its functions take an
 * ember_model_err (src/model/wd_util.h) and set it with ember_merr, so the two message
 * sinks stay separate while the forwarding is shared. */
#ifndef EMBER_UTIL_STATUS_H
#define EMBER_UTIL_STATUS_H

#include "ember.h"

/* Returns from the calling function with expr's status when it is not SUCCESS. */
#define EMBER_FORWARD_IF_ERROR(expr)                                                               \
    do {                                                                                           \
        ember_status ember_fwd_st_ = (expr);                                                       \
        if (ember_fwd_st_ != EMBER_STATUS_SUCCESS) return ember_fwd_st_;                           \
    } while (0)

#endif /* EMBER_UTIL_STATUS_H */
