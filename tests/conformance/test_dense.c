/* test_dense.c: conformance of dense layer forward and backward, with and without ReLU and
 * bias, by normalised error, on every backend. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(dense, cases) {
    CONF_PARAMS(EMBER_CHECK_DENSE_FORWARD, EMBER_CHECK_DENSE_BACKWARD);
}

ParameterizedTest(struct conf_param *p, dense, cases) {
    conf_run(p);
}
