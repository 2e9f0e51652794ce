/* Batch runs that stop early: output written line by line survives, and
 * --resume finishes it to exactly what one uninterrupted run writes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_harness.h"
#include "reliability.h"

#define N_LINES 6

/* Six lines; each generates many tokens, so a line is still running when a
 * signal comes (max_tokens 4000 on a 65536-token Markov context). */
static char *write_input(void) {
    char text[2048] = "";
    static const char *const prompts[N_LINES] = {"abc", "bcd", "cde", "def", "efg", "fgh"};
    for (int i = 0; i < N_LINES; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "{\"id\": \"q%d\", \"prompt\": \"%s\"}\n", i, prompts[i]);
    return th_write_file("in.jsonl", text);
}

static char *write_pipeline(void) {
    return th_write_file("pipe.json",
                         "{\"backend\": {\"use\": \"markov\", \"n_vocab\": 16, \"n_ctx\": 65536, \"eos_logit\": -30},"
                         " \"drafter\": {\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2},"
                         " \"samplers\": [{\"use\": \"top-k\", \"k\": 8}, {\"use\": \"temperature\", \"t\": 1.0}],"
                         " \"generate\": {\"max_tokens\": 4000, \"seed\": 3}}");
}

static char *out_path(const char *name) {
    char *p = malloc(2048);
    snprintf(p, 2048, "%s/%s", th_tmp_dir(), name);
    return p;
}

static int run(const char *pipe, const char *in, const char *out, bool resume) {
    th_cmd c;
    const char *args[] = {"run", pipe, "-i", in, "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "-q", resume ? "--resume" : NULL, NULL};
    th_cli(&c, args);
    int code = c.code;
    th_cmd_free(&c);
    return code;
}

/* The records of one uninterrupted run. */
static char *reference(const char *pipe, const char *in) {
    char *out = out_path("full.jsonl");
    cr_assert_eq(run(pipe, in, out, false), 0);
    size_t n;
    char *rec = rel_records(out, &n);
    cr_assert_eq(n, N_LINES);
    free(out);
    return rec;
}

/* SIGINT while a line runs: that line is finished and written, the run
 * exits 130, and --resume writes the rest. */
Test(batch, interrupt_and_resume, .timeout = 240) {
    char *pipe = write_pipeline(), *in = write_input(), *out = out_path("part.jsonl");
    char *want = reference(pipe, in);
    int fd;
    pid_t pid = rel_spawn((const char *const[]){"run", pipe, "-i", "-", "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL},
                          &fd);
    /* two lines, and the pipe stays open: after line 2 the runner waits */
    char *all = th_read_file(in);
    char *third = strchr(strchr(all, '\n') + 1, '\n') + 1;
    cr_assert_eq(write(fd, all, (size_t)(third - all)), third - all);
    cr_assert(rel_wait_lines(out, 1), "no first record");
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL); /* line 2 is running or done */
    kill(pid, SIGINT);
    int code = rel_wait(pid);
    close(fd);
    cr_assert_eq(code, 130, "exit %d after SIGINT", code);
    size_t n;
    char *part = rel_records(out, &n);
    cr_assert_eq(n, 2, "the line running at the signal must be finished: %zu records", n);
    cr_assert_eq(strncmp(part, want, strlen(part)), 0, "records before the interrupt differ:\n%s\nvs\n%s", part, want);
    cr_assert_eq(run(pipe, in, out, true), 0);
    char *got = rel_records(out, &n);
    cr_assert_str_eq(got, want, "resumed output differs from one uninterrupted run");
    free(part);
    free(got);
    free(all);
    free(want);
    free(pipe);
    free(in);
    free(out);
}

/* A crash mid-write leaves a cut-off record: --resume drops it, keeps the
 * complete ones and redoes that line. */
Test(batch, resume_after_cut_record, .timeout = 240) {
    char *pipe = write_pipeline(), *in = write_input(), *out = out_path("cut.jsonl");
    char *want = reference(pipe, in);
    char *full_path = out_path("full.jsonl");
    char *full = th_read_file(full_path);
    char *cut = strchr(strchr(strchr(full, '\n') + 1, '\n') + 1, '\n') + 1; /* after 3 records */
    cut += 20;                                                               /* part of the 4th */
    FILE *f = fopen(out, "wb");
    fwrite(full, 1, (size_t)(cut - full), f);
    fclose(f);
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-i", in, "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "--resume", NULL});
    cr_assert_eq(c.code, 0, "exit %d: %s", c.code, c.err);
    cr_expect(strstr(c.err, "dropping 20 bytes") && strstr(c.err, "3 lines") && strstr(c.err, "3 already done"),
              "stderr: %s", c.err);
    th_cmd_free(&c);
    size_t n;
    char *got = rel_records(out, &n);
    cr_assert_str_eq(got, want);
    /* resuming a finished run does nothing */
    cr_assert_eq(run(pipe, in, out, true), 0);
    free(got);
    got = rel_records(out, &n);
    cr_assert_str_eq(got, want);
    free(got);
    free(full);
    free(full_path);
    free(want);
    free(pipe);
    free(in);
    free(out);
}

/* Each record is on disk as soon as its line is done, before the next line
 * starts (a second, killing signal loses nothing already written). */
Test(batch, killed_run_keeps_records, .timeout = 240) {
    char *pipe = write_pipeline(), *in = write_input(), *out = out_path("killed.jsonl");
    char *want = reference(pipe, in);
    int fd;
    pid_t pid = rel_spawn((const char *const[]){"run", pipe, "-i", "-", "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL},
                          &fd);
    char *all = th_read_file(in);
    cr_assert_eq(write(fd, all, strlen(all)), (ssize_t)strlen(all));
    cr_assert(rel_wait_lines(out, 2), "no records");
    kill(pid, SIGKILL);
    cr_assert_eq(rel_wait(pid), -1);
    close(fd);
    cr_assert_eq(run(pipe, in, out, true), 0);
    size_t n;
    char *got = rel_records(out, &n);
    cr_assert_str_eq(got, want);
    free(got);
    free(all);
    free(want);
    free(pipe);
    free(in);
    free(out);
}

Test(batch, resume_needs_an_output_file) {
    char *pipe = write_pipeline(), *in = write_input();
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-i", in, "--resume", "-P", WEFT_TEST_FIXTURE_DIR, NULL});
    cr_assert_eq(c.code, 2);
    cr_expect(strstr(c.err, "--resume needs --output"), "%s", c.err);
    th_cmd_free(&c);
    free(pipe);
    free(in);
}
