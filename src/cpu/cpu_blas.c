/* cpu_blas.c: OpenBLAS's work buffers reserved before a GEMM needs them, so that a GEMM
 * under a memory limit returns OUT_OF_MEMORY instead of spinning forever.
 *
 * Why: every cblas_sgemm takes a work buffer (BUFFER_SIZE, 128 MiB of address space in
 * OpenBLAS 0.3.x on x86-64 and arm64) from a process-wide pool with blas_memory_alloc. A
 * pool slot keeps its buffer once mapped; a GEMM maps a new one only when every mapped
 * slot is in use, and when that mapping fails, OpenBLAS (driver/others/memory.c: `while
 * (map_address == -1)`) retries forever. Under `ulimit -v` ember train then spun in the
 * first GEMM, and a GEMM after any OUT_OF_MEMORY never returned. No OpenBLAS build variant
 * helps (the serial and OpenMP builds share memory.c), and a GEMM of our own would cost the
 * dense layers OpenBLAS's speed. So the backend keeps count: GEMMs run by ember never have
 * more callers in flight than slots known to be mapped; before a GEMM would exceed that,
 * more slots are mapped here, one blas_memory_alloc at a time while holding the others,
 * each only after a probe mapping of the same size succeeded. When fewer slots can be had
 * than threads asked for, the GEMM runs on fewer threads; with none, OUT_OF_MEMORY.
 *
 * Assumes ember is the only caller of OpenBLAS GEMMs in the process while its ops run (a
 * caller's own concurrent GEMMs could take slots this count does not see). */
#define _GNU_SOURCE /* MAP_NORESERVE, MAP_ANONYMOUS */
#include "cpu/cpu_internal.h"

#include <pthread.h>
#include <sys/mman.h>

/* Exported by every OpenBLAS, though not declared in cblas.h. */
extern void *blas_memory_alloc(int procpos);
extern void blas_memory_free(void *buffer);

/* BUFFER_SIZE plus the page OpenBLAS's malloc fallback adds, plus a margin for its
 * alignment and for what the GEMM itself maps. */
#define BLAS_PROBE_BYTES (((size_t)128 << 20) + ((size_t)1 << 20))
#define MAX_SLOTS 64 /* cpu_threads() never exceeds 64 */

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static int slots_mapped; /* pool slots known to hold a buffer (a lower bound) */
static int slots_in_use; /* GEMM threads of ember in flight */

/* 1 when a mapping of a buffer's size can be made now. */
static int buffer_would_fit(void) {
    void *p = mmap(NULL, BLAS_PROBE_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return 0;
    munmap(p, BLAS_PROBE_BYTES);
    return 1;
}

/* Holds up to `want` pool buffers at once, probing before each, and so makes at least that
 * many slots mapped (each held buffer is a distinct slot). Called with slots_lock held. */
static void map_slots(int want) {
    void *held[MAX_SLOTS];
    int n = 0;
    while (n < want && n < MAX_SLOTS && buffer_would_fit()) {
        held[n] = blas_memory_alloc(0);
        if (!held[n]) break;
        n++;
    }
    for (int i = 0; i < n; i++) blas_memory_free(held[i]);
    if (n > slots_mapped) slots_mapped = n;
}

ember_status cpu_blas_begin(ember_context *ctx, int threads, int *granted) {
    *granted = 0;
    pthread_mutex_lock(&slots_lock);
    if (slots_in_use + threads > slots_mapped) map_slots(slots_in_use + threads);
    int free_slots = slots_mapped - slots_in_use;
    int n = threads < free_slots ? threads : free_slots;
    if (n > 0) slots_in_use += n;
    pthread_mutex_unlock(&slots_lock);
    if (n < 1)
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "cpu: cannot map OpenBLAS's %zu MiB GEMM work buffer (address "
                           "space exhausted: ulimit -v?)",
                           BLAS_PROBE_BYTES >> 20);
    *granted = n;
    return EMBER_STATUS_SUCCESS;
}

void cpu_blas_end(int granted) {
    pthread_mutex_lock(&slots_lock);
    slots_in_use -= granted;
    pthread_mutex_unlock(&slots_lock);
}
