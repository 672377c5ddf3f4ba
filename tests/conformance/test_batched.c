/* test_batched.c: conformance of the table-batched lookup and fused backward + update (1, 3
 * and 7 tables of mixed dims, poolings and index types side by side in one output) on every
 * backend: the lookup equals ember_embedding_lookup table by table, bit for bit against the
 * CPU. Their error paths are in test_errors.c. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(batched, cases) {
    CONF_PARAMS(EMBER_CHECK_LOOKUP_BATCHED, EMBER_CHECK_BACKWARD_UPDATE_BATCHED);
}

ParameterizedTest(struct conf_param *p, batched, cases) {
    conf_run(p);
}
