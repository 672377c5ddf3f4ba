/* test_seed.c: conformance of the seed walkthrough (5x3 table, index 2, SGD lr 0.1, bit-exact)
 * and lookup == one-hot x table, on every backend. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(seed, cases) {
    CONF_PARAMS(EMBER_CHECK_SEED);
}

ParameterizedTest(struct conf_param *p, seed, cases) {
    conf_run(p);
}
