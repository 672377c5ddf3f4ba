/* cmd_train.c: `ember train`: trains a Wide&Deep model on a data file, reporting each epoch,
 * with a progress bar on a terminal and a JSON summary with --json (train_report.c). */
#define _POSIX_C_SOURCE 200809L
#include "cli_data_flags.h"
#include "cli_output.h"
#include "cli_util.h"
#include "commands.h"
#include "train_dist.h"
#include "train_report.h"
#include "train_resume.h"

#include "wd_trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* part: 0 wide (sgd, adagrad), 1 deep (and adam), 2 embeddings (and rowwise_adagrad) */
static int parse_opt(const char *cmd, const cli_flag *flag, const char *v, int part) {
    if (strcasecmp(v, "ftrl") == 0)
        return cli_usage_error(cmd, "%s ftrl: FTRL is not in ember's API; use adagrad", flag->name);
    const char *name = part == 2 && strcasecmp(v, "rowwise") == 0 ? "rowwise_adagrad" : v;
    for (int i = EMBER_OPTIMIZER_SGD; i <= EMBER_OPTIMIZER_ADAM; i++) {
        ember_optimizer_kind kind = (ember_optimizer_kind)i;
        int allowed = kind == EMBER_OPTIMIZER_SGD || kind == EMBER_OPTIMIZER_ADAGRAD ||
                      (part == 1 && kind == EMBER_OPTIMIZER_ADAM) ||
                      (part == 2 && kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD);
        if (allowed && strcasecmp(name, ember_optimizer_name(kind)) == 0) {
            *(ember_optimizer_kind *)flag->dst = kind;
            return 0;
        }
    }
    return cli_usage_error(cmd, "%s: unknown optimizer '%s' (%s)", flag->name, v,
                           part == 0   ? "adagrad, sgd"
                           : part == 1 ? "adam, adagrad, sgd"
                                       : "adagrad, rowwise, sgd");
}

static int wide_opt_flag(const char *cmd, const cli_flag *f, const char *v) {
    return parse_opt(cmd, f, v, 0);
}
static int deep_opt_flag(const char *cmd, const cli_flag *f, const char *v) {
    return parse_opt(cmd, f, v, 1);
}
static int emb_opt_flag(const char *cmd, const cli_flag *f, const char *v) {
    return parse_opt(cmd, f, v, 2);
}

/* --lr and --l2: one value in [0, max] for the wide, deep and embedding parts. */
static int set_all_three(const char *cmd, const cli_flag *f, const char *v, double max, float *wide,
                         float *deep, float *emb) {
    const cli_flag one = {f->name, CLI_FLOAT32, wide, .fmin = 0, .fmax = max};
    int rc = cli_flag_value(cmd, &one, v);
    if (rc == 0) *deep = *emb = *wide;
    return rc;
}
static int all_lr_flag(const char *cmd, const cli_flag *f, const char *v) {
    ember_wd_config *m = f->dst;
    return set_all_three(cmd, f, v, 1e30, &m->wide_lr, &m->deep_lr, &m->emb_lr);
}
static int all_l2_flag(const char *cmd, const cli_flag *f, const char *v) {
    ember_wd_config *m = f->dst;
    return set_all_three(cmd, f, v, 1e6, &m->wide_l2, &m->deep_l2, &m->emb_l2);
}

/* --hidden N,N,.. or none (0): the hidden layer sizes. */
static int hidden_flag(const char *cmd, const cli_flag *f, const char *v) {
    ember_wd_config *m = f->dst;
    if (strcmp(v, "none") == 0 || strcmp(v, "0") == 0) {
        m->nhidden = 0;
        return 0;
    }
    int64_t count = 0;
    const cli_flag list = {f->name,        CLI_INT_LIST,   m->hidden,
                           .min = 1,       .max = 1 << 20, .capacity = EMBER_MAX_HIDDEN,
                           .count = &count};
    int rc = cli_flag_value(cmd, &list, v);
    if (rc == 0) m->nhidden = (int)count;
    return rc;
}

/* Flag values that need converting once everything is parsed. */
typedef struct train_values {
    cli_data_values data;
    train_given given;
    int64_t seed;
    int atomic;
} train_values;

static size_t data_section(ember_train_opts *o, train_values *tv, cli_flag *out) {
    const cli_flag flags[] = {
        {.type = CLI_SECTION, .help = "data:"},
        {"--data", CLI_STRING, &o->data, .meta = "FILE", .required = 1,
         .help = "training data (read as a stream, once per epoch)"},
        {"--test", CLI_STRING, &o->test, .meta = "FILE",
         .help = "test data, evaluated after each epoch"},
        {"--valid", CLI_STRING, &o->valid, .meta = "FILE",
         .help = "validation data for early stopping", .def = "--holdout rows"},
        {"--holdout", CLI_FLOAT, &o->holdout, .fmin = 0, .fmax = 0.95, .meta = "F",
         .help = "fraction of --data held out for validation (not trained on;\n"
                 "the feature statistics, which use no label, take every row)",
         .def = "0.1 with --test, 0 with --valid, else 0.2"},
    };
    memcpy(out, flags, sizeof flags);
    return CLI_COUNT(flags) + cli_data_flags(o, &tv->data, out + CLI_COUNT(flags));
}

static size_t model_section(ember_wd_config *m, train_given *g, cli_flag *out) {
    const cli_flag flags[] = {
        {.type = CLI_SECTION, .help = "model:"},
        {"--emb-dim", CLI_INT, &m->emb_dim, .min = 1, .max = 4096, .seen = &g->emb_dim, .meta = "N",
         .help = "embedding dimension"},
        {"--hidden", CLI_CUSTOM, m, .parse = hidden_flag, .seen = &g->hidden, .meta = "N,N,..",
         .help = "hidden layer sizes ('none' for no hidden layer)", .def = "64,32"},
        {"--wide-opt", CLI_CUSTOM, &m->wide_opt, .parse = wide_opt_flag, .meta = "O",
         .help = "adagrad or sgd (FTRL is not in ember's API)", .def = "adagrad"},
        {"--deep-opt", CLI_CUSTOM, &m->deep_opt, .parse = deep_opt_flag, .meta = "O",
         .help = "adam, adagrad or sgd", .def = "adam"},
        {"--emb-opt", CLI_CUSTOM, &m->emb_opt, .parse = emb_opt_flag, .meta = "O",
         .help = "adagrad, rowwise (row-wise Adagrad) or sgd", .def = "adagrad"},
        {"--lr", CLI_CUSTOM, m, .parse = all_lr_flag, .meta = "X",
         .help = "sets all three learning rates"},
        {"--wide-lr", CLI_FLOAT32, &m->wide_lr, .fmin = 0, .fmax = 1e30, .meta = "X",
         .help = "learning rate of the wide part"},
        {"--deep-lr", CLI_FLOAT32, &m->deep_lr, .fmin = 0, .fmax = 1e30, .meta = "X",
         .help = "learning rate of the dense layers"},
        {"--emb-lr", CLI_FLOAT32, &m->emb_lr, .fmin = 0, .fmax = 1e30, .meta = "X",
         .help = "learning rate of the embeddings"},
        {"--emb-init-acc", CLI_FLOAT32, &m->emb_init_acc, .fmin = 0, .fmax = 1e30, .meta = "X",
         .help = "embeddings' Adagrad accumulators start at X / batch^2, so\n"
                 "rarely seen ids learn slowly (0: from zero)"},
        {"--emb-min-count", CLI_INT, &m->emb_min_count, .min = 0, .max = INT64_MAX, .meta = "K",
         .help = "ids of fewer than K training rows keep their embedding at\n"
                 "zero, as an unseen id (0 or 1: none)"},
        {"--l2", CLI_CUSTOM, m, .parse = all_l2_flag, .meta = "X",
         .help = "L2 (weight decay) on all three parts"},
        {"--wide-l2", CLI_FLOAT32, &m->wide_l2, .fmin = 0, .fmax = 1e6, .meta = "X",
         .help = "L2 on the wide part"},
        {"--deep-l2", CLI_FLOAT32, &m->deep_l2, .fmin = 0, .fmax = 1e6, .meta = "X",
         .help = "L2 on the dense layers"},
        {"--emb-l2", CLI_FLOAT32, &m->emb_l2, .fmin = 0, .fmax = 1e6, .meta = "X",
         .help = "L2 on the embeddings"},
    };
    memcpy(out, flags, sizeof flags);
    return CLI_COUNT(flags);
}

static size_t training_section(ember_train_opts *o, train_ui *u, train_values *tv, cli_flag *out) {
    const cli_flag flags[] = {
        {.type = CLI_SECTION, .help = "training:"},
        {"--epochs", CLI_INT32, &o->epochs, .min = 0, .max = 1000000, .meta = "N",
         .help = "passes over the training data"},
        {"--batch", CLI_INT, &o->batch, .min = 1, .max = 1 << 24, .meta = "N",
         .help = "rows per step"},
        {"--shuffle", CLI_INT32, &o->shuffle, .min = 0, .max = 100000000, .meta = "N",
         .help = "read training rows through a shuffle buffer of N lines, a\n"
                 "new seeded order each epoch (0: the file's order)",
         .def = "100000"},
        {"--patience", CLI_INT32, &o->patience, .min = 0, .max = 1000000, .meta = "N",
         .help = "early stopping: epochs without validation AUC gain (0 =\n"
                 "never); the best epoch's model is kept"},
        {"--seed", CLI_INT, &tv->seed, .min = 0, .max = INT64_MAX, .seen = &tv->given.seed,
         .meta = "S", .help = "initialisation and holdout split"},
        {"--atomic", CLI_SWITCH, &tv->atomic,
         .help = "ATOMIC gradient reduction (default DETERMINISTIC: same seed,\n"
                 "same backend -> the same model bit for bit)"},
        {"--deterministic", CLI_UNSET, &tv->atomic, .help = "DETERMINISTIC gradient reduction"},
        {"--backend", CLI_BACKEND, &o->backend, .meta = "K", .help = "cpu, cuda or opencl"},
        {"--device", CLI_INT32, &o->device, .min = -1, .max = 1024, .meta = "N",
         .help = "device index", .def = "the backend's default"},
        {"--threads", CLI_INT32, &o->threads, .min = 0, .max = 4096, .meta = "N",
         .help = "CPU threads, 0 = the idle cores (those no other process runs\n"
                 "on; threads cost more than they gain on small models such as\n"
                 "Adult's)",
         .def = "1 for small models, the idle cores for large ones"},
        {"--save", CLI_STRING, &o->save, .meta = "FILE",
         .help = "safetensors checkpoint with the optimizer state, written\n"
                 "atomically after each epoch that improves validation AUC (every\n"
                 "epoch without validation data); a regular file (a symbolic\n"
                 "link: the file it names, created if missing; the link stays)"},
        {"--resume", CLI_STRING, &o->resume, .meta = "FILE",
         .help = "continue from a checkpoint: its format, columns, features,\n"
                 "sizes, seed and optimizer state (a flag asking for other ones is\n"
                 "refused): 1 epoch + a resumed epoch = 2 epochs, bit for bit"},
        {"--json", CLI_SWITCH, &u->json,
         .help = "last line of stdout: one JSON object (auc, logloss, accuracy,\n"
                 "samples_per_s, params, ...)"},
        {"--quiet", CLI_SWITCH, &u->quiet,
         .help = "no banner, progress or per-epoch lines: only the final result"},
        {"--progress", CLI_FLOAT, &u->progress_every, .fmin = 0, .fmax = 1e6, .meta = "S",
         .help = "when stderr is not a terminal (a log, nohup, CI): a progress\n"
                 "line every S seconds (0: none); on a terminal a bar"},
    };
    memcpy(out, flags, sizeof flags);
    return CLI_COUNT(flags);
}

/* --save: a regular file (a checkpoint is replaced atomically, to be read back by --resume,
 * not streamed into a device), and not one of the data files. (--resume FILE --save FILE is
 * fine: the checkpoint is read before it is replaced.) Returns 0, or 2 after one line. */
static int check_save(const char *cmd, const ember_train_opts *o) {
    const char *inputs[] = {o->data, o->test, o->valid};
    return cli_output_check(cmd, "--save", o->save, inputs, 3, 1);
}

/* Parses the flags into *o and *u; CLI_CONTINUE or the exit code. */
static int parse_args(int argc, char **argv, ember_train_opts *o, train_ui *u) {
    ember_train_opts_defaults(o);
    *u = (train_ui){.progress_every = 5};
    train_values tv = {.seed = (int64_t)o->model.seed,
                       .atomic = o->model.reduction == EMBER_REDUCTION_ATOMIC};
    cli_flag flags[64];
    size_t n = data_section(o, &tv, flags);
    n += model_section(&o->model, &tv.given, flags + n);
    n += training_section(o, u, &tv, flags + n);
    const cli_command spec = {
        argv[0], flags, n,
        .about = "Trains a Wide&Deep model (wide: one-hot + hashed crosses; deep: embeddings + "
                 "numeric\nfeatures -> ReLU MLP; one sigmoid output) and reports, each epoch, "
                 "the training loss\nand AUC, logloss and accuracy on the test (and validation) "
                 "data.\n"
                 "Under mpirun -np N (a build with MPI): the embeddings sharded over the N ranks,\n"
                 "the dense layers data parallel; --batch is each rank's share of a global batch\n"
                 "of N x --batch rows (docs/scale-out.md).\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    o->model.seed = (uint64_t)tv.seed;
    o->model.reduction = tv.atomic ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC;
    if (o->data == NULL) return cli_usage_error(argv[0], "--data FILE is required");
    rc = cli_data_resolve(argv[0], o, &tv.data, 1, o->resume == NULL);
    if (rc == 0 && o->resume != NULL) rc = train_resume_adopt(argv[0], o, &tv.data, &tv.given);
    if (rc == 0 && o->save != NULL) rc = check_save(argv[0], o);
    return rc != 0 ? rc : CLI_CONTINUE;
}

int ember_cmd_train(int argc, char **argv) {
    const char *cmd = argv[0];
    ember_train_opts o;
    train_ui u;
    int rc = parse_args(argc, argv, &o, &u);
    if (rc != CLI_CONTINUE) return rc;
    train_ui_attach(&u, &o);
    if (train_dist_launched()) return train_dist_run(cmd, &o, &u); /* under mpirun */
    train_report_banner(&u, &o);
    ember_train_result res;
    ember_model_err err = {""};
    ember_status st = ember_train(&o, &res, &err);
    train_ui_clear_bar(&u);
    if (st != EMBER_STATUS_SUCCESS) return train_report_failure(&u, cmd, st, err.msg);
    train_report_result(&u, cmd, &o, &res);
    return 0;
}
