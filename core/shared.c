/* host->shared: immutable objects shared by every instance that asks for the
 * same key (a grammar engine's vocabulary index), made once and kept until
 * the store goes. A pipeline's store is its registry's, so the objects
 * outlive pipelines but not the plugins whose code destroys them. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

typedef struct shared_entry {
    char *key;
    void *obj;                  /* NULL while its maker runs */
    void (*destroy)(void *obj);
    struct shared_entry *next;
} shared_entry;

struct weft_shared_store {
    pthread_mutex_t lock;
    pthread_cond_t made; /* an entry's maker finished (or failed) */
    shared_entry *head;
};

weft_shared_store *weft_shared_store_new(void) {
    weft_shared_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->made, NULL);
    return s;
}

void weft_shared_store_free(weft_shared_store *s) {
    if (!s) return;
    while (s->head) {
        shared_entry *e = s->head;
        s->head = e->next;
        if (e->destroy) e->destroy(e->obj);
        free(e->key);
        free(e);
    }
    pthread_cond_destroy(&s->made);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static shared_entry *find(weft_shared_store *s, const char *key) {
    for (shared_entry *e = s->head; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

/* make() runs outside the lock, so building one key (tens of ms) does not
 * stall lookups of others; callers of the same key wait for it instead of
 * building a second copy. */
void *weft_shared_store_get(weft_shared_store *s, const char *key, void *(*make)(void *arg), void *arg,
                            void (*destroy)(void *obj)) {
    if (!s || !key || !make) return NULL;
    pthread_mutex_lock(&s->lock);
    shared_entry *e;
    while ((e = find(s, key)) && !e->obj) pthread_cond_wait(&s->made, &s->lock);
    if (e) {
        pthread_mutex_unlock(&s->lock);
        return e->obj;
    }
    e = calloc(1, sizeof *e);
    char *k = strdup(key);
    if (!e || !k) {
        pthread_mutex_unlock(&s->lock);
        free(e);
        free(k);
        return NULL;
    }
    e->key = k;
    e->next = s->head;
    s->head = e; /* a placeholder: other callers of this key wait */
    pthread_mutex_unlock(&s->lock);
    void *obj = make(arg);
    pthread_mutex_lock(&s->lock);
    if (obj) {
        e->obj = obj;
        e->destroy = destroy;
    } else { /* a waiter will try again itself */
        shared_entry **pp = &s->head;
        while (*pp != e) pp = &(*pp)->next;
        *pp = e->next;
        free(e->key);
        free(e);
    }
    pthread_cond_broadcast(&s->made);
    pthread_mutex_unlock(&s->lock);
    return obj;
}

size_t weft_shared_store_count(weft_shared_store *s, const char *prefix) {
    size_t n = 0, pl = prefix ? strlen(prefix) : 0;
    pthread_mutex_lock(&s->lock);
    for (const shared_entry *e = s->head; e; e = e->next) n += e->obj && strncmp(e->key, prefix ? prefix : "", pl) == 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}
