#!/usr/bin/env bats
# What watching does to the process watched.  Resetting the high-water
# mark (clear_refs) changes what other observers of it read: getrusage(2)
# and wait4(2)'s maximum resident size, time(1)'s, another memwatch's.
# --no-reset leaves the process alone; two memwatches on one process never
# both reset, and the second says its peaks are sampled.

load helpers

PYTHON=${PYTHON:-/usr/bin/python3}

# peaker: a Python that touches 300 MiB, frees it, says it is ready, and on
# SIGUSR2 prints its own peak as getrusage(2) has it, in KiB.
peaker() {
	"$PYTHON" -c '
import os, resource, signal
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
a = bytearray(300 << 20)
del a
with open("ready", "w") as f:
    f.write(str(os.getpid()))
signal.sigwait([signal.SIGUSR2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)' > maxrss &
	eventually 10 "the peaker never got ready" test -s ready
	pid=$(cat ready)
}

# watch ARG...: attach memwatch ARG... to $pid for a few samples, then stop it.
watch() {
	"$MEMWATCH" -p "$pid" -i 10ms -o out.csv "$@" 2> err &
	local mwpid=$!
	wait_rows out.csv 3
	kill -TERM $mwpid
	wait_status $mwpid
	[ "$status" -eq 0 ]
}

@test "--no-reset: the process's own peak (getrusage) is left as it was" {
	peaker
	watch --no-reset
	kill -USR2 "$pid"
	wait
	[ "$(cat maxrss)" -ge $(( 300 * 1024 )) ]
}

@test "without --no-reset, the reset lowers the peak the process reads of itself, as documented" {
	[ -w /proc/self/clear_refs ] || skip "clear_refs cannot be written here"
	peaker
	watch
	kill -USR2 "$pid"
	wait
	[ "$(cat maxrss)" -lt $(( 300 * 1024 )) ]
	grep -q 'getrusage' "$BATS_TEST_DIRNAME/../man/memwatch.1"
}

@test "two memwatches on one process: only the first resets; the second says so, its peaks sampled" {
	[ -w /proc/self/clear_refs ] || skip "clear_refs cannot be written here"
	"$WORKLOAD" pidfile target waitsig spike 200 30 pidfile spiked waitsig &
	eventually 10 "no pid file" test -s target
	local pid
	pid=$(cat target)
	mkdir -p "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	TMPDIR=$BATS_TEST_TMPDIR/one XDG_RUNTIME_DIR= "$MEMWATCH" -i 1s -s first.csv -p "$pid" 2> first.err &
	local first=$!
	wait_for first.err 'watching pid'
	TMPDIR=$BATS_TEST_TMPDIR/two XDG_RUNTIME_DIR= "$MEMWATCH" -i 1s -s second.csv -p "$pid" 2> second.err &
	local second=$!
	wait_for second.err 'watching pid'
	kill -USR2 "$pid"
	eventually 10 "the spike never ended" test -s spiked
	# a boundary in each, while the process lives
	kill -USR1 $first $second
	wait_rows first.csv 1
	wait_rows second.csv 1
	kill -USR2 "$pid"
	wait_status $first
	[ "$status" -eq 0 ]
	wait_status $second
	[ "$status" -eq 0 ]
	cat second.err
	# the first caught the 30 ms spike at -i 1s: its mark, exact
	[ "$(field peak_exact 1 first.csv)" -eq 1 ]
	near "$(field peak_above_end_bytes 1 first.csv)" $(( 200 * MiB )) $TOL
	# the second never claims an exact peak it did not see
	[ "$(field peak_exact 1 second.csv)" -eq 0 ]
	[ "$(field peak_kind 1 second.csv)" = sampled ]
	grep -q "another memwatch resets its high-water marks" second.err
}

@test "--no-reset: a segment whose mark rose above every earlier one is still exact" {
	run --separate-stderr mw --no-reset -i 1s -s seg.csv -- "$WORKLOAD" spike 50 20 mark spike 100 20 mark spike 30 20 mark
	[ "$status" -eq 0 ]
	# rose: exact, the spikes seen at -i 1s
	[ "$(field peak_exact 1 seg.csv)" -eq 1 ]
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
	near "$(field peak_above_end_bytes 2 seg.csv)" $(( 100 * MiB )) $TOL
	# did not rise above the 100 MiB before it: not exact
	[ "$(field peak_exact 3 seg.csv)" -eq 0 ]
}
