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

# Background processes left by a failed test would keep bats waiting.
teardown() {
	local pid
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in target child; do
		[ -f "$pid" ] && kill -KILL "$(cat "$pid")" 2>/dev/null || true
	done
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

# wait_for FILE PATTERN: wait up to 10 s for PATTERN to appear in FILE.
wait_for() {
	local i
	for (( i = 0; i < 1000; i++ )); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}
