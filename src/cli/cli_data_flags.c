/* cli_data_flags.c: the data and feature flags of `ember train` and `ember encode` (see
 * cli_data_flags.h). */
#include "cli_data_flags.h"

#include "cli_util.h"

#include <string.h>
#include <strings.h>

static int numeric_flag(const char *cmd, const cli_flag *flag, const char *value) {
    if (ember_numeric_mode_parse(value, flag->dst) != EMBER_STATUS_SUCCESS)
        return cli_usage_error(cmd, "%s: '%s' is not logstd, log, std or raw", flag->name, value);
    return 0;
}

#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x) /* a number's macro as text */
/* What --help says --buckets defaults to, from the constants that decide it. */
#define BUCKETS_DEFAULT                                                                            \
    "sized from the data: " CLI_STR(                                                               \
        EMBER_BUCKETS_PER_VALUE) " per distinct value, at most " CLI_STR(EMBER_AUTO_BUCKETS_MAX)

size_t cli_data_flags(ember_train_opts *o, cli_data_values *v, cli_flag *out) {
    const cli_flag flags[CLI_DATA_FLAG_COUNT] = {
        {"--format", CLI_STRING, &v->format, .meta = "F",
         .help = "adult (UCI Adult), criteo, arff (Weka; schema from the header),\n"
                 "csv or tsv (needs --schema)",
         .def = "csv with --schema, else by name: *.arff, adult*, *.tsv, *.csv"},
        {"--schema", CLI_STRING, &o->schema, .meta = "SPEC",
         .help = "csv columns: KIND or NAME:KIND, comma-separated; KIND is label,\n"
                 "num, cat, multi[:SEP] or ignore. e.g. label,num,city:cat,tags:multi:|\n"
                 "(NAME: UTF-8, at most 63 bytes, one per column; unnamed column N\n"
                 "is cN, or its name in the --header line)"},
        {"--header", CLI_SWITCH, &o->header,
         .help = "csv: the first line is a header: it names the columns --schema\n"
                 "leaves unnamed, must have as many columns, and may not name\n"
                 "them in another order (columns are read by position)"},
        {"--delim", CLI_STRING, &v->delim, .meta = "C", .help = "csv delimiter (or 'tab')",
         .def = "','"},
        {"--positive", CLI_STRING, &o->positive, .meta = "V",
         .help = "the label value meaning positive, at most 63 bytes (arff\n"
                 "default: the second declared class, e.g. 'bad' for credit-g);\n"
                 "with it a label of more than two classes trains that class\n"
                 "against the rest"},
        {"--label", CLI_STRING, &o->label, .meta = "NAME",
         .help = "arff: the label attribute (nominal)", .def = "'class', else the last"},
        {"--skip-bad", CLI_SWITCH, &o->skip_bad,
         .help = "skip malformed lines (and report how many) instead of failing"},
        {.type = CLI_SECTION, .help = "features:"},
        {"--buckets", CLI_INT, &o->cat_buckets, .min = 2, .max = (int64_t)1 << 32,
         .seen = &v->buckets_set, .meta = "N", .help = "hash buckets of every categorical field",
         .def = BUCKETS_DEFAULT},
        {"--field-buckets", CLI_STRING, &o->field_buckets, .meta = "S",
         .help = "per-field overrides, e.g. 'native-country=100,C3=1000000'"},
        {"--cross-buckets", CLI_INT, &o->cross_buckets, .min = 2, .max = (int64_t)1 << 32,
         .seen = &v->cross_buckets_set, .meta = "N", .help = "hash buckets per crossed feature"},
        {"--cross", CLI_STRING, &o->crosses, .meta = "SPEC",
         .help = "crossed columns, e.g. 'education*occupation,a*b*c', or none",
         .def = "adult's census crosses; none for other formats"},
        {"--num-buckets", CLI_INT32, &o->num_bins, .min = 0, .max = 10000,
         .seen = &v->num_buckets_set, .meta = "N",
         .help = "quantile buckets of each numeric column in the wide part"},
        {"--numeric", CLI_CUSTOM, &o->numeric_mode, .parse = numeric_flag, .seen = &v->numeric_set,
         .meta = "M",
         .help = "numeric transform: std (standardise), logstd (log1p,\n"
                 "negatives clamped to 0, then standardise), log or raw",
         .def = "std; logstd for criteo"},
    };
    memcpy(out, flags, sizeof flags);
    return CLI_DATA_FLAG_COUNT;
}

/* The format of a file given no --format: csv when there is a schema for it, else what its
 * name suggests; -1 when nothing does. */
static int guess_format(const char *path, int have_schema, ember_data_format *fmt, char *delim) {
    size_t n = strlen(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int tsv = n >= 4 && strcasecmp(path + n - 4, ".tsv") == 0;
    if (have_schema || tsv || (n >= 4 && strcasecmp(path + n - 4, ".csv") == 0)) {
        *fmt = EMBER_FORMAT_CSV;
        *delim = tsv ? '\t' : ',';
    } else if (n >= 5 && strcasecmp(path + n - 5, ".arff") == 0) {
        *fmt = EMBER_FORMAT_ARFF;
    } else if (strncasecmp(base, "adult", 5) == 0) {
        *fmt = EMBER_FORMAT_ADULT;
    } else {
        return -1;
    }
    return 0;
}

int cli_data_resolve(const char *cmd, ember_train_opts *o, const cli_data_values *v, int guess,
                     int need_format) {
    if (v->format != NULL) {
        if (ember_format_parse(v->format, &o->format, &o->delim) != EMBER_STATUS_SUCCESS)
            return cli_usage_error(cmd, "--format: '%s' is not adult, criteo, arff, csv or tsv",
                                   v->format);
    } else if (need_format &&
               (!guess || guess_format(o->data, o->schema != NULL, &o->format, &o->delim) != 0)) {
        return cli_usage_error(cmd,
                               "--format is needed for %s (adult, criteo, arff, csv or tsv; "
                               "a csv file also needs --schema)",
                               o->data);
    }
    /* Criteo's counts are heavy-tailed: log1p first, as usual for that data. */
    if (!v->numeric_set && o->format == EMBER_FORMAT_CRITEO)
        o->numeric_mode = EMBER_NUMERIC_LOG_STD;
    if (v->delim != NULL) {
        if (strcmp(v->delim, "tab") == 0 || strcmp(v->delim, "\\t") == 0)
            o->delim = '\t';
        else if (strlen(v->delim) == 1)
            o->delim = v->delim[0];
        else
            return cli_usage_error(cmd, "--delim: one character or 'tab'");
    }
    if (need_format && o->format == EMBER_FORMAT_CSV && o->schema == NULL)
        return cli_usage_error(cmd, "--format csv needs --schema (e.g. label,num,cat)");
    return 0;
}
