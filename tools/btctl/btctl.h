/* btctl.h -- the operator's command line: one function per command group.
 * Each takes the arguments after the group name and returns the exit code
 * (0 ok, 2 bad usage or input, 1 other failure). */
#ifndef BTPIPE_BTCTL_H
#define BTPIPE_BTCTL_H

int btctl_data(int argc, char **argv);     /* data import ... (cmd_data.c) */
int btctl_factor(int argc, char **argv);   /* factor register|list|retire (cmd_factor.c) */
int btctl_strategy(int argc, char **argv); /* strategy register|list|retire (cmd_strategy.c) */
int btctl_results(int argc, char **argv);  /* results list|watch (cmd_results.c) */

#endif
