#!/usr/bin/env bats
# memwatch mark: a marker for shell scripts that cannot hang, fails fast
# when no memwatch reads, and waits until the boundary is taken.

load helpers

setup() {
	fifo_setup
}

# rss_kib PID: the resident set of PID, in KiB.
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# gated FLAGS: run, under a memwatch that is stopped as it starts, a shell
# that marks "work" with memwatch mark FLAGS and then becomes a workload
# that allocates 48 MiB; continue memwatch once the mark has returned or
# is seen waiting.  Leaves the segments in seg.csv.
gated() {
	# the shell alone, not memwatch mark, a child with memory of its own
	"$MEMWATCH" -q --no-children -s seg.csv -- sh -c 'echo $$ > child
		while [ ! -e go ]; do sleep 0.01; done
		"$MEMWATCH" mark '"$1"' work || exit
		exec "$WORKLOAD" alloc 48 mark sleep 50' &
	local mw=$!
	wait_for child .
	kill -STOP $mw
	touch go
	if [ -z "$1" ]; then
		# it waits for memwatch's answer, and the workload has not run
		eventually 10 "no memwatch mark waiting" pgrep -f -- "mark  *work"
		[ "$(rss_kib "$(cat child)")" -lt 16384 ]
	else
		# it did not wait: the allocation happens while memwatch sleeps
		eventually 10 "no allocation" sh -c '[ "$(awk "/^VmRSS:/ { print \$2 }" /proc/$1/status)" -gt 49152 ]' sh "$(cat child)"
	fi
	kill -CONT $mw
	wait_status $mw
	[ "$status" -eq 0 ]
}

# (2 * TOL: the segment holds the exec from the shell to the workload too,
# whose own pages differ by up to a MiB)
@test "mark waits for the boundary: what runs next is in the new segment" {
	gated ""
	[ "$(field label 2 seg.csv)" = "work" ]
	# a shell's few MiB before, the 48 after
	[ "$(field end_rss_bytes 1 seg.csv)" -lt $(( 16 * MiB )) ]
	near "$(field delta_bytes 2 seg.csv)" $(( 48 * MiB )) $(( 2 * TOL ))
	# the control: with -n it returns at once, and the allocation falls in
	# the segment before
	rm -f go child seg.csv
	gated -n
	[ "$(field end_rss_bytes 1 seg.csv)" -gt $(( 48 * MiB )) ]
}

@test "mark from a script: labelled segments, words joined as echo joins them" {
	run --separate-stderr mw -s seg.csv -- sh -c '"$MEMWATCH" mark load data && "$MEMWATCH" mark "a, b" && "$MEMWATCH" mark && "$MEMWATCH" mark -- -n'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 5 ]
	[ "$(field label 2 seg.csv)" = "load data" ]
	sed -n 4p seg.csv | grep -q '^3,"a, b",'
	[ "$(field label 4 seg.csv)" = "segment 4" ]
	[ "$(field label 5 seg.csv)" = "-n" ]
	[[ "$stderr" == *"load data used "* ]]
}

@test "mark after memwatch was killed: fails at once with 123, where echo hangs" {
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child sleep 100000 &
	local mw=$!
	wait_for child .
	local fifo="$userdir/$(cat child)/marker"
	kill -KILL $mw
	wait_status $mw
	[ -p "$fifo" ]
	run --separate-stderr env MEMWATCH_FIFO="$fifo" timeout 5 "$MEMWATCH" mark train
	[ "$status" -eq 123 ]
	[ "$stderr" = "memwatch: $fifo: no memwatch reads it (it has ended)" ]
	run --separate-stderr "$MEMWATCH" mark -p "$(cat child)" train
	[ "$status" -eq 123 ]
	[ "$stderr" = "memwatch: $fifo: no memwatch reads it (it has ended)" ]
	# what the plain idiom does: waits in open(2) for a reader that never comes
	run timeout 0.5 sh -c 'echo train > "$1"' sh "$fifo"
	[ "$status" -eq 124 ]
	kill -KILL "$(cat child)"
}

@test "mark without a memwatch, or with a bad label: clear message, distinct status" {
	run --separate-stderr env -u MEMWATCH_FIFO "$MEMWATCH" mark x
	[ "$status" -eq 123 ]
	[ "$stderr" = "memwatch: MEMWATCH_FIFO is not set: not run by memwatch (or give -p pid)" ]
	run --separate-stderr env MEMWATCH_FIFO="$PWD/none/marker" "$MEMWATCH" mark x
	[ "$status" -eq 123 ]
	# a file or device is not written to, nor opened
	echo keep > file
	run --separate-stderr env MEMWATCH_FIFO="$PWD/file" "$MEMWATCH" mark x
	[ "$status" -eq 123 ]
	[ "$stderr" = "memwatch: $PWD/file: not a FIFO" ]
	[ "$(cat file)" = keep ]
	run --separate-stderr env MEMWATCH_FIFO=/dev/null "$MEMWATCH" mark -n x
	[ "$status" -eq 123 ]
	run --separate-stderr "$MEMWATCH" mark -p $(( $(cat /proc/sys/kernel/pid_max) + 1 )) x
	[ "$status" -eq 123 ]
	run --separate-stderr mw -q -- sh -c '"$MEMWATCH" mark "$(printf "two\nlines")"'
	[ "$status" -eq 125 ]
	[ "$stderr" = "memwatch: a label cannot hold a newline" ]
	run --separate-stderr mw -q -- sh -c '"$MEMWATCH" mark "$(head -c 4096 /dev/zero | tr "\0" x)"'
	[ "$status" -eq 125 ]
	[ "$stderr" = "memwatch: label longer than 4095 bytes" ]
	run --separate-stderr "$MEMWATCH" mark -t nonsense x
	[ "$status" -eq 125 ]
	run "$MEMWATCH" mark --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: memwatch mark "* ]]
}

@test "mark -p PID: the memwatch attached to PID, found at the documented path" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	"$MEMWATCH" -s seg.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	run env -u MEMWATCH_FIFO "$MEMWATCH" mark -p "$(cat target)" from outside
	[ "$status" -eq 0 ]
	kill -USR2 "$(cat target)"
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(field label 2 seg.csv)" = "from outside" ]
}

@test "mark gives up after its timeout when memwatch does not answer" {
	"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child sleep 100000 &
	local mw=$!
	wait_for child .
	kill -STOP $mw
	local start=$(date +%s%N)
	run --separate-stderr env MEMWATCH_FIFO="$userdir/$(cat child)/marker" "$MEMWATCH" mark -t 300ms late
	local ms=$(( ($(date +%s%N) - start) / 1000000 ))
	kill -CONT $mw
	echo "gave up after $ms ms"
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"/marker: no answer from memwatch in time; the line was sent" ]]
	# the deadline, and no more than scheduling adds to it
	[ "$ms" -ge 300 ] && [ "$ms" -lt 3000 ]
	kill -KILL "$(cat child)"
	wait_status $mw
	# the line was taken once memwatch ran again
	[ "$(field label 2 seg.csv)" = "late" ]
}

@test "twenty marks at once: each gets its own answer" {
	run mw -q -s seg.csv -- bash -c 'for i in $(seq 20); do "$MEMWATCH" mark "m$i" & done; fail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 21 ]
	[ "$(awk -F, 'NR > 2 { print $2 }' seg.csv | sort -V | tr '\n' ' ')" = "$(seq -f 'm%g' 20 | tr '\n' ' ')" ]
}

@test "memwatch -- mark runs a command called mark" {
	mkdir bin
	printf '#!/bin/sh\necho "the command mark: $*"\n' > bin/mark
	chmod +x bin/mark
	run --separate-stderr env PATH="$PWD/bin:$PATH" "$MEMWATCH" -q -- mark one
	[ "$status" -eq 0 ]
	[ "$output" = "the command mark: one" ]
}

@test "memwatch killed while mark waits: mark says so at once, 123" {
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child sleep 100000 &
	local mw=$!
	wait_for child .
	kill -STOP $mw
	env MEMWATCH_FIFO="$userdir/$(cat child)/marker" "$MEMWATCH" mark -t 20s lost 2> err &
	local mark=$!
	eventually 10 "no memwatch mark waiting" pgrep -f -- "mark -t 20s lost"
	local start=$(date +%s%N)
	kill -KILL $mw
	wait_status $mark
	local ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "mark ended $ms ms after memwatch"
	[ "$status" -eq 123 ]
	grep -q "/marker: memwatch ended before it took the line" err
	# not its 20 s deadline
	[ "$ms" -lt 5000 ]
	kill -KILL "$(cat child)"
}
