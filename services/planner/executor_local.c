/* executor_local.c -- a bounded pool of `btpipe-runner job` processes.
 *
 * Plans wait in FIFO order until a worker slot is free; each attempt is a
 * fork/exec of the runner with the manifest URI. poll() reaps exits without
 * blocking, kills attempts past their timeout, and schedules retries with
 * exponential backoff. The decision after an exit is the pure function
 * executor_exit_action, unit-tested on its own. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"

extern char **environ;

enum job_phase { JOB_WAITING, JOB_RUNNING };

struct local_job {
    char plan_id[64];
    char *manifest_uri;
    enum job_phase phase;
    uint32_t attempt;      /* attempts started so far */
    int64_t not_before_ms; /* WAITING: earliest start (backoff) */
    int64_t deadline_ms;   /* RUNNING: kill after this */
    pid_t pid;
    int timed_out;
};

struct local_exec {
    struct executor base;
    struct executor_local_config cfg;
    char *runner_path;
    struct local_job *jobs; /* FIFO: waiting and running together */
    size_t n, cap;
    size_t running;
};

enum exit_action executor_exit_action(int wstatus, int timed_out, uint32_t attempt,
                                      uint32_t max_attempts, int backoff_ms, int64_t *delay_ms,
                                      char *why, size_t why_cap) {
    *delay_ms = 0;
    if (!timed_out && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        snprintf(why, why_cap, "exit 0");
        return EXIT_DONE;
    }
    if (!timed_out && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2) {
        snprintf(why, why_cap, "runner rejected its input (exit 2)");
        return EXIT_REJECTED;
    }
    if (timed_out)
        snprintf(why, why_cap, "timed out (attempt %u)", attempt);
    else if (WIFSIGNALED(wstatus))
        snprintf(why, why_cap, "killed by signal %d (attempt %u)", WTERMSIG(wstatus), attempt);
    else
        snprintf(why, why_cap, "exit %d (attempt %u)", WEXITSTATUS(wstatus), attempt);
    if (attempt >= max_attempts) return EXIT_GIVE_UP;
    int64_t d = backoff_ms > 0 ? backoff_ms : 0;
    for (uint32_t i = 1; i < attempt && d < 60000; i++)
        d *= 2;
    *delay_ms = d > 60000 ? 60000 : d;
    return EXIT_RETRY;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Builds the child's environment before fork: after fork only
 * async-signal-safe calls are allowed, and the planner has threads. */
static char **child_env(uint32_t attempt) {
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env) abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "BTPIPE_ATTEMPT=", 15) == 0) continue;
        /* The local pool runs one task per process: no array index. */
        if (strncmp(environ[i], "AWS_BATCH_JOB_ARRAY_INDEX=", 26) == 0) continue;
        env[k++] = environ[i];
    }
    static char attempt_var[32];
    snprintf(attempt_var, sizeof attempt_var, "BTPIPE_ATTEMPT=%u", attempt);
    env[k++] = attempt_var;
    env[k] = NULL;
    return env;
}

/* Starts one attempt; on fork failure the attempt counts as failed-to-start
 * and is retried like any transient failure. */
static int start_job(struct local_exec *x, struct local_job *j, int64_t now,
                     struct executor_event *ev) {
    j->attempt++;
    char **env = child_env(j->attempt);
    char *argv[] = {x->runner_path, "job", "--manifest", j->manifest_uri, "--index", "0", NULL};
    long maxfd = sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 4096) maxfd = 4096;
    pid_t pid = fork();
    if (pid == 0) {
        /* Own process group: a timeout or shutdown kills whatever the runner started. */
        setpgid(0, 0);
        for (long fd = 3; fd < maxfd; fd++)
            close((int)fd);
        execve(x->runner_path, argv, env);
        _exit(127);
    }
    free(env);
    if (pid > 0) setpgid(pid, pid); /* also here: kill(-pid) must not race the child */
    if (pid < 0) {
        j->attempt--;
        j->not_before_ms = now + 1000;
        return -1;
    }
    j->phase = JOB_RUNNING;
    j->pid = pid;
    j->timed_out = 0;
    j->deadline_ms = now + (int64_t)x->cfg.timeout_s * 1000;
    x->running++;
    memset(ev, 0, sizeof *ev);
    ev->kind = EXEC_STARTED;
    snprintf(ev->plan_id, sizeof ev->plan_id, "%s", j->plan_id);
    snprintf(ev->external_id, sizeof ev->external_id, "pid:%d", (int)pid);
    ev->attempt = j->attempt;
    return 0;
}

static void drop_job(struct local_exec *x, size_t i) {
    free(x->jobs[i].manifest_uri);
    memmove(x->jobs + i, x->jobs + i + 1, (x->n - i - 1) * sizeof *x->jobs);
    x->n--;
}

static int local_submit(struct executor *ex, const char *plan_id, const char *manifest_uri,
                        struct bt_err *err) {
    struct local_exec *x = (struct local_exec *)ex;
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->jobs[i].plan_id, plan_id) == 0)
            return bt_err_set(err, BT_EINTERNAL, plan_id, "plan %s is already queued", plan_id);
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->jobs = realloc(x->jobs, x->cap * sizeof *x->jobs);
        if (!x->jobs) abort();
    }
    struct local_job *j = &x->jobs[x->n++];
    memset(j, 0, sizeof *j);
    snprintf(j->plan_id, sizeof j->plan_id, "%s", plan_id);
    j->manifest_uri = strdup(manifest_uri);
    if (!j->manifest_uri) abort();
    j->phase = JOB_WAITING;
    return 0;
}

static size_t local_poll(struct executor *ex, int64_t wall_ms, struct executor_event *ev,
                         size_t cap) {
    (void)wall_ms; /* timeouts and backoff run on the monotonic clock */
    struct local_exec *x = (struct local_exec *)ex;
    int64_t now = now_ms();
    size_t n = 0;
    /* reap and time out */
    for (size_t i = 0; i < x->n && n < cap;) {
        struct local_job *j = &x->jobs[i];
        if (j->phase != JOB_RUNNING) {
            i++;
            continue;
        }
        int ws = 0;
        pid_t r = waitpid(j->pid, &ws, WNOHANG);
        if (r == 0) {
            if (now > j->deadline_ms && !j->timed_out) {
                kill(-j->pid, SIGKILL);
                j->timed_out = 1;
            }
            i++;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) ws = 1 << 8; /* lost child: treat as exit 1 */
        x->running--;
        int64_t delay = 0;
        char why[200];
        uint32_t max = (uint32_t)x->cfg.retries + 1;
        enum exit_action a = executor_exit_action(ws, j->timed_out, j->attempt, max,
                                                  x->cfg.backoff_ms, &delay, why, sizeof why);
        struct executor_event *e = &ev[n++];
        memset(e, 0, sizeof *e);
        snprintf(e->plan_id, sizeof e->plan_id, "%s", j->plan_id);
        snprintf(e->external_id, sizeof e->external_id, "pid:%d", (int)j->pid);
        e->attempt = j->attempt;
        snprintf(e->error, sizeof e->error, "%s", why);
        if (a == EXIT_RETRY) {
            e->kind = EXEC_RETRYING;
            j->phase = JOB_WAITING;
            j->not_before_ms = now + delay;
            i++;
            continue;
        }
        e->kind = a == EXIT_DONE ? EXEC_SUCCEEDED : EXEC_FAILED;
        e->permanent = a == EXIT_REJECTED;
        drop_job(x, i);
    }
    /* start waiting jobs in FIFO order while slots are free */
    for (size_t i = 0; i < x->n && n < cap && x->running < (size_t)x->cfg.workers; i++) {
        struct local_job *j = &x->jobs[i];
        if (j->phase != JOB_WAITING || j->not_before_ms > now) continue;
        if (start_job(x, j, now, &ev[n]) == 0) n++;
    }
    return n;
}

static size_t local_inflight(const struct executor *ex) {
    return ((const struct local_exec *)ex)->n;
}

static void local_free(struct executor *ex, int grace_ms) {
    struct local_exec *x = (struct local_exec *)ex;
    if (!x) return;
    for (size_t i = 0; i < x->n; i++)
        if (x->jobs[i].phase == JOB_RUNNING) kill(-x->jobs[i].pid, SIGTERM);
    int64_t until = now_ms() + grace_ms;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < x->n; i++) {
            struct local_job *j = &x->jobs[i];
            if (j->phase != JOB_RUNNING) continue;
            if (waitpid(j->pid, NULL, WNOHANG) == 0)
                alive++;
            else
                j->phase = JOB_WAITING;
        }
        if (!alive) break;
        if (now_ms() >= until) {
            for (size_t i = 0; i < x->n; i++)
                if (x->jobs[i].phase == JOB_RUNNING) {
                    kill(-x->jobs[i].pid, SIGKILL);
                    waitpid(x->jobs[i].pid, NULL, 0);
                    x->jobs[i].phase = JOB_WAITING;
                }
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < x->n; i++)
        free(x->jobs[i].manifest_uri);
    free(x->jobs);
    free(x->runner_path);
    free(x);
}

static const struct executor_ops local_ops = {
    .name = "local",
    .submit = local_submit,
    .poll = local_poll,
    .inflight = local_inflight,
    .free = local_free,
};

int executor_local_new(const struct executor_local_config *cfg, struct executor **out,
                       struct bt_err *err) {
    *out = NULL;
    if (!cfg->runner_path || access(cfg->runner_path, X_OK) != 0)
        return bt_err_set(err, BT_ECONFIG, "BTPIPE_RUNNER_PATH",
                          "runner %s is not an executable file",
                          cfg->runner_path ? cfg->runner_path : "(none)");
    struct local_exec *x = calloc(1, sizeof *x);
    if (!x) abort();
    x->base.ops = &local_ops;
    x->cfg = *cfg;
    if (x->cfg.workers < 1) x->cfg.workers = 1;
    x->runner_path = strdup(cfg->runner_path);
    if (!x->runner_path) abort();
    *out = &x->base;
    return 0;
}
