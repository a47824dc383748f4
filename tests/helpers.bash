# Shared by the .bats files: where the binaries are, and how to read CSV.
#
# MEMWATCH and WORKLOAD come from make check (AM_TESTS_ENVIRONMENT) as
# absolute paths into the build tree.

bats_require_minimum_version 1.5.0

MiB=1048576
# The kernel keeps RSS in per-CPU counters (percpu_counter) whose reading may
# lag by a batch of pages per CPU, and the workload's own stack and libc
# pages may move by a few pages: 1 MiB covers both with a wide margin.
TOL=$MiB

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

# fifo_setup: a base for FIFO directories of the test's own, so nothing
# else interferes; $userdir is memwatch's per-user directory under it.
fifo_setup() {
	cd "$BATS_TEST_TMPDIR" || return
	unset XDG_RUNTIME_DIR
	export TMPDIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$TMPDIR"
	userdir="$TMPDIR/memwatch-$(id -u)"
}

# Background processes left by a failed test would keep bats waiting.
teardown() {
	local pid
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in target child; do
		[ -f "$pid" ] && kill -KILL "$(cat "$pid")" 2>/dev/null || true
	done
	if [ -n "${shared-}" ]; then
		rm -rf "$shared"
	fi
}

# needs_root: skip unless root, which the test needs to act as others.
needs_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user or mount"
	command -v setpriv > /dev/null || skip "no setpriv (util-linux)"
}

# share: copies of memwatch and the workload that any user may run, as
# $shared/memwatch and $shared/alloc: the build tree and bats' temporary
# directory may be closed to others.  Removed by teardown.
share() {
	shared=$(mktemp -d /tmp/memwatch-test.XXXXXX)
	chmod 755 "$shared"
	cp "$MEMWATCH" "$shared/memwatch"
	cp "$WORKLOAD" "$shared/alloc"
}

# close_fds: close every descriptor above 2 of this shell (bats keeps some
# open), so that a limit on their number means what it says, and so that
# a descriptor found later is not one of bats'.
close_fds() {
	local fd
	for fd in $(ls /proc/$BASHPID/fd); do
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	return 0
}

# wait_status PID: wait for background job PID; its exit status in $status.
wait_status() {
	status=0
	wait "$1" || status=$?
}

# memwatch, never allowed to hang a test run.
mw() {
	timeout -k 5 60 "$MEMWATCH" "$@"
}

# field NAME ROW FILE: column NAME of data row ROW (from 1) of a CSV file
# whose fields hold no quoted commas.
field() {
	awk -F, -v name="$1" -v row="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		NR - 1 == row { print $c }' "$3"
}

# rows FILE: the number of data rows of a CSV file.
rows() {
	echo $(( $(wc -l < "$1") - 1 ))
}

# near GOT WANT TOL: fail, saying so, unless |GOT - WANT| <= TOL.
near() {
	local d=$(( $1 - $2 ))
	if (( ${d#-} > $3 )); then
		echo "expected $2 +/- $3, got $1" >&2
		return 1
	fi
}

# eventually SECS WHY COMMAND...: run COMMAND every 10 ms until it
# succeeds, for up to SECS seconds; fail, saying WHY, if it never does.
eventually() {
	local secs=$1 why=$2 i
	shift 2
	for (( i = 0; i < secs * 100; i++ )); do
		"$@" && return 0
		sleep 0.01
	done
	echo "$why" >&2
	return 1
}

# wait_for FILE PATTERN: wait up to 10 s for PATTERN to appear in FILE.
wait_for() {
	eventually 10 "timed out waiting for '$2' in $1" has "$1" "$2"
}

has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# summary FILE: the numbers of memwatch's summary line in FILE, its
# standard error: seconds, segments, samples, late.
summary() {
	sed -n 's/^memwatch: \([0-9.]*\)s, peak [0-9.]* MiB, \([0-9]*\) segments\{0,1\}, \([0-9]*\) samples\{0,1\}, \([0-9]*\) late, [0-9]* process\(es\)\{0,1\}$/\1 \2 \3 \4/p' "$1"
}

# complete OUT SEG ERR: nothing was lost.  The samples CSV OUT has a row
# for every sample the summary line in ERR counts, the segments CSV SEG a
# row for every segment, and each segment counts its rows in OUT.
complete() {
	local secs nseg nsamples nlate
	read -r secs nseg nsamples nlate < <(summary "$3")
	if [ -z "$nsamples" ]; then
		echo "no summary line in $3" >&2
		return 1
	fi
	if [ "$(rows "$1")" -ne "$nsamples" ] || [ "$(rows "$2")" -ne "$nseg" ]; then
		echo "$(rows "$1") samples and $(rows "$2") segments written; summary: $(summary "$3")" >&2
		return 1
	fi
	# labels here hold no commas: samples is field 11
	awk -F, 'FNR == 1 { next }
		NR == FNR { n[$3]++; next }
		n[$1] + 0 != $11 { print "segment " $1 ": " n[$1] + 0 " rows, counted " $11; bad = 1 }
		END { exit bad }' "$1" "$2" >&2
}

# ended PID SECS: wait up to SECS seconds for PID to end (a zombie counts
# as ended); fail, saying so, if it does not.
ended() {
	eventually "$2" "pid $1 still running after $2 s" gone "$1"
}

gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.Z' "/proc/$1/status" 2>/dev/null
}

# stopped PID: wait up to 10 s for PID to be stopped.
stopped() {
	eventually 10 "pid $1 not stopped after 10 s" \
	    grep -qs '^State:.T' "/proc/$1/status"
}

# wait_rows FILE N: wait up to 30 s for the CSV FILE to have N data rows.
wait_rows() {
	eventually 30 "timed out waiting for $2 rows in $1" has_rows "$1" "$2"
}

has_rows() {
	[ -f "$1" ] && [ "$(rows "$1")" -ge "$2" ]
}

# sanitized: whether memwatch was built with AddressSanitizer, whose shadow
# memory and allocator make memwatch's own RSS move for reasons of their
# own.  Every instrumented object calls __asan_init, and the name stays in
# the binary, stripped or not.
sanitized() {
	LC_ALL=C grep -q -a __asan_init "$MEMWATCH"
}

# hwm_kib PID: the high-water mark of PID's resident set, in KiB.
hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}
