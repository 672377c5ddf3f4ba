/* commands.h: one entry point per `ember` subcommand; main.c dispatches on argv[1].
 * Each returns the process exit code: 0 success, 1 the job failed (a check failed, training
 * diverged), 2 bad usage or input. argv[0] is the subcommand name. */
#ifndef EMBER_CLI_COMMANDS_H
#define EMBER_CLI_COMMANDS_H

int ember_cmd_devices(int argc, char **argv);
int ember_cmd_demo(int argc, char **argv);
int ember_cmd_params(int argc, char **argv);
int ember_cmd_bench(int argc, char **argv); /* kernels; `--model widedeep` goes to: */
int ember_cmd_bench_model(int argc, char **argv);
int ember_cmd_check(int argc, char **argv);
int ember_cmd_train(int argc, char **argv);
int ember_cmd_predict(int argc, char **argv);
int ember_cmd_encode(int argc, char **argv);
/* `ember check --dist` and `ember bench --dist` under mpirun (cmd_*_dist.c; without MPI in
 * the build they say so and return 2). */
int ember_cmd_check_dist(int argc, char **argv);
int ember_cmd_bench_dist(int argc, char **argv);

#endif
