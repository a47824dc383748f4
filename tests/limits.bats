#!/usr/bin/env bats
# Limits and broken outputs: few file descriptors, a full disk, an output
# removed or read-only.  memwatch says what failed, naming it, exits with
# the documented status, and never hangs or leaves its command behind.

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	unset XDG_RUNTIME_DIR
	export TMPDIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$TMPDIR"
	userdir="$TMPDIR/memwatch-$(id -u)"
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
	# 3 is too few for timeout(1) itself; from 16 on everything fits
	for n in 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		rm -f child out.csv seg.csv
		status=0
		( close_fds && ulimit -n $n && exec timeout -s KILL 30 "$MEMWATCH" -q -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child sleep 200 ) 2> err || status=$?
		echo "ulimit -n $n: status $status: $(cat err)"
		case $status in
		0)
			# a whole run; only the exact peaks may be lost, said so
			ok=$(( ok + 1 ))
			[ "$(rows seg.csv)" -eq 1 ]
			[ "$(rows out.csv)" -ge 1 ]
			[ "$(grep -cv 'peaks are sampled, not exact: Too many open files$' err)" -eq 0 ]
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
