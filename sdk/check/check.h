/* weft-plugin-check: what the rule files share. A rule is one property of a
 * kind's contract (docs/sdk.md lists them); it gets the component under test
 * and returns PASS, FAIL or SKIP with a reason. Rules build their own
 * instances, so each can run in a child process of its own. */
#ifndef WEFT_CHECK_H
#define WEFT_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/weft.h>

#include "host.h" /* weft_rng: libweft's deterministic generator */

/* ---- settings and results ------------------------------------------------ */

/* One --param: applies to every component declaring `key`, or only to the
 * component named `component` when set. `value` is JSON text, or a bare
 * string when it does not parse as JSON. */
typedef struct chk_param {
    const char *component; /* NULL = any */
    const char *key;
    const char *value;
} chk_param;

typedef struct chk_options {
    chk_param *params;
    size_t n_params;
    const char *model;      /* --model: a backend's "model"; also makes a backend for other kinds */
    const char *backend;    /* --backend: the backend other kinds' rules use (default "llama" with --model) */
    const char *models_dir; /* where relative FILE parameters are looked up */
    uint64_t seed;
    bool fork;              /* each rule in a child process (crash isolation) */
    unsigned timeout;       /* seconds per rule in a child; 0 = none */
    bool quiet;             /* print FAIL lines only */
} chk_options;

typedef enum chk_verdict { CHK_PASS, CHK_FAIL, CHK_SKIP } chk_verdict;

typedef struct chk_result {
    chk_verdict verdict;
    char why[480];
} chk_result;

/* The component under test, as rules see it. */
typedef struct chk_subject {
    weft_registry *reg;
    const weft_component_info *info;
    const weft_component_desc *desc;
    const chk_options *opt;
} chk_subject;

/* Set the verdict with a printf-style reason; chk_fail returns false so a
 * rule can `return chk_fail(r, ...)` from a bool helper. */
void chk_pass(chk_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool chk_fail(chk_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void chk_skip(chk_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef void (*chk_rule_fn)(const chk_subject *s, chk_result *r);

typedef struct chk_rule {
    const char *name; /* "sampler.finite": printed, and what tests grep for */
    chk_rule_fn fn;
} chk_rule;

/* The rules of each kind, in report order (rules_*.c). Every component also
 * gets chk_common_rules (rules_desc.c). */
extern const chk_rule chk_common_rules[];
extern const size_t chk_n_common_rules;
extern const chk_rule chk_sampler_rules[], chk_drafter_rules[], chk_verifier_rules[],
    chk_grammar_rules[], chk_backend_rules[], chk_kv_rules[];
extern const size_t chk_n_sampler_rules, chk_n_drafter_rules, chk_n_verifier_rules,
    chk_n_grammar_rules, chk_n_backend_rules, chk_n_kv_rules;

/* ---- instances (instance.c) ---------------------------------------------- */

typedef struct chk_instance chk_instance;

/* Creates a component of `kind` named `name` from its declared defaults plus
 * the --param values that apply to it (and --model for backends), exactly as
 * a pipeline would: validated, files resolved, nested components created.
 * NULL on failure, with the host's message in err; *needs_params (may be
 * NULL) tells a failure that more parameters could fix (a required one is
 * missing, or some have no default) from a plain failure. */
chk_instance *chk_instance_new(const chk_subject *s, weft_kind kind, const char *name, char *err,
                               size_t cap, bool *needs_params);
/* The instance under test: chk_instance_new(s, s->desc->kind, s->desc->name). */
chk_instance *chk_subject_new(const chk_subject *s, char *err, size_t cap, bool *needs_params);
weft_instance *chk_inst(chk_instance *i);
/* The message the instance last reported through host->error ("" if none). */
const char *chk_instance_error(const chk_instance *i);
void chk_instance_clear_error(chk_instance *i);
void chk_instance_free(chk_instance *i);

/* The instance under test, or a SKIP (parameters missing) or FAIL verdict;
 * the reason refers to lifecycle.create, which reports the details. */
chk_instance *chk_open(const chk_subject *s, chk_result *r);

/* A backend for rules that want one (--backend, default llama, given
 * --model as its model), or NULL when none was asked for or it cannot be
 * made (*why says which). */
chk_instance *chk_backend_new(const chk_subject *s, char *why, size_t cap);

/* Validates one declared default against its own declaration, the way the
 * host validates pipeline values (FILE defaults are not resolved). */
bool chk_param_default_ok(const chk_subject *s, const weft_param_desc *p, char *err, size_t cap);

/* ---- generated inputs (gen.c) -------------------------------------------- */

/* The checker's vocabulary: CHK_VOCAB tokens, small enough that rules can try
 * every token, and not a multiple of 32 so masks have padding bits. 0 is an
 * end-of-generation control token, 1 a BOS; the rest are single characters
 * (JSON punctuation, digits, letters, space, newline) and a few multi-byte
 * tokens. */
#define CHK_VOCAB 61
#define CHK_EOG 0
const weft_vocab *chk_vocab(void);

/* Uniform in [0, 1) and an integer in [0, n). */
double chk_uniform(weft_rng *rng);
uint32_t chk_below(weft_rng *rng, uint32_t n);
/* A standard normal draw (Box-Muller). */
double chk_normal(weft_rng *rng);
/* A random distribution over `support` distinct tokens drawn from [0, n_vocab),
 * written to out (room for support): p > 0, summing to 1. */
void chk_random_dist(weft_rng *rng, int32_t n_vocab, size_t support, weft_candidate *out);
/* Inverse-CDF draw from a distribution. */
weft_token chk_draw(weft_rng *rng, const weft_candidate *d, size_t n);
/* Text that repeats a short random pattern of tokens in [2, n_vocab) with
 * occasional noise, so that n-gram drafters find matches. */
typedef struct chk_pattern {
    weft_token tokens[6];
    size_t len;
    int32_t n_vocab;
} chk_pattern;
void chk_pattern_new(weft_rng *rng, int32_t n_vocab, chk_pattern *p);
/* Token i of the text: the pattern's, or noise one time in eight. */
weft_token chk_pattern_at(weft_rng *rng, const chk_pattern *p, size_t i);
/* n tokens of such a text with a fresh pattern. */
void chk_history(weft_rng *rng, int32_t n_vocab, weft_token *out, size_t n);

/* ---- a synthetic KV cache (kv_cache.c) ---------------------------------- */

/* A backend instance inside the checker whose kv_view() shows random keys,
 * values and attention over up to CHK_CACHE_MAX slots (4 layers, 2 KV heads
 * of 8, positions = slots): what KV compressors plan over without a model. */
#define CHK_CACHE_MAX 1024
typedef struct chk_cache chk_cache;
chk_cache *chk_cache_new(uint64_t seed);
void chk_cache_set_len(chk_cache *c, int32_t len);
weft_instance *chk_cache_instance(chk_cache *c);
void chk_cache_free(chk_cache *c);

/* ---- reporting (report.c) ------------------------------------------------ */

/* Runs one rule (in a child process when opt->fork) and prints its line:
 * "PASS|FAIL|SKIP <kind> <name>: <rule>: <reason>". Returns the verdict. */
chk_verdict chk_run_rule(const chk_subject *s, const chk_rule *rule);

#endif
