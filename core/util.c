#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fail_msg(char *err, size_t cap, const char *fmt, ...) {
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

void append_line(char *buf, size_t cap, const char *line) {
    if (!buf || !cap) return;
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? "\n" : "", line);
}

char *read_file(const char *path, size_t *len, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg(err, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, alloc = 0;
    for (;;) {
        if (n + 4096 + 1 > alloc) {
            alloc = alloc ? alloc * 2 : 8192;
            char *nb = realloc(buf, alloc);
            if (!nb) {
                free(buf);
                fclose(f);
                fail_msg(err, cap, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, alloc - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fail_msg(err, cap, "cannot read %s", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}
