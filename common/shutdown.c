/* shutdown.c -- SIGTERM/SIGINT set a flag; the main loop polls it. */
#include "shutdown.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t shutdown_flag;

/* Only async-signal-safe work here: set the flag and return. */
static void on_signal(int sig) {
    (void)sig;
    shutdown_flag = 1;
}

void shutdown_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking read or sleep returns EINTR so loops notice. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A peer closing a socket must be an error value, not a dead process. */
    signal(SIGPIPE, SIG_IGN);
}

int shutdown_requested(void) {
    return shutdown_flag != 0;
}

void shutdown_request(void) {
    shutdown_flag = 1;
}
