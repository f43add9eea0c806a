/* inspect.h: `jtc inspect` (cli/inspect.c). */
#ifndef JTC_CLI_INSPECT_H
#define JTC_CLI_INSPECT_H

/* argv: the words after "inspect"; returns the exit status (0, 1 bad file, 2 usage). */
int jtc_inspect_command(int argc, char **argv);

#endif
