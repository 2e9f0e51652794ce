/* The batch reader of `weft run --input`: bounded line reading, one input
 * line parsed and validated, and the ids an earlier output file already
 * holds (--resume). Depends on cJSON and the C library only, so the fuzzer
 * (tests/fuzz/fuzz_jsonl.c) runs this very code. */
#ifndef WEFT_RUNNER_BATCH_H
#define WEFT_RUNNER_BATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One input line: {"id"?: any JSON value, "prompt": string, "max_tokens"?: N,
 * "seed"?: N}. */
typedef struct batch_item {
    cJSON *json;        /* the parsed line; owns what the fields point into */
    char *id;           /* the id as compact JSON: the key --resume matches */
    const char *prompt; /* NULL when the line is invalid */
    size_t prompt_len;
    int64_t max_tokens; /* -1: not given */
    int64_t seed;       /* -1: not given */
} batch_item;

/* Parses line `lineno` (1-based; the id of a line without "id"). Always
 * sets item->id (malloc'd, unless out of memory); on an invalid line returns
 * false with the reason in err, which then belongs in the line's record. */
bool batch_parse_line(const char *line, size_t len, long lineno, batch_item *item, char *err, size_t cap);
void batch_item_free(batch_item *item);

/* Reads one line (without its '\n') into *buf, keeping at most `max` bytes:
 * a longer line is consumed to its end and reported by *over (its length in
 * *len). Returns false at end of file or on a read error. *consumed counts
 * every byte read, newline included. */
bool batch_read_line(FILE *f, char **buf, size_t *cap, size_t max, size_t *len, bool *over, size_t *consumed);

/* The ids of the records in an output file's text, sorted for lookup. */
typedef struct batch_ids {
    char **ids;
    size_t n, cap;
} batch_ids;

/* Collects the ids of `text`'s complete records and returns the length of
 * the prefix that holds them: a last line cut off by a crash (no newline,
 * or not a JSON object with an "id") ends the prefix, so the caller can
 * drop it. A bad line before the end also ends it: what follows is not
 * trusted. false only when out of memory. */
bool batch_ids_scan(batch_ids *set, const char *text, size_t len, size_t *valid_len);
bool batch_ids_has(const batch_ids *set, const char *id);
void batch_ids_free(batch_ids *set);

#endif
