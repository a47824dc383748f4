#!/bin/sh
# run.sh: the driver of make bench.
#
#	run.sh memwatch bindir results
#
# bindir holds the helpers built by make bench: floor and spikes; ALLOC in
# the environment names the tests' workload (tests/alloc), for the guard.
# Runs each section of the benchmark in turn, each writing its CSV into the
# results directory, then report.py, which turns the CSVs into latest.md.
# It installs nothing: a missing peer is named with the Debian package that
# provides it, and its rows are skipped.

set -eu

if [ $# -ne 3 ]; then
	echo "usage: run.sh memwatch bindir results" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=/usr/bin/python3
SECTIONS="cost instructions schedule peaks ipython footprint accuracy guard"

# peer COMMAND PACKAGE: print the path of COMMAND, or say where to get it.
peer() {
	command -v "$1" && return
	echo "bench: $1 not found (Debian package $2): its rows are skipped" >&2
}

if ! [ -x "$PYTHON" ]; then
	echo "bench: $PYTHON not found (Debian package python3)" >&2
	exit 1
fi
MEMWATCH=$1 FLOOR=$2/floor SPIKES=$2/spikes RESULTS=$3
MPROF=$(peer python3-mprof python3-memory-profiler)
PIDSTAT=$(peer pidstat sysstat)
VALGRIND=$(peer valgrind valgrind)
NUMPY=yes
"$PYTHON" -c 'import numpy' 2>/dev/null || {
	NUMPY=
	echo "bench: numpy not found (Debian package python3-numpy): section 6 is skipped" >&2
}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM
BENCH_START=$(date +%s)
export MEMWATCH FLOOR SPIKES RESULTS SCRATCH BENCH_START \
	MPROF PIDSTAT VALGRIND NUMPY ALLOC
# under a memwatch of its own, the workloads would cut its segments
unset MEMWATCH_PID
# no __pycache__ in the source tree
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

mkdir -p "$RESULTS"
# a section skipped this time must not leave last time's numbers
rm -f "$RESULTS"/*.csv "$RESULTS/latest.md"
"$PYTHON" "$here/conditions.py"
for section in $SECTIONS; do
	"$PYTHON" "$here/$section.py"
done
"$PYTHON" "$here/report.py"
echo "bench: wrote $RESULTS/latest.md in $(( $(date +%s) - BENCH_START )) s" >&2
