#!/usr/bin/env bats
# Launch mode: the command runs as it would without memwatch, and memwatch
# returns its status; the samples CSV holds one row per sample taken.

load helpers

@test "exit status of the command is returned" {
	run mw -q -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run mw -q -- true
	[ "$status" -eq 0 ]
}

@test "a command killed by signal N gives 128+N" {
	run mw -q -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run mw -q -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "the command keeps stdin and stdout, and sees MEMWATCH_PID" {
	run --separate-stderr mw -q -- sh -c 'cat; echo "pid=$MEMWATCH_PID ppid=$PPID"' <<< "hello"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello" ]
	[[ "${lines[1]}" =~ ^pid=([0-9]+)\ ppid=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}

@test "the command gets the signal dispositions memwatch was given" {
	local without
	without=$(grep -E "^(SigBlk|SigIgn)" /proc/self/status)
	run mw -q -- grep -E "^(SigBlk|SigIgn)" /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "$without" ]
}

@test "samples CSV: header, one row per sample, time increasing" {
	run --separate-stderr mw -i 10ms -o out.csv -- "$WORKLOAD" sleep 300
	[ "$status" -eq 0 ]
	[ "$(head -1 out.csv)" = "elapsed_s,rss_bytes,segment,anon_bytes,file_bytes,processes" ]
	# the summary's count is what was written
	[[ "$stderr" =~ ([0-9]+)\ samples ]]
	[ "$(rows out.csv)" -eq "${BASH_REMATCH[1]}" ]
	# 300 ms at 10 ms: at least half the ticks even on a loaded machine
	[ "$(rows out.csv)" -ge 15 ]
	awk -F, 'NR > 1 && (NF != 6 || $1 + 0 < prev || $2 !~ /^[0-9]+$/ || $3 != 1 || $4 + $5 != $2) { print "bad row " NR ": " $0; bad = 1 }
		{ prev = $1 + 0 } END { exit bad }' out.csv
	python3 -c 'import csv, sys; r = list(csv.DictReader(open("out.csv"))); assert all(int(x["rss_bytes"]) > 0 for x in r)'
}

@test "the samples CSV sees a 64 MiB allocation" {
	run mw -q -i 10ms -o out.csv -- "$WORKLOAD" sleep 100 alloc 64 sleep 200
	[ "$status" -eq 0 ]
	local first last
	first=$(field rss_bytes 1 out.csv)
	last=$(awk -F, 'NR > 1 { m = $2 > m ? $2 : m } END { print m }' out.csv)
	near $(( last - first )) $(( 64 * MiB )) $(( 2 * TOL ))
}

@test "SIGINT sent to memwatch alone is passed on to the command" {
	# job control, or bash starts background jobs with SIGINT ignored
	set -m
	"$MEMWATCH" -q -o out.csv -- "$WORKLOAD" pidfile child sleep 10000 &
	local mw=$!
	wait_for child .
	kill -INT $mw
	wait_status $mw
	[ "$status" -eq 130 ]
	! kill -0 "$(cat child)" 2>/dev/null || false
	[ "$(rows out.csv)" -ge 1 ]
}

@test "SIGTERM to memwatch: the command is told the same, CSVs flushed" {
	"$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child alloc 16 sleep 10000 2> err &
	local mw=$!
	wait_for child .
	sleep 0.1
	kill -TERM $mw
	wait_status $mw
	[ "$status" -eq 143 ]
	! kill -0 "$(cat child)" 2>/dev/null || false
	[ "$(rows seg.csv)" -eq 1 ]
	[[ "$(cat err)" =~ ([0-9]+)\ samples ]]
	[ "$(rows out.csv)" -eq "${BASH_REMATCH[1]}" ]
}

@test "a command shorter than one interval: its peak from wait4(2), never 0" {
	# 30 MiB touched and gone within the first 100 ms tick
	run --separate-stderr mw -s seg.csv -- "$WORKLOAD" alloc 30
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 1 ]
	[ "$(field peak_kind 1 seg.csv)" = exact ]
	near "$(field peak_rss_bytes 1 seg.csv)" $(( 31 * MiB )) $TOL
	# below memwatch's own mark, the mark of its copy before exec: its
	# first sample, else that mark as a bound; never nothing
	run --separate-stderr mw -s seg.csv -- /bin/true
	[ "$status" -eq 0 ]
	[ "$(field peak_rss_bytes 1 seg.csv)" -gt 0 ]
	case $(field peak_kind 1 seg.csv) in
	upper)
		[[ "$stderr" =~ ,\ 0\ samples, ]]
		[[ "$stderr" == *"above current (peak at most), total"* ]] ;;
	sampled)
		[ "$(field samples 1 seg.csv)" -ge 1 ] ;;
	esac
}
