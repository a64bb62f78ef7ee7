/* Replay driver for the fuzz targets when they are not built with libFuzzer: runs
 * LLVMFuzzerTestOneInput() once over every file named on the command line, or every file of
 * every directory named there (in name order, not recursively), so `meson test --suite fuzz`
 * replays the in-tree corpora under the sanitizers of the build. Exits 0 after the last input;
 * a finding aborts (assert, ASan or UBSan with halt_on_error) and names no file itself, so the
 * file name is printed before each input with COVE_FUZZ_VERBOSE=1. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (16u << 20)

static int run_file(const char *path, bool verbose)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *data;
    size_t n;

    if (!f) {
        fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    data = malloc(REPLAY_MAX_INPUT);
    if (!data) {
        fclose(f);
        return -1;
    }
    n = fread(data, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
    if (verbose)
        fprintf(stderr, "fuzz replay: %s (%zu bytes)\n", path, n);
    /* Hand over an exactly sized copy, so ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, n);
    free(data);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, bool verbose, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0;
    struct dirent *de;
    int r = 0;

    if (!d) {
        fprintf(stderr, "fuzz replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn) {
                r = -1;
                break;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            r = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (r >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            r = run_file(path, verbose);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int main(int argc, char **argv)
{
    bool verbose = getenv("COVE_FUZZ_VERBOSE") != NULL;
    size_t count = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "fuzz replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? run_dir(argv[i], verbose, &count) < 0
                                : (count++, run_file(argv[i], verbose) < 0))
            return 1;
    }
    printf("%s: %zu inputs replayed\n", argv[0], count);
    return 0;
}
