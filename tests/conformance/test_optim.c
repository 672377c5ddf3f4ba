/* test_optim.c: conformance of sparse optimizer steps (SGD, Adagrad, row-wise Adagrad, weight
 * decay), fused backward + update, dense SGD/Adagrad/Adam, on every backend. The cases live in
 * src/check. */
#include "conformance.h"

ParameterizedTestParameters(optim, cases) {
    CONF_PARAMS(EMBER_CHECK_SPARSE_STEP, EMBER_CHECK_BACKWARD_UPDATE, EMBER_CHECK_DENSE_STEP);
}

ParameterizedTest(struct conf_param *p, optim, cases) {
    conf_run(p);
}
