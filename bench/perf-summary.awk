# perf-summary.awk - where a cove benchmark run spent its CPU, from the output of
#   perf record -a -g -e cpu-clock -e sched:sched_process_fork ...
#   perf script -F comm,pid,tid,event,trace,ip,sym,dso
# A sample belongs to coved when its thread is one of coved's (pid == coved) or descends from
# one; descent is followed through the fork events in time order, so cove-init, the commands
# it runs and helpers such as mkfs.ext4 count as coved's, while other daemons on the host
# (whatever their names) do not.
#
# Variables: coved (pids of the tree's roots, space-separated: coved and its spawner), mode,
# and per mode:
#   mode=comm  f (sampling Hz), n (cycles): CPU ms per cycle by process name, in three
#              groups: coved's tree, kernel workers (host-wide, any origin), everything else
#   mode=syms  want (a comm in coved's tree), re: share of want's samples whose call chain
#              holds a symbol matching re (each symbol counted once per sample)
#   mode=dso   want: share of want's samples by the object of the leaf frame
BEGIN { RS = ""; FS = "\n"; split(coved, r, " "); for (i in r) root[r[i]] = 1 }
{
    h = $1
    if (!match(h, /[0-9]+\/[0-9]+/))
        next
    split(substr(h, RSTART, RLENGTH), id, "/")
    comm = substr(h, 1, RSTART - 1)
    gsub(/^[ \t]+|[ \t]+$/, "", comm)
    if (id[1] in root)
        ours[id[2]] = 1
    if (h ~ /sched_process_fork/) {
        if (match(h, / pid=[0-9]+/) && (substr(h, RSTART + 5, RLENGTH - 5) in ours) &&
            match(h, /child_pid=[0-9]+/))
            ours[substr(h, RSTART + 10, RLENGTH - 10)] = 1
        next
    }
    if (comm == "swapper")
        next
    mine = id[2] in ours
    if (mode == "comm") {
        if (mine)
            k["coved's tree: " comm]++
        else if (comm ~ /^(kworker|ksoftirqd|rcu)/)
            k["kernel workers (host-wide, any origin)"]++
        else
            k["everything else on the host"]++
        next
    }
    if (!mine || comm != want)
        next
    t++
    if (mode == "dso") {
        d = $2
        sub(/.*\(/, "", d); sub(/\).*/, "", d); sub(/.*\//, "", d)
        k[d]++
        next
    }
    delete seen
    for (i = 2; i <= NF; i++) {
        s = $i
        sub(/^[ \t]*[0-9a-f]+ /, "", s); sub(/ \(.*/, "", s); sub(/\+0x.*/, "", s)
        if (s ~ re && !(s in seen)) {
            seen[s] = 1
            k[s]++
        }
    }
}
END {
    for (x in k) {
        if (mode == "comm") {
            if (k[x] * 1000 / f / n >= 0.02)
                printf "%8.2f ms  %s\n", k[x] * 1000 / f / n, x
        } else if (100 * k[x] / t >= 0.5)
            printf "%7.1f%%  %s\n", 100 * k[x] / t, x
    }
}
