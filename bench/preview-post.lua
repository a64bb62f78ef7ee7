-- bench/preview-post.lua - wrk script of bench/preview.sh: every request is a POST of 1 MiB.
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
