/* test_src_util.c: src/util's JSON writer and reader, and its atomic file replacement. */
#include "test_util.h"

#include "util/atomic_file.h"
#include "util/json_reader.h"
#include "util/json_writer.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>

/* Writes a nested document into a memory buffer and returns it (malloc'ed). */
static char *nested_document(void) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ember_json j;
    ember_json_init(&j, f);
    ember_json_begin_object(&j);
    ember_json_key_string(&j, "s", "q\"b\\\n\x01");
    ember_json_key(&j, "a");
    ember_json_begin_array(&j);
    ember_json_number(&j, 0.1);
    ember_json_number(&j, NAN);
    ember_json_number(&j, 1.0 / 3.0);
    ember_json_begin_object(&j);
    ember_json_end_object(&j);
    ember_json_begin_array(&j);
    ember_json_end_array(&j);
    ember_json_int(&j, -5);
    ember_json_end_array(&j);
    ember_json_key_uint(&j, "seed", 18446744073709551615ull);
    ember_json_key_bool(&j, "ok", 1);
    ember_json_key(&j, "none");
    ember_json_null(&j);
    ember_json_end_object(&j);
    fclose(f);
    return buf;
}

Test(util, json_writer_places_commas_escapes_and_round_trips_numbers) {
    char *doc = nested_document();
    cr_assert_str_eq(doc,
                     "{\"s\":\"q\\\"b\\\\\\u000a\\u0001\",\"a\":[0.1,null,0.3333333333333333,{},"
                     "[],-5],\"seed\":18446744073709551615,\"ok\":true,\"none\":null}");
    /* the shortest form that reads back (16 digits for 1/3, not %.17g's 17) */
    cr_assert_eq(strtod("0.3333333333333333", NULL), 1.0 / 3.0);
    free(doc);
}

Test(util, json_reader_reads_what_the_writer_wrote_and_stops_at_the_end) {
    const char *text = "  {\"k\\u00e9\": [12, true] }  ";
    ember_json_reader r;
    ember_json_reader_init(&r, text, strlen(text));
    cr_assert(ember_json_eat(&r, '{'));
    char *k = ember_json_read_string(&r);
    cr_assert_str_eq(k, "k\xc3\xa9");
    free(k);
    uint64_t v;
    int b;
    cr_assert(ember_json_eat(&r, ':') && ember_json_eat(&r, '['));
    cr_assert(ember_json_read_uint(&r, &v) && v == 12);
    cr_assert(ember_json_eat(&r, ',') && ember_json_read_bool(&r, &b) && b == 1);
    cr_assert(ember_json_eat(&r, ']') && ember_json_eat(&r, '}'));
    cr_assert(ember_json_reader_at_end(&r));
    /* truncated string, NUL escape, number past 2^53 */
    static const char *bad[] = {"\"abc", "\"a\\u0000\"", "9007199254740993"};
    for (int i = 0; i < 3; i++) {
        ember_json_reader_init(&r, bad[i], strlen(bad[i]));
        char *s = i < 2 ? ember_json_read_string(&r) : NULL;
        cr_assert_null(s, "%s", bad[i]);
        if (i == 2) cr_assert_not(ember_json_read_uint(&r, &v));
    }
}

/* JSON text is UTF-8: the writer passes UTF-8 through and writes each byte of anything else
 * as U+FFFD; the reader refuses such bytes and unpaired surrogates, and decodes a pair. */
Test(util, json_strings_are_always_utf8) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ember_json_write_string(
        f, "caf\xc3\xa9 \xf0\x9f\x98\x80|\xe9|\xc3|\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80");
    fclose(f);
    cr_assert_str_eq(buf, "\"caf\xc3\xa9 \xf0\x9f\x98\x80|\\ufffd|\\ufffd|\\ufffd\\ufffd\\ufffd|"
                          "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd\"");
    /* what the writer wrote reads back: the replacement character's three bytes */
    ember_json_reader r;
    ember_json_reader_init(&r, buf, n);
    char *s = ember_json_read_string(&r);
    cr_assert_not_null(s);
    cr_assert_eq(strncmp(s, "caf\xc3\xa9 \xf0\x9f\x98\x80|\xef\xbf\xbd|", 15), 0, "%s", s);
    free(s);
    free(buf);
    static const char *bad[] = {"\"caf\xe9\"", "\"\xc3\"",    "\"\xed\xa0\x80\"",   "\"\xc0\xaf\"",
                                "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\""};
    for (int i = 0; i < 8; i++) {
        ember_json_reader_init(&r, bad[i], strlen(bad[i]));
        s = ember_json_read_string(&r);
        cr_assert_null(s, "%s read as %s", bad[i], s);
    }
    const char *pair = "\"\\ud83d\\ude00\\u00e9\"";
    ember_json_reader_init(&r, pair, strlen(pair));
    s = ember_json_read_string(&r);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "\xf0\x9f\x98\x80\xc3\xa9");
    free(s);
}

Test(util, atomic_file_replaces_whole_or_not_at_all) {
    const char *p = write_temp(2, ".txt", "old");
    ember_atomic_file af;
    cr_assert_eq(ember_atomic_open(&af, p), 0);
    cr_assert(strncmp(af.tmp, p, strlen(p)) == 0, "the temporary lies beside the target");
    fputs("new", af.f);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", af.tmp);
    ember_atomic_discard(&af);
    FILE *f = fopen(p, "r");
    char got[8] = "";
    cr_assert(fgets(got, sizeof got, f) != NULL);
    fclose(f);
    cr_assert_str_eq(got, "old", "a discarded write leaves the target");
    cr_assert_neq(access(tmp, F_OK), 0, "and removes its temporary");
    unlink(p); /* a new file: 0666 & ~umask (a replaced one keeps its mode, below) */
    mode_t old = umask(027);
    cr_assert_eq(ember_atomic_open(&af, p), 0);
    fputs("new", af.f);
    cr_assert_eq(ember_atomic_commit(&af), 0);
    umask(old);
    f = fopen(p, "r");
    cr_assert(fgets(got, sizeof got, f) != NULL);
    fclose(f);
    cr_assert_str_eq(got, "new");
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", (unsigned)(sb.st_mode & 0777));
    /* a folder that does not exist: an errno, nothing created */
    cr_assert_eq(ember_atomic_open(&af, "/nonexistent-ember-dir/x"), ENOENT);
    cr_assert_null(af.f);
    unlink(p);
}

/* Replacing a file keeps its permissions, as cp, editors and torch.save do: a private
 * checkpoint stays private, a shared one stays readable; and, where this process may set
 * them (root), its owner and group. */
Test(util, atomic_file_keeps_the_replaced_files_mode) {
    const char *p = write_temp(2, ".txt", "old");
    static const mode_t modes[] = {0600, 0604, 0755};
    mode_t mask = umask(022);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(chmod(p, modes[i]), 0);
        int root = geteuid() == 0;
        if (root) cr_assert_eq(chown(p, 65534, 65534), 0);
        ember_atomic_file af;
        cr_assert_eq(ember_atomic_open(&af, p), 0);
        fputs("new", af.f);
        cr_assert_eq(ember_atomic_commit(&af), 0);
        struct stat sb;
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_eq(sb.st_mode & 07777, modes[i], "mode %o, was %o",
                     (unsigned)(sb.st_mode & 07777), (unsigned)modes[i]);
        if (root)
            cr_assert(sb.st_uid == 65534 && sb.st_gid == 65534, "owner %d:%d", (int)sb.st_uid,
                      (int)sb.st_gid);
    }
    umask(mask);
    unlink(p);
}

/* Reads the first line of path into got (empty when it cannot be read). */
static void first_line(const char *path, char *got, int cap) {
    got[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    if (fgets(got, cap, f) == NULL) got[0] = '\0';
    fclose(f);
}

Test(util, atomic_file_writes_through_a_symbolic_link) {
    char dir[] = "/tmp/ember_link_test_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[64], target[128], link1[128], link2[128], dangling[128], made[128], loop[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(target, sizeof target, "%s/model.st", sub);
    snprintf(link1, sizeof link1, "%s/latest", dir);
    snprintf(link2, sizeof link2, "%s/current", dir);
    FILE *f = fopen(target, "w");
    fputs("old", f);
    fclose(f);
    /* a chain: current -> latest -> sub/model.st, the first link relative */
    cr_assert_eq(symlink("sub/model.st", link1), 0);
    cr_assert_eq(symlink(link1, link2), 0);
    ember_atomic_file af;
    cr_assert_eq(ember_atomic_open(&af, link2), 0);
    cr_assert(strncmp(af.tmp, target, strlen(target)) == 0,
              "the temporary lies beside the file the link names: %s", af.tmp);
    fputs("new", af.f);
    cr_assert_eq(ember_atomic_commit(&af), 0);
    struct stat sb;
    cr_assert(lstat(link2, &sb) == 0 && S_ISLNK(sb.st_mode), "the link stays a link");
    cr_assert(lstat(link1, &sb) == 0 && S_ISLNK(sb.st_mode), "so does the one it names");
    char got[8];
    first_line(target, got, sizeof got);
    cr_assert_str_eq(got, "new", "the file at the end of the chain has the contents");
    /* a dangling link: the file it names is created */
    snprintf(dangling, sizeof dangling, "%s/dangling", dir);
    snprintf(made, sizeof made, "%s/made.st", sub);
    cr_assert_eq(symlink(made, dangling), 0);
    cr_assert_eq(ember_atomic_open(&af, dangling), 0);
    fputs("made", af.f);
    cr_assert_eq(ember_atomic_commit(&af), 0);
    cr_assert(lstat(dangling, &sb) == 0 && S_ISLNK(sb.st_mode));
    first_line(made, got, sizeof got);
    cr_assert_str_eq(got, "made");
    /* a loop: an errno, nothing created */
    snprintf(loop, sizeof loop, "%s/loop", dir);
    cr_assert_eq(symlink("loop", loop), 0);
    cr_assert_eq(ember_atomic_open(&af, loop), ELOOP);
    cr_assert_null(af.f);
    const char *files[] = {loop, dangling, made, link2, link1, target};
    for (int i = 0; i < 6; i++) cr_assert_eq(unlink(files[i]), 0, "%s", files[i]);
    cr_assert_eq(rmdir(sub), 0, "no temporaries left in %s", sub);
    cr_assert_eq(rmdir(dir), 0, "no temporaries left in %s", dir);
}
