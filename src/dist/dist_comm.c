/* dist_comm.c: the communicator (the caller's, duplicated, or MPI_COMM_WORLD after an
 * MPI_Init of ember's own), its error message, and the agreement step every collective call
 * runs so that an error on one rank is the same error on all of them. */
#include "dist_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ember_status dist_error(ember_dist_comm *comm, ember_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(comm->last_error, sizeof comm->last_error, fmt, ap);
    va_end(ap);
    return status;
}

ember_status dist_mpi(ember_dist_comm *comm, int rc, const char *call) {
    if (rc == MPI_SUCCESS) return EMBER_STATUS_SUCCESS;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return dist_error(comm, EMBER_STATUS_IO_ERROR, "%s failed: %s", call, msg);
}

double dist_now(void) {
    return MPI_Wtime();
}

static ember_status wrap(MPI_Comm comm, int owns_mpi, ember_dist_comm **out) {
    ember_dist_comm *c = calloc(1, sizeof *c);
    if (!c) return EMBER_STATUS_OUT_OF_MEMORY;
    if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) {
        free(c);
        return EMBER_STATUS_IO_ERROR;
    }
    /* Failures come back as return codes, which ember turns into statuses. */
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    MPI_Comm local;
    c->local_rank = c->rank;
    if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(local, &c->local_rank);
        MPI_Comm_free(&local);
    }
    c->owns_mpi = owns_mpi;
    *out = c;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_dist_comm_create(MPI_Comm comm, ember_dist_comm **out) {
    if (!out) return EMBER_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized || comm == MPI_COMM_NULL) return EMBER_STATUS_INVALID_ARGUMENT;
    return wrap(comm, 0, out);
}

ember_status ember_dist_comm_init(int *argc, char ***argv, ember_dist_comm **out) {
    if (!out) return EMBER_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    int initialized = 0, owns = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) return EMBER_STATUS_IO_ERROR;
        owns = 1;
    }
    ember_status st = wrap(MPI_COMM_WORLD, owns, out);
    if (st != EMBER_STATUS_SUCCESS && owns) MPI_Finalize();
    return st;
}

void ember_dist_comm_destroy(ember_dist_comm *comm) {
    if (!comm) return;
    MPI_Comm_free(&comm->comm);
    if (comm->owns_mpi) MPI_Finalize();
    free(comm);
}

int ember_dist_comm_rank(const ember_dist_comm *comm) {
    return comm ? comm->rank : -1;
}
int ember_dist_comm_size(const ember_dist_comm *comm) {
    return comm ? comm->size : 0;
}
int ember_dist_comm_local_rank(const ember_dist_comm *comm) {
    return comm ? comm->local_rank : -1;
}
const char *ember_dist_last_error(const ember_dist_comm *comm) {
    return comm ? comm->last_error : "";
}

ember_status dist_agree(ember_dist_comm *comm, ember_status local, int64_t value,
                        int64_t *all_values) {
    int64_t mine[2] = {(int64_t)local, value};
    int64_t *all = malloc((size_t)comm->size * sizeof mine);
    if (!all)
        return dist_error(comm, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate %d statuses",
                          comm->size);
    ember_status st =
        dist_mpi(comm, MPI_Allgather(mine, 2, MPI_INT64_T, all, 2, MPI_INT64_T, comm->comm),
                 "MPI_Allgather");
    int failed = -1;
    for (int r = 0; st == EMBER_STATUS_SUCCESS && r < comm->size; r++) {
        if (all_values) all_values[r] = all[2 * r + 1];
        if (failed < 0 && all[2 * r] != EMBER_STATUS_SUCCESS) failed = r;
    }
    if (st == EMBER_STATUS_SUCCESS && failed >= 0) {
        /* Everyone learns the failing rank's message: the same text on every rank. */
        char msg[sizeof comm->last_error];
        snprintf(msg, sizeof msg, "%s", comm->last_error);
        st = dist_mpi(comm, MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, failed, comm->comm),
                      "MPI_Bcast");
        if (st == EMBER_STATUS_SUCCESS) {
            msg[sizeof msg - 1] = '\0';
            st = dist_error(comm, (ember_status)all[2 * failed], "rank %d: %.1000s", failed, msg);
        }
    }
    free(all);
    return st;
}

ember_status ember_dist_allreduce_mean(ember_dist_comm *comm, float *data, int64_t n) {
    if (!comm || (n > 0 && !data) || n < 0) return EMBER_STATUS_INVALID_ARGUMENT;
    for (int64_t done = 0; done < n;) {
        int chunk = n - done > INT_MAX ? INT_MAX : (int)(n - done);
        ember_status st = dist_mpi(
            comm, MPI_Allreduce(MPI_IN_PLACE, data + done, chunk, MPI_FLOAT, MPI_SUM, comm->comm),
            "MPI_Allreduce");
        if (st != EMBER_STATUS_SUCCESS) return st;
        done += chunk;
    }
    for (int64_t i = 0; i < n; i++) data[i] /= (float)comm->size;
    return EMBER_STATUS_SUCCESS;
}

static const char *const shard_names[] = {"auto", "table-wise", "row-wise", "column-wise",
                                          "replicated"};
#define NUM_SHARD_NAMES ((int)(sizeof shard_names / sizeof shard_names[0]))

const char *ember_shard_kind_name(ember_shard_kind kind) {
    return (int)kind >= 0 && (int)kind < NUM_SHARD_NAMES ? shard_names[kind] : NULL;
}

ember_status ember_shard_kind_parse(const char *name, ember_shard_kind *kind) {
    for (int k = 0; name && kind && k < NUM_SHARD_NAMES; k++) {
        if (strcmp(name, shard_names[k]) == 0) {
            *kind = (ember_shard_kind)k;
            return EMBER_STATUS_SUCCESS;
        }
    }
    return EMBER_STATUS_INVALID_ARGUMENT;
}
