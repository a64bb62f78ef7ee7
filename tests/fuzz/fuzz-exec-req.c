/* Fuzz target: the exec request parser, exec_req_from_json() (src/exec/exec-req.c), fed the
 * way the server does (jansson with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY).
 *
 * Invariants: success gives a NULL-terminated argv of at most 4096 + 3 entries without NUL
 * bytes inside any argument, a normalised absolute cwd, a timeout in 1 ms..24 h, an output
 * cap within 16 MiB and stdin within 16 MiB; failure leaves the request zeroed with a
 * message; nothing leaks (ASan). */
#include <errno.h>
#include <string.h>

#include "base/limits.h"
#include "base/path.h"
#include "exec/exec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct exec_req req;
    struct cove_err err = {0};
    char cwd[COVE_MAX_PATH + 1], again[COVE_MAX_PATH + 1];
    json_error_t je;
    json_t *body;
    size_t n = 0;
    int r;

    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!body)
        return 0;
    r = exec_req_from_json(body, &req, cwd, sizeof(cwd), &err);
    if (r < 0) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(err.code == r && err.msg[0]);
        FUZZ_CHECK(!req.argv && !req.cwd && !req.env && !req.stdin_data);
    } else {
        json_t *cmd = json_object_get(body, "cmd");
        FUZZ_CHECK(req.argv && req.argv[0]);
        for (; req.argv[n]; n++) {
            FUZZ_CHECK(n < COVE_MAX_ARGV + 3);
            /* No argument was cut short by a NUL byte inside it. */
            if (cmd)
                FUZZ_CHECK(strlen(req.argv[n]) == json_string_length(json_array_get(cmd, n)));
        }
        FUZZ_CHECK(!cmd || n == json_array_size(cmd));
        FUZZ_CHECK(req.cwd == cwd && cwd[0] == '/');
        FUZZ_CHECK(path_normalize("/", cwd, again, sizeof(again)) >= 0 && !strcmp(again, cwd));
        FUZZ_CHECK(req.timeout_ms >= 1 && req.timeout_ms <= COVE_MAX_TIMEOUT_MS);
        FUZZ_CHECK(req.max_output <= COVE_MAX_OUTPUT_CAP);
        FUZZ_CHECK(!req.stdin_data || req.stdin_len <= COVE_MAX_STDIN_BYTES);
        FUZZ_CHECK(!req.env || json_is_object(req.env));
        free(req.argv);
    }
    json_decref(body);
    return 0;
}
