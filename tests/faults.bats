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
	[ "${lines[0]}" = "elapsed_s,rss_bytes,segment,anon_bytes,file_bytes,processes" ]
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

@test "target killed with SIGKILL in its third segment: all three written" {
	"$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark alloc 16 marker third alloc 32 pidfile child sleep 10000 2> err &
	local mw=$!
	wait_for child .
	# a few samples of the 32 MiB
	sleep 0.1
	kill -KILL "$(cat child)"
	wait_status $mw
	[ "$status" -eq 137 ]
	[ "$(rows seg.csv)" -eq 3 ]
	[ "$(field label 3 seg.csv)" = "third" ]
	near "$(field delta_bytes 2 seg.csv)" $(( 16 * MiB )) $TOL
	near "$(field delta_bytes 3 seg.csv)" $(( 32 * MiB )) $TOL
	complete out.csv seg.csv err
}

@test "target dies right after a boundary it asked for: every segment written" {
	status=0
	mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 16 usr1 die 2> err || status=$?
	[ "$status" -eq 137 ]
	# its numbers are what could be read of a process going away, maybe
	# nothing: only that it is there, and whole
	[ "$(rows seg.csv)" -eq 2 ]
	complete out.csv seg.csv err
	status=0
	mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 16 burst 3 die 2> err || status=$?
	[ "$status" -eq 137 ]
	[ "$(rows seg.csv)" -eq 4 ]
	[ "$(field label 4 seg.csv)" = "3" ]
	complete out.csv seg.csv err
}

@test "the command stops and is continued: sampled all along, exit 0" {
	"$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 pidfile child stop alloc 8 2> err &
	local mw=$!
	wait_for child .
	stopped "$(cat child)"
	local before=$(rows out.csv)
	sleep 0.5
	kill -CONT "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	# 0.5 s at 10 ms while stopped, flushed once a second: some of them
	# at least are in the file
	complete out.csv seg.csv err
	[ "$(rows out.csv)" -ge $(( before + 25 )) ]
}

@test "a child born and reaped between two ticks: no exact peak claimed" {
	run --separate-stderr mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark fork 64 mark sleep 50
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 3 ]
	# the child's 64 MiB may have come and gone unseen: the parent reaped
	# it, and the segment says its peak is sampled, a bound from below
	[ "$(field peak_exact 2 seg.csv)" -eq 0 ]
	[ "$(field peak_kind 2 seg.csv)" = sampled ]
	[ "$(field peak_exact 3 seg.csv)" -eq 0 ]
	echo "$stderr" > err
	complete out.csv seg.csv err
}

@test "--no-children: a forked child's memory is not counted, last peak not exact" {
	run --separate-stderr mw --no-children -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark fork 64 mark sleep 50
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 3 ]
	# the child's 64 MiB are its own, not in the parent's peak
	near "$(field peak_above_end_bytes 2 seg.csv)" 0 $TOL
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
	[ "$(field processes 2 seg.csv)" -eq 1 ]
	# the child's high-water mark is mixed into the one wait4(2) reports
	[ "$(field peak_exact 3 seg.csv)" -eq 0 ]
	echo "$stderr" > err
	complete out.csv seg.csv err
}

@test "threads come and go: their memory is counted, peaks exact" {
	run --separate-stderr mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark threads 4 16 300 mark sleep 50
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 3 ]
	near "$(field peak_above_end_bytes 2 seg.csv)" $(( 64 * MiB )) $(( 2 * TOL ))
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
	# a thread's exit leaves nothing in the mark wait4(2) reports
	[ "$(field peak_exact 3 seg.csv)" -eq 1 ]
	near "$(field peak_above_end_bytes 3 seg.csv)" 0 $TOL
	echo "$stderr" > err
	complete out.csv seg.csv err
}

@test "the command runs another program: no peak of the old one passed off as exact" {
	run --separate-stderr mw -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 100 mark exec alloc 20 mark sleep 50
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 3 ]
	near "$(field peak_rss_bytes 1 seg.csv)" $(( 100 * MiB )) $(( 2 * TOL ))
	[ "$(field peak_exact 1 seg.csv)" -eq 1 ]
	# from 100 MiB in the old program to 20 in the new one
	near "$(field delta_bytes 2 seg.csv)" $(( -80 * MiB )) $(( 2 * TOL ))
	# the kernel's mark read at its end is the new program's alone
	[ "$(field peak_exact 2 seg.csv)" -eq 0 ]
	# the old program's 100 MiB are in the mark wait4(2) reports: not this
	# segment's peak
	[ "$(field peak_exact 3 seg.csv)" -eq 0 ]
	near "$(field peak_rss_bytes 3 seg.csv)" "$(field end_rss_bytes 3 seg.csv)" $TOL
	echo "$stderr" > err
	complete out.csv seg.csv err
}

@test "without pidfds (Linux before 5.3, valgrind 3.19): runs still end right" {
	# launched: the end shows by SIGCHLD
	run --separate-stderr "$NOPIDFD" "$MEMWATCH" -i 10ms -o out.csv -s seg.csv -- "$WORKLOAD" alloc 8 mark alloc 16 sleep 50
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2 ]
	near "$(field delta_bytes 2 seg.csv)" $(( 16 * MiB )) $TOL
	echo "$stderr" > err
	complete out.csv seg.csv err
	run "$NOPIDFD" "$MEMWATCH" -q -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	# a signal passed on, by PID
	"$NOPIDFD" "$MEMWATCH" -q -- "$WORKLOAD" pidfile child sleep 10000 &
	local mw=$!
	wait_for child .
	kill -TERM $mw
	ended $mw 10
	wait_status $mw
	[ "$status" -eq 143 ]
	# attached: the end shows in /proc
	"$WORKLOAD" pidfile target waitsig alloc 8 sleep 50 &
	wait_for target .
	"$NOPIDFD" "$MEMWATCH" -i 10ms -o out.csv -s seg.csv -p "$(cat target)" 2> err &
	mw=$!
	wait_for err "watching pid"
	kill -USR2 "$(cat target)"
	ended $mw 10
	wait_status $mw
	[ "$status" -eq 0 ]
	near "$(field delta_bytes 1 seg.csv)" $(( 8 * MiB )) $TOL
	complete out.csv seg.csv err
	# and a process that is not there
	run "$NOPIDFD" "$MEMWATCH" -p $(( $(cat /proc/sys/kernel/pid_max) + 1 ))
	[ "$status" -eq 123 ]
}

@test "-o and -s on one file, by any name: a usage error, the command not run" {
	: > a.csv
	ln -s a.csv link.csv
	ln a.csv hard.csv
	local pair
	for pair in "a.csv a.csv" "a.csv ./a.csv" "a.csv link.csv" "a.csv hard.csv"; do
		set -- $pair
		run --separate-stderr mw -q -o "$1" -s "$2" -- touch ran
		[ "$status" -eq 125 ]
		[ "$stderr" = "memwatch: $1 and $2 are the same file" ]
		[ ! -e ran ]
	done
	# /dev/stdout beside -, and the per-process CSV too
	run --separate-stderr sh -c '"$MEMWATCH" -q -o - -s /dev/stdout -- touch ran > out'
	[ "$status" -eq 125 ]
	[ "$stderr" = "memwatch: standard output and /dev/stdout are the same file" ]
	run --separate-stderr mw -q -s seg.csv -P ./seg.csv -- touch ran
	[ "$status" -eq 125 ]
	[ ! -e ran ]
	# the outputs rewritten whole, whose rename would replace the other
	run --separate-stderr mw -q -o run.svg --plot ./run.svg -- touch ran
	[ "$status" -eq 125 ]
	[ "$stderr" = "memwatch: run.svg and ./run.svg are the same file" ]
	run --separate-stderr mw -q --metrics m.prom --plot m.prom -- touch ran
	[ "$status" -eq 125 ]
	[ "$stderr" = "memwatch: m.prom and m.prom are the same file" ]
	# and never a device renamed over
	run --separate-stderr mw -q --plot /dev/null -- touch ran
	[ "$status" -eq 124 ]
	[ "$stderr" = "memwatch: /dev/null: not a regular file: an output rewritten whole would replace it" ]
	[ -c /dev/null ]
	[ ! -e ran ]
	# where nothing is kept, any number may go
	run mw -q -o /dev/null -s /dev/null -- touch ran
	[ "$status" -eq 0 ]
	[ -e ran ]
}

@test "-o - with standard output closed: 124, the command not run" {
	run --separate-stderr sh -c '"$MEMWATCH" -q -o - -- touch ran >&-'
	[ "$status" -eq 124 ]
	[ "$stderr" = "memwatch: standard output: closed" ]
	[ ! -e ran ]
	# the other outputs are not affected
	run sh -c '"$MEMWATCH" -q -s seg.csv -- touch ran >&-'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 1 ]
}

@test "a FIFO of ours without a reader: a clear error at once, no hang" {
	mkfifo p
	run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q -o p -- touch ran
	[ "$status" -eq 124 ]
	[ "$stderr" = "memwatch: p: a FIFO that no process reads" ]
	[ ! -e ran ]
}

@test "a reader that stops reading: memwatch goes on, says what it lost, exits 124" {
	mkfifo p
	# a reader that holds the FIFO and takes nothing until told to
	/usr/bin/python3 -c '
import os, sys, time
fd = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
open("ready", "w").write("ready\n")
while not os.path.exists("go"):
    time.sleep(0.01)
os.set_blocking(fd, True)
with open("got", "wb") as out:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out.write(b)' &
	local reader=$!
	wait_for ready .
	"$MEMWATCH" -i 100us -o p -s seg.csv -- "$WORKLOAD" pidfile child waitsig mark sleep 50 2> err &
	local mw=$!
	# 1 MiB waits in memwatch, 64 KiB in the pipe: at 100us, in 3 s or so
	eventually 30 "memwatch never said the reader fell behind" has err "has not kept up"
	# the loop still runs: a boundary is taken at once, while it stalls
	kill -USR2 "$(cat child)"
	wait_rows seg.csv 1
	touch go
	wait_status $mw
	[ "$status" -eq 124 ]
	wait $reader
	cat err
	[ "$(grep -c "memwatch: p: the reader has not kept up ([0-9]* bytes waiting): no more rows are written to it" err)" -eq 1 ]
	[[ "$(cat err)" =~ "memwatch: p: "([0-9]+)" rows ("[0-9]+" bytes) not written: the reader did not keep up" ]]
	local lost=${BASH_REMATCH[1]}
	# every sample is either in the file or counted as lost
	local secs nseg nsamples nlate
	read -r secs nseg nsamples nlate < <(summary err)
	echo "$(rows got) rows read, $lost lost, $nsamples samples"
	[ "$lost" -gt 0 ]
	[ $(( $(rows got) + lost )) -eq "$nsamples" ]
	# what was written ends at a row's end
	[ "$(tail -c 1 got | od -An -c | tr -d ' ')" = '\n' ]
	[ "$(awk -F, 'NF != 6' got | wc -l)" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2 ]
}

@test "-o - shares a pipe with the command: the command's writes never fail" {
	# a slow reader: memwatch's copy of the pipe is non-blocking, the
	# command's must not be
	run --separate-stderr bash -c '"$MEMWATCH" -q -o - -- sh -c "head -c 3000000 /dev/zero | tr \"\\0\" x" | { sleep 0.5; wc -c; }; echo "memwatch=${PIPESTATUS[0]}"'
	echo "$stderr"
	[ "${lines[1]}" = "memwatch=0" ]
	[ "${lines[0]}" -gt 3000000 ]
	[[ "$stderr" != *"temporarily unavailable"* ]]
}
