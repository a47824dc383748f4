#!/usr/bin/env bats
# Limits and broken outputs: few file descriptors, a full disk, an output
# removed or read-only.  memwatch says what failed, naming it, exits with
# the documented status, and never hangs or leaves its command behind.

load helpers

setup() {
	fifo_setup
}

# clean: no FIFO directory left, and no command.
clean() {
	[ "$(find "$userdir" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -eq 0 ]
	if [ -f child ] && kill -0 "$(cat child)" 2>/dev/null; then
		echo "command $(cat child) left running" >&2
		return 1
	fi
}

@test "few file descriptors: a clear error or a whole run, never a hang" {
	local n ok=0
	if sanitized; then
		# ASan needs descriptors of its own at exit: LeakSanitizer reads
		# /proc/PID/task, a report opens its log.  Here, then, no leak
		# check, and a report goes to stderr, where it fails the test.
		export ASAN_OPTIONS="${ASAN_OPTIONS-}:detect_leaks=0:log_path=stderr"
	fi
	# 3 is too few for timeout(1) itself; from 16 on everything fits
	for n in 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		rm -f child out.csv seg.csv
		status=0
		( close_fds && ulimit -n $n && exec timeout -s KILL 30 "$MEMWATCH" -q -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child sleep 200 ) 2> err || status=$?
		echo "ulimit -n $n: status $status: $(cat err)"
		case $status in
		0)
			# a whole run; only the FIFO (SIGUSR1 still cuts) or the
			# exact peaks may be lost, said so
			ok=$(( ok + 1 ))
			[ "$(rows seg.csv)" -eq 1 ]
			[ "$(rows out.csv)" -ge 1 ]
			[ "$(grep -Ecv '((peaks are sampled, not exact|/memwatch-[0-9]+/[0-9]+): Too many open files|Too many open files: (\$[A-Z_]+ not used for the FIFO|no FIFO))$' err)" -eq 0 ]
			;;
		121|124)
			# one line, naming what could not be opened
			[ "$(wc -l < err)" -eq 1 ]
			grep -q '^memwatch: [^ ]*: Too many open files$' err
			;;
		*)
			return 1
			;;
		esac
		clean
	done
	[ $ok -ge 2 ]
}

@test "the outputs' directory is removed during the run: said, exit 124" {
	mkdir outdir
	"$MEMWATCH" -q -i 10ms -o outdir/out.csv -s outdir/seg.csv -- "$WORKLOAD" pidfile child waitsig sleep 100 2> err &
	local mw=$!
	wait_for child .
	rm -rf outdir
	kill -USR2 "$(cat child)"
	wait_status $mw
	cat err
	[ "$status" -eq 124 ]
	grep -q '^memwatch: outdir/out.csv: removed during the run$' err
	grep -q '^memwatch: outdir/seg.csv: removed during the run$' err
	clean
}

@test "attached, the output is removed: memwatch stops, exit 124, process left alone" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	"$MEMWATCH" -i 10ms -o out.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	rm out.csv
	# found at the next flush, within a second
	ended $mw 5
	wait_status $mw
	[ "$status" -eq 124 ]
	grep -q '^memwatch: out.csv: removed during the run$' err
	kill -0 "$(cat target)"
	kill -USR2 "$(cat target)"
}

@test "a read-only output file: a clear error, exit 124, command not run" {
	echo old > out.csv
	if [ "$(id -u)" -eq 0 ]; then
		# root writes through file modes: a read-only mount, then
		unshare --mount true 2> /dev/null || skip "cannot make a mount namespace here"
		run --separate-stderr unshare --mount sh -c 'mount --bind -o ro . . && cd "$PWD" && exec "$@"' sh "$MEMWATCH" -o out.csv -- touch ran
		[[ "$stderr" == *"memwatch: out.csv: Read-only file system"* ]]
	else
		chmod 0444 out.csv
		run --separate-stderr "$MEMWATCH" -o out.csv -- touch ran
		[[ "$stderr" == *"memwatch: out.csv: Permission denied"* ]]
	fi
	[ "$status" -eq 124 ]
	[ ! -e ran ]
	[ "$(cat out.csv)" = old ]
	clean
}

@test "the disk fills up during the run: said once, the command finishes, exit 124" {
	needs_root
	unshare --mount true 2> /dev/null || skip "cannot make a mount namespace here"
	mkdir disk
	# 16 KiB fill up in about half a second of samples every 1 ms
	run --separate-stderr unshare --mount sh -c 'mount -t tmpfs -o size=16k tmpfs disk && exec "$@"' sh \
		"$MEMWATCH" -i 1ms -o disk/out.csv -s seg.csv -- sh -c 'sleep 2; touch done'
	echo "$stderr"
	[ "$status" -eq 124 ]
	[ -e done ]
	[ "$(grep -c 'disk/out.csv: No space left on device' <<< "$stderr")" -eq 1 ]
	[ "$(rows seg.csv)" -eq 1 ]
	clean
}
