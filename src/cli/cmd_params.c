/* cmd_params.c: `ember params`: the Wide&Deep parameter count, term by term by the seed's
 * formulas, beside the number the model allocates, with how the two relate. */
#define _POSIX_C_SOURCE 200809L /* getline, strtok_r */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "ember.h"
#include "util/json_writer.h"

#include "model/wd_checkpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 1024
#define MAX_SIZE ((int64_t)1 << 40)

struct model_args {
    int64_t wide[MAX_FIELDS], n_wide;
    int64_t vocab[MAX_FIELDS], n_vocab;
    int64_t dim[MAX_FIELDS], n_dim;
    int64_t hidden[MAX_FIELDS], n_hidden;
    int64_t numeric;
    int given; /* any model flag or spec file seen */
};

/* --spec FILE: the size settings of `sizes` (the size flags without their "--"), one per
 * line, e.g. "hidden 64,32"; '#' starts a comment, '=' or ':' may separate name and value. */
static int read_spec(const char *cmd, const cli_flag *flag, const char *path) {
    const cli_command *sizes = flag->dst;
    FILE *f;
    ember_model_err err;
    if (ember_open_input(path, &f, &err) != EMBER_STATUS_SUCCESS) { /* a directory too */
        fprintf(stderr, "ember %s: spec file: %s\n", cmd, err.msg);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    /* whole lines of any length: a line cut in two would set a cut list and go on */
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL) *hash = '\0';
        /* '=' or ':' between name and value is allowed too. */
        for (char *p = line; *p != '\0'; p++) {
            if (*p == '=' || *p == ':') *p = ' ';
        }
        static const char blanks[] = " \t\r\n\v\f";
        char *save = NULL, *name = strtok_r(line, blanks, &save);
        char *value = name != NULL ? strtok_r(NULL, blanks, &save) : NULL;
        if (name == NULL) continue; /* blank or comment */
        if (value == NULL || strtok_r(NULL, blanks, &save) != NULL) {
            fprintf(stderr, "ember %s: %s:%d: expected 'NAME VALUE' (e.g. 'hidden 64,32')\n", cmd,
                    path, lineno);
            rc = 2;
        } else {
            char where[4200];
            for (char *p = name; *p != '\0'; p++) *p = (char)tolower((unsigned char)*p);
            snprintf(where, sizeof where, "%s:%d: %.60s", path, lineno, name);
            rc = cli_flags_set(sizes, name, value, where);
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* checkpoint_floats: the floats in the checkpoint the sizes came from, or -1. */
static void print_breakdown(const ember_param_count *p, int json, int64_t checkpoint_floats) {
    if (json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_int(&j, "d_wide", (long long)p->d_wide);
        ember_json_key_int(&j, "d_deep", (long long)p->d_deep);
        ember_json_key_int(&j, "wide", (long long)p->wide);
        ember_json_key_int(&j, "embeddings", (long long)p->embeddings);
        ember_json_key_int(&j, "dnn", (long long)p->dnn);
        ember_json_key_int(&j, "output", (long long)p->output);
        ember_json_key_int(&j, "formula_total", (long long)p->formula_total);
        ember_json_key_int(&j, "shared", (long long)p->shared);
        ember_json_key_int(&j, "allocated", (long long)p->allocated);
        if (checkpoint_floats >= 0)
            ember_json_key_int(&j, "checkpoint_floats", (long long)checkpoint_floats);
        ember_json_end_object(&j);
        putchar('\n');
        return;
    }
    printf("Wide&Deep parameters, term by term by the seed's formulas (d_wide = %lld, d_deep = "
           "%lld):\n",
           (long long)p->d_wide, (long long)p->d_deep);
    printf("  wide        d_wide + 1                 %14lld\n", (long long)p->wide);
    printf("  embeddings  sum vocab_i * e_i          %14lld\n", (long long)p->embeddings);
    printf("  dnn         sum n_{l-1} * n_l + n_l    %14lld\n", (long long)p->dnn);
    printf("  output      (d_wide + d_deep) + 1      %14lld\n", (long long)p->output);
    printf("  total by the formulas                  %14lld\n", (long long)p->formula_total);
    printf("allocated by ember's model               %14lld\n", (long long)p->allocated);
    printf("How they relate: the wide term and the output term both count the %lld wide weights\n"
           "and a bias; the model (one joint sigmoid unit over the wide features and the last\n"
           "deep layer) holds them once: allocated = %lld - %lld = %lld.\n",
           (long long)p->d_wide, (long long)p->formula_total, (long long)p->shared,
           (long long)p->allocated);
    if (checkpoint_floats >= 0) {
        printf("floats in the checkpoint                 %14lld (%s the model's count)\n",
               (long long)checkpoint_floats,
               checkpoint_floats == p->allocated ? "equals" : "DIFFERS FROM");
    }
}

/* The count of a trained model from its checkpoint: the model its metadata describes
 * (*p) and the floats its tensors hold (*floats), through the model library. */
static int checkpoint_count(const char *cmd, const char *path, ember_param_count *p,
                            int64_t *floats) {
    ember_model_err err = {""};
    ember_status st = ember_checkpoint_params(path, p, floats, &err);
    if (st != EMBER_STATUS_SUCCESS) {
        /* The model library's message names the file. */
        fprintf(stderr, "ember %s: --model: %s: %s\n", cmd, ember_status_name(st), err.msg);
        return 2;
    }
    return 0;
}

/* The seed's three worked examples, each computed through ember_widedeep_count_params. */
static int seed_examples(const char *cmd, int json) {
    const int64_t cross[1] = {2 * 10};
    const int64_t vocab[1] = {1000}, dim[1] = {300};
    const int64_t tower[2] = {64, 32};
    ember_widedeep_spec s1 = {.num_wide_fields = 1, .wide_buckets = cross};
    ember_widedeep_spec s2 = {.num_deep_fields = 1, .vocab = vocab, .emb_dim = dim};
    ember_widedeep_spec s3 = {.num_numeric = 100, .num_hidden = 2, .hidden = tower};
    ember_param_count p1, p2, p3;
    ember_status st;
    if ((st = ember_widedeep_count_params(&s1, &p1)) != EMBER_STATUS_SUCCESS ||
        (st = ember_widedeep_count_params(&s2, &p2)) != EMBER_STATUS_SUCCESS ||
        (st = ember_widedeep_count_params(&s3, &p3)) != EMBER_STATUS_SUCCESS) {
        return cli_api_error(cmd, NULL, st, "parameter counting");
    }
    if (json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_int(&j, "crossed_2x10_wide", (long long)p1.wide);
        ember_json_key_int(&j, "table_1000x300_embeddings", (long long)p2.embeddings);
        ember_json_key_int(&j, "tower_100_64_32_dnn", (long long)p3.dnn);
        ember_json_end_object(&j);
        putchar('\n');
        return 0;
    }
    printf("The seed's examples (ember params --help: count your own model):\n");
    printf("  %-40s %-28s = %lld\n", "a 2 x 10 crossed feature (d_wide = 20):", "wide = 20 + 1",
           (long long)p1.wide);
    printf("  %-40s %-28s = %lld\n", "a 1000 x 300 embedding table:", "embeddings = 1000 * 300",
           (long long)p2.embeddings);
    printf("  %-40s %-28s = %lld\n", "a 100 -> 64 -> 32 tower:", "dnn = 100*64+64 + 64*32+32",
           (long long)p3.dnn);
    return 0;
}

static const char params_about[] =
    "Counts the parameters of a Wide&Deep model by the seed's formulas, term by term:\n"
    "  wide        d_wide + 1                 (d_wide = sum of the wide buckets)\n"
    "  embeddings  sum_i vocab_i * e_i\n"
    "  dnn         sum_l n_{l-1} * n_l + n_l  (n_0 = sum e_i + numeric)\n"
    "  output      (d_wide + d_deep) + 1      (d_deep = the last hidden size)\n"
    "and the exact number ember's model allocates: the wide and output terms both hold\n"
    "the d_wide wide weights and a bias, which the model holds once.\n"
    "With no model given it prints the seed's examples.\n";

int ember_cmd_params(int argc, char **argv) {
    const char *cmd = argv[0];
    static struct model_args m; /* large arrays: not on the stack */
    memset(&m, 0, sizeof m);
    int json = 0;
    const char *model_path = NULL;
    cli_command sizes; /* the first five flags, which a --spec file sets too */
    const cli_flag flags[] = {
        {"--wide", CLI_INT_LIST, m.wide, .min = 0, .max = MAX_SIZE, .capacity = MAX_FIELDS,
         .count = &m.n_wide, .seen = &m.given, .meta = "B,...",
         .help = "hash buckets of each wide (one-hot or crossed) feature"},
        {"--vocab", CLI_INT_LIST, m.vocab, .min = 0, .max = MAX_SIZE, .capacity = MAX_FIELDS,
         .count = &m.n_vocab, .seen = &m.given, .meta = "V,...",
         .help = "rows of each deep embedding table"},
        {"--dim", CLI_INT_LIST, m.dim, .min = 0, .max = MAX_SIZE, .capacity = MAX_FIELDS,
         .count = &m.n_dim, .seen = &m.given, .meta = "E[,...]",
         .help = "embedding dimension: one for every table, or one per table"},
        {"--numeric", CLI_INT, &m.numeric, .min = 0, .max = MAX_SIZE, .seen = &m.given, .meta = "N",
         .help = "numeric features fed to the deep part"},
        {"--hidden", CLI_INT_LIST, m.hidden, .min = 1, .max = MAX_SIZE, .capacity = MAX_FIELDS,
         .count = &m.n_hidden, .seen = &m.given, .meta = "N,...",
         .help = "hidden layer sizes n_1..n_L"},
        {"--spec", CLI_CUSTOM, &sizes, .parse = read_spec, .meta = "FILE",
         .help = "read the same settings from a file, one per line, e.g.\n"
                 "'wide 20' 'vocab 1000,50' 'dim 8' 'numeric 6' 'hidden 64,32'\n"
                 "('#' starts a comment; flags given later override)"},
        {"--model", CLI_STRING, &model_path, .meta = "FILE",
         .help = "a checkpoint of `ember train --save`: its sizes, and a check\n"
                 "that the model's count equals the floats in the file"},
        {"--json", CLI_SWITCH, &json, .help = "print one JSON object"},
    };
    sizes = (cli_command){.name = cmd, .flags = flags, .nflags = 5};
    const cli_command spec = {cmd, flags, CLI_COUNT(flags), .about = params_about,
                              .more_usage = "       ember params --model CHECKPOINT [--json]\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    ember_param_count p;
    if (model_path != NULL) {
        if (m.given) return cli_usage_error(cmd, "--model takes no size flags or --spec");
        int64_t floats = 0;
        if (checkpoint_count(cmd, model_path, &p, &floats) != 0) return 2;
        print_breakdown(&p, json, floats);
        if (floats != p.allocated) {
            fprintf(stderr,
                    "ember %s: the checkpoint holds %lld floats but the model it "
                    "describes allocates %lld\n",
                    cmd, (long long)floats, (long long)p.allocated);
            return 1;
        }
        return 0;
    }
    if (!m.given) return seed_examples(cmd, json);

    /* One dimension for every table, or one per table. */
    if (m.n_dim == 1 && m.n_vocab > 1) {
        for (int64_t k = 1; k < m.n_vocab; k++) m.dim[k] = m.dim[0];
        m.n_dim = m.n_vocab;
    }
    if (m.n_dim != m.n_vocab) {
        return cli_usage_error(cmd, "%lld embedding tables (--vocab) but %lld dimensions (--dim)",
                               (long long)m.n_vocab, (long long)m.n_dim);
    }
    ember_widedeep_spec wd = {.num_wide_fields = m.n_wide,
                              .wide_buckets = m.wide,
                              .num_deep_fields = m.n_vocab,
                              .vocab = m.vocab,
                              .emb_dim = m.dim,
                              .num_numeric = m.numeric,
                              .num_hidden = m.n_hidden,
                              .hidden = m.hidden};
    ember_status st = ember_widedeep_count_params(&wd, &p);
    if (st != EMBER_STATUS_SUCCESS) {
        cli_api_error(cmd, NULL, st, "parameter counting");
        return 2; /* the sizes given are the problem (e.g. the total overflows int64) */
    }
    print_breakdown(&p, json, -1);
    return 0;
}
