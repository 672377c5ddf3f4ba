/* test_util.h: helpers shared by the model tests: temporary files. */
#ifndef EMBER_TEST_MODEL_UTIL_H
#define EMBER_TEST_MODEL_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every file write_temp made, removed when the test's process exits, so that the suite
 * leaves /tmp as it found it (a checkpoint a test saves over such a path goes with it). */
static char **temp_made;
static size_t temp_count;

static inline void remove_temps(void) {
    for (size_t i = 0; i < temp_count; i++) {
        unlink(temp_made[i]);
        free(temp_made[i]);
    }
    free(temp_made);
    temp_made = NULL;
    temp_count = 0;
}

static inline void remember_temp(const char *path) {
    char **grown = realloc(temp_made, (temp_count + 1) * sizeof *grown);
    if (grown == NULL) return;
    if (temp_made == NULL) atexit(remove_temps);
    temp_made = grown;
    if ((temp_made[temp_count] = strdup(path)) != NULL) temp_count++;
}

/* Writes text to a fresh file under /tmp whose name ends with suffix; returns the path
 * (static storage, one per slot). */
static inline const char *write_temp(int slot, const char *suffix, const char *text) {
    static char paths[8][256];
    char *p = paths[slot];
    snprintf(p, sizeof paths[slot], "/tmp/ember_model_test_%d_%d_XXXXXX", (int)getpid(), slot);
    int fd = mkstemp(p);
    if (fd < 0) return NULL;
    close(fd);
    char *withsuf = malloc(strlen(p) + strlen(suffix) + 1);
    sprintf(withsuf, "%s%s", p, suffix);
    rename(p, withsuf);
    snprintf(p, sizeof paths[slot], "%s", withsuf);
    free(withsuf);
    remember_temp(p);
    FILE *f = fopen(p, "w");
    if (f == NULL) return NULL;
    fputs(text, f);
    fclose(f);
    return p;
}

#endif
