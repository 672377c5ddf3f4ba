/* wd_safetensors.c: the safetensors writer (atomic) and a strict reader with its own small JSON
 * parser, written to reject any malformed or truncated file without crashing. */
#define _XOPEN_SOURCE 700
#include "wd_safetensors.h"

#include <errno.h>
#include <fcntl.h>
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

typedef struct strbuf {
    char *p;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->cap + n + 1) * 2;
        char *q = realloc(b->p, nc);
        if (q == NULL) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(strbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_json_string(strbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            sb_put(b, tmp, 2);
        } else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            sb_put(b, tmp, 6);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

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

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

ember_status ember_st_write(const char *path, const ember_st_tensor *tensors, int ntensors,
                            const ember_st_meta *meta, int nmeta, ember_model_err *err) {
    strbuf h = {0};
    uint64_t off = 0;
    sb_str(&h, "{");
    if (nmeta > 0) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_string(&h, meta[i].key);
            sb_str(&h, ":");
            sb_json_string(&h, meta[i].value);
        }
        sb_str(&h, "}");
    }
    for (int t = 0; t < ntensors; t++) {
        const ember_st_tensor *ts = &tensors[t];
        int64_t count = 1;
        char tmp[64];
        if (nmeta > 0 || t > 0) sb_str(&h, ",");
        sb_json_string(&h, ts->name);
        sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ts->ndim; d++) {
            snprintf(tmp, sizeof tmp, "%s%lld", d ? "," : "", (long long)ts->shape[d]);
            sb_str(&h, tmp);
            count *= ts->shape[d];
        }
        snprintf(tmp, sizeof tmp, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + (uint64_t)count * 4u));
        sb_str(&h, tmp);
        off += (uint64_t)count * 4u;
    }
    sb_str(&h, "}");
    while (!h.oom && h.n % 8 != 0) sb_str(&h, " "); /* data starts 8-byte aligned */
    if (h.oom) {
        free(h.p);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory writing %s", path);
    }

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL) {
        free(h.p);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        ember_status st =
            ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        free(h.p);
        return st;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    unsigned char len8[8];
    uint64_t hl = h.n;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hl >> (8 * i));
    int bad = write_all(fd, len8, 8) || write_all(fd, h.p, h.n);
    float chunk[4096];
    for (int t = 0; t < ntensors && !bad; t++) {
        int64_t count = 1;
        for (int d = 0; d < tensors[t].ndim; d++) count *= tensors[t].shape[d];
        for (int64_t i = 0; i < count && !bad; i += 4096) {
            size_t n = (size_t)(count - i < 4096 ? count - i : 4096);
            memcpy(chunk, tensors[t].data + i, n * 4);
            to_le32(chunk, n);
            bad = write_all(fd, chunk, n * 4);
        }
    }
    int saved = errno;
    if (!bad && fsync(fd) != 0) {
        bad = 1;
        saved = errno;
    }
    if (close(fd) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        saved = errno;
    }
    free(h.p);
    if (bad) {
        unlink(tmp);
        free(tmp);
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot write %s: %s", path, strerror(saved));
    }
    free(tmp);
    /* The rename is durable once the folder is synced. */
    char *dir = ember_strdup(path);
    if (dir != NULL) {
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
    return EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * reading
 * --------------------------------------------------------------------------------------- */

typedef struct jp {
    const char *p, *end, *start;
    const char *path;
    ember_model_err *err;
} jp;

static ember_status jbad(jp *j, const char *what) {
    return ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                      "%s: corrupt safetensors header: %s at header byte %lld", j->path, what,
                      (long long)(j->p - j->start));
}

static void jws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jeat(jp *j, char c) {
    jws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

/* A JSON string into a malloc'ed buffer (UTF-8 of \u escapes). NULL on error. */
static char *jstring(jp *j) {
    jws(j);
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    size_t cap = 32, n = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        char enc[4];
        size_t en = 1;
        if (c == '\\') {
            if (j->p >= j->end) goto bad;
            char e = *j->p++;
            switch (e) {
            case '"':
                enc[0] = '"';
                break;
            case '\\':
                enc[0] = '\\';
                break;
            case '/':
                enc[0] = '/';
                break;
            case 'b':
                enc[0] = '\b';
                break;
            case 'f':
                enc[0] = '\f';
                break;
            case 'n':
                enc[0] = '\n';
                break;
            case 'r':
                enc[0] = '\r';
                break;
            case 't':
                enc[0] = '\t';
                break;
            case 'u': {
                if (j->end - j->p < 4) goto bad;
                unsigned v = 0;
                for (int k = 0; k < 4; k++) {
                    char h = j->p[k];
                    v <<= 4;
                    if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                    else
                        goto bad;
                }
                j->p += 4;
                if (v == 0) goto bad; /* no NUL inside C strings */
                if (v < 0x80) {
                    enc[0] = (char)v;
                } else if (v < 0x800) {
                    enc[0] = (char)(0xc0 | (v >> 6));
                    enc[1] = (char)(0x80 | (v & 0x3f));
                    en = 2;
                } else {
                    enc[0] = (char)(0xe0 | (v >> 12));
                    enc[1] = (char)(0x80 | ((v >> 6) & 0x3f));
                    enc[2] = (char)(0x80 | (v & 0x3f));
                    en = 3;
                }
                break;
            }
            default:
                goto bad;
            }
        } else if (c < 0x20) {
            goto bad;
        } else {
            enc[0] = (char)c;
        }
        if (n + en + 1 > cap) {
            cap *= 2;
            char *q = realloc(out, cap);
            if (q == NULL) goto bad;
            out = q;
        }
        memcpy(out + n, enc, en);
        n += en;
    }
    if (j->p >= j->end) goto bad;
    j->p++;
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static int juint(jp *j, uint64_t *v) {
    jws(j);
    uint64_t x = 0;
    int digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (x > (1ull << 53)) return 0;
        x = x * 10 + (uint64_t)(*j->p - '0');
        j->p++;
        digits++;
    }
    *v = x;
    return digits > 0 && x <= (1ull << 53);
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
            if (f->meta != NULL) return jbad(j, "two __metadata__ objects");
            if (!jeat(j, '{')) return jbad(j, "__metadata__ is not an object");
            int mcap = 0;
            f->meta = calloc(1, sizeof *f->meta);
            if (f->meta == NULL) return jbad(j, "out of memory");
            mcap = 1;
            if (!jeat(j, '}')) {
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
                        return jbad(j, "a __metadata__ value is not a string");
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
                    if (jeat(j, '}')) break;
                    return jbad(j, "expected ',' or '}' in __metadata__");
                }
            }
        } else {
            if (strlen(key) >= EMBER_ST_NAME_MAX || key[0] == '\0') {
                free(key);
                return jbad(j, "tensor name empty or too long");
            }
            for (int t = 0; t < f->ntensors; t++) {
                if (strcmp(f->tensors[t].name, key) == 0) {
                    ember_status st = ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                                                 "%s: tensor '%s' appears twice", j->path, key);
                    free(key);
                    return st;
                }
            }
            if (f->ntensors == tcap) {
                if (tcap >= MAX_TENSORS) {
                    free(key);
                    return jbad(j, "too many tensors");
                }
                tcap = tcap ? 2 * tcap : 16;
                ember_st_tensor *nt = realloc(f->tensors, (size_t)tcap * sizeof *nt);
                uint64_t *no = realloc(*offsets, (size_t)tcap * 2 * sizeof *no);
                if (nt) f->tensors = nt;
                if (no) *offsets = no;
                if (!nt || !no) {
                    free(key);
                    return jbad(j, "out of memory");
                }
            }
            ember_st_tensor *t = &f->tensors[f->ntensors];
            memset(t, 0, sizeof *t);
            strcpy(t->name, key);
            free(key);
            int have_dtype = 0, have_shape = 0, have_off = 0;
            uint64_t ob = 0, oe = 0;
            if (!jeat(j, '{')) return jbad(j, "a tensor entry is not an object");
            for (;;) {
                char *k = jstring(j);
                if (k == NULL) return jbad(j, "bad key in a tensor entry");
                if (!jeat(j, ':')) {
                    free(k);
                    return jbad(j, "expected ':' in a tensor entry");
                }
                if (strcmp(k, "dtype") == 0) {
                    free(k);
                    char *v = jstring(j);
                    if (v == NULL) return jbad(j, "dtype is not a string");
                    if (strcmp(v, "F32") != 0) {
                        ember_status st =
                            ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                                       "%s: tensor '%s' has dtype %.20s; ember reads only F32",
                                       j->path, t->name, v);
                        free(v);
                        return st;
                    }
                    free(v);
                    have_dtype = 1;
                } else if (strcmp(k, "shape") == 0) {
                    free(k);
                    if (!jeat(j, '[')) return jbad(j, "shape is not an array");
                    t->ndim = 0;
                    if (!jeat(j, ']')) {
                        for (;;) {
                            uint64_t d;
                            if (t->ndim == EMBER_ST_MAX_DIMS) return jbad(j, "too many dimensions");
                            if (!juint(j, &d)) return jbad(j, "bad shape entry");
                            t->shape[t->ndim++] = (int64_t)d;
                            if (jeat(j, ',')) continue;
                            if (jeat(j, ']')) break;
                            return jbad(j, "expected ',' or ']' in shape");
                        }
                    }
                    have_shape = 1;
                } else if (strcmp(k, "data_offsets") == 0) {
                    free(k);
                    if (!jeat(j, '[') || !juint(j, &ob) || !jeat(j, ',') || !juint(j, &oe) ||
                        !jeat(j, ']'))
                        return jbad(j, "data_offsets is not [begin, end]");
                    have_off = 1;
                } else {
                    free(k);
                    return jbad(j, "unknown key in a tensor entry");
                }
                if (jeat(j, ',')) continue;
                if (jeat(j, '}')) break;
                return jbad(j, "expected ',' or '}' in a tensor entry");
            }
            if (!have_dtype || !have_shape || !have_off)
                return ember_merr(j->err, EMBER_STATUS_CORRUPT_FILE,
                                  "%s: tensor '%s' lacks dtype, shape or data_offsets", j->path,
                                  t->name);
            (*offsets)[2 * f->ntensors] = ob;
            (*offsets)[2 * f->ntensors + 1] = oe;
            f->ntensors++;
        }
        if (jeat(j, ',')) continue;
        if (jeat(j, '}')) break;
        return jbad(j, "expected ',' or '}'");
    }
    jws(j);
    if (j->p != j->end) return jbad(j, "text after the header object");
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_st_read(const char *path, ember_st_file *out, ember_model_err *err) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
    ember_status st = EMBER_STATUS_SUCCESS;
    char *header = NULL;
    uint64_t *offs = NULL;
    tinfo *order = NULL;
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
    jp j = {header, header + hlen, header, path, err};
    st = parse_header(&j, out, &offs);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    uint64_t dsize = fsize - 8 - hlen;
    if (dsize % 4 != 0) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: data section of %llu bytes is not a whole number of floats", path,
                        (unsigned long long)dsize);
        goto done;
    }
    order = calloc((size_t)(out->ntensors > 0 ? out->ntensors : 1), sizeof *order);
    if (order == NULL) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int t = 0; t < out->ntensors; t++) {
        ember_st_tensor *ts = &out->tensors[t];
        uint64_t count = 1;
        for (int d = 0; d < ts->ndim; d++) {
            uint64_t dim = (uint64_t)ts->shape[d];
            if (dim != 0 && count > (1ull << 53) / dim) {
                st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: tensor '%s': shape overflows",
                                path, ts->name);
                goto done;
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
            goto done;
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
            goto done;
        }
        pos = order[t].end;
    }
    if (pos != dsize) {
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: %llu data bytes, but the tensors cover %llu", path,
                        (unsigned long long)dsize, (unsigned long long)pos);
        goto done;
    }
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
    free(order);
    if (st != EMBER_STATUS_SUCCESS) ember_st_free(out);
    return st;
}

const ember_st_tensor *ember_st_find(const ember_st_file *f, const char *name) {
    for (int t = 0; t < f->ntensors; t++)
        if (strcmp(f->tensors[t].name, name) == 0) return &f->tensors[t];
    return NULL;
}

const char *ember_st_meta_get(const ember_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}
