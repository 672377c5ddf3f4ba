/* util/atomic_file.h: replacing a file atomically, the one way every output of ember is
 * written (checkpoints, optimizer state, `predict --out`, `encode`).
 *
 * The contents go to a temporary file beside the target (PATH.tmp.PID.XXXXXX, so on the
 * same file system); commit flushes and fsyncs it, renames it over the target and fsyncs
 * the folder, so after a crash the target is either the old file or the whole new one.
 * A new file gets mode 0666 & ~umask, as a file made by open(2) or any other tool would
 * (mkstemp alone would make it 0600). A replaced regular file keeps its permission bits and,
 * where this process may set them, its owner and group, as cp, editors and torch.save keep
 * them (a group that cannot be kept gets no more than the others' bits).
 *
 * A symbolic link is written through, as cp, a shell's `>`, numpy.save and torch.save do:
 * the file it names (at the end of a chain of links) is the target, replaced beside itself
 * (the temporary goes in its folder), and the link stays a link. A dangling link's file is
 * created, when its folder exists.
 *
 * Temporaries never pile up: opening removes those of the same target whose process (the
 * PID in their name) no longer runs, left by a crash or kill -9; and a program that ends on
 * a signal removes its own by calling ember_atomic_remove_temporaries from the handler
 * (the CLI does so on SIGINT and SIGTERM).
 *
 *   ember_atomic_file af;
 *   int e = ember_atomic_open(&af, path);
 *   if (e != 0) ... strerror(e), naming af.tmp when set
 *   fprintf(af.f, ...);
 *   e = ember_atomic_commit(&af);     // or ember_atomic_discard(&af) to give up
 */
#ifndef EMBER_UTIL_ATOMIC_FILE_H
#define EMBER_UTIL_ATOMIC_FILE_H

#include <stdio.h>

typedef struct ember_atomic_file {
    FILE *f;    /* write the new contents here */
    char *path; /* the target (the path given, or the file its link names) */
    char *tmp;  /* the temporary beside it */
} ember_atomic_file;

/* The file a save to path replaces: path, or the file the symbolic link path names (after a
 * chain of links; it need not exist), malloc'ed. NULL with errno set when the links cannot
 * be followed (ELOOP after 40 of them, a readlink error) or memory runs out. */
char *ember_atomic_target(const char *path);

/* Creates the temporary beside ember_atomic_target(path). Returns 0, or an errno value (af->f is
 * then NULL, and nothing is left behind). */
int ember_atomic_open(ember_atomic_file *af, const char *path);
/* Makes the written contents the target's. Returns 0, or an errno value (a write, fsync or
 * rename failed; the temporary is removed and the target is untouched). Either way af is
 * released. */
int ember_atomic_commit(ember_atomic_file *af);
/* Gives up: closes and removes the temporary, leaves the target untouched. Safe on a
 * zeroed or already released af. */
void ember_atomic_discard(ember_atomic_file *af);

/* Removes every temporary this process has open (not yet committed or discarded).
 * Async-signal-safe: for a SIGINT/SIGTERM handler, which then ends the program. */
void ember_atomic_remove_temporaries(void);

#endif /* EMBER_UTIL_ATOMIC_FILE_H */
