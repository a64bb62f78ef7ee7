# attack: SIGSTOP the command's own process group (the `kill -19 0` trick that outlived
#         Piston's time limit): stopped processes neither run nor die of SIGTERM
# why: the timeout freezes and SIGKILLs the command's cgroup; SIGKILL ends stopped processes too
# timeout: 2
# expect: timed_out=true signal=SIGKILL duration<=5
# after: quiet
sleep 1000 &
kill -STOP 0
echo "ESCAPE still running after SIGSTOP of the group"
