/* test_head.c: conformance of sigmoid and BCE with logits, logits -1e4..1e4, NaN/inf parity,
 * on every backend. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(head, cases) {
    CONF_PARAMS(EMBER_CHECK_SIGMOID, EMBER_CHECK_BCE);
}

ParameterizedTest(struct conf_param *p, head, cases) {
    conf_run(p);
}
