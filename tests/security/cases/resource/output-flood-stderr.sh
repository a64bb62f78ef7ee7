# attack: flood stderr instead of stdout
# why: both streams have their own cap and truncation flag
# timeout: 3
# expect: timed_out=true stderr_truncated=true stdout_truncated=false duration<=6
yes "flooding stderr" >&2
