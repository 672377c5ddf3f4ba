/* cmd_devices.c: `ember devices`: every backend, compiled in or not, and each device it
 * finds, or why none is usable. */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "ember.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEVICES 64

static void print_memory(uint64_t bytes) {
    if (bytes == 0) {
        printf("memory unknown");
    } else {
        printf("%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    }
}

int ember_cmd_devices(int argc, char **argv) {
    int json = 0;
    const cli_flag flags[] = {
        {"--json", CLI_SWITCH, &json, .help = "print one JSON object instead of text"},
    };
    const cli_command spec = {
        argv[0], flags, CLI_COUNT(flags),
        .about =
            "Lists each backend (cpu, cuda, opencl) with the devices it finds on this machine:\n"
            "name, memory and details, or the reason a backend or device is unusable.\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;

    static ember_device_info info[MAX_DEVICES];
    int first = 1;
    if (json) printf("{\"backends\":[");
    for (int k = 0; k < EMBER_BACKEND_KIND_COUNT_; k++) {
        ember_backend_kind kind = (ember_backend_kind)k;
        int compiled = ember_backend_compiled(kind);
        size_t count = 0;
        memset(info, 0, sizeof info);
        ember_status st = ember_backend_devices(kind, info, MAX_DEVICES, &count);
        size_t shown = count < MAX_DEVICES ? count : MAX_DEVICES;
        const char *name = ember_backend_name(kind);
        if (json) {
            printf("%s{\"backend\":", first ? "" : ",");
            cli_json_string(stdout, name);
            printf(",\"compiled\":%s,\"status\":\"%s\",\"devices\":[", compiled ? "true" : "false",
                   ember_status_name(st));
            for (size_t d = 0; d < shown; d++) {
                printf("%s{\"index\":%d,\"name\":", d ? "," : "", info[d].index);
                cli_json_string(stdout, info[d].name);
                printf(",\"detail\":");
                cli_json_string(stdout, info[d].detail);
                printf(",\"memory_bytes\":%llu,\"usable\":%s,\"reason\":",
                       (unsigned long long)info[d].memory_bytes, info[d].usable ? "true" : "false");
                cli_json_string(stdout, info[d].reason);
                printf("}");
            }
            printf("]}");
        } else if (st != EMBER_STATUS_SUCCESS && (shown == 0 || !info[0].usable)) {
            /* Not compiled in, or compiled in with no device: one line saying why. */
            const char *why =
                shown > 0 && info[0].reason[0] != '\0' ? info[0].reason : ember_last_error();
            if (why == NULL || why[0] == '\0') why = ember_status_string(st);
            printf("%-8s unavailable: %s\n", name, why);
        } else {
            printf("%-8s %zu device%s\n", name, count, count == 1 ? "" : "s");
            for (size_t d = 0; d < shown; d++) {
                printf("  [%d] %s, ", info[d].index, info[d].name);
                print_memory(info[d].memory_bytes);
                if (info[d].detail[0] != '\0') printf(", %s", info[d].detail);
                if (!info[d].usable) printf(" -- unusable: %s", info[d].reason);
                printf("\n");
            }
        }
        first = 0;
    }
    if (json) printf("]}\n");
    return 0;
}
