/* wd_safetensors.c: the safetensors writer (atomic) and a strict reader with its own small JSON
 * parser, written to reject any malformed or truncated file without crashing. */
#define _XOPEN_SOURCE 700
#include "wd_safetensors.h"

#include "util/atomic_file.h"
#include "util/json_reader.h"
#include "util/json_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (64u << 20)
#define MAX_TENSORS 100000

/* ---------------------------------------------------------------------------------------
 * writing
 * --------------------------------------------------------------------------------------- */

static int host_is_little(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void to_le32(void *p, size_t count) {
    if (host_is_little()) return;
    unsigned char *b = p;
    for (size_t i = 0; i < count; i++, b += 4) {
        unsigned char t = b[0];
        b[0] = b[3];
        b[3] = t;
        t = b[1];
        b[1] = b[2];
        b[2] = t;
    }
}

static int64_t shape_count(const ember_st_tensor *t) {
    int64_t count = 1;
    for (int d = 0; d < t->ndim; d++) count *= t->shape[d];
    return count;
}

/* The JSON header, padded with spaces so the data starts 8-byte aligned; malloc'ed, NULL
 * when out of memory. */
static char *header_json(const ember_st_tensor *tensors, int ntensors, const ember_st_meta *meta,
                         int nmeta, size_t *len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *mf = open_memstream(&buf, &n);
    if (mf == NULL) return NULL;
    ember_json j;
    ember_json_init(&j, mf);
    ember_json_begin_object(&j);
    if (nmeta > 0) {
        ember_json_key(&j, "__metadata__");
        ember_json_begin_object(&j);
        for (int i = 0; i < nmeta; i++) ember_json_key_string(&j, meta[i].key, meta[i].value);
        ember_json_end_object(&j);
    }
    uint64_t off = 0;
    for (int t = 0; t < ntensors; t++) {
        const ember_st_tensor *ts = &tensors[t];
        uint64_t bytes = (uint64_t)shape_count(ts) * 4u;
        ember_json_key(&j, ts->name);
        ember_json_begin_object(&j);
        ember_json_key_string(&j, "dtype", "F32");
        ember_json_key(&j, "shape");
        ember_json_begin_array(&j);
        for (int d = 0; d < ts->ndim; d++) ember_json_int(&j, (long long)ts->shape[d]);
        ember_json_end_array(&j);
        ember_json_key(&j, "data_offsets");
        ember_json_begin_array(&j);
        ember_json_int(&j, (long long)off);
        ember_json_int(&j, (long long)(off + bytes));
        ember_json_end_array(&j);
        ember_json_end_object(&j);
        off += bytes;
    }
    ember_json_end_object(&j);
    long pos = ftell(mf);
    while (pos >= 0 && pos % 8 != 0 && fputc(' ', mf) != EOF) pos++;
    int bad = pos < 0 || ferror(mf);
    if (fclose(mf) != 0 || bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int write_tensor_data(FILE *f, const ember_st_tensor *tensors, int ntensors) {
    float chunk[4096];
    for (int t = 0; t < ntensors; t++) {
        int64_t count = shape_count(&tensors[t]);
        for (int64_t i = 0; i < count; i += 4096) {
            size_t n = (size_t)(count - i < 4096 ? count - i : 4096);
            memcpy(chunk, tensors[t].data + i, n * 4);
            to_le32(chunk, n);
            if (fwrite(chunk, 4, n, f) != n) return -1;
        }
    }
    return 0;
}

ember_status ember_st_write(const char *path, const ember_st_tensor *tensors, int ntensors,
                            const ember_st_meta *meta, int nmeta, ember_model_err *err) {
    size_t hlen = 0;
    char *header = header_json(tensors, ntensors, meta, nmeta, &hlen);
    if (header == NULL)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory writing %s", path);
    ember_atomic_file af;
    int e = ember_atomic_open(&af, path);
    if (e != 0) {
        free(header);
        return ember_merr(err, EMBER_STATUS_IO_ERROR,
                          "cannot create a temporary file beside %s: %s", path, strerror(e));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int bad = fwrite(len8, 1, 8, af.f) != 8 || fwrite(header, 1, hlen, af.f) != hlen ||
              write_tensor_data(af.f, tensors, ntensors) != 0;
    free(header);
    if (bad) {
        e = errno ? errno : EIO;
        ember_atomic_discard(&af);
    } else {
        e = ember_atomic_commit(&af);
    }
    if (e != 0)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot write %s: %s", path, strerror(e));
    return EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * reading
 * --------------------------------------------------------------------------------------- */

typedef struct jp {
    ember_json_reader r;
    const char *path;
    ember_model_err *err;
} jp;

static ember_status jbad(jp *j, const char *what) {
    return ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                      "%s: corrupt safetensors header: %s at header byte %lld", j->path, what,
                      ember_json_reader_offset(&j->r));
}

static void jws(jp *j) {
    ember_json_skip_space(&j->r);
}

static int jeat(jp *j, char c) {
    return ember_json_eat(&j->r, c);
}

static char *jstring(jp *j) {
    return ember_json_read_string(&j->r);
}

static int juint(jp *j, uint64_t *v) {
    return ember_json_read_uint(&j->r, v);
}

void ember_st_free(ember_st_file *f) {
    if (f == NULL) return;
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->meta);
    free(f->tensors);
    free(f->blob);
    free(f->by_name);
    memset(f, 0, sizeof *f);
}

typedef struct tinfo {
    uint64_t begin, end;
    int index;
} tinfo;

static int cmp_tinfo(const void *a, const void *b) {
    uint64_t x = ((const tinfo *)a)->begin, y = ((const tinfo *)b)->begin;
    return (x > y) - (x < y);
}

/* "__metadata__": {string: string, ...} (after its key and colon). */
static ember_status parse_metadata(jp *j, ember_st_file *f) {
    if (f->meta != NULL) return jbad(j, "two __metadata__ objects");
    if (!jeat(j, '{')) return jbad(j, "__metadata__ is not an object");
    int mcap = 1;
    f->meta = calloc(1, sizeof *f->meta);
    if (f->meta == NULL) return jbad(j, "out of memory");
    if (jeat(j, '}')) return EMBER_STATUS_SUCCESS;
    for (;;) {
        char *k = jstring(j);
        if (k == NULL) return jbad(j, "bad __metadata__ key");
        if (!jeat(j, ':')) {
            free(k);
            return jbad(j, "expected ':' in __metadata__");
        }
        char *v = jstring(j);
        if (v == NULL) {
            free(k);
            return jbad(j, "a __metadata__ value is not a UTF-8 string");
        }
        if (f->nmeta == mcap) {
            mcap *= 2;
            ember_st_meta *nm = realloc(f->meta, (size_t)mcap * sizeof *nm);
            if (nm == NULL) {
                free(k);
                free(v);
                return jbad(j, "out of memory");
            }
            f->meta = nm;
        }
        f->meta[f->nmeta].key = k;
        f->meta[f->nmeta].value = v;
        f->nmeta++;
        if (jeat(j, ',')) continue;
        if (jeat(j, '}')) return EMBER_STATUS_SUCCESS;
        return jbad(j, "expected ',' or '}' in __metadata__");
    }
}

static ember_status parse_dtype(jp *j, const ember_st_tensor *t) {
    char *v = jstring(j);
    if (v == NULL) return jbad(j, "dtype is not a string");
    ember_status st = EMBER_STATUS_SUCCESS;
    if (strcmp(v, "F32") != 0)
        st = ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: tensor '%s' has dtype %.20s; ember reads only F32", j->path, t->name,
                        v);
    free(v);
    return st;
}

static ember_status parse_shape(jp *j, ember_st_tensor *t) {
    if (!jeat(j, '[')) return jbad(j, "shape is not an array");
    t->ndim = 0;
    if (jeat(j, ']')) return EMBER_STATUS_SUCCESS;
    for (;;) {
        uint64_t d;
        if (t->ndim == EMBER_ST_MAX_DIMS) return jbad(j, "too many dimensions");
        if (!juint(j, &d)) return jbad(j, "bad shape entry");
        t->shape[t->ndim++] = (int64_t)d;
        if (jeat(j, ',')) continue;
        if (jeat(j, ']')) return EMBER_STATUS_SUCCESS;
        return jbad(j, "expected ',' or ']' in shape");
    }
}

/* One tensor's {"dtype": .., "shape": [..], "data_offsets": [b, e]} into *t and off[0..1]. */
static ember_status parse_tensor_entry(jp *j, ember_st_tensor *t, uint64_t off[2]) {
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (!jeat(j, '{')) return jbad(j, "a tensor entry is not an object");
    for (;;) {
        char *k = jstring(j);
        if (k == NULL) return jbad(j, "bad key in a tensor entry");
        if (!jeat(j, ':')) {
            free(k);
            return jbad(j, "expected ':' in a tensor entry");
        }
        int which = strcmp(k, "dtype") == 0          ? 0
                    : strcmp(k, "shape") == 0        ? 1
                    : strcmp(k, "data_offsets") == 0 ? 2
                                                     : -1;
        free(k);
        if (which == 0) {
            EMBER_FORWARD_IF_ERROR(parse_dtype(j, t));
            have_dtype = 1;
        } else if (which == 1) {
            EMBER_FORWARD_IF_ERROR(parse_shape(j, t));
            have_shape = 1;
        } else if (which == 2) {
            if (!jeat(j, '[') || !juint(j, &off[0]) || !jeat(j, ',') || !juint(j, &off[1]) ||
                !jeat(j, ']'))
                return jbad(j, "data_offsets is not [begin, end]");
            have_off = 1;
        } else {
            return jbad(j, "unknown key in a tensor entry");
        }
        if (jeat(j, ',')) continue;
        if (jeat(j, '}')) break;
        return jbad(j, "expected ',' or '}' in a tensor entry");
    }
    if (!have_dtype || !have_shape || !have_off)
        return ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: tensor '%s' lacks dtype, shape or data_offsets", j->path, t->name);
    return EMBER_STATUS_SUCCESS;
}

/* Makes room for one more tensor (and its two offsets). */
static ember_status grow_tensors(jp *j, ember_st_file *f, int *tcap, uint64_t **offsets) {
    if (f->ntensors < *tcap) return EMBER_STATUS_SUCCESS;
    if (*tcap >= MAX_TENSORS) return jbad(j, "too many tensors");
    int nc = *tcap ? 2 * *tcap : 16;
    ember_st_tensor *nt = realloc(f->tensors, (size_t)nc * sizeof *nt);
    if (nt == NULL) return jbad(j, "out of memory");
    f->tensors = nt;
    uint64_t *no = realloc(*offsets, (size_t)nc * 2 * sizeof *no);
    if (no == NULL) return jbad(j, "out of memory");
    *offsets = no;
    *tcap = nc;
    return EMBER_STATUS_SUCCESS;
}

static ember_status parse_tensor(jp *j, ember_st_file *f, char *key, int *tcap,
                                 uint64_t **offsets) {
    if (strlen(key) >= EMBER_ST_NAME_MAX || key[0] == '\0') {
        free(key);
        return jbad(j, "tensor name empty or too long");
    }
    ember_status st = grow_tensors(j, f, tcap, offsets);
    if (st != EMBER_STATUS_SUCCESS) {
        free(key);
        return st;
    }
    ember_st_tensor *t = &f->tensors[f->ntensors];
    memset(t, 0, sizeof *t);
    strcpy(t->name, key);
    free(key);
    EMBER_FORWARD_IF_ERROR(parse_tensor_entry(j, t, *offsets + 2 * f->ntensors));
    f->ntensors++;
    return EMBER_STATUS_SUCCESS;
}

static ember_status parse_header(jp *j, ember_st_file *f, uint64_t **offsets) {
    int tcap = 0;
    *offsets = NULL;
    if (!jeat(j, '{')) return jbad(j, "expected '{'");
    if (jeat(j, '}')) return EMBER_STATUS_SUCCESS;
    for (;;) {
        char *key = jstring(j);
        if (key == NULL) return jbad(j, "expected a string key");
        if (!jeat(j, ':')) {
            free(key);
            return jbad(j, "expected ':'");
        }
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            EMBER_FORWARD_IF_ERROR(parse_metadata(j, f));
        } else {
            EMBER_FORWARD_IF_ERROR(parse_tensor(j, f, key, &tcap, offsets));
        }
        if (jeat(j, ',')) continue;
        if (jeat(j, '}')) break;
        return jbad(j, "expected ',' or '}'");
    }
    jws(j);
    if (!ember_json_reader_at_end(&j->r)) return jbad(j, "text after the header object");
    return EMBER_STATUS_SUCCESS;
}

typedef struct named {
    const char *name;
    int index;
} named;

static int cmp_named(const void *a, const void *b) {
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* The name index (sorted, so a duplicate name sits beside its twin): O(n log n) however
 * many tensors a crafted header lists. */
static ember_status index_names(const char *path, ember_st_file *f, ember_model_err *err) {
    size_t n = (size_t)(f->ntensors > 0 ? f->ntensors : 1);
    named *v = malloc(n * sizeof *v);
    f->by_name = malloc(n * sizeof *f->by_name);
    if (v == NULL || f->by_name == NULL) {
        free(v);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < f->ntensors; i++) v[i] = (named){f->tensors[i].name, i};
    qsort(v, (size_t)f->ntensors, sizeof *v, cmp_named);
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int i = 0; i < f->ntensors; i++) {
        f->by_name[i] = v[i].index;
        if (i > 0 && st == EMBER_STATUS_SUCCESS && strcmp(v[i - 1].name, v[i].name) == 0)
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: tensor '%s' appears twice", path,
                            v[i].name);
    }
    free(v);
    return st;
}

/* Each tensor's count from its shape, and its data_offsets: in the data section, of the
 * size its shape says, and together covering the section without holes or overlaps. */
static ember_status check_layout(const char *path, ember_st_file *out, const uint64_t *offs,
                                 uint64_t dsize, ember_model_err *err) {
    ember_status st = EMBER_STATUS_SUCCESS;
    tinfo *order = calloc((size_t)(out->ntensors > 0 ? out->ntensors : 1), sizeof *order);
    if (order == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int t = 0; t < out->ntensors; t++) {
        ember_st_tensor *ts = &out->tensors[t];
        uint64_t count = 1;
        for (int d = 0; d < ts->ndim; d++) {
            uint64_t dim = (uint64_t)ts->shape[d];
            if (dim != 0 && count > (1ull << 53) / dim) {
                st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: tensor '%s': shape overflows",
                                path, ts->name);
                goto out;
            }
            count *= dim;
        }
        ts->count = (int64_t)count;
        uint64_t b = offs[2 * t], e = offs[2 * t + 1];
        if (b > e || e > dsize || e - b != count * 4 || b % 4 != 0) {
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                            "%s: tensor '%s': data_offsets [%llu, %llu] do not fit its shape "
                            "(%llu floats) within the %llu data bytes%s",
                            path, ts->name, (unsigned long long)b, (unsigned long long)e,
                            (unsigned long long)count, (unsigned long long)dsize,
                            e > dsize ? " (file truncated?)" : "");
            goto out;
        }
        order[t].begin = b;
        order[t].end = e;
        order[t].index = t;
    }
    qsort(order, (size_t)out->ntensors, sizeof *order, cmp_tinfo);
    uint64_t pos = 0;
    for (int t = 0; t < out->ntensors; t++) {
        if (order[t].begin != pos) {
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                            "%s: tensor '%s' starts at data byte %llu, expected %llu (overlap "
                            "or hole)",
                            path, out->tensors[order[t].index].name,
                            (unsigned long long)order[t].begin, (unsigned long long)pos);
            goto out;
        }
        pos = order[t].end;
    }
    if (pos != dsize) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: %llu data bytes, but the tensors cover %llu", path,
                        (unsigned long long)dsize, (unsigned long long)pos);
        goto out;
    }
out:
    free(order);
    return st;
}

ember_status ember_st_read(const char *path, ember_st_file *out, ember_model_err *err) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
    ember_status st = EMBER_STATUS_SUCCESS;
    char *header = NULL;
    uint64_t *offs = NULL;
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ember_merr(err, EMBER_STATUS_IO_ERROR, "%s: not a regular file", path);
        goto done;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (fsize < 8 || fread(len8, 1, 8, fp) != 8) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: truncated: %llu bytes, less than the 8-byte header length", path,
                        (unsigned long long)fsize);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen > fsize - 8) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: truncated or corrupt: header length %llu exceeds the %llu bytes "
                        "after it",
                        path, (unsigned long long)hlen, (unsigned long long)(fsize - 8));
        goto done;
    }
    if (hlen < 2 || hlen > MAX_HEADER) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: implausible header length %llu", path,
                        (unsigned long long)hlen);
        goto done;
    }
    header = malloc(hlen);
    if (header == NULL || fread(header, 1, hlen, fp) != hlen) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: cannot read the %llu-byte header",
                        path, (unsigned long long)hlen);
        goto done;
    }
    jp j = {{header, header + hlen, header}, path, err};
    st = parse_header(&j, out, &offs);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    uint64_t dsize = fsize - 8 - hlen;
    if (dsize % 4 != 0) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: data section of %llu bytes is not a whole number of floats", path,
                        (unsigned long long)dsize);
        goto done;
    }
    st = index_names(path, out, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    st = check_layout(path, out, offs, dsize, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    out->blob = malloc(dsize > 0 ? (size_t)dsize : 4);
    if (out->blob == NULL) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory reading %s", path);
        goto done;
    }
    if (dsize > 0 && fread(out->blob, 1, (size_t)dsize, fp) != dsize) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: truncated data section", path);
        goto done;
    }
    to_le32(out->blob, (size_t)(dsize / 4));
    out->total_floats = (int64_t)(dsize / 4);
    for (int t = 0; t < out->ntensors; t++) out->tensors[t].data = out->blob + offs[2 * t] / 4;
done:
    fclose(fp);
    free(header);
    free(offs);
    if (st != EMBER_STATUS_SUCCESS) ember_st_free(out);
    return st;
}

const ember_st_tensor *ember_st_find(const ember_st_file *f, const char *name) {
    int lo = 0, hi = f->ntensors - 1;
    while (f->by_name != NULL && lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(f->tensors[f->by_name[mid]].name, name);
        if (c == 0) return &f->tensors[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const char *ember_st_meta_get(const ember_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}
