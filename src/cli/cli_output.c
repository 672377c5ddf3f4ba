/* cli_output.c: where a subcommand's output goes (see cli_output.h). */
#define _XOPEN_SOURCE 700 /* fsync, fileno */
#include "cli_output.h"

#include "cli_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Written in place rather than replaced. */
static int is_stream(const struct stat *st) {
    return S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode);
}

/* 0 when path's folder exists (a name with no '/' is in the current one). */
static int folder_missing(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return 0;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap) n = cap - 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    return stat(dir, &st) != 0 || !S_ISDIR(st.st_mode);
}

int cli_output_check(const char *cmd, const char *flag, const char *path, const char *const *inputs,
                     int ninputs, int regular_only) {
    struct stat out;
    char dir[4096];
    if (path[0] == '\0') return cli_usage_error(cmd, "%s: an empty file name", flag);
    if (stat(path, &out) != 0) {
        if (errno != ENOENT) return cli_usage_error(cmd, "%s %s: %s", flag, path, strerror(errno));
        /* a new file; for a dangling link, the file it names, in the link's target folder */
        char *target = ember_atomic_target(path);
        if (target == NULL) return cli_usage_error(cmd, "%s %s: %s", flag, path, strerror(errno));
        int missing = folder_missing(target, dir, sizeof dir);
        free(target);
        if (missing)
            return cli_usage_error(cmd, "%s %s: the folder %s does not exist", flag, path, dir);
        return 0;
    }
    if (S_ISDIR(out.st_mode)) return cli_usage_error(cmd, "%s %s is a directory", flag, path);
    if (is_stream(&out)) {
        if (regular_only)
            return cli_usage_error(cmd,
                                   "%s %s: not a regular file (a checkpoint is a file to "
                                   "read back)",
                                   flag, path);
        return 0; /* a device or pipe: written in place, never "the same file" as an input */
    }
    if (!S_ISREG(out.st_mode))
        return cli_usage_error(cmd, "%s %s: neither a regular file, a device nor a FIFO", flag,
                               path);
    for (int k = 0; k < ninputs; k++) {
        struct stat in;
        if (inputs[k] != NULL && stat(inputs[k], &in) == 0 && in.st_dev == out.st_dev &&
            in.st_ino == out.st_ino)
            return cli_usage_error(cmd, "%s %s is the input %s: writing it would destroy it", flag,
                                   path, inputs[k]);
    }
    return 0;
}

int cli_output_open(cli_output *o, const char *path) {
    memset(o, 0, sizeof *o);
    o->path = path;
    struct stat st;
    if (stat(path, &st) == 0 && is_stream(&st)) {
        o->in_place = 1;
        o->f = fopen(path, "w");
        return o->f != NULL ? 0 : errno;
    }
    /* A symbolic link (e.g. /dev/stdout redirected to a file) stays: the atomic file
     * replaces the file it names. */
    int e = ember_atomic_open(&o->af, path);
    o->f = o->af.f;
    return e;
}

/* Flushes o's contents to the file (and to the disk, for a temporary). */
static int flush(cli_output *o) {
    if (fflush(o->f) != 0) return errno;
    if (ferror(o->f)) return EIO;
    if (!o->in_place && fsync(fileno(o->f)) != 0) return errno;
    return 0;
}

int cli_outputs_commit(cli_output *outs, int n, const char **failed) {
    int e = 0, k;
    for (k = 0; k < n && e == 0; k++) e = flush(&outs[k]);
    if (e != 0) {
        *failed = outs[k - 1].path;
        for (k = 0; k < n; k++) cli_output_discard(&outs[k]);
        return e;
    }
    for (k = 0; k < n; k++) {
        int c;
        if (e != 0) { /* an earlier rename failed: keep the rest as they were */
            cli_output_discard(&outs[k]);
            continue;
        }
        if (outs[k].in_place) {
            c = fclose(outs[k].f) == 0 ? 0 : errno;
            outs[k].f = NULL;
        } else {
            c = ember_atomic_commit(&outs[k].af);
            outs[k].f = NULL;
        }
        if (c != 0) {
            e = c;
            *failed = outs[k].path;
        }
    }
    return e;
}

void cli_output_discard(cli_output *o) {
    if (o->in_place) {
        if (o->f != NULL) fclose(o->f);
    } else {
        ember_atomic_discard(&o->af);
    }
    o->f = NULL;
}
