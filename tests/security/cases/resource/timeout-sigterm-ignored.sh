# attack: ignore SIGTERM and spin, hoping the timeout only asks politely
# why: the timeout kills the command's whole cgroup with SIGKILL, which cannot be ignored
# timeout: 2
# expect: timed_out=true signal=SIGKILL duration<=5
# after: quiet
trap '' TERM INT HUP
while :; do :; done
