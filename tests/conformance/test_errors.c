/* test_errors.c: conformance of error paths: bad indices and offsets, wrong shapes, small
 * buffers give their status and change nothing, on every backend. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(errors, cases) {
    CONF_PARAMS(EMBER_CHECK_ERRORS);
}

ParameterizedTest(struct conf_param *p, errors, cases) {
    conf_run(p);
}
