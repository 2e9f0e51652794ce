/* Plain regions: a shortcut for classifying positions inside string bodies.
 *
 * A light state consumes bytes and calls no rule (internal.h). From a light
 * state p, the states reachable through light states only form p's region;
 * every byte that leaves it goes to a state that calls (an exit), to a final
 * state with nothing after it (its rule pops), or nowhere. While a token-trie
 * walk from (p, unknown bottom) stays inside the region, the set of stacks is
 * one state over the unknown bottom (plus, after a final state, its rule's
 * FOLLOW pseudo stack), so every token ending there is accepted, and the walk
 * depends on nothing but the region's shape. JSON Schema grammars repeat the
 * same region (the body of a string) once per property, and each copy used to
 * cost a whole-trie walk.
 *
 * So the trie is walked once per region shape: regions are keyed by a
 * canonical serialization (serialize), and the walk is kept as the set of
 * tokens accepted inside the region, the ranks that are only uncertain (after
 * a pop, anything may follow), and the trie nodes where it left through an
 * exit. token_cache.c replays that and walks only the exit subtrees for real.
 * The memo belongs to a vocabulary index and is shared by its grammars. */
#include <pthread.h>

#include "internal.h"

#define REGION_MAX_STATES 4096 /* larger regions are walked the usual way */
/* trans codes: a region index (popped rules after the states), or exit, or
 * dead; plus REGION_POPS when the byte is also in the FOLLOW set of a final
 * state's rule (the pop turns the rest of every token into "anything",
 * hence uncertain) */
#define REGION_CODE_MASK WG_REGION_INDEX
#define REGION_FAR_STATE 0xFFFFFFFFu /* in keys: a far state, its edges left out */
/* States first reached this many bytes from the entry are "far" (serialize).
 * Fewer than 0.1% of the tokens of the llama and gpt-2 vocabularies are
 * longer, so the subtrees walked for real below far states are few. */
#define REGION_FAR_DEPTH 24
#define REGION_CODE_EXIT 0x1FFEu
#define REGION_CODE_DEAD 0x1FFFu
#define POPPED_CODE 0x1000u      /* in keys: POPPED_CODE + popped index */
#define REGION_MAX_POPPED 256
#define REGION_CLOCK_EVERY 4096 /* trie nodes between reads of the clock */
#define REGION_POPS 0x2000u
#define MEMO_MAX_BYTES (64u << 20) /* past this, walks are no longer kept */
/* Nor are walks of regions with longer keys (a trie of many property names):
 * a string body cut at REGION_FAR_DEPTH takes about 2,400 words. */
#define KEEP_MAX_KEY 4096

/* One region shape's walk; immutable once published. */
typedef struct region_entry {
    uint64_t hash;
    uint32_t key_len, n_acc, n_events;
    const uint32_t *bits; /* the accepted tokens, interned in the memo (walks of other shapes often agree) */
    uint32_t data[];      /* key, then events (wg_region_result) */
} region_entry;

/* A bitset over token ids, interned by content. */
typedef struct bitset {
    uint64_t hash;
    uint32_t words[];
} bitset;

/* Shared by every grammar of one vocabulary, across threads: lookups and
 * inserts hold the lock, walks run outside it. Nothing is removed before the
 * index is freed, since token caches refer to the bitsets. */
struct wg_region_memo {
    pthread_mutex_t lock;
    region_entry **table; /* open addressing */
    size_t n, table_cap, bytes;
    bitset **sets; /* open addressing */
    size_t n_sets, sets_cap;
};

/* Per thread: scratch for serializing and walking. */
struct wg_regions {
    wg_vec key;    /* the serialization being looked up */
    wg_vec states; /* region index -> automaton state */
    wg_vec dist;   /* region index -> bytes from the entry (breadth-first) */
    uint32_t far_depth; /* states first reached this deep are far (serialize) */
    wg_vec popped; /* popped index -> rule */
    wg_vec runs, events; /* a walk's, before it is published */
    uint32_t *bits; /* a walk's accepted tokens (own's, when there is no room for it) */
    size_t n_words;
    region_entry *own; /* a walk the memo had no room for */
    /* region index of automaton state s: index_of[s] when stamp_of[s] == stamp */
    uint32_t *index_of, *stamp_of;
    size_t n_index;
    uint32_t stamp;
    uint16_t *trans; /* codes per region state and byte class */
    size_t cap_trans;
    uint16_t *at_depth; /* region index per trie depth during a walk */
};

wg_region_memo *wg_region_memo_new(void) {
    wg_region_memo *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void wg_region_memo_free(wg_region_memo *m) {
    if (!m) return;
    for (size_t i = 0; i < m->table_cap; i++) free(m->table[i]);
    free(m->table);
    for (size_t i = 0; i < m->sets_cap; i++) free(m->sets[i]);
    free(m->sets);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

size_t wg_region_memo_bytes(wg_region_memo *m) {
    pthread_mutex_lock(&m->lock);
    size_t b = m->bytes + m->table_cap * sizeof *m->table + m->sets_cap * sizeof *m->sets;
    pthread_mutex_unlock(&m->lock);
    return b;
}

wg_regions *wg_regions_new(void) { return calloc(1, sizeof(wg_regions)); }

void wg_regions_free(wg_regions *r) {
    if (!r) return;
    wg_vec_free(&r->key);
    wg_vec_free(&r->states);
    wg_vec_free(&r->dist);
    wg_vec_free(&r->popped);
    wg_vec_free(&r->runs);
    wg_vec_free(&r->events);
    free(r->own);
    free(r->bits);
    free(r->index_of);
    free(r->stamp_of);
    free(r->trans);
    free(r->at_depth);
    free(r);
}

/* What a byte leads to from a region state, beside nothing (dead). */
enum { TO_REGION, TO_POPPED, TO_EXIT, TO_DEAD };

/* The kind of target t: a light state (in the region); a final state with
 * nothing after it ("popped": over the unknown bottom, its rule returned,
 * and only FOLLOW bytes can come next); a state that calls (a real exit);
 * or a dead end. */
static int target_kind(const wg_grammar *g, uint32_t t) {
    const wg_state *ts = &g->states[t];
    if (ts->n_refs) return TO_EXIT;
    if (ts->n_ranges) return TO_REGION;
    if (!ts->final) return TO_DEAD;
    if (g->follow_end[ts->rule]) return TO_POPPED;
    for (size_t w = 0; w < 8; w++)
        if (g->follow[(size_t)ts->rule * 8 + w]) return TO_POPPED;
    return TO_DEAD;
}

/* Index of state s in the region under construction, adding it when new;
 * -1 when the region would grow past REGION_MAX_STATES or memory ran out. */
static int region_index(wg_regions *r, uint32_t s, uint32_t dist) {
    if (r->stamp_of[s] == r->stamp) return (int)r->index_of[s];
    if (r->states.n == REGION_MAX_STATES || !wg_vec_push(&r->states, s) || !wg_vec_push(&r->dist, dist)) return -1;
    r->stamp_of[s] = r->stamp;
    r->index_of[s] = (uint32_t)r->states.n - 1;
    return (int)r->states.n - 1;
}

/* Index among the popped rules of rule, adding it when new; -1 as above. */
static int popped_index(wg_regions *r, uint32_t rule) {
    for (size_t i = 0; i < r->popped.n; i++)
        if (r->popped.v[i] == rule) return (int)i;
    if (r->popped.n == REGION_MAX_POPPED || !wg_vec_push(&r->popped, rule)) return -1;
    return (int)r->popped.n - 1;
}

/* Whether region state i pops on its rule's FOLLOW bytes: a final state,
 * except the entry before its first byte (index 0, never closed). */
static bool pops(const wg_regions *r, const wg_grammar *g, size_t i) {
    return i > 0 && g->states[r->states.v[i]].final;
}

static bool push_follow(wg_vec *key, const wg_grammar *g, uint32_t rule, bool p) {
    if (!wg_vec_push(key, (uint32_t)p << 16 | (uint32_t)(p && g->follow_end[rule]) << 17)) return false;
    for (size_t w = 0; p && w < 8; w++)
        if (!wg_vec_push(key, g->follow[(size_t)rule * 8 + w])) return false;
    return true;
}

/* Breadth-first over the region of `entry`, writing the serialization to
 * r->key, the states to r->states and the popped rules to r->popped; false
 * when too large or out of memory. In the key, a target is a region index,
 * POPPED_CODE + a popped index, or exit, or dead.
 *
 * A state first reached REGION_FAR_DEPTH bytes from the entry (or as many
 * as the longest token) is "far": it keeps its index, but its edges are
 * left out of the key, and the walk leaves the region there, walking the
 * few longer tokens' subtrees for real (walk_region). So regions that
 * differ only beyond that depth (a string's maxLength chain, seen from each
 * of its positions) share one memo entry. */
static bool serialize(wg_regions *r, const wg_grammar *g, const wg_vocab_index *vi, uint32_t entry) {
    if (r->n_index != g->n_states) {
        free(r->index_of);
        free(r->stamp_of);
        r->index_of = malloc(g->n_states * sizeof *r->index_of);
        r->stamp_of = calloc(g->n_states, sizeof *r->stamp_of);
        r->n_index = r->index_of && r->stamp_of ? g->n_states : 0;
        r->stamp = 0;
        if (!r->n_index) return false;
    }
    if (++r->stamp == 0) {
        memset(r->stamp_of, 0, r->n_index * sizeof *r->stamp_of);
        r->stamp = 1;
    }
    r->key.n = r->states.n = r->dist.n = r->popped.n = 0;
    r->far_depth = vi->max_len < REGION_FAR_DEPTH ? vi->max_len : REGION_FAR_DEPTH;
    /* a final entry gets index 0 for its first byte only; coming back to
     * it is coming back to a closed stack, which may pop */
    if (g->states[entry].final ? !wg_vec_push(&r->states, entry) || !wg_vec_push(&r->dist, 0)
                               : region_index(r, entry, 0) < 0)
        return false;
    for (size_t i = 0; i < r->states.n; i++) {
        const wg_state *st = &g->states[r->states.v[i]];
        if (r->dist.v[i] >= r->far_depth) {
            if (!wg_vec_push(&r->key, REGION_FAR_STATE)) return false;
            continue;
        }
        if (!wg_vec_push(&r->key, st->n_ranges) || !push_follow(&r->key, g, st->rule, pops(r, g, i))) return false;
        for (uint32_t k = 0; k < st->n_ranges; k++) {
            const wg_range *rg = &g->ranges[st->range_off + k];
            int j = 0, kind = target_kind(g, rg->target);
            if (kind == TO_REGION) j = region_index(r, rg->target, r->dist.v[i] + 1);
            if (kind == TO_POPPED) j = popped_index(r, g->states[rg->target].rule);
            if (j < 0) return false;
            uint32_t code = kind == TO_REGION   ? (uint32_t)j
                            : kind == TO_POPPED ? POPPED_CODE + (uint32_t)j
                            : kind == TO_EXIT   ? REGION_CODE_EXIT
                                                : REGION_CODE_DEAD;
            if (!wg_vec_push(&r->key, (uint32_t)rg->lo | (uint32_t)rg->hi << 8 | code << 16)) return false;
        }
    }
    for (size_t i = 0; i < r->popped.n; i++)
        if (!push_follow(&r->key, g, r->popped.v[i], true)) return false;
    return r->states.n + r->popped.n <= REGION_MAX_STATES;
}

static uint64_t hash_words(const uint32_t *w, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ w[i]) * 0x100000001b3ull;
    return h ^ h >> 29;
}

/* The entry for r->key, or NULL; the caller holds the lock. */
static const region_entry *find(const wg_region_memo *m, const wg_vec *key, uint64_t h) {
    if (!m->table_cap) return NULL;
    for (size_t i = h & (m->table_cap - 1); m->table[i]; i = (i + 1) & (m->table_cap - 1)) {
        const region_entry *e = m->table[i];
        if (e->hash == h && e->key_len == key->n && memcmp(e->data, key->v, key->n * sizeof *key->v) == 0)
            return e;
    }
    return NULL;
}

/* Doubles an open-addressing table of pointers, whose hashes hash_of
 * gives, when it is half full; false when out of memory. */
static bool grow_table(void ***table, size_t *cap, size_t n, uint64_t (*hash_of)(const void *)) {
    if (2 * (n + 1) <= *cap) return true;
    size_t nc = *cap ? 2 * *cap : 64;
    void **t = calloc(nc, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < *cap; i++) {
        if (!(*table)[i]) continue;
        size_t h = hash_of((*table)[i]) & (nc - 1);
        while (t[h]) h = (h + 1) & (nc - 1);
        t[h] = (*table)[i];
    }
    free(*table);
    *table = t;
    *cap = nc;
    return true;
}

static uint64_t entry_hash(const void *e) { return ((const region_entry *)e)->hash; }
static uint64_t set_hash(const void *s) { return ((const bitset *)s)->hash; }

/* The memo's copy of bits (n_words), added when new; NULL when out of
 * memory or full. The caller holds the lock. */
static const uint32_t *intern_bits(wg_region_memo *m, const uint32_t *bits, size_t n_words) {
    uint64_t h = hash_words(bits, n_words);
    if (m->sets_cap)
        for (size_t i = h & (m->sets_cap - 1); m->sets[i]; i = (i + 1) & (m->sets_cap - 1))
            if (m->sets[i]->hash == h && memcmp(m->sets[i]->words, bits, n_words * sizeof *bits) == 0)
                return m->sets[i]->words;
    size_t size = sizeof(bitset) + n_words * sizeof *bits;
    if (m->bytes + size > MEMO_MAX_BYTES || !grow_table((void ***)&m->sets, &m->sets_cap, m->n_sets, set_hash))
        return NULL;
    bitset *b = malloc(size);
    if (!b) return NULL;
    b->hash = h;
    memcpy(b->words, bits, n_words * sizeof *bits);
    size_t i = h & (m->sets_cap - 1);
    while (m->sets[i]) i = (i + 1) & (m->sets_cap - 1);
    m->sets[i] = b;
    m->n_sets++;
    m->bytes += size;
    return b->words;
}

/* Takes e, whose accepted tokens are bits, into the memo (the caller holds
 * the lock); false when full. */
static bool publish(wg_region_memo *m, region_entry *e, size_t size, const uint32_t *bits, size_t n_words) {
    if (m->bytes + size > MEMO_MAX_BYTES || !grow_table((void ***)&m->table, &m->table_cap, m->n, entry_hash))
        return false;
    if (!(e->bits = intern_bits(m, bits, n_words))) return false;
    size_t h = e->hash & (m->table_cap - 1);
    while (m->table[h]) h = (h + 1) & (m->table_cap - 1);
    m->table[h] = e;
    m->n++;
    m->bytes += size;
    return true;
}

/* Splits the bytes into classes no region state tells apart (range bounds,
 * FOLLOW set bounds), so the walk's table has a column per class rather
 * than per byte and stays in L1 for regions of hundreds of states. Returns
 * the number of classes; cls maps bytes, first gives each class's first. */
static void cut_follow(uint8_t *cut, const wg_grammar *g, uint32_t rule) {
    for (unsigned c = 1; c < 256; c++)
        if (wg_follows(g, rule, (uint8_t)c) != wg_follows(g, rule, (uint8_t)(c - 1))) cut[c] = 1;
}

static size_t byte_classes(const wg_regions *r, const wg_grammar *g, uint8_t cls[256], uint8_t first[256]) {
    uint8_t cut[257] = {1};
    for (size_t i = 0; i < r->states.n; i++) {
        if (r->dist.v[i] >= r->far_depth) continue; /* all exits */
        const wg_state *st = &g->states[r->states.v[i]];
        for (uint32_t k = 0; k < st->n_ranges; k++) {
            const wg_range *rg = &g->ranges[st->range_off + k];
            cut[rg->lo] = cut[rg->hi + 1] = 1;
        }
        if (pops(r, g, i)) cut_follow(cut, g, st->rule);
    }
    for (size_t i = 0; i < r->popped.n; i++) cut_follow(cut, g, r->popped.v[i]);
    size_t n = 0;
    for (unsigned c = 0; c < 256; c++) {
        if (cut[c]) first[n++] = (uint8_t)c;
        cls[c] = (uint8_t)(n - 1);
    }
    return n;
}

/* Fills the codes of region state i by byte class: a region index (popped
 * rules come after the states), exit or dead, plus REGION_POPS on the
 * bytes a pop lets through. */
static void fill_row(wg_regions *r, const wg_grammar *g, uint32_t i, size_t n_cls, const uint8_t *cls,
                     const uint8_t *first) {
    uint16_t *row = r->trans + (size_t)i * n_cls;
    for (size_t k = 0; k < n_cls; k++) row[k] = REGION_CODE_DEAD;
    size_t n_states = r->states.n;
    if (i < n_states && r->dist.v[i] >= r->far_depth) { /* a far state: the walk leaves the region */
        for (size_t k = 0; k < n_cls; k++) row[k] = REGION_CODE_EXIT;
        return;
    }
    if (i >= n_states) { /* a popped rule: its FOLLOW bytes, after which anything goes */
        for (size_t c = 0; c < n_cls; c++)
            if (wg_follows(g, r->popped.v[i - n_states], first[c])) row[c] |= REGION_POPS;
        return;
    }
    const wg_state *st = &g->states[r->states.v[i]];
    for (uint32_t k = 0; k < st->n_ranges; k++) {
        const wg_range *rg = &g->ranges[st->range_off + k];
        int kind = target_kind(g, rg->target);
        /* serialize indexed every region target of a state that is not far */
        uint16_t code = kind == TO_REGION   ? (uint16_t)r->index_of[rg->target]
                        : kind == TO_POPPED ? (uint16_t)(n_states + (size_t)popped_index(r, g->states[rg->target].rule))
                        : kind == TO_EXIT   ? REGION_CODE_EXIT
                                            : REGION_CODE_DEAD;
        for (size_t c = cls[rg->lo]; c <= cls[rg->hi]; c++) row[c] = code;
    }
    if (pops(r, g, i))
        for (size_t c = 0; c < n_cls; c++)
            if (wg_follows(g, st->rule, first[c])) row[c] |= REGION_POPS;
}

/* Appends the rank run [lo, hi) to v when not empty, flagged uncertain in
 * the first word if `flag` is WG_REGION_UNCERTAIN. */
static bool push_run(wg_vec *v, uint32_t lo, uint32_t hi, uint32_t flag) {
    return lo >= hi || (wg_vec_push(v, lo | flag) && wg_vec_push(v, hi));
}

/* Walks the trie inside the region of r->states; returns the entry
 * (malloc'd, of *size bytes), or NULL when out of memory.
 *
 * Tokens ending at a region state are accepted, and in preorder the ranks
 * of the nodes visited between two others form one interval, so the loop
 * does nothing for them: an accepted run is closed only where the walk
 * stops being sure (a subtree skipped, a popped rule reached). */
static region_entry *walk_region(wg_regions *r, const wg_grammar *g, const wg_vocab_index *vi, uint64_t h,
                                 double deadline, bool *late, size_t *size) {
    uint8_t cls[256], first[256];
    size_t n_sure = r->states.n, n = n_sure + r->popped.n, n_cls = byte_classes(r, g, cls, first);
    if (n * n_cls > r->cap_trans) {
        free(r->trans);
        r->trans = malloc(n * n_cls * sizeof *r->trans);
        r->cap_trans = r->trans ? n * n_cls : 0;
        if (!r->trans) return NULL;
    }
    for (uint32_t i = 0; i < n; i++) fill_row(r, g, i, n_cls, cls, first);
    if (!r->at_depth && !(r->at_depth = malloc(((size_t)vi->max_len + 1) * sizeof *r->at_depth))) return NULL;
    wg_vec *runs = &r->runs, *events = &r->events;
    runs->n = events->n = 0;
    bool ok = true;
    uint32_t run_lo = 0; /* the accepted run open since this rank */
    const uint16_t *restrict depth = vi->node_depth, *restrict trans = r->trans;
    const uint8_t *restrict byte = vi->node_byte;
    const uint32_t *restrict rank_lo = vi->node_rank_lo, *restrict rank_hi = vi->node_rank_hi;
    uint16_t *restrict at = r->at_depth;
    at[0] = 0;
    uint32_t visits = 0;
    for (uint32_t k = 0, nn = vi->n_nodes; k < nn && ok;) {
        if (++visits == REGION_CLOCK_EVERY) {
            visits = 0;
            if (deadline > 0 && wg_now_ms() > deadline) return *late = true, NULL;
        }
        uint32_t from = at[depth[k] - 1];
        uint32_t t = trans[(size_t)(from & REGION_CODE_MASK) * n_cls + cls[byte[k]]], c = t & REGION_CODE_MASK;
        uint32_t any = (from & WG_REGION_ANY) | (t & REGION_POPS ? WG_REGION_ANY : 0);
        if (c < n_sure) {
            at[depth[k]] = (uint16_t)(c | any);
            k++;
            continue;
        }
        ok = push_run(runs, run_lo, rank_lo[k], 0);
        if (c < n) { /* a popped rule: tokens ending here are uncertain; its children decide for theirs */
            at[depth[k]] = (uint16_t)(c | any);
            ok = ok && push_run(events, rank_lo[k], rank_hi[k], WG_REGION_UNCERTAIN);
            run_lo = rank_hi[k];
            k++;
            continue;
        }
        uint32_t end = vi->node_end[k], end_rank = end < nn ? rank_lo[end] : vi->n_sorted;
        if (c == REGION_CODE_EXIT) /* walked for real, from the set before the byte */
            ok = ok && wg_vec_push(events, k) && wg_vec_push(events, from);
        else if (any) /* only "anything" is left: the whole subtree is uncertain */
            ok = ok && push_run(events, rank_lo[k], end_rank, WG_REGION_UNCERTAIN);
        run_lo = end_rank;
        k = end;
    }
    if (ok) ok = push_run(runs, run_lo, vi->n_sorted, 0);
    region_entry *e = NULL;
    size_t n_words = ((size_t)vi->n_vocab + 31) / 32;
    if (ok && !r->bits) {
        r->bits = malloc(n_words * sizeof *r->bits);
        r->n_words = n_words;
        ok = r->bits != NULL;
    }
    if (ok) {
        *size = sizeof *e + (r->key.n + events->n) * sizeof *e->data;
        e = malloc(*size);
    }
    if (e) {
        e->hash = h;
        e->key_len = (uint32_t)r->key.n;
        e->n_acc = 0;
        e->n_events = (uint32_t)(events->n / 2);
        e->bits = NULL;
        memcpy(e->data, r->key.v, r->key.n * sizeof *e->data);
        if (events->n) memcpy(e->data + r->key.n, events->v, events->n * sizeof *e->data);
        memset(r->bits, 0, n_words * sizeof *r->bits);
        for (size_t i = 0; i < runs->n; i += 2) {
            for (uint32_t k = runs->v[i]; k < runs->v[i + 1]; k++) {
                uint32_t t = (uint32_t)vi->sorted_ids[k];
                r->bits[t >> 5] |= 1u << (t & 31);
            }
            e->n_acc += runs->v[i + 1] - runs->v[i];
        }
    }
    return e;
}

int wg_region_walk(wg_regions *r, wg_region_memo *m, const wg_grammar *g, const wg_vocab_index *vi,
                   uint32_t entry, double deadline, wg_region_result *out) {
    if (!serialize(r, g, vi, entry)) return WG_REGION_NONE;
    uint64_t h = hash_words(r->key.v, r->key.n);
    pthread_mutex_lock(&m->lock);
    const region_entry *e = find(m, &r->key, h);
    pthread_mutex_unlock(&m->lock);
    if (!e) {
        size_t size = 0;
        bool late = false;
        region_entry *ne = walk_region(r, g, vi, h, deadline, &late, &size);
        if (!ne) return late ? WG_REGION_LATE : WG_REGION_NONE;
        pthread_mutex_lock(&m->lock);
        e = find(m, &r->key, h); /* another thread may have walked it meanwhile */
        bool taken = !e && r->key.n <= KEEP_MAX_KEY && publish(m, ne, size, r->bits, r->n_words);
        pthread_mutex_unlock(&m->lock);
        if (taken) {
            e = ne;
        } else if (e) {
            free(ne);
        } else { /* too large to keep, or the memo is full: this thread keeps the walk until its next one */
            free(r->own);
            ne->bits = r->bits;
            e = r->own = ne;
        }
    }
    out->kept = e != r->own;
    out->acc_bits = e->bits;
    out->n_acc = e->n_acc;
    out->events = e->data + e->key_len;
    out->n_events = e->n_events;
    out->states = r->states.v;
    return WG_REGION_OK;
}
