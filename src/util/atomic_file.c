/* util/atomic_file.c: temporary file, fsync, rename, fsync of the folder. */
#define _XOPEN_SOURCE 700 /* mkstemp, fchmod, fsync */
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(ember_atomic_file *af) {
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

int ember_atomic_open(ember_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->path = malloc(n + 1);
    af->tmp = malloc(n + 48);
    if (af->path == NULL || af->tmp == NULL) {
        release(af);
        return ENOMEM;
    }
    memcpy(af->path, path, n + 1);
    snprintf(af->tmp, n + 48, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        release(af);
        return e;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || (af->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return e;
    }
    return 0;
}

/* The rename is durable once the folder holding it is synced. */
static void sync_folder_of(const char *path) {
    char *dir = malloc(strlen(path) + 2);
    if (dir == NULL) return;
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
}

int ember_atomic_commit(ember_atomic_file *af) {
    if (af->f == NULL) return EINVAL;
    int e = 0;
    if (fflush(af->f) != 0)
        e = errno;
    else if (ferror(af->f))
        e = EIO; /* an earlier buffered write failed */
    if (e == 0 && fsync(fileno(af->f)) != 0) e = errno;
    if (fclose(af->f) != 0 && e == 0) e = errno;
    af->f = NULL;
    if (e == 0 && rename(af->tmp, af->path) != 0) e = errno;
    if (e != 0) {
        unlink(af->tmp);
    } else {
        sync_folder_of(af->path);
    }
    release(af);
    return e;
}

void ember_atomic_discard(ember_atomic_file *af) {
    if (af->f != NULL) {
        fclose(af->f);
        unlink(af->tmp);
    }
    release(af);
}
