/* conformance.h: what the Criterion conformance files share: the plain-data test parameter
 * (backend kind, case index into src/check's one case list) and the test body. */
#ifndef EMBER_TESTS_CONFORMANCE_H
#define EMBER_TESTS_CONFORMANCE_H

#include "ember_check.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

/* Criterion copies parameters into the test process: plain data only. */
struct conf_param {
    int kind;          /* ember_backend_kind */
    int case_index;    /* index into ember_check_case_at(); -1: backend not compiled in, skip
                          every case of ops_mask */
    unsigned ops_mask; /* case_index -1: 1 << op for each op of the test file */
};

/* The (backend, case) pairs for cases of ops[0..nops): every backend named in
 * EMBER_CONFORMANCE_BACKENDS (comma-separated; default "cpu,opencl,cuda"), every case not
 * reserved for --full. */
struct criterion_test_params conf_params(const ember_check_op *ops, int nops);

/* Runs one pair: creates the backend inside the test process, skips with the reason when
 * it is not compiled in or has no device (fails instead for OpenCL when
 * EMBER_REQUIRE_OPENCL=1), and fails with the backend's name, the case, the first differing
 * element and the reproduce command. Appends one line per result to the file named by
 * EMBER_CONFORMANCE_LOG, for the end-of-run summary. */
void conf_run(const struct conf_param *p);

#define CONF_PARAMS(...)                                                                           \
    do {                                                                                           \
        static const ember_check_op ops_[] = {__VA_ARGS__};                                        \
        return conf_params(ops_, (int)(sizeof ops_ / sizeof ops_[0]));                             \
    } while (0)

#endif
