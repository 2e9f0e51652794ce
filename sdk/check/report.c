/* Running rules and printing their verdicts. With --fork (the default) each
 * rule runs in a child process, so a plugin that crashes, hangs or corrupts
 * memory fails that rule with a reason instead of taking the checker down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void set(chk_result *r, chk_verdict v, const char *fmt, va_list ap) {
    r->verdict = v;
    vsnprintf(r->why, sizeof r->why, fmt, ap);
}

void chk_pass(chk_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set(r, CHK_PASS, fmt, ap);
    va_end(ap);
}

bool chk_fail(chk_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set(r, CHK_FAIL, fmt, ap);
    va_end(ap);
    return false;
}

void chk_skip(chk_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set(r, CHK_SKIP, fmt, ap);
    va_end(ap);
}

static void run_here(const chk_subject *s, const chk_rule *rule, chk_result *r) {
    chk_pass(r, "ok");
    rule->fn(s, r);
}

/* The child writes its result into a pipe; no result means it died. */
static void run_in_child(const chk_subject *s, const chk_rule *rule, chk_result *r) {
    int fd[2];
    fflush(NULL); /* nothing buffered may be written twice */
    if (pipe(fd) != 0) {
        chk_fail(r, "cannot create a pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        chk_fail(r, "cannot fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        if (s->opt->timeout) alarm(s->opt->timeout);
        chk_result mine;
        run_here(s, rule, &mine);
        ssize_t w = write(fd[1], &mine, sizeof mine);
        _exit(w == (ssize_t)sizeof mine ? 0 : 3);
    }
    close(fd[1]);
    chk_result got;
    size_t n = 0;
    ssize_t k;
    while (n < sizeof got && ((k = read(fd[0], (char *)&got + n, sizeof got - n)) > 0 || (k < 0 && errno == EINTR)))
        if (k > 0) n += (size_t)k;
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n == sizeof got && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *r = got;
        r->why[sizeof r->why - 1] = 0;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        chk_fail(r, "did not finish within %u s (a loop that never ends?)", s->opt->timeout);
    else if (WIFSIGNALED(status))
        chk_fail(r, "the plugin crashed (signal %d, %s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        chk_fail(r, "the rule's process exited with status %d (a sanitizer or valgrind report above?)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

chk_verdict chk_run_rule(const chk_subject *s, const chk_rule *rule) {
    chk_result r;
    if (s->opt->fork) run_in_child(s, rule, &r);
    else run_here(s, rule, &r);
    static const char *const tag[] = {"PASS", "FAIL", "SKIP"};
    if (r.verdict == CHK_FAIL || !s->opt->quiet)
        printf("%s %s %s: %s: %s\n", tag[r.verdict], weft_kind_name(s->desc->kind), s->desc->name, rule->name, r.why);
    fflush(stdout);
    return r.verdict;
}
