/* weft — the headless pipeline runner. */
#include <stdio.h>
#include <string.h>

#include "runner.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: weft <command> [options]\n"
            "\n"
            "commands:\n"
            "  run PIPELINE.json -p PROMPT        generate text (stdout) with stats (stderr)\n"
            "  run PIPELINE.json --input IN.jsonl --output OUT.jsonl   batch mode\n"
            "  check PIPELINE.json                validate a pipeline without running it\n"
            "  call PIPELINE.json COMPONENT ACTION [ARG...]   call a declared action\n"
            "  plugins [describe NAME]            list plugins, or show one's parameters\n"
            "  bench PIPELINE.json... --prompts F speed against the same pipelines without drafter\n"
            "\n"
            "Run 'weft <command> --help' for a command's options.\n"
            "exit codes: 0 ok, 1 generation failed, 2 usage, 3 invalid pipeline, 4 plugin error,\n"
            "            5 i/o error, 6 batch finished with failed lines,\n"
            "            7 bench: a lossless pipeline's output differs from its baseline, 130 interrupted\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("weft %s (plugin ABI %d.%d)\n", WEFT_VERSION, WEFT_ABI_MAJOR, WEFT_ABI_MINOR);
        return EXIT_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "call") == 0) return cmd_call(argc - 1, argv + 1);
    if (strcmp(cmd, "plugins") == 0) return cmd_plugins(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "weft: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
