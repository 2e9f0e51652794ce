/* Per-request statistics: the runner's summary and --stats-json. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include <weft/weft.h>

static const char *timer_names[WEFT_T_COUNT] = {"tokenize", "prefill", "backend", "drafter",
                                                "grammar",  "sampler", "verifier", "kv"};

static double tok_per_s(const weft_stats *s) {
    return s->seconds_decode > 0 ? (double)s->n_generated / s->seconds_decode : 0.0;
}

static double mean_accepted(const weft_stats *s) {
    /* tokens committed per target evaluation: accepted drafts + the bonus */
    return s->n_steps ? (double)(s->n_accepted + s->n_steps) / (double)s->n_steps : 0.0;
}

char *weft_stats_json(const weft_stats *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)s->n_prompt);
    cJSON_AddNumberToObject(o, "generated_tokens", (double)s->n_generated);
    cJSON_AddNumberToObject(o, "seconds", s->seconds_total);
    cJSON_AddNumberToObject(o, "decode_seconds", s->seconds_decode);
    cJSON_AddNumberToObject(o, "tokens_per_second", tok_per_s(s));
    cJSON_AddNumberToObject(o, "steps", (double)s->n_steps);
    cJSON_AddNumberToObject(o, "drafted", (double)s->n_drafted);
    cJSON_AddNumberToObject(o, "accepted", (double)s->n_accepted);
    cJSON_AddNumberToObject(o, "acceptance_rate", s->n_drafted ? (double)s->n_accepted / (double)s->n_drafted : 0.0);
    cJSON_AddNumberToObject(o, "mean_tokens_per_step", mean_accepted(s));
    cJSON_AddBoolToObject(o, "lossy", s->lossy);
    cJSON *t = cJSON_AddObjectToObject(o, "component_seconds");
    for (int i = 0; i < WEFT_T_COUNT; i++) cJSON_AddNumberToObject(t, timer_names[i], s->t[i]);
    cJSON *h = cJSON_AddArrayToObject(o, "accepted_histogram");
    for (int i = 0; i < 17; i++) cJSON_AddItemToArray(h, cJSON_CreateNumber((double)s->accept_hist[i]));
    cJSON_AddNumberToObject(o, "warnings", (double)s->n_warnings);
    cJSON *w = cJSON_AddArrayToObject(o, "warning_messages");
    for (size_t i = 0; i < s->n_kept; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "component", s->warnings[i].component);
        cJSON_AddStringToObject(m, "message", s->warnings[i].message);
        cJSON_AddItemToArray(w, m);
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

void weft_stats_print(const weft_stats *s, void *file) {
    FILE *f = file;
    fprintf(f, "prompt %lld tokens, generated %lld tokens in %.3f s (%.1f tok/s decode)\n", (long long)s->n_prompt,
            (long long)s->n_generated, s->seconds_total, tok_per_s(s));
    fprintf(f, "steps %lld, drafted %lld, accepted %lld (%.1f%%), %.2f tokens per step\n", (long long)s->n_steps,
            (long long)s->n_drafted, (long long)s->n_accepted,
            s->n_drafted ? 100.0 * (double)s->n_accepted / (double)s->n_drafted : 0.0, mean_accepted(s));
    fprintf(f, "time:");
    for (int i = 0; i < WEFT_T_COUNT; i++) fprintf(f, " %s %.1f ms%s", timer_names[i], s->t[i] * 1e3, i + 1 < WEFT_T_COUNT ? "," : "\n");
    if (s->lossy) fprintf(f, "note: the verifier is lossy: output may differ from the target's distribution\n");
    if (s->n_warnings) fprintf(f, "warnings: %lld\n", (long long)s->n_warnings);
    for (size_t i = 0; i < s->n_kept; i++) fprintf(f, "  %s: %s\n", s->warnings[i].component, s->warnings[i].message);
    if (s->n_warnings > (int64_t)s->n_kept)
        fprintf(f, "  (%lld more not kept)\n", (long long)(s->n_warnings - (int64_t)s->n_kept));
}
