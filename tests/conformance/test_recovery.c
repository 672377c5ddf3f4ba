/* test_recovery.c: conformance of recovery after a device out-of-memory on every backend:
 * an allocation no device can satisfy (1 PiB, SIZE_MAX) returns OUT_OF_MEMORY naming the
 * size, and the context still works. The cases live in src/check. */
#include "conformance.h"

ParameterizedTestParameters(recovery, out_of_memory) {
    CONF_PARAMS(EMBER_CHECK_OUT_OF_MEMORY);
}

ParameterizedTest(struct conf_param *p, recovery, out_of_memory) {
    conf_run(p);
}
