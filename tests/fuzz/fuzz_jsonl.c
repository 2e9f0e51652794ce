/* libFuzzer target: the batch reader of `weft run --input` (core/runner/
 * batch.c), the runner's own code. The input is read as an input file (with
 * a small line limit, so over-long lines are exercised) and as an output
 * file being resumed (--resume's id scan and the cut-off of a last record). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* Small enough that the corpus reaches it; the runner's default is 16 MiB. */
#define LINE_LIMIT 256

static void read_input(const uint8_t *data, size_t size) {
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0, len, consumed = 0;
    bool over;
    long lineno = 0;
    while (batch_read_line(f, &line, &cap, LINE_LIMIT, &len, &over, &consumed)) {
        lineno++;
        if (consumed > size || (!over && len > LINE_LIMIT) || (over && len <= LINE_LIMIT)) __builtin_trap();
        if (over) continue;
        batch_item it;
        char err[256];
        bool ok = batch_parse_line(line, len, lineno, &it, err, sizeof err);
        if (!it.id) __builtin_trap(); /* every record needs an id, even a failed one */
        if (ok && (!it.prompt || it.prompt_len != strlen(it.prompt) || it.max_tokens < -1 || it.seed < -1))
            __builtin_trap();
        batch_item_free(&it);
    }
    if (consumed != size) __builtin_trap(); /* every byte is read exactly once */
    free(line);
    fclose(f);
}

static void resume_scan(const uint8_t *data, size_t size) {
    batch_ids ids = {0};
    size_t keep;
    if (!batch_ids_scan(&ids, (const char *)data, size, &keep)) __builtin_trap();
    /* the kept prefix ends on a line boundary, and every id in it is found */
    if (keep > size || (keep > 0 && data[keep - 1] != '\n')) __builtin_trap();
    for (size_t i = 0; i < ids.n; i++)
        if (!batch_ids_has(&ids, ids.ids[i])) __builtin_trap();
    batch_ids_free(&ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_input(data, size);
    resume_scan(data, size);
    return 0;
}
