/* test_backward.c: conformance of embedding backward, dense and sparse gradients, ATOMIC and
 * DETERMINISTIC (bit-identical across runs and thread counts), on every backend. The cases
 * live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(backward, cases) {
    CONF_PARAMS(EMBER_CHECK_BACKWARD_DENSE, EMBER_CHECK_BACKWARD_SPARSE);
}

ParameterizedTest(struct conf_param *p, backward, cases) {
    conf_run(p);
}
