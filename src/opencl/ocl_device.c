/* ocl_device.c: OpenCL device listing, context set-up (one program built per context, its
 * kernels cached), tear-down, error names, scratch buffers and kernel launches. */
#include "opencl/ocl_internal.h"

#include <clblast_c.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The kernels of kernels/ (*.cl files), embedded at build time by embed_kernels.cmake. */
extern const char ember_opencl_kernel_source[];
extern const size_t ember_opencl_kernel_source_size;

const char *ocl_error_name(cl_int err) {
    switch (err) {
#define OCL_ERR_(e)                                                                                \
    case e:                                                                                        \
        return #e;
        OCL_ERR_(CL_SUCCESS)
        OCL_ERR_(CL_DEVICE_NOT_FOUND)
        OCL_ERR_(CL_DEVICE_NOT_AVAILABLE)
        OCL_ERR_(CL_COMPILER_NOT_AVAILABLE)
        OCL_ERR_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        OCL_ERR_(CL_OUT_OF_RESOURCES)
        OCL_ERR_(CL_OUT_OF_HOST_MEMORY)
        OCL_ERR_(CL_PROFILING_INFO_NOT_AVAILABLE)
        OCL_ERR_(CL_MEM_COPY_OVERLAP)
        OCL_ERR_(CL_IMAGE_FORMAT_MISMATCH)
        OCL_ERR_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        OCL_ERR_(CL_BUILD_PROGRAM_FAILURE)
        OCL_ERR_(CL_MAP_FAILURE)
        OCL_ERR_(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        OCL_ERR_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        OCL_ERR_(CL_COMPILE_PROGRAM_FAILURE)
        OCL_ERR_(CL_LINKER_NOT_AVAILABLE)
        OCL_ERR_(CL_LINK_PROGRAM_FAILURE)
        OCL_ERR_(CL_DEVICE_PARTITION_FAILED)
        OCL_ERR_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        OCL_ERR_(CL_INVALID_VALUE)
        OCL_ERR_(CL_INVALID_DEVICE_TYPE)
        OCL_ERR_(CL_INVALID_PLATFORM)
        OCL_ERR_(CL_INVALID_DEVICE)
        OCL_ERR_(CL_INVALID_CONTEXT)
        OCL_ERR_(CL_INVALID_QUEUE_PROPERTIES)
        OCL_ERR_(CL_INVALID_COMMAND_QUEUE)
        OCL_ERR_(CL_INVALID_HOST_PTR)
        OCL_ERR_(CL_INVALID_MEM_OBJECT)
        OCL_ERR_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        OCL_ERR_(CL_INVALID_IMAGE_SIZE)
        OCL_ERR_(CL_INVALID_SAMPLER)
        OCL_ERR_(CL_INVALID_BINARY)
        OCL_ERR_(CL_INVALID_BUILD_OPTIONS)
        OCL_ERR_(CL_INVALID_PROGRAM)
        OCL_ERR_(CL_INVALID_PROGRAM_EXECUTABLE)
        OCL_ERR_(CL_INVALID_KERNEL_NAME)
        OCL_ERR_(CL_INVALID_KERNEL_DEFINITION)
        OCL_ERR_(CL_INVALID_KERNEL)
        OCL_ERR_(CL_INVALID_ARG_INDEX)
        OCL_ERR_(CL_INVALID_ARG_VALUE)
        OCL_ERR_(CL_INVALID_ARG_SIZE)
        OCL_ERR_(CL_INVALID_KERNEL_ARGS)
        OCL_ERR_(CL_INVALID_WORK_DIMENSION)
        OCL_ERR_(CL_INVALID_WORK_GROUP_SIZE)
        OCL_ERR_(CL_INVALID_WORK_ITEM_SIZE)
        OCL_ERR_(CL_INVALID_GLOBAL_OFFSET)
        OCL_ERR_(CL_INVALID_EVENT_WAIT_LIST)
        OCL_ERR_(CL_INVALID_EVENT)
        OCL_ERR_(CL_INVALID_OPERATION)
        OCL_ERR_(CL_INVALID_GL_OBJECT)
        OCL_ERR_(CL_INVALID_BUFFER_SIZE)
        OCL_ERR_(CL_INVALID_MIP_LEVEL)
        OCL_ERR_(CL_INVALID_GLOBAL_WORK_SIZE)
        OCL_ERR_(CL_INVALID_PROPERTY)
        OCL_ERR_(CL_INVALID_IMAGE_DESCRIPTOR)
        OCL_ERR_(CL_INVALID_COMPILER_OPTIONS)
        OCL_ERR_(CL_INVALID_LINKER_OPTIONS)
        OCL_ERR_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef OCL_ERR_
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

ember_status ocl_fail(ember_context *ctx, cl_int err, const char *what) {
    ember_status st = (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
                       err == CL_OUT_OF_HOST_MEMORY)
                          ? EMBER_STATUS_OUT_OF_MEMORY
                          : EMBER_STATUS_DEVICE_ERROR;
    return ember_error(ctx, st, "OpenCL: %s failed: %s (%d)", what, ocl_error_name(err), (int)err);
}

/* --- enumeration --------------------------------------------------------------------------- */

#define OCL_MAX_PLATFORMS 16
#define OCL_MAX_DEVICES 64

/* Every device of every platform, in order: the flat index is the API's device index. */
typedef struct ocl_device_list {
    cl_uint count;
    cl_platform_id platform[OCL_MAX_DEVICES];
    cl_uint platform_index[OCL_MAX_DEVICES];
    cl_uint device_index[OCL_MAX_DEVICES];
    cl_device_id device[OCL_MAX_DEVICES];
    char why_none[200]; /* when count is 0 */
} ocl_device_list;

static void ocl_enumerate(ocl_device_list *list) {
    memset(list, 0, sizeof *list);
    cl_platform_id platforms[OCL_MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(OCL_MAX_PLATFORMS, platforms, &np);
    if (err != CL_SUCCESS || np == 0) {
        snprintf(list->why_none, sizeof list->why_none,
                 "no OpenCL platform found (clGetPlatformIDs: %s); install an ICD such as "
                 "pocl-opencl-icd or a GPU driver's",
                 err != CL_SUCCESS ? ocl_error_name(err) : "0 platforms");
        return;
    }
    if (np > OCL_MAX_PLATFORMS) np = OCL_MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[OCL_MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, devs, &nd) !=
            CL_SUCCESS)
            continue;
        if (nd > OCL_MAX_DEVICES) nd = OCL_MAX_DEVICES;
        for (cl_uint d = 0; d < nd && list->count < OCL_MAX_DEVICES; d++) {
            list->platform[list->count] = platforms[p];
            list->platform_index[list->count] = p;
            list->device_index[list->count] = d;
            list->device[list->count] = devs[d];
            list->count++;
        }
    }
    if (list->count == 0)
        snprintf(list->why_none, sizeof list->why_none,
                 "%u OpenCL platform(s) found but no device on any of them", (unsigned)np);
}

static void ocl_str(cl_device_id dev, cl_device_info what, char *buf, size_t size) {
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, what, size, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[size - 1] = '\0';
}

static void ocl_describe(const ocl_device_list *list, cl_uint i, ember_device_info *info) {
    memset(info, 0, sizeof *info);
    info->kind = EMBER_BACKEND_OPENCL;
    info->index = (int)i;
    cl_device_id dev = list->device[i];
    char name[256], cver[128], pname[128], pver[128];
    ocl_str(dev, CL_DEVICE_NAME, name, sizeof name);
    ocl_str(dev, CL_DEVICE_OPENCL_C_VERSION, cver, sizeof cver);
    pname[0] = pver[0] = '\0';
    clGetPlatformInfo(list->platform[i], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    clGetPlatformInfo(list->platform[i], CL_PLATFORM_VERSION, sizeof pver, pver, NULL);
    pname[sizeof pname - 1] = pver[sizeof pver - 1] = '\0';
    /* "OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, ...": keep the part before the
     * build details. */
    char *cut = strstr(pver, "  ");
    if (cut) *cut = '\0';
    if ((cut = strchr(pver, ',')) != NULL) *cut = '\0';
    snprintf(info->name, sizeof info->name, "%s", name);
    cl_ulong mem = 0;
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    info->memory_bytes = mem;
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    cl_uint cus = 0;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    snprintf(info->detail, sizeof info->detail,
             "EMBER_OPENCL_DEVICE=%u:%u; platform %s (%s); %s; %s; %u compute units",
             (unsigned)list->platform_index[i], (unsigned)list->device_index[i], pname, pver, cver,
             (type & CL_DEVICE_TYPE_GPU)   ? "GPU"
             : (type & CL_DEVICE_TYPE_CPU) ? "CPU"
                                           : "other",
             (unsigned)cus);
    cl_bool avail = CL_FALSE, compiler = CL_FALSE;
    clGetDeviceInfo(dev, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    info->usable = avail && compiler;
    if (!avail)
        snprintf(info->reason, sizeof info->reason, "the device reports it is not available");
    else if (!compiler)
        snprintf(info->reason, sizeof info->reason,
                 "the device has no OpenCL C compiler (ember builds its kernels from source)");
}

ember_status ocl_devices(ember_device_info *out, size_t capacity, size_t *count) {
    ocl_device_list list;
    ocl_enumerate(&list);
    if (list.count == 0) {
        if (out && capacity > 0) {
            memset(out, 0, sizeof *out);
            out->kind = EMBER_BACKEND_OPENCL;
            snprintf(out->name, sizeof out->name, "OpenCL");
            snprintf(out->reason, sizeof out->reason, "%s", list.why_none);
        }
        *count = 1;
        return ember_error(NULL, EMBER_STATUS_NO_DEVICE, "%s", list.why_none);
    }
    for (cl_uint i = 0; i < list.count && i < capacity; i++) ocl_describe(&list, i, &out[i]);
    *count = list.count;
    return EMBER_STATUS_SUCCESS;
}

/* --- context ------------------------------------------------------------------------------- */

/* Which flat device index `device` (-1: EMBER_OPENCL_DEVICE, else the first) means. */
static ember_status ocl_pick(ember_context *ctx, const ocl_device_list *list, int device,
                             cl_uint *index) {
    if (list->count == 0) return ember_error(ctx, EMBER_STATUS_NO_DEVICE, "%s", list->why_none);
    if (device >= 0) {
        if ((cl_uint)device >= list->count)
            return ember_error(ctx, EMBER_STATUS_NO_DEVICE,
                               "OpenCL device %d does not exist (%u device(s) found)", device,
                               (unsigned)list->count);
        *index = (cl_uint)device;
        return EMBER_STATUS_SUCCESS;
    }
    const char *env = getenv("EMBER_OPENCL_DEVICE");
    if (!env || !*env) {
        *index = 0;
        return EMBER_STATUS_SUCCESS;
    }
    unsigned p = 0, d = 0;
    char tail = 0;
    if (sscanf(env, "%u:%u%c", &p, &d, &tail) != 2)
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE,
                           "EMBER_OPENCL_DEVICE=\"%s\" names no device: expected "
                           "platform:device, e.g. 0:0 (see `ember devices`)",
                           env);
    for (cl_uint i = 0; i < list->count; i++) {
        if (list->platform_index[i] == p && list->device_index[i] == d) {
            *index = i;
            return EMBER_STATUS_SUCCESS;
        }
    }
    return ember_error(ctx, EMBER_STATUS_NO_DEVICE,
                       "EMBER_OPENCL_DEVICE=%s names no device (%u device(s) found; see "
                       "`ember devices`)",
                       env, (unsigned)list->count);
}

static double ocl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Builds the embedded program once for this context and creates every kernel. */
static ember_status ocl_build(ember_context *ctx, ocl_impl *im) {
    cl_int err;
    const char *src = ember_opencl_kernel_source;
    size_t len = ember_opencl_kernel_source_size;
    im->program = clCreateProgramWithSource(im->context, 1, &src, &len, &err);
    OCL_CHECK(ctx, err, "clCreateProgramWithSource");

    /* No -cl-fast-relaxed-math; correctly rounded divide and sqrt where the device offers
     * them, so results match the CPU backend's IEEE float arithmetic. */
    char options[512];
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(im->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    const char *extra = getenv("EMBER_OPENCL_BUILD_OPTIONS"); /* for tests and debugging */
    snprintf(options, sizeof options, "-cl-std=CL1.2%s%s %s",
             (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) ? " -cl-fp32-correctly-rounded-divide-sqrt"
                                                        : "",
             im->is_cpu ? " -DEMBER_CPU_DEVICE" : "", extra ? extra : "");
    double t0 = ocl_now();
    err = clBuildProgram(im->program, 1, &im->device, options, NULL, NULL);
    im->build_seconds = ocl_now() - t0;
    if (err != CL_SUCCESS) {
        char log[1600];
        size_t got = 0;
        log[0] = '\0';
        clGetProgramBuildInfo(im->program, im->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log,
                              &got);
        log[sizeof log - 1] = '\0';
        if (got > 0 && got < sizeof log) log[got] = '\0';
        if (got == 0 || log[0] == '\0') {
            /* The log was longer than our buffer: keep its start. */
            size_t need = 0;
            clGetProgramBuildInfo(im->program, im->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &need);
            char *full = need ? malloc(need + 1) : NULL;
            if (full && clGetProgramBuildInfo(im->program, im->device, CL_PROGRAM_BUILD_LOG, need,
                                              full, NULL) == CL_SUCCESS) {
                full[need] = '\0';
                snprintf(log, sizeof log, "%s", full);
            }
            free(full);
        }
        return ember_error(ctx, EMBER_STATUS_BUILD_FAILED,
                           "OpenCL: clBuildProgram failed on \"%s\": %s (%d); options \"%s\"; "
                           "build log:\n%s",
                           ctx->device_name, ocl_error_name(err), (int)err, options, log);
    }
    static const char *const names[OCL_K_COUNT] = {
#define OCL_KERNEL_NAME_(id, name) name,
        OCL_KERNEL_LIST(OCL_KERNEL_NAME_)
#undef OCL_KERNEL_NAME_
    };
    for (int k = 0; k < OCL_K_COUNT; k++) {
        im->kernels[k] = clCreateKernel(im->program, names[k], &err);
        if (err != CL_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "clCreateKernel(%s)", names[k]);
            return ocl_fail(ctx, err, what);
        }
        size_t max_local = 0;
        if (clGetKernelWorkGroupInfo(im->kernels[k], im->device, CL_KERNEL_WORK_GROUP_SIZE,
                                     sizeof max_local, &max_local, NULL) != CL_SUCCESS)
            max_local = 1;
        im->kernel_max_local[k] = max_local > 0 ? max_local : 1;
    }
    return EMBER_STATUS_SUCCESS;
}

static ember_status ocl_init_impl(ember_context *ctx, ocl_impl *im, int device) {
    ocl_device_list list;
    ocl_enumerate(&list);
    cl_uint index = 0;
    EMBER_FORWARD_IF_ERROR(ocl_pick(ctx, &list, device, &index));
    im->platform = list.platform[index];
    im->device = list.device[index];
    ember_device_info info;
    ocl_describe(&list, index, &info);
    snprintf(ctx->device_name, sizeof ctx->device_name, "%s", info.name);
    ctx->device = (int)index;
    if (!info.usable)
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE, "OpenCL device %u (%s): %s",
                           (unsigned)index, info.name, info.reason);

    clGetDeviceInfo(im->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof im->max_alloc, &im->max_alloc,
                    NULL);
    clGetDeviceInfo(im->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof im->global_mem, &im->global_mem,
                    NULL);
    clGetDeviceInfo(im->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof im->compute_units,
                    &im->compute_units, NULL);
    if (im->compute_units == 0) im->compute_units = 1;
    cl_device_type type = 0;
    clGetDeviceInfo(im->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    im->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    /* ATOMIC dense backward: compare-and-swap float adds where atomics are cheap (GPUs);
     * on CPU devices (PoCL: 2 GB/s, 15x slower) the grouped path, which is a valid ATOMIC
     * result too. EMBER_OPENCL_ATOMIC=cas or =group forces one (tests, tuning). */
    /* Work-group size of the kernels that give each work-item a whole row (lookup, grouped
     * backward and update): PoCL runs a work-group as one loop on one thread. */
    const char *local = getenv("EMBER_OPENCL_LOCAL");
    im->row_local = local && atoi(local) > 0 ? (size_t)atoi(local) : 16;
    const char *atomic = getenv("EMBER_OPENCL_ATOMIC");
    if (atomic && strcmp(atomic, "cas") == 0)
        im->atomic_cas = 1;
    else if (atomic && strcmp(atomic, "group") == 0)
        im->atomic_cas = 0;
    else
        im->atomic_cas = !im->is_cpu;
    char ext[4096];
    ocl_str(im->device, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    im->fp64 = strstr(ext, "cl_khr_fp64") != NULL;

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)im->platform, 0};
    im->context = clCreateContext(props, 1, &im->device, NULL, NULL, &err);
    OCL_CHECK(ctx, err, "clCreateContext");
    /* EMBER_OPENCL_PROFILE=1: a profiling queue, every kernel timed (a development aid; it
     * serialises launches, so never set it for real runs). */
    const char *prof = getenv("EMBER_OPENCL_PROFILE");
    im->profile = prof && *prof && strcmp(prof, "0") != 0;
    im->queue = clCreateCommandQueue(im->context, im->device,
                                     im->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    OCL_CHECK(ctx, err, "clCreateCommandQueue");
    cl_mem stand_in;
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_FLAG, 4 * sizeof(cl_long), &stand_in));
    return ocl_build(ctx, im);
}

ember_status ocl_init(ember_context *ctx, int device) {
    ocl_impl *im = calloc(1, sizeof *im);
    if (!im) return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY, "OpenCL: no host memory");
    ctx->impl = im;
    ember_status st = ocl_init_impl(ctx, im, device);
    if (st != EMBER_STATUS_SUCCESS) {
        ocl_destroy(ctx);
        return st;
    }
    return EMBER_STATUS_SUCCESS;
}

void ocl_destroy(ember_context *ctx) {
    ocl_impl *im = ocl_of(ctx);
    if (!im) return;
    if (im->queue) clFinish(im->queue);
    if (im->profile) {
        static const char *const names[OCL_K_COUNT] = {
#define OCL_KERNEL_NAME_(id, name) name,
            OCL_KERNEL_LIST(OCL_KERNEL_NAME_)
#undef OCL_KERNEL_NAME_
        };
        fprintf(stderr, "ember OpenCL profile (%s): program build %.3f s\n", ctx->device_name,
                im->build_seconds);
        for (int k = 0; k < OCL_K_COUNT; k++)
            if (im->prof_calls[k])
                fprintf(stderr, "  %-24s %8ld calls %10.3f ms total %8.3f ms mean %8.3f ms min\n",
                        names[k], im->prof_calls[k], im->prof_seconds[k] * 1e3,
                        im->prof_seconds[k] * 1e3 / (double)im->prof_calls[k],
                        im->prof_min[k] * 1e3);
    }
    for (int k = 0; k < OCL_K_COUNT; k++)
        if (im->kernels[k]) clReleaseKernel(im->kernels[k]);
    for (int s = 0; s < OCL_S_COUNT; s++)
        if (im->scratch[s]) clReleaseMemObject(im->scratch[s]);
    if (im->program) clReleaseProgram(im->program);
    if (im->queue) clReleaseCommandQueue(im->queue);
    /* CLBlast caches its compiled programs per context, and they keep the context alive:
     * clear its cache so releasing the context frees it (other contexts recompile from
     * the driver's cache on their next GEMM, about 40 ms on PoCL). */
    if (im->used_clblast) CLBlastClearCache();
    if (im->context) clReleaseContext(im->context);
    free(im);
    ctx->impl = NULL;
}

ember_status ocl_synchronize(ember_context *ctx) {
    OCL_CHECK(ctx, clFinish(ocl_of(ctx)->queue), "clFinish");
    return EMBER_STATUS_SUCCESS;
}

/* --- scratch and launches -------------------------------------------------------------- */

ember_status ocl_scratch(ember_context *ctx, ocl_scratch_id id, size_t bytes, cl_mem *out) {
    ocl_impl *im = ocl_of(ctx);
    if (bytes == 0) bytes = 4;
    if (im->scratch[id] && im->scratch_bytes[id] >= bytes) {
        *out = im->scratch[id];
        return EMBER_STATUS_SUCCESS;
    }
    if (im->scratch[id]) clReleaseMemObject(im->scratch[id]);
    im->scratch[id] = NULL;
    im->scratch_bytes[id] = 0;
    /* As any buffer: backed now, so a failure is OUT_OF_MEMORY here, not an abort at use. */
    void *m = NULL;
    EMBER_FORWARD_IF_ERROR(ocl_buffer_alloc(ctx, bytes, &m));
    im->scratch[id] = (cl_mem)m;
    im->scratch_bytes[id] = bytes;
    *out = (cl_mem)m;
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_launch(ember_context *ctx, ocl_call *c, size_t global, size_t local) {
    static const char *const names[OCL_K_COUNT] = {
#define OCL_KERNEL_NAME_(id, name) name,
        OCL_KERNEL_LIST(OCL_KERNEL_NAME_)
#undef OCL_KERNEL_NAME_
    };
    char what[96];
    if (c->err != CL_SUCCESS) {
        snprintf(what, sizeof what, "clSetKernelArg(%s, arg %u)", names[c->id], (unsigned)c->bad);
        return ocl_fail(ctx, c->err, what);
    }
    if (global == 0) return EMBER_STATUS_SUCCESS;
    ocl_impl *im = ocl_of(ctx);
    /* Some GPUs allow smaller work-groups for big kernels than the sizes asked here. */
    if (local > im->kernel_max_local[c->id]) local = im->kernel_max_local[c->id];
    if (local > 0) global = (global + local - 1) / local * local;
    cl_event ev = NULL;
    cl_int err =
        clEnqueueNDRangeKernel(im->queue, c->k, 1, NULL, &global, local > 0 ? &local : NULL, 0,
                               NULL, im->profile ? &ev : NULL);
    if (ev) {
        cl_ulong t0 = 0, t1 = 0;
        clWaitForEvents(1, &ev);
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(ev);
        double t = 1e-9 * (double)(t1 - t0);
        im->prof_seconds[c->id] += t;
        if (im->prof_calls[c->id] == 0 || t < im->prof_min[c->id]) im->prof_min[c->id] = t;
        im->prof_calls[c->id]++;
    }
    if (err != CL_SUCCESS) {
        snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s, %zu work-items)", names[c->id],
                 global);
        return ocl_fail(ctx, err, what);
    }
    return EMBER_STATUS_SUCCESS;
}
