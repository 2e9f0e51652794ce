/* Small helpers shared across the core. */
#ifndef WEFT_CORE_UTIL_H
#define WEFT_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define WEFT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Writes a message into err (if any) and returns false. */
bool fail_msg(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends a line to a NUL-terminated buffer, truncating if full. */
void append_line(char *buf, size_t cap, const char *line);

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file (NUL-terminated); NULL with a message on failure. */
char *read_file(const char *path, size_t *len, char *err, size_t cap);

#endif
