/* util/atomic_file.c: temporary file, fsync, rename, fsync of the folder. */
#define _XOPEN_SOURCE 700 /* mkstemp, fchmod, fchown, fsync, kill, lstat, readlink */
#include "util/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporaries this process has open, for ember_atomic_remove_temporaries: fixed
 * storage, because a signal handler may neither allocate nor lock. */
#define MAX_OPEN 16
static char g_open_tmp[MAX_OPEN][PATH_MAX];
static volatile sig_atomic_t g_open_used[MAX_OPEN];

/* Creates the temporary named by the template `tmp` (mkstemp) inside a free slot of the
 * table, so that a signal arriving at any moment finds the file under the name the slot
 * holds: before the file exists the slot holds a name that no file has, and mkstemp fills
 * in the final name before it creates the file. Copies the name back into tmp. Returns
 * mkstemp's descriptor, or -1 with errno set. */
static int create_remembered(char *tmp) {
    if (strlen(tmp) < PATH_MAX) {
        for (int i = 0; i < MAX_OPEN; i++) {
            if (g_open_used[i]) continue;
            strcpy(g_open_tmp[i], tmp);
            g_open_used[i] = 1;
            int fd = mkstemp(g_open_tmp[i]);
            if (fd < 0)
                g_open_used[i] = 0;
            else
                strcpy(tmp, g_open_tmp[i]);
            return fd;
        }
    }
    return mkstemp(tmp); /* left to the stale-file cleanup of a later save */
}

static void forget(const char *tmp) {
    for (int i = 0; i < MAX_OPEN; i++)
        if (g_open_used[i] && strcmp(g_open_tmp[i], tmp) == 0) g_open_used[i] = 0;
}

void ember_atomic_remove_temporaries(void) {
    for (int i = 0; i < MAX_OPEN; i++)
        if (g_open_used[i]) unlink(g_open_tmp[i]);
}

/* Removes PATH.tmp.PID.* beside path whose process is gone (kill(PID, 0) says ESRCH): what
 * a killed or crashed save of the same target left. A live PID, even one reused by another
 * program, keeps its file. */
static void remove_stale(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0, blen = strlen(base);
    char dir[PATH_MAX], file[PATH_MAX];
    if (dlen + 1 >= sizeof dir) return;
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (dlen == 0) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
    }
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0) continue;
        char *end;
        long pid = strtol(n + blen + 5, &end, 10);
        if (end == n + blen + 5 || *end != '.' || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        if ((size_t)snprintf(file, sizeof file, "%s/%s", dir, n) < sizeof file) unlink(file);
    }
    closedir(d);
}

char *ember_atomic_target(const char *path) {
    size_t n = strlen(path);
    char *cur = malloc(n + 1);
    if (cur == NULL) return NULL;
    memcpy(cur, path, n + 1);
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur; /* a file, or none yet */
        char link[PATH_MAX];
        ssize_t len = hops < 40 ? readlink(cur, link, sizeof link) : -1;
        if (len < 0 || (size_t)len >= sizeof link) {
            int e = hops >= 40 ? ELOOP : len < 0 ? errno : ENAMETOOLONG;
            free(cur);
            errno = e;
            return NULL;
        }
        link[len] = '\0';
        /* a relative link is relative to the folder holding it */
        const char *slash = strrchr(cur, '/');
        size_t dir = link[0] == '/' || slash == NULL ? 0 : (size_t)(slash - cur) + 1;
        char *next = malloc(dir + (size_t)len + 1);
        if (next != NULL) {
            memcpy(next, cur, dir);
            memcpy(next + dir, link, (size_t)len + 1);
        }
        free(cur);
        if ((cur = next) == NULL) return NULL;
    }
}

/* The mode the temporary takes, after it took the owner and group of the regular file it
 * will replace where this process may set them (fchown, as cp and editors do): that file's
 * permission bits, so that replacing keeps them; with the group not kept, the group's bits
 * become the others' (vim's rule: never more than the old file gave the new group). The
 * set-id bits go, as writing a file drops them. No such file: 0666 & ~umask, as open(2). */
static mode_t replaced_mode(int fd, const char *path) {
    struct stat old, now;
    if (stat(path, &old) != 0 || !S_ISREG(old.st_mode)) {
        mode_t mask = umask(0);
        umask(mask);
        return 0666 & ~mask;
    }
    if (fchown(fd, old.st_uid, old.st_gid) != 0) (void)fchown(fd, (uid_t)-1, old.st_gid);
    mode_t mode = old.st_mode & 0777;
    if (fstat(fd, &now) == 0 && now.st_gid != old.st_gid) mode = (mode & 0707) | ((mode & 07) << 3);
    return mode;
}

static void release(ember_atomic_file *af) {
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

int ember_atomic_open(ember_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if ((af->path = ember_atomic_target(path)) == NULL) return errno;
    size_t n = strlen(af->path);
    if ((af->tmp = malloc(n + 48)) == NULL) {
        release(af);
        return ENOMEM;
    }
    remove_stale(af->path);
    snprintf(af->tmp, n + 48, "%s.tmp.%ld.XXXXXX", af->path, (long)getpid());
    int fd = create_remembered(af->tmp);
    if (fd < 0) {
        int e = errno;
        release(af);
        return e;
    }
    if (fchmod(fd, replaced_mode(fd, af->path)) != 0 || (af->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        forget(af->tmp);
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
    if (e != 0) unlink(af->tmp);
    forget(af->tmp);
    if (e == 0) sync_folder_of(af->path);
    release(af);
    return e;
}

void ember_atomic_discard(ember_atomic_file *af) {
    if (af->f != NULL) {
        fclose(af->f);
        unlink(af->tmp);
        forget(af->tmp);
    }
    release(af);
}
