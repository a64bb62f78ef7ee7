/* Fuzz target: the create-sandbox spec parser, sandbox_spec_from_json() (src/sandbox/spec.c),
 * fed the same way the server does (jansson with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY).
 *
 * Invariants: success leaves every limit inside its documented range (docs/API.md) and the
 * name valid; failure returns -EINVAL (or -ENOMEM) with a message; nothing leaks (ASan). */
#include <errno.h>
#include <string.h>

#include "base/limits.h"
#include "fuzz.h"
#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sandbox_spec spec;
    struct cove_err err = {0};
    json_error_t je;
    json_t *body;
    int r;

    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!body)
        return 0;
    sandbox_spec_init(&spec);
    if (!json_is_object(body)) {
        json_decref(body);
        sandbox_spec_done(&spec);
        return 0;
    }
    r = sandbox_spec_from_json(body, &spec, &err);
    if (r < 0) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(err.code == r && err.msg[0]);
    } else {
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(spec.cpu_milli >= 10 && spec.cpu_milli <= COVE_MAX_CPU_MILLI);
        FUZZ_CHECK(spec.memory_mib >= COVE_MIN_MEMORY_MIB &&
                   spec.memory_mib <= COVE_MAX_MEMORY_MIB);
        FUZZ_CHECK(spec.disk_mib >= COVE_MIN_DISK_MIB && spec.disk_mib <= COVE_MAX_DISK_MIB);
        FUZZ_CHECK(spec.pids >= 16 && spec.pids <= COVE_MAX_PIDS);
        FUZZ_CHECK(spec.auto_stop_min >= 0 && spec.auto_stop_min <= COVE_MAX_AUTOSTOP_MIN);
        FUZZ_CHECK(!spec.name[0] || sandbox_name_valid(spec.name) == 0);
        FUZZ_CHECK(spec.image[0] && strlen(spec.image) < sizeof(spec.image));
        FUZZ_CHECK(!spec.env || json_object_size(spec.env) <= COVE_MAX_ENV);
        FUZZ_CHECK(!spec.labels || json_object_size(spec.labels) <= COVE_MAX_LABELS);
    }
    sandbox_spec_done(&spec);
    json_decref(body);
    return 0;
}
