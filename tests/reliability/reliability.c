#include "reliability.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_harness.h"

extern char **environ;

static const char *str_or(const cJSON *o, const char *key, const char *def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

char *rel_records(const char *path, size_t *n) {
    char *text = th_read_file(path);
    *n = 0;
    if (!text) return NULL;
    size_t cap = strlen(text) + 64, used = 0;
    char *out = calloc(cap, 1);
    cr_assert_not_null(out);
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        cr_assert_not_null(nl, "%s: a record without its newline: %s", path, line);
        *nl = 0;
        cJSON *o = cJSON_Parse(line);
        cr_assert(cJSON_IsObject(o), "%s: not a JSON record: %s", path, line);
        char *id = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "id"));
        const char *finish = str_or(o, "finish", "-"), *txt = str_or(o, "text", ""), *err = str_or(o, "error", "");
        size_t need = strlen(id) + strlen(finish) + strlen(txt) + strlen(err) + 8;
        if (used + need >= cap) {
            cap = (used + need) * 2;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        used += (size_t)sprintf(out + used, "%s|%s|%s|%s\n", id, finish, txt, err);
        free(id);
        cJSON_Delete(o);
        ++*n;
    }
    free(text);
    return out;
}

pid_t rel_spawn(const char *const *args, int *in_fd) {
    static int serial;
    char exe[1024], out_path[2048], err_path[2048];
    snprintf(exe, sizeof exe, "%s/weft", WEFT_TEST_BUILD_DIR);
    snprintf(out_path, sizeof out_path, "%s/spawn-%d.out", th_tmp_dir(), serial);
    snprintf(err_path, sizeof err_path, "%s/spawn-%d.err", th_tmp_dir(), serial++);
    const char *argv[64] = {exe};
    size_t n = 1;
    for (; args[n - 1]; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s", exe, strerror(rc));
    close(fds[0]);
    *in_fd = fds[1];
    return pid;
}

int rel_wait(pid_t pid) {
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool rel_wait_lines(const char *path, size_t n) {
    for (int i = 0; i < 2000; i++) {
        char *text = th_read_file(path);
        size_t lines = 0;
        for (char *c = text; c && *c; c++) lines += *c == '\n';
        free(text);
        if (lines >= n) return true;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return false;
}

double rel_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
