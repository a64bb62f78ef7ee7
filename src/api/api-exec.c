/* POST /v1/sandboxes/{id}/exec: parse the request (exec-req.c), run it, report the result as
 * data. */
#include <errno.h>
#include <stdlib.h>

#include "api/api.h"
#include "base/limits.h"
#include "exec/exec.h"

int api_exec(struct http_req *req)
{
    struct exec_req er = {0};
    struct exec_result res;
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    char cwd[COVE_MAX_PATH + 1];
    json_t *body = http_req_json(req);
    int r;

    if (!body)
        return 0;
    r = exec_req_from_json(body, &er, cwd, sizeof(cwd), &err);
    if (r < 0)
        api_reply_err(req, &err);
    if (r < 0 || api_lookup(req, &sb) < 0) {
        free(er.argv);
        json_decref(body);
        return 0;
    }
    exec_result_init(&res, er.max_output);
    r = exec_run(sb, &er, &res, &err);
    if (r < 0)
        api_reply_err(req, &err);
    else
        http_reply_json(req, 200, exec_result_json(&res));
    exec_result_done(&res);
    free(er.argv);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}
