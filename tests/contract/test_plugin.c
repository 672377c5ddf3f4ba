/* test_plugin.c: a stand-in for the CUDA plugin whose ops table is deliberately wrong, for
 * the loader's checks (test_contract.c): TEST_PLUGIN_OTHER_ABI gives it the version before
 * this build's, TEST_PLUGIN_MISSING_OP a current table without the required `lookup`. No op
 * is ever called: the loader refuses both. */
#include "core/backend.h"

static ember_status no_devices(ember_device_info *out, size_t capacity, size_t *count) {
    *count = 0;
    return EMBER_STATUS_NO_DEVICE;
}

__attribute__((visibility("default"))) const struct ember_backend_ops ember_cuda_backend_ops = {
#ifdef TEST_PLUGIN_OTHER_ABI
    .abi_version = EMBER_BACKEND_ABI_VERSION - 1,
#else
    .abi_version = EMBER_BACKEND_ABI_VERSION,
#endif
    .size = sizeof(struct ember_backend_ops),
    .kind = EMBER_BACKEND_CUDA,
    .name = "cuda",
    .devices = no_devices,
    /* every other entry NULL: under TEST_PLUGIN_MISSING_OP the first required one the
     * loader finds missing is init */
};
