#!/usr/bin/env bats
# Signals to memwatch at each phase of a run: pending before the command
# runs, while it runs, while it floods the FIFO, while it is stopped, sent
# to memwatch alone or to its whole process group.  Whatever the signal,
# the command gets it exactly once, memwatch ends as the manual says, its
# FIFO directory goes, and no command is left behind running or stopped.
# Job control on a terminal is in jobs.bats.

load helpers

setup() {
	fifo_setup
	# the workload dies of SIGQUIT, SIGSEGV and the like: no core files
	ulimit -c 0
}

# signo NAME: the number of signal NAME.
signo() {
	kill -l "$1"
}

# terminating: the names of the signals whose default action ends a
# process and that a process can catch, every one of them (real-time
# signals included; glibc keeps two for itself, which have no name),
# but SIGUSR1, which cuts a segment.
terminating() {
	local n name
	for (( n = 1; n <= $(signo RTMAX); n++ )); do
		name=$(kill -l $n)
		case $name in
		''|KILL|STOP|USR1|CHLD|CONT|TSTP|TTIN|TTOU|URG|WINCH) ;;
		*) echo "$name" ;;
		esac
	done
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

# quiet PID: PID sleeps with no signal pending, so it has taken (memwatch:
# and passed on; the workload: and logged) every signal sent to it.
quiet() {
	awk '/^State:/ && $2 != "S" { busy = 1 }
		/^(SigPnd|ShdPnd):/ && $2 !~ /^0+$/ { busy = 1 }
		END { exit busy }' "/proc/$1/status"
}

# settled PID...: wait for each PID in turn to be quiet.
settled() {
	local pid
	for pid in "$@"; do
		eventually 10 "pid $pid still busy: $(grep -E 'State|Pnd' /proc/$pid/status)" quiet "$pid"
	done
}

# A command that any signal of the class ends (the workload keeps SIGUSR2
# blocked for its step waitsig).
SLEEPER='echo $$ > child; exec sleep 10'

# pending SIG ARG...: run memwatch with SIG blocked and pending, as a
# signal that arrives before memwatch has started the command, sent by
# another process.  Its status in $status.  An alarm, which exec keeps,
# stops it after 30 s if it hangs.
pending() {
	status=0
	/usr/bin/python3 -S -c '
import os, signal, sys
sig = signal.Signals[sys.argv[1]] if sys.argv[1].startswith("SIG") else int(sys.argv[1])
# Python ignores these two for itself
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
child = os.fork()
if child == 0:
    os.kill(os.getppid(), sig)
    os._exit(0)
os.waitpid(child, 0)
signal.alarm(30)
os.execv(sys.argv[2], sys.argv[2:])' "$1" "$MEMWATCH" "${@:2}" || status=$?
}

@test "every terminating signal that comes before the command runs reaches it once it does" {
	local sig
	for sig in $(terminating); do
		rm -f child out.csv seg.csv err
		pending $(signo $sig) -o out.csv -s seg.csv -- sh -c "$SLEEPER" 2> err
		echo "SIG$sig: status $status"
		[ "$status" -eq $(( 128 + $(signo $sig) )) ]
		complete out.csv seg.csv err
		clean
	done
}

@test "every terminating signal while the command runs: passed on, all written, nothing left" {
	local sig mw
	set -m	# or bash starts background jobs with SIGINT ignored
	for sig in $(terminating); do
		rm -f child out.csv seg.csv err
		"$MEMWATCH" -o out.csv -s seg.csv -- sh -c "$SLEEPER" 2> err &
		mw=$!
		wait_for child .
		kill -$sig $mw
		ended $mw 10
		wait_status $mw
		echo "SIG$sig: status $status"
		[ "$status" -eq $(( 128 + $(signo $sig) )) ]
		[ "$(rows seg.csv)" -eq 1 ]
		complete out.csv seg.csv err
		clean
	done
}

@test "every signal reaches the command once, sent to memwatch alone or to its process group" {
	local n sig mw child
	set -m	# memwatch in a process group of its own, as a job
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child signals log &
	mw=$!
	wait_for child .
	child=$(cat child)
	# every signal that can be caught but memwatch's own SIGUSR1 and SIGCHLD
	for (( n = 1; n <= $(signo RTMAX); n++ )); do
		case $(kill -l $n) in
		''|KILL|STOP|USR1|CHLD) continue ;;
		esac
		kill -$n -- -$mw
		settled $mw $child
		kill -$n $mw
		settled $mw $child
		echo $n $n >> want
	done
	kill -KILL $child
	wait_status $mw
	[ "$status" -eq 137 ]
	# each number twice, in the order sent
	tr '\n' ' ' < want | tr ' ' '\n' | grep . > want.lines
	diff want.lines log
}

@test "a command that takes a second SIGTERM as abort shuts down gracefully, however memwatch is sent it" {
	local i mw
	set -m
	for i in 1 2 3; do
		"$MEMWATCH" -q -- "$WORKLOAD" pidfile child graceful 300 &
		mw=$!
		wait_for child .
		if [ $i -eq 2 ]; then kill -TERM $mw; else kill -TERM -- -$mw; fi
		wait_status $mw
		echo "run $i: status $status"
		[ "$status" -eq 0 ]
		rm child
	done
}

@test "a SIGPIPE or SIGXFSZ of memwatch's own writes is not passed on" {
	# the reader of the samples goes away: EPIPE, memwatch goes on
	status=0
	bash -c 'set -o pipefail; "$0" -q -i 1ms -o - -- "$1" sleep 300 | head -c 1 > /dev/null' "$MEMWATCH" "$WORKLOAD" || status=$?
	echo "pipe: status $status"
	# the command ran its course: 124 for the lost output, not 141
	[ "$status" -eq 124 ]
	# past the file size limit: EFBIG, memwatch goes on
	status=0
	bash -c 'ulimit -f 1; exec "$0" -q -i 1ms -o out.csv -- "$1" sleep 300' "$MEMWATCH" "$WORKLOAD" || status=$?
	echo "fsize: status $status"
	[ "$status" -eq 124 ]
}

@test "SIGKILL to memwatch: the command runs on, its work not lost with memwatch" {
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child sleep 400 pidfile done &
	local mw=$!
	wait_for child .
	kill -KILL $mw
	wait_status $mw
	[ "$status" -eq 137 ]
	# it finishes its steps, memwatch gone
	wait_for done .
	[ "$(cat done)" = "$(cat child)" ]
}

@test "during a marker flood: INT, TERM, HUP, PIPE end the run at once" {
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

@test "a nested memwatch without a FIFO of its own hands on none, and its own PID" {
	local inner
	# the inner memwatch's base is open to others: it refuses to make a FIFO there
	inner=$BATS_TEST_TMPDIR/open
	mkdir -m 1777 "$inner"
	mkdir -m 0777 "$inner/memwatch-$(id -u)"
	run --separate-stderr mw -q -- env TMPDIR="$inner" "$MEMWATCH" -q -- \
	    sh -c 'echo "pid=${MEMWATCH_PID-} ppid=$PPID fifo=${MEMWATCH_FIFO-none}"'
	echo "$output; $stderr"
	[ "$status" -eq 0 ]
	# it said why, naming the directory
	[[ "$stderr" == *"$inner/memwatch-$(id -u)"* ]]
	[[ "$output" =~ ^pid=([0-9]+)\ ppid=([0-9]+)\ fifo=none$ ]]
	# MEMWATCH_PID is the inner memwatch, the command's parent
	[ "${BASH_REMATCH[1]}" -eq "${BASH_REMATCH[2]}" ]
}
