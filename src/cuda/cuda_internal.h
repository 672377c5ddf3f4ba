/* cuda_internal.h: the CUDA backend's op prototypes, a plain C header (no CUDA types) that
 * the ops table in cuda_ops.c fills itself from: cuda_<op> for every op of
 * EMBER_BACKEND_OPS (core/backend.h), each in the .cu file of its group (docs/design.md).
 * What only the .cu files share is in cuda_common.cuh. */
#ifndef EMBER_CUDA_INTERNAL_H
#define EMBER_CUDA_INTERNAL_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ones cuda_ops.c leaves NULL are declared, never defined. */
#define CUDA_DECLARE_OP_(presence, ret, op, params) ret cuda_##op params;
EMBER_BACKEND_OPS(CUDA_DECLARE_OP_)
#undef CUDA_DECLARE_OP_

#ifdef __cplusplus
}
#endif

#endif /* EMBER_CUDA_INTERNAL_H */
