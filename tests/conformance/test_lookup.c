/* test_lookup.c: conformance of embedding lookup: NONE/SUM/MEAN, weights, padding, empty bags
 * and batch, int32/int64, output slices, accumulate, NaN/inf, on every backend. The cases live
 * in src/check. */
#include "conformance.h"

ParameterizedTestParameters(lookup, cases) {
    CONF_PARAMS(EMBER_CHECK_LOOKUP);
}

ParameterizedTest(struct conf_param *p, lookup, cases) {
    conf_run(p);
}
