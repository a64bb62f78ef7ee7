/* Parsing a /v1 create request into struct sandbox_spec through a dispatch table.
 * Unknown keys, wrong types and out-of-range values are 400s with a message naming the
 * field and the accepted range. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "sandbox/sandbox.h"

void sandbox_spec_init(struct sandbox_spec *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->image, sizeof(s->image), "base");
    s->cpu_milli = COVE_DEFAULT_CPU_MILLI;
    s->memory_mib = COVE_DEFAULT_MEMORY_MIB;
    s->disk_mib = COVE_DEFAULT_DISK_MIB;
    s->pids = COVE_DEFAULT_PIDS;
    s->auto_stop_min = COVE_DEFAULT_AUTOSTOP_MIN;
    s->auto_delete_min = -1;
}

void sandbox_spec_done(struct sandbox_spec *s)
{
    json_decref(s->env);
    json_decref(s->labels);
    json_decref(s->extra);
    s->env = s->labels = s->extra = NULL;
}

int sandbox_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > COVE_MAX_NAME || name[0] == '.' || name[0] == '-')
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
            return -EINVAL;
    return 0;
}

int sandbox_string_map_valid(json_t *obj, const char *what, size_t max_n, size_t max_key,
                             size_t max_val, struct cove_err *err)
{
    const char *k;
    json_t *v;

    if (!json_is_object(obj))
        return cove_err_set(err, -EINVAL, "'%s' must be an object of strings", what);
    if (json_object_size(obj) > max_n)
        return cove_err_set(err, -EINVAL, "'%s' has more than %zu entries", what, max_n);
    json_object_foreach(obj, k, v)
    {
        if (!json_is_string(v))
            return cove_err_set(err, -EINVAL, "'%s.%s' must be a string", what, k);
        if (strlen(k) == 0 || strlen(k) > max_key)
            return cove_err_set(err, -EINVAL, "'%s' key '%.40s' must be 1-%zu bytes", what, k,
                                max_key);
        if (json_string_length(v) > max_val)
            return cove_err_set(err, -EINVAL, "'%s.%s' is longer than %zu bytes", what, k, max_val);
        if (!strcmp(what, "env") &&
            (strchr(k, '=') || memchr(json_string_value(v), 0, json_string_length(v))))
            return cove_err_set(err, -EINVAL, "env name '%s' must not contain '='", k);
    }
    return 0;
}

enum field_type { F_STRING, F_MAP, F_CPU, F_U32, F_I32, F_NETWORK };

struct field {
    const char *name;
    enum field_type type;
    size_t offset;
    double min, max;
};

static const struct field fields[] = {
    {"image", F_STRING, offsetof(struct sandbox_spec, image), 1, 63},
    {"name", F_STRING, offsetof(struct sandbox_spec, name), 1, COVE_MAX_NAME},
    {"env", F_MAP, offsetof(struct sandbox_spec, env), 0, COVE_MAX_ENV},
    {"labels", F_MAP, offsetof(struct sandbox_spec, labels), 0, COVE_MAX_LABELS},
    {"cpu", F_CPU, offsetof(struct sandbox_spec, cpu_milli), 0.01, COVE_MAX_CPU_MILLI / 1000.0},
    {"memory_mib", F_U32, offsetof(struct sandbox_spec, memory_mib), COVE_MIN_MEMORY_MIB,
     COVE_MAX_MEMORY_MIB},
    {"disk_mib", F_U32, offsetof(struct sandbox_spec, disk_mib), COVE_MIN_DISK_MIB,
     COVE_MAX_DISK_MIB},
    {"pids", F_U32, offsetof(struct sandbox_spec, pids), 16, COVE_MAX_PIDS},
    {"auto_stop_minutes", F_I32, offsetof(struct sandbox_spec, auto_stop_min), 0,
     COVE_MAX_AUTOSTOP_MIN},
    {"network", F_NETWORK, offsetof(struct sandbox_spec, network), 0, COVE_MAX_ALLOW_CIDRS},
};

static int parse_field(const struct field *f, json_t *v, struct sandbox_spec *s,
                       struct cove_err *err)
{
    char *base = (char *)s + f->offset;
    double d;

    switch (f->type) {
    case F_STRING:
        if (!json_is_string(v) || json_string_length(v) < (size_t)f->min ||
            json_string_length(v) > (size_t)f->max)
            return cove_err_set(err, -EINVAL, "'%s' must be a string of %.0f-%.0f bytes", f->name,
                                f->min, f->max);
        snprintf(base, 64, "%s", json_string_value(v));
        if (!strcmp(f->name, "name") && sandbox_name_valid(base) < 0)
            return cove_err_set(err, -EINVAL,
                                "'name' may contain only letters, digits, '.', '_' and '-', "
                                "and must not start with '.' or '-'");
        return 0;
    case F_MAP: {
        int r = sandbox_string_map_valid(
            v, f->name, (size_t)f->max, COVE_MAX_LABEL_KEY,
            !strcmp(f->name, "env") ? COVE_MAX_ENV_BYTES : COVE_MAX_LABEL_VALUE, err);
        if (r < 0)
            return r;
        json_t **slot = (json_t **)(void *)base;
        json_decref(*slot);
        *slot = json_deep_copy(v);
        return 0;
    }
    case F_NETWORK:
        return egress_policy_from_api(v, (struct egress_policy *)(void *)base, err);
    case F_CPU:
    case F_U32:
    case F_I32:
        if (!json_is_number(v))
            return cove_err_set(err, -EINVAL, "'%s' must be a number", f->name);
        d = json_number_value(v);
        if (!isfinite(d) || d < f->min || d > f->max || (f->type != F_CPU && d != floor(d)))
            return cove_err_set(err, -EINVAL, "'%s' must be %s between %g and %g", f->name,
                                f->type == F_CPU ? "a number" : "an integer", f->min, f->max);
        if (f->type == F_CPU)
            *(uint32_t *)(void *)base = (uint32_t)lround(d * 1000);
        else if (f->type == F_U32)
            *(uint32_t *)(void *)base = (uint32_t)d;
        else
            *(int32_t *)(void *)base = (int32_t)d;
        return 0;
    default:
        return -EINVAL;
    }
}

int sandbox_spec_from_json(json_t *body, struct sandbox_spec *s, struct cove_err *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(body, k, v)
    {
        const struct field *f = NULL;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !f; i++)
            if (!strcmp(fields[i].name, k))
                f = &fields[i];
        if (!f)
            return cove_err_setk(err, -EINVAL, "UNKNOWN_FIELD", "unknown field '%s'", k);
        int r = parse_field(f, v, s, err);
        if (r < 0)
            return r;
    }
    return 0;
}
