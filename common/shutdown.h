/* shutdown.h -- SIGTERM/SIGINT set a flag the main loop polls. */
#ifndef BTPIPE_SHUTDOWN_H
#define BTPIPE_SHUTDOWN_H

void shutdown_install(void);
int shutdown_requested(void);
void shutdown_request(void); /* e.g. from a fatal path, to unwind cleanly */

#endif
