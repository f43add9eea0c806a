/* run.h: `jtc run` (cli/run.c). */
#ifndef JTC_CLI_RUN_H
#define JTC_CLI_RUN_H

/* argv: the words after "run"; returns the exit status. */
int jtc_run_command(int argc, char **argv);

#endif
