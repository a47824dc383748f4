#!/usr/bin/env bats
# The memory guard (--limit): the limit signal once per crossing, to the
# command, with a warning even under -q; the fast schedule near the limit;
# limits in percent of a cgroup's limit, MEM_LIMIT or MemTotal.

load helpers

LIMIT=$(( 300 * MiB ))
# How far past the limit memory may get before the workload dies.  It adds
# 10 MiB per step, each step one memset that faults pages in for a few
# milliseconds; near the limit memwatch samples every 1 ms, and SIGINT
# ends the workload at its next page fault.  One step in flight, plus 10 ms
# (10 MiB at this rate) of wakeup delay on a loaded shared machine, which
# make bench's guard section measures well inside.
OVERSHOOT=$(( 20 * MiB ))

# max_rss FILE: the highest rss_bytes of a samples CSV.
max_rss() {
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rss_bytes") c = i; next }
		$c > m { m = $c } END { print m + 0 }' "$1"
}

# interrupts FILE: how many times the warning line in FILE says the
# limit signal was sent.
interrupts() {
	grep -c 'over the limit of .*: interrupting pid' "$1" || true
}

@test "growing 10 MiB per 10 ms under --limit 300M: SIGINT once, status 130, stopped within the bound" {
	run --separate-stderr mw -q --limit 300M -o out.csv -s seg.csv -- \
		"$WORKLOAD" grow 10 10 100
	echo "$stderr"
	[ "$status" -eq 130 ]
	[ "$(interrupts <(echo "$stderr"))" -eq 1 ]
	[[ "$stderr" =~ memwatch:\ 3[0-9][0-9]\.[0-9]{2}\ MiB,\ over\ the\ limit\ of\ 300\.00\ MiB:\ interrupting\ pid\ [0-9]+\ \(SIGINT\) ]]
	# memwatch saw the crossing, and the workload went no further
	max=$(max_rss out.csv)
	echo "highest sample $max, exact peak $(field peak_rss_bytes 1 seg.csv)"
	[ "$max" -ge "$LIMIT" ]
	[ "$max" -lt $(( LIMIT + OVERSHOOT )) ]
	# from 80% of the limit on, 60 MiB at 1 MiB/ms, it sampled every 1 ms,
	# also through the 10 ms pauses between steps
	near=$(awk -F, -v near=$(( LIMIT / 100 * 80 )) 'NR > 1 && $2 >= near' out.csv | wc -l)
	echo "samples from 80% of the limit: $near"
	[ "$near" -ge 20 ]
	[ "$(field peak_exact 1 seg.csv)" -eq 1 ]
	[ "$(field peak_rss_bytes 1 seg.csv)" -lt $(( LIMIT + OVERSHOOT )) ]
	# the segments CSV counts the interruption
	[ "$(field interrupts 1 seg.csv)" -eq 1 ]
}

@test "the limit line at the start says the limit; not under -q" {
	run --separate-stderr mw --limit 1.5GiB -- true
	[ "$status" -eq 0 ]
	[[ "$stderr" == "memwatch: limit 1.50 GiB"$'\n'* ]]
	run --separate-stderr mw -q --limit 1.5GiB -- true
	[ -z "$stderr" ]
}

@test "a workload that ignores SIGINT is interrupted once, not flooded, and runs to its end" {
	run --separate-stderr mw -q -i 10ms --limit 300M -o out.csv -- \
		"$WORKLOAD" noint grow 10 10 40 sleep 300
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(interrupts <(echo "$stderr"))" -eq 1 ]
	# it went on to 400 MiB and stayed there, over the limit, for 300 ms
	near "$(max_rss out.csv)" $(( 400 * MiB )) $(( 2 * TOL ))
}

@test "memory back below the limit re-arms the guard: a second crossing is signalled again" {
	run --separate-stderr mw -q -i 10ms --limit 300M -- \
		"$WORKLOAD" noint alloc 310 sleep 100 free sleep 100 alloc 310 sleep 100
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(interrupts <(echo "$stderr"))" -eq 2 ]
}

@test "--limit-signal TERM: the command ends by SIGTERM" {
	run --separate-stderr mw -q --limit 100M --limit-signal TERM -- \
		"$WORKLOAD" grow 10 10 100
	echo "$stderr"
	[ "$status" -eq 143 ]
	[[ "$stderr" == *"interrupting pid "*" (SIGTERM)"* ]]
}

@test "near the limit memwatch samples every 1 ms, and at the user's interval once memory falls" {
	run mw -q -i 100ms --limit 300M -o out.csv -- \
		"$WORKLOAD" alloc 260 sleep 300 free sleep 1000
	[ "$status" -eq 0 ]
	# gaps between samples: near the limit (260 MiB is within 20%) about
	# 1 ms; after the free, 100 ms again
	awk -F, 'NR > 2 { print int(($1 - t) * 1000 + 0.5) } NR > 1 { t = $1 }' \
		out.csv > gaps
	fast=$(awk '$1 <= 2' gaps | wc -l)
	echo "samples 2 ms apart or less: $fast; last gaps: $(tail -n 5 gaps | tr '\n' ' ')"
	[ "$fast" -ge 100 ]
	# the user's schedule again (the last gap ends at the exit): none fast,
	# and on the absolute 100 ms grid, where a late sample (a loaded
	# machine) makes the next gap shorter
	tail -n 5 gaps | head -n 4 > slow
	[ "$(awk '$1 < 50' slow | wc -l)" -eq 0 ]
	near "$(awk '{ t += $1 } END { print t }' slow)" 400 20
}

@test "attached: the limit signal goes to the process watched" {
	# bash starts background jobs with SIGINT ignored: the signal is TERM
	"$WORKLOAD" pidfile target waitsig grow 10 10 100 &
	pid=$!
	wait_for target .
	mw -q -i 10ms --limit 200M --limit-signal TERM -o out.csv \
		-p "$(cat target)" 2> err &
	mwpid=$!
	# a row after the first: memwatch's loop runs
	wait_rows out.csv 2
	kill -USR2 "$pid"
	wait_status "$pid"
	cat err
	[ "$status" -eq 143 ]
	wait "$mwpid"
	[ "$(interrupts err)" -eq 1 ]
}

# memtotal: MemTotal in bytes.
memtotal() {
	awk '/^MemTotal:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo
}

# gib BYTES: as memwatch writes a size of a GiB or more.
gib() {
	awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'
}

@test "--limit 50%: half of MemTotal without a smaller cgroup limit or MEM_LIMIT" {
	unset MEM_LIMIT
	run --separate-stderr mw --limit 50% -- true
	total=$(memtotal)
	echo "$stderr"
	# this machine's own cgroup may be limited: then it is named instead
	if [[ "$stderr" == *"% of MemTotal "* ]]; then
		[[ "$stderr" == "memwatch: limit $(gib $(( total / 2 ))) (50% of MemTotal $(gib "$total"))"* ]]
	else
		[[ "$stderr" == "memwatch: limit "*" (50% of cgroup memory."* ]]
	fi
}

@test "--limit 50% with MEM_LIMIT set: half of MEM_LIMIT, and the guard acts there" {
	run --separate-stderr env MEM_LIMIT=$(( 600 * MiB )) "$MEMWATCH" \
		--limit 50% -- "$WORKLOAD" grow 10 10 100
	echo "$stderr"
	[ "$status" -eq 130 ]
	[[ "$stderr" == "memwatch: limit 300.00 MiB (50% of MEM_LIMIT 600.00 MiB)"* ]]
	[ "$(interrupts <(echo "$stderr"))" -eq 1 ]
}

@test "attached, --limit 50%: MEM_LIMIT from the environment of the process watched" {
	MEM_LIMIT=$(( 400 * MiB )) "$WORKLOAD" pidfile target sleep 10000 &
	wait_for target .
	unset MEM_LIMIT
	run --separate-stderr timeout 1 "$MEMWATCH" --limit 50% -p "$(cat target)"
	echo "$stderr"
	[[ "$stderr" == "memwatch: limit 200.00 MiB (50% of MEM_LIMIT 400.00 MiB)"* ]]
}

# v1cgroup: make a memory cgroup of the test's own below this shell's,
# $cg, or skip saying why.  Removed by the test's cleanup.
v1cgroup() {
	local mnt own
	[ "$(id -u)" -eq 0 ] || skip "needs root to make a memory cgroup"
	mnt=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' \
		/proc/self/mountinfo)
	[ -n "$mnt" ] || skip "no cgroup v1 memory hierarchy mounted here"
	own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
	cg=$mnt${own%/}/memwatch-test.$$
	mkdir "$cg" 2> /dev/null || skip "cannot make a cgroup under $mnt$own"
}

# helpers.bash's teardown, then the cgroup's removal
eval "$(declare -f teardown | sed '1s/^teardown/helpers_teardown/')"
teardown() {
	helpers_teardown
	if [ -n "${cg-}" ]; then
		# the processes in it have ended; the directories go inside out
		rmdir "$cg/inner" 2> /dev/null || true
		rmdir "$cg"
	fi
}

@test "--limit 50% in a cgroup v1 with a memory limit above it: half the cgroup's limit, and no OOM kill" {
	v1cgroup
	echo $(( 1024 * MiB )) > "$cg/memory.limit_in_bytes"
	# the limit is on the parent: the walk up the hierarchy finds it
	mkdir "$cg/inner"
	run --separate-stderr sh -c 'echo $$ > "$1/inner/cgroup.procs" && exec "$2" --limit 50% -- "$3" grow 10 10 200' \
		sh "$cg" "$MEMWATCH" "$WORKLOAD"
	echo "$stderr"
	[[ "$stderr" == "memwatch: limit 512.00 MiB (50% of cgroup memory.limit_in_bytes 1.00 GiB)"* ]]
	[ "$status" -eq 130 ]
	[ "$(cat "$cg/memory.failcnt")" -eq 0 ]
}

# ask LIMIT STEP...: the command for memwatch: leave LIMIT in the FIFO
# directory's limit file, as the IPython snippet does, then run the
# workload's steps, the first of which should cut a segment.
ask() {
	local limit=$1
	shift
	exec sh -c 'd=${MEMWATCH_FIFO%/*}; printf "%s\n" "$1" > "$d/limit.new" &&
		mv "$d/limit.new" "$d/limit" && shift && exec "$@"' \
		sh "$limit" "$WORKLOAD" "$@"
}

@test "a limit left in the FIFO directory is taken at the next marker" {
	export -f ask
	export WORKLOAD
	run --separate-stderr mw -s seg.csv -- bash -c 'ask 100M marker go grow 10 10 50'
	echo "$stderr"
	[ "$status" -eq 130 ]
	[[ "$stderr" == *"memwatch: limit 100.00 MiB"$'\n'* ]]
	[ "$(interrupts <(echo "$stderr"))" -eq 1 ]
	# taken before the segment "go" opened: it is the one interrupted
	[ "$(field label 2 seg.csv)" = go ]
}

@test "a default limit from the snippet is taken only where no limit is set; off turns the guard off" {
	export -f ask
	export WORKLOAD
	run --separate-stderr mw -q --limit 1G -- bash -c 'ask "default 100M" marker go grow 10 10 30'
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(interrupts <(echo "$stderr"))" -eq 0 ]
	run --separate-stderr mw -q -- bash -c 'ask "default 100M" marker go grow 10 10 30'
	echo "$stderr"
	[ "$status" -eq 130 ]
	run --separate-stderr mw -q --limit 100M -- bash -c 'ask off marker go grow 10 10 30'
	echo "$stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr mw -q -- bash -c 'ask 2X marker go grow 10 10 3'
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"memwatch: limit 2X: invalid unit"* ]]
}

@test "the tree's memory: a root and a child neither over the limit alone are interrupted; --limit-kill kills the child, the root lives" {
	# the root holds 150 MiB, its child grows to at most 280 MiB; both
	# ignore SIGINT
	run --separate-stderr mw -q -i 10ms --limit 300M --limit-kill 400M -s seg.csv -- \
		"$WORKLOAD" noint alloc 150 child grow 10 10 28 sleep 10000
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(interrupts <(echo "$stderr"))" -eq 1 ]
	[ "$(grep -c 'over the kill limit of 400.00 MiB: killing pid [0-9]* (SIGKILL), the largest process' <<< "$stderr")" -eq 1 ]
	# the pid killed is the child's, which the root saw die of SIGKILL
	killed=$(sed -n 's/.*killing pid \([0-9]*\).*/\1/p' <<< "$stderr")
	[[ "$stderr" == *"child $killed: killed by signal 9"* ]]
	[ "$(field interrupts 1 seg.csv)" -eq 1 ]
}

@test "--limit-kill with the command alone: nothing to kill, said once" {
	run --separate-stderr mw -q -i 10ms --limit 200M --limit-kill 300M -- \
		"$WORKLOAD" noint grow 10 10 40 sleep 100
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c "no process but the command's own to kill" <<< "$stderr")" -eq 1 ]
}
