/* cmd_devices.c: `ember devices`: every backend, compiled in or not, and each device it
 * finds, or why none is usable. */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "ember.h"
#include "util/json_writer.h"

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
    ember_json j;
    ember_json_init(&j, stdout);
    if (json) {
        ember_json_begin_object(&j);
        ember_json_key(&j, "backends");
        ember_json_begin_array(&j);
    }
    for (int k = 0; k < EMBER_BACKEND_KIND_COUNT_; k++) {
        ember_backend_kind kind = (ember_backend_kind)k;
        int compiled = ember_backend_compiled(kind);
        size_t count = 0;
        memset(info, 0, sizeof info);
        ember_status st = ember_backend_devices(kind, info, MAX_DEVICES, &count);
        size_t shown = count < MAX_DEVICES ? count : MAX_DEVICES;
        const char *name = ember_backend_name(kind);
        if (json) {
            ember_json_begin_object(&j);
            ember_json_key_string(&j, "backend", name);
            ember_json_key_bool(&j, "compiled", compiled);
            ember_json_key_string(&j, "status", ember_status_name(st));
            ember_json_key(&j, "devices");
            ember_json_begin_array(&j);
            for (size_t d = 0; d < shown; d++) {
                ember_json_begin_object(&j);
                ember_json_key_int(&j, "index", info[d].index);
                ember_json_key_string(&j, "name", info[d].name);
                ember_json_key_string(&j, "detail", info[d].detail);
                ember_json_key_int(&j, "memory_bytes", (long long)info[d].memory_bytes);
                ember_json_key_bool(&j, "usable", info[d].usable);
                ember_json_key_string(&j, "reason", info[d].reason);
                ember_json_end_object(&j);
            }
            ember_json_end_array(&j);
            ember_json_end_object(&j);
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
    }
    if (json) {
        ember_json_end_array(&j);
        ember_json_end_object(&j);
        putchar('\n');
    }
    return 0;
}
