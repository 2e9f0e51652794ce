/* Internals of the JSON Schema front-end, shared by its files.
 *
 * Compilation has two passes:
 *   1. normalize (normalize.c, kw_*.c, refs.c, intersect.c, negate.c):
 *      each schema object becomes a js_node, the constraints of its
 *      keywords gathered per instance type, applicators resolved: allOf
 *      intersected, anyOf and oneOf as alternatives (distributed over
 *      sibling keywords), not as a complement, $ref kept as a lazy
 *      reference where it stands alone (recursion);
 *   2. emit (emit*.c, members.c, numrange.c, formats.c, json_chars.c,
 *      rx_json.c, rx_product.c): js_node -> engine IR, one rule per node.
 * JSON Schema keywords constrain only instances of their type (2020-12
 * Validation §6.1-6.5), which is why a node keeps one constraint record per
 * type and a set of allowed types. */
#ifndef WEFT_JS_INTERNAL_H
#define WEFT_JS_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema.h"

/* ---- instance types (2020-12 Core §4.2.1) ---- */

enum {
    JT_NULL = 1u << 0,
    JT_BOOL = 1u << 1,
    JT_NUM = 1u << 2, /* "integer" is JT_NUM with js_num.integer */
    JT_STR = 1u << 3,
    JT_ARR = 1u << 4,
    JT_OBJ = 1u << 5,
    JT_ALL = (1u << 6) - 1,
};

#define JS_NO_MAX UINT64_MAX

typedef struct js_node js_node;

typedef struct js_num {
    bool integer;
    bool non_integer; /* from not integer: a nonzero fractional part */
    bool has_lo, has_hi, lo_excl, hi_excl;
    double lo, hi;
    double multiple_of; /* 0: none */
    const weft_json *multiple_of_at;
} js_num;

typedef enum js_format {
    JF_NONE = 0,
    JF_DATE,
    JF_TIME,
    JF_DATE_TIME,
    JF_DURATION,
    JF_UUID,
    JF_EMAIL,
    JF_HOSTNAME,
    JF_IPV4,
    JF_IPV6,
    JF_URI,
    JF_URI_REFERENCE,
    JF_IRI,
    JF_IRI_REFERENCE,
    JF_IDN_EMAIL,
    JF_IDN_HOSTNAME,
    JF_JSON_POINTER,
    JF_RELATIVE_JSON_POINTER,
    JF_URI_TEMPLATE,
    JF_REGEX,
} js_format;

typedef struct js_str {
    uint64_t min_len, max_len;     /* in characters (code points) */
    const weft_json **patterns;    /* string nodes, all must match */
    size_t n_patterns;
    js_format format;
    const weft_json *format_at;
    const weft_json **not_in;      /* string values excluded (from `not`) */
    size_t n_not_in;
    const weft_json **not_patterns; /* patterns none may match (from `not`) */
    size_t n_not_patterns;
} js_str;

typedef struct js_arr {
    js_node **prefix; /* prefixItems (or draft-7 array `items`) */
    size_t n_prefix;
    js_node *items;   /* the rest; NULL: any */
    uint64_t min_items, max_items;
    bool unique; /* uniqueItems: true */
    const weft_json *unique_at;
} js_arr;

typedef struct js_prop {
    const char *name;
    js_node *schema;
    const weft_json *at;
} js_prop;

typedef struct js_pprop {
    const char *regex;
    js_node *schema;
    const weft_json *at;
} js_pprop;

typedef struct js_obj {
    js_prop *props;
    size_t n_props;
    const char **required;
    size_t n_required;
    const weft_json *required_at;
    js_pprop *pprops;
    size_t n_pprops;
    js_node *additional; /* NULL: any value */
    const weft_json *additional_at;
    js_node *names;      /* propertyNames; NULL: any */
    const weft_json *names_at;
    uint64_t min_props, max_props;
} js_obj;

typedef enum js_kind {
    JS_FLAT,  /* constraints per type */
    JS_ANYOF, /* union of alts */
    JS_REF,   /* the schema at ref_target (lazy: recursion) */
    JS_AND,   /* alts[0] and alts[1], two references (lazy, see js_intersect) */
} js_kind;

struct js_node {
    js_kind kind;
    const weft_json *at; /* the schema it comes from, for messages */
    /* JS_FLAT */
    unsigned types;
    js_num num;
    js_str str;
    js_arr arr;
    js_obj obj;
    bool has_enum; /* enum/const: the instance is one of enum_vals */
    const weft_json **enum_vals;
    size_t n_enum;
    /* JS_ANYOF */
    js_node **alts;
    size_t n_alts;
    /* JS_REF */
    const weft_json *ref_target;
    /* JS_AND: the intersection, once computed */
    js_node *resolved;
    /* emission memo */
    bool emitted;
    wg_expr expr;
};

/* ---- the compilation context ---- */

typedef struct js_chunk js_chunk;

/* Memo of a schema location: its normalized node, and its rule once emitted. */
typedef struct js_memo {
    const weft_json *json;
    js_node *node;
    bool busy; /* being normalized: a $ref back to it is a cycle */
    wg_rule rule;
    bool has_rule;
    const char *base; /* base URI of the schema object (refs.c) */
} js_memo;

/* A schema resource: a subschema with an $id (or the root), for $ref. */
typedef struct js_resource {
    const char *uri; /* absolute, without fragment ("" for the root without $id) */
    const weft_json *node;
} js_resource;

/* A rule whose body is still to be emitted (emit.c). */
typedef struct js_pending {
    wg_rule rule;
    js_node *node; /* JS_REF or JS_AND */
} js_pending;

typedef struct js_ctx {
    const weft_env *env;
    const weft_host *h;
    js_options opt;
    wg_builder *b;
    js_warnings *warn;
    weft_status status; /* first failure */
    const weft_json *root;
    bool legacy; /* draft-04..07: $ref overrides its siblings; items arrays */
    /* arena */
    js_chunk *chunks;
    /* memo: open addressing over json node addresses */
    js_memo *memo;
    size_t memo_cap, memo_n;
    /* resources and anchors (refs.c) */
    js_resource *res;
    size_t n_res, cap_res;
    js_resource *anchors; /* uri = "<resource uri>#<anchor>" */
    size_t n_anchors, cap_anchors;
    /* probing (oneOf disjointness): failures make the probe inconclusive
     * instead of failing the compilation */
    int probing;
    bool probe_failed;
    /* budgets against exponential schemas */
    size_t n_alts_made;
    size_t n_unordered_sets; /* members.c */
    /* intersections of two references, one node per pair (intersect.c) */
    js_node **ands;
    size_t n_ands, cap_ands;
    int depth;
    /* rules of references, emitted after the root (emit.c) */
    js_pending *pending;
    size_t n_pending, cap_pending;
    /* shared rules (emit.c) */
    wg_rule r_value, r_string, r_ws;
    bool have_value, have_string, have_ws;
    wg_expr e_char; /* one canonical JSON string character */
    wg_expr e_wide; /* a non-ASCII character or any escape (json_chars.c) */
    bool have_char, have_wide;
    /* compile limits (wg_limits): the front-end's own work counts against
     * max_ms too, and its memory against max_states (ctx.c) */
    wg_limits lim;
    double deadline;    /* wg_now_ms() clock */
    size_t arena_bytes, max_arena;
    unsigned ticks;
    bool over_budget;
    /* regexes compiled for js_regex_test, by text (regex_test.c) */
    struct js_rx_cache *rx_cache;
    size_t n_rx_cache, cap_rx_cache;
} js_ctx;

#define JS_MAX_DEPTH 200      /* nesting of normalize/intersect/emit */
#define JS_MAX_ALTS 4096      /* alternatives created by distributing anyOf */

/* ---- arena and errors (ctx.c) ---- */

/* Starts the budget of a compilation under lim (NULL: the defaults). */
void js_ctx_limits(js_ctx *c, const wg_limits *lim);
/* False (and a hard failure that probing does not swallow) once the
 * compilation runs past max_ms or its working memory past the limit. */
bool js_budget_ok(js_ctx *c);
/* lim with max_ms cut to the time left, for the engine compiles the
 * front-end makes (regex tests, automata products, the grammar itself);
 * max_states: 0 keeps lim's. */
wg_limits js_limits_left(const js_ctx *c, size_t max_states);
/* Frees what the compilation allocated (the arena, the memo, the regex
 * cache). */
void js_ctx_release(js_ctx *c);

/* Zeroed memory living until the compilation ends; NULL (and status NOMEM). */
void *js_new(js_ctx *c, size_t size);
char *js_strdup(js_ctx *c, const char *s);
/* Grows *arr (of elem bytes, *n used, *cap slots) by one slot; NULL on OOM. */
void *js_push(js_ctx *c, void **arr, size_t *n, size_t *cap, size_t elem);

/* Records the first failure as "<pointer of at>: message"; returns false. */
bool js_fail(js_ctx *c, const weft_json *at, weft_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A keyword (or use of one) that cannot be enforced: an error, or, when
 * lenient, a warning; returns true when compilation goes on (lenient). */
bool js_unsupported(js_ctx *c, const weft_json *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A warning that never fails (e.g. an unknown format, an annotation). */
void js_warn(js_ctx *c, const weft_json *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline bool js_ok(const js_ctx *c) { return c->status == WEFT_OK; }

/* Memo slot for a schema location (created empty on first use); NULL on OOM. */
js_memo *js_memo_get(js_ctx *c, const weft_json *json);

/* ---- JSON helpers over the host accessors (jsonv.c) ---- */

/* Deep equality of JSON values (2020-12 Core §4.2.2: numbers by value,
 * objects regardless of member order). */
bool js_json_equal(const js_ctx *c, const weft_json *a, const weft_json *b);
/* False (a schema error) if an object anywhere in v has a key twice: the
 * host's json_get sees the first, validators often the last, so the
 * grammar could accept what they reject. Also bounds the applicator
 * keywords of one schema object (normalize.c). */
bool js_json_unique_keys(js_ctx *c, const weft_json *v);
/* Number of Unicode code points of a UTF-8 string. */
uint64_t js_utf8_length(const char *s);
/* True if x is an integer-valued finite double. */
bool js_is_integral(double x);
/* Non-negative integer value of a keyword (e.g. minLength); false (and a
 * schema error) otherwise. */
bool js_get_count(js_ctx *c, const weft_json *v, uint64_t *out);
/* The member's string value, or NULL (with a schema error) if it is not one. */
const char *js_get_string(js_ctx *c, const weft_json *v, const char *what);

/* ---- pass 1 (normalize.c, kw_*.c, refs.c, intersect.c, negate.c) ---- */

js_node *js_node_new(js_ctx *c, const weft_json *at, js_kind kind);
js_node *js_node_any(js_ctx *c, const weft_json *at);     /* true */
js_node *js_node_nothing(js_ctx *c, const weft_json *at); /* false */
/* A shallow copy of a flat node (its arrays are copied too, so appending to
 * the copy does not touch the original). */
js_node *js_node_copy(js_ctx *c, const js_node *n);
/* A flat node with no constraint at all (accepts every instance). */
bool js_node_is_any(const js_node *n);

/* The normalized node of the schema at json (memoized); NULL on failure. */
js_node *js_normalize(js_ctx *c, const weft_json *json);

/* Keyword families: each applies keyword `kw` (value v) of the schema
 * object s to the flat node n, which holds s's constraints; false on
 * failure. */
typedef bool (*js_kw_fn)(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_type(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_enum(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_number(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_string(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_array(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
bool js_kw_object(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v);
/* The keyword a value belongs to (the last token of its JSON pointer). */
const char *js_kw_name(const js_ctx *c, const weft_json *v);
/* Tightens a numeric bound (keeps the stricter one). */
void js_num_lo(js_num *u, double x, bool excl);
void js_num_hi(js_num *u, double x, bool excl);
/* Restricts n to the given values (enum / const; intersects an existing
 * enum). */
bool js_restrict_enum(js_ctx *c, js_node *n, const weft_json *const *vals, size_t k);

/* Conditional keywords as unions (kw_conditional.c): dependentRequired,
 * dependentSchemas and dependencies (v: the keyword's object); if (v: its
 * schema, s: the schema object holding then/else). NULL on failure. */
js_node *js_kw_dependencies(js_ctx *c, const weft_json *v);
js_node *js_kw_if(js_ctx *c, const weft_json *s, const weft_json *v);

/* Makes props[k] the whole constraint on declared key k by intersecting the
 * matching patternProperties (Core §10.3.2.2 applies both); false on failure. */
bool js_finalize_props(js_ctx *c, js_node *n);

/* The constraint object o puts on the value of key `name` when name is not
 * one of its declared properties: the matching patternProperties (Core
 * §10.3.2.2), or else additionalProperties. *out NULL: any. False on
 * failure. */
bool js_undeclared_rule(js_ctx *c, const js_obj *o, const char *name, js_node **out);

/* The node for `not` (complement where exactly representable). */
js_node *js_negate(js_ctx *c, js_node *n, const weft_json *at);

/* $ref: the target schema location of ref (a string) appearing in the
 * schema object s; NULL (with an error) when it cannot be resolved. */
const weft_json *js_ref_resolve(js_ctx *c, const weft_json *s, const weft_json *ref);
/* Indexes $id and $anchor of the document (before normalizing). */
bool js_refs_index(js_ctx *c);
/* Follows JS_REF nodes to a non-ref node; NULL on failure (cycle, error). */
js_node *js_deref(js_ctx *c, js_node *n);

/* The intersection of two nodes (allOf); NULL on failure. */
js_node *js_intersect(js_ctx *c, js_node *a, js_node *b);
/* A union node of the alternatives (anyOf); NULL on failure. */
js_node *js_union(js_ctx *c, js_node **alts, size_t n, const weft_json *at);
/* True when no instance can satisfy n (decided conservatively: false when
 * unsure). Used to drop impossible alternatives and to prove oneOf branches
 * disjoint. */
bool js_unsat(js_ctx *c, js_node *n);
/* Drops the types of a flat node whose constraints no instance meets. */
void js_prune_types(js_ctx *c, js_node *n);

/* Does the literal value satisfy the node?  1 yes, 0 no, -1 unknown. */
int js_check(js_ctx *c, js_node *n, const weft_json *value);
/* The same for a string value given as a C string (a property name). */
int js_check_string(js_ctx *c, js_node *n, const char *s);
/* Does the string match the regex (ECMA-262 RegExp.test)?  1, 0, -1 unknown
 * (a regex the engine cannot compile). */
int js_regex_test(js_ctx *c, const char *regex, const char *s);
/* Frees the regexes js_regex_test compiled (js_ctx_release calls it). */
void js_rx_cache_free(js_ctx *c);

/* ---- pass 2 (emit*.c) ---- */

/* The expression matching the JSON texts of n's instances. */
wg_expr js_emit(js_ctx *c, js_node *n);
/* Emits the bodies of the rules js_emit left pending (references); false
 * on failure. */
bool js_emit_pending(js_ctx *c);
wg_expr js_emit_number(js_ctx *c, js_node *n);
wg_expr js_emit_string(js_ctx *c, js_node *n);
wg_expr js_emit_array(js_ctx *c, js_node *n);
wg_expr js_emit_object(js_ctx *c, js_node *n);
/* An object's members (members.c). */
typedef struct js_members {
    const wg_expr *kv;     /* "key" ws ":" ws value ws, one per member */
    const bool *required;
    size_t n;
    wg_expr extra;         /* any other member (a rule reference), or -1 */
    uint64_t min, max;     /* member counts (max JS_NO_MAX: none) */
} js_members;
/* "{" ws members "}": in any order for a few members, else in their order. */
wg_expr js_emit_members(js_ctx *c, const js_members *m, const weft_json *at);

/* A string's canonical JSON text, quotes included. */
wg_expr js_string_literal(js_ctx *c, const char *s);
/* The JSON text of one value (enum/const), whitespace per the options. */
wg_expr js_emit_literal(js_ctx *c, const weft_json *v);

/* e{lo,hi} (hi WG_INF: unbounded), in rule-sized pieces when long. */
wg_expr js_repeat(js_ctx *c, wg_expr e, uint32_t lo, uint32_t hi);
/* Whitespace between tokens (empty when compact). */
wg_expr js_ws(js_ctx *c);
/* Any JSON value (2020-12 `true`). */
wg_expr js_any_value(js_ctx *c);
/* `"` + characters of any string + `"`, canonical encoding. */
wg_expr js_any_string(js_ctx *c);
/* One character of a JSON string, canonically encoded (json_chars.c). */
wg_expr js_json_char(js_ctx *c);
/* Any escape sequence of the canonical encoding. */
wg_expr js_escape_any(js_ctx *c);
/* One canonically encoded character from the code point set given as n
 * inclusive ranges (pairs), or outside it when negated. */
wg_expr js_json_chars(js_ctx *c, const uint32_t *ranges, size_t n, bool negated);
/* The canonical encoding of a decoded string (no quotes) into buf; returns
 * the length, or (size_t)-1 if it does not fit. */
size_t js_json_encode(const char *s, char *buf, size_t cap);
/* A string (quotes included) that is not any of the n decoded strings. */
wg_expr js_string_not_in(js_ctx *c, const char *const *names, size_t n, const weft_json *at);
/* A regex over decoded characters (`pattern`, unanchored) as IR over their
 * canonical encodings, with the range of its strings' lengths in
 * characters; -1 (and an unsupported-keyword error) if the engine cannot
 * translate it. */
wg_expr js_regex_json(js_ctx *c, const weft_json *at, const char *regex, uint64_t *min_len, uint64_t *max_len);

/* Boolean combinations of string languages (rx_product.c): parts are
 * unanchored regexes or sets of literal strings; the strings accepted match
 * every part in `must`, no part in `must_not`, and have min_len..max_len
 * characters. The result reads their JSON text (no quotes); -1 on failure.
 * *empty (may be NULL) tells whether no string qualifies. */
typedef struct js_rx_part {
    js_format format;         /* a format's grammar (one without escapes), or */
    const char *regex;        /* a regex, or NULL: the names */
    const char *const *names;
    size_t n_names;
    const weft_json *at;      /* for messages */
} js_rx_part;
typedef struct js_rx_query {
    const js_rx_part *parts;
    size_t n_parts;
    uint32_t must, must_not; /* bit i: part i */
    uint64_t min_len, max_len;
} js_rx_query;
wg_expr js_rx_combine(js_ctx *c, const js_rx_query *q, const weft_json *at, bool *empty);

/* Decimal numbers in a range (numrange.c). */
wg_expr js_emit_num_range(js_ctx *c, const js_num *num, const weft_json *at);
/* String formats (formats.c): the content between the quotes. */
wg_expr js_emit_format(js_ctx *c, js_format f);
js_format js_format_lookup(const char *name);
/* Lengths in characters every string of the format has. */
void js_format_lengths(js_format f, uint64_t *min, uint64_t *max);

#endif
