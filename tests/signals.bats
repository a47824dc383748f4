#!/usr/bin/env bats
# Signals to memwatch at each phase of a run: pending before the command
# runs, while it runs, while it floods the FIFO, while it is stopped.
# Whatever the signal, memwatch ends as the manual says, its FIFO directory
# goes, and no command is left behind running or stopped.

load helpers

setup() {
	fifo_setup
}

# signo NAME: the number of signal NAME.
signo() {
	kill -l "$1"
}

# clean: nothing left of the run: no FIFO directory, no command.
clean() {
	local n
	n=$(find "$userdir" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	if [ "$n" -ne 0 ]; then
		echo "left in $userdir: $(ls "$userdir")" >&2
		return 1
	fi
	if [ -f child ] && kill -0 "$(cat child)" 2>/dev/null; then
		echo "command $(cat child) still there: $(grep State /proc/"$(cat child)"/status)" >&2
		return 1
	fi
}

# pending SIG ARG...: run memwatch with SIG blocked and pending, as a
# signal that arrives before memwatch has started the command.  Its status
# in $status.  An alarm, which exec keeps, stops it after 30 s if it hangs.
pending() {
	status=0
	python3 -c '
import os, signal, sys
sig = getattr(signal, "SIG" + sys.argv[1])
signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
os.kill(os.getpid(), sig)
signal.alarm(30)
os.execv(sys.argv[2], sys.argv[2:])' "$1" "$MEMWATCH" "${@:2}" || status=$?
}

@test "a signal that comes before the command runs reaches it once it does" {
	local sig
	for sig in INT TERM HUP; do
		rm -f child out.csv seg.csv err
		pending $sig -q -o out.csv -- "$WORKLOAD" pidfile child sleep 10000
		echo "SIG$sig: status $status"
		[ "$status" -eq $(( 128 + $(signo $sig) )) ]
		[ "$(rows out.csv)" -ge 1 ]
		clean
	done
}

@test "a SIGPIPE that comes before the command runs is ignored" {
	pending PIPE -q -o out.csv -- "$WORKLOAD" pidfile child sleep 200
	[ "$status" -eq 0 ]
	clean
}

@test "while the command runs: INT, TERM, HUP passed on; PIPE ignored" {
	local sig mw
	set -m	# or bash starts background jobs with SIGINT ignored
	for sig in INT TERM HUP PIPE; do
		rm -f child out.csv seg.csv err
		"$MEMWATCH" -q -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child sleep 10000 2> err &
		mw=$!
		wait_for child .
		kill -$sig $mw
		if [ $sig = PIPE ]; then
			sleep 0.3
			kill -0 $mw
			kill -TERM $mw
			sig=TERM
		fi
		ended $mw 10
		wait_status $mw
		echo "SIG$sig: status $status"
		[ "$status" -eq $(( 128 + $(signo $sig) )) ]
		[ "$(rows seg.csv)" -eq 1 ]
		clean
	done
}

@test "during a marker flood: INT, TERM, HUP end the run at once; PIPE ignored" {
	local sig mw
	set -m
	for sig in INT TERM HUP PIPE; do
		rm -f child out.csv seg.csv err
		"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child burst 1000000 2> err &
		mw=$!
		wait_for child .
		# the flood is on once segments come out
		wait_rows seg.csv 1000
		kill -$sig $mw
		if [ $sig = PIPE ]; then
			sleep 0.3
			kill -0 $mw
			kill -TERM $mw
			sig=TERM
		fi
		ended $mw 10
		wait_status $mw
		echo "SIG$sig: status $status, $(rows seg.csv) segments"
		[ "$status" -eq $(( 128 + $(signo $sig) )) ]
		# the last segment is whole: the CSV ends with a full row
		[ "$(tail -c 1 seg.csv | od -An -c | tr -d ' ')" = '\n' ]
		[ "$(awk -F, 'NR > 1 && NF != 18' seg.csv | wc -l)" -eq 0 ]
		clean
	done
}

@test "a command stopped by SIGSTOP is continued when a signal is passed on" {
	local mw
	"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child stop sleep 10000 2> err &
	mw=$!
	wait_for child .
	stopped "$(cat child)"
	kill -TERM $mw
	ended $mw 10
	wait_status $mw
	[ "$status" -eq 143 ]
	[ "$(rows seg.csv)" -eq 1 ]
	clean
}

@test "attached: a stopped process is left stopped, memwatch ends" {
	"$WORKLOAD" pidfile target stop &
	local target mw
	wait_for target .
	target=$(cat target)
	stopped $target
	"$MEMWATCH" -s seg.csv -p $target 2> err &
	mw=$!
	wait_for err "watching pid"
	kill -TERM $mw
	ended $mw 10
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 1 ]
	grep -q '^State:.T' /proc/$target/status
	kill -CONT $target
	wait $target
	clean
}
