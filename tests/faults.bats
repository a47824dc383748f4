#!/usr/bin/env bats
# Faults: a target that dies, outputs that fail.  Nothing already measured
# is lost and nothing hangs.

load helpers

@test "target killed with SIGKILL mid-run: CSVs complete, exit 137" {
	"$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child alloc 16 sleep 10000 2> err &
	local mw=$!
	wait_for child .
	sleep 0.1
	kill -KILL "$(cat child)"
	wait_status $mw
	[ "$status" -eq 137 ]
	[ "$(rows seg.csv)" -eq 1 ]
	[[ "$(cat err)" =~ ([0-9]+)\ samples ]]
	[ "$(rows out.csv)" -eq "${BASH_REMATCH[1]}" ]
	near "$(field peak_rss_bytes 1 seg.csv)" $(( 16 * MiB )) $(( 2 * TOL ))
}

@test "attached reader of -o - goes away: memwatch ends, exit 124, no hang" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	run bash -c '"$MEMWATCH" -i 1ms -o - -p $(cat target) 2> err | head -1; echo "memwatch=${PIPESTATUS[0]}"'
	kill -USR2 "$(cat target)"
	[ "${lines[0]}" = "elapsed_s,rss_bytes,segment" ]
	[ "${lines[1]}" = "memwatch=124" ]
	grep -q "standard output: Broken pipe" err
}

@test "launched, reader of -o - goes away: the command still finishes" {
	run bash -c '"$MEMWATCH" -q -i 1ms -o - -- sh -c "sleep 1.5; touch done" 2> err | head -1; echo "memwatch=${PIPESTATUS[0]}"'
	[ "${lines[1]}" = "memwatch=124" ]
	[ -e done ]
	grep -q "standard output: Broken pipe" err
}

@test "target dies during a FIFO burst: every marker it wrote is a segment" {
	# the FIFO, grown to 1 MiB, still holds most of the burst at the death
	status=0
	mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" pipesize 1048576 burst 50000 die 2> err || status=$?
	[ "$status" -eq 137 ]
	[ "$(rows seg.csv)" -eq 50001 ]
	[ "$(field label 50001 seg.csv)" = "50000" ]
	complete out.csv seg.csv err
}
