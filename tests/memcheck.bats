#!/usr/bin/env bats
# valgrind's memcheck over whole sessions: no invalid access, no use of
# uninitialised memory, nothing definitely lost.  valgrind 3.19 (Debian 12)
# has no pidfd_open(2), so these runs also take memwatch's way without
# pidfds.

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	command -v valgrind > /dev/null || skip "valgrind not installed (Debian: valgrind)"
	if sanitized; then
		skip "memwatch built with ASan, which cannot run under valgrind"
	fi
	unset XDG_RUNTIME_DIR
	export TMPDIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$TMPDIR"
}

# memcheck: valgrind's command line; any error or definite leak makes it
# exit 99, and is printed with a ==PID== prefix.  valgrind runs the program
# in its own process: a background job's $! is memwatch's PID.
memcheck=(valgrind -q --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
	--child-silent-after-fork=yes)

@test "memcheck: a launched session with markers, SIGUSR1 and both CSVs" {
	status=0
	timeout -k 5 120 "${memcheck[@]}" "$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark marker load alloc 16 marker 'work, "quoted"' spike 32 5 mark free threads 2 4 20 sleep 50 2> err || status=$?
	cat err
	[ "$status" -eq 0 ]
	! grep -q '^==[0-9]*==' err || false
	[ "$(rows seg.csv)" -eq 5 ]
	run python3 -c 'import csv; print(list(csv.DictReader(open("seg.csv")))[3]["label"])'
	[ "$output" = 'work, "quoted"' ]
	near "$(field delta_bytes 3 seg.csv)" $(( 16 * MiB )) $TOL
	# the labels hold a comma: count rows by segment number alone
	[ "$(summary err | cut -d' ' -f3)" -eq "$(rows out.csv)" ]
}

@test "memcheck: an attached session stopped by SIGTERM, and a command not found" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	status=0
	"${memcheck[@]}" "$MEMWATCH" -i 10ms -o out.csv -s seg.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	sleep 0.2
	kill -USR1 $mw
	wait_for err "segment 1 used"
	kill -TERM $mw
	wait_status $mw
	cat err
	[ "$status" -eq 0 ]
	! grep -q '^==[0-9]*==' err || false
	complete out.csv seg.csv err
	kill -USR2 "$(cat target)"
	status=0
	timeout -k 5 60 "${memcheck[@]}" "$MEMWATCH" -q -- ./no-such-command 2> err || status=$?
	cat err
	[ "$status" -eq 127 ]
	! grep -q '^==[0-9]*==' err || false
}
