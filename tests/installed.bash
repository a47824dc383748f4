# installed.bash: for the tests of memwatch as a user installs it.  make
# check makes tests/installed with make install DESTDIR=, and tells where
# it is ($INSTALLED) and the configured directories under it
# ($CONFIGURED_BINDIR, $CONFIGURED_PYTHONDIR, $CONFIGURED_KERNELDIR).  The
# tests point Python and Jupyter there as a user of a staged install would
# (PYTHONPATH, JUPYTER_PATH), and the extension at the installed binary
# (MEMWATCH_BINARY: the configured bindir holds none yet).

load ipython

JUPYTER=${JUPYTER:-/usr/bin/jupyter}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	[ -x "$PYTHON" ] && "$PYTHON" -c 'import IPython, numpy' 2> /dev/null ||
		skip "no IPython or numpy for $PYTHON (Debian: apt-get install ipython3 python3-numpy)"
	if [ ! -d "$INSTALLED$CONFIGURED_PYTHONDIR/memwatch" ]; then
		echo "no installed tree at $INSTALLED: run the tests through make check" >&2
		return 1
	fi
	export PYTHONPATH=$INSTALLED$CONFIGURED_PYTHONDIR
	export MEMWATCH_BINARY=$INSTALLED$CONFIGURED_BINDIR/memwatch
	export JUPYTER_PATH=$INSTALLED${CONFIGURED_KERNELDIR%/kernels/memwatch}
	# profiles, FIFOs and Jupyter's files of the test's own
	export IPYTHONDIR=$BATS_TEST_TMPDIR/ipython
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR
	export JUPYTER_CONFIG_DIR=$BATS_TEST_TMPDIR/jupyter-config
	export JUPYTER_DATA_DIR=$BATS_TEST_TMPDIR/jupyter-data
	export JUPYTER_RUNTIME_DIR=$BATS_TEST_TMPDIR/jupyter-runtime
	# the kernel's debugger, on its stderr, about Python's frozen modules
	export PYDEVD_DISABLE_FILE_VALIDATION=1
	unset PYTHONSTARTUP MEMWATCH_FIFO MEMWATCH_PID MEMWATCH_PYTHONSTARTUP
}

# mib_near GOT WANT: fail, saying so, unless |GOT - WANT| <= 1 MiB (the
# kernel's per-CPU RSS counters lag by some pages, tests/helpers.bash).
mib_near() {
	awk -v got="$1" -v want="$2" 'BEGIN {
		d = got - want; if (d < 0) d = -d
		if (d > 1) { printf "expected %s +/- 1 MiB, got %s\n", want, got > "/dev/stderr"; exit 1 } }'
}

# used FILE N: the MiB cell N's line in FILE says it left behind.
used() {
	sed -n "s/^In \[$2\] used \([-0-9.]*\) MiB RAM in .*/\1/p" "$1"
}

# peaked FILE N: the MiB above current cell N's line in FILE says it peaked.
peaked() {
	sed -n "s/^In \[$2\] used .*, peaked \([0-9.]*\) MiB above current.*/\1/p" "$1"
}

# exact_peaks: whether this process may reset its own high-water mark, as
# a memwatch of the same user does for the extension's.
exact_peaks() {
	[ -w /proc/self/clear_refs ]
}

# The shape of a cell's line, as ipython_memwatcher printed it, but for
# what memwatch adds where a peak is not exact.
LINE='^In \[[0-9]+\] used -?[0-9]+\.[0-9]{4} MiB RAM in [0-9]+\.[0-9]{2}s, peaked [0-9]+\.[0-9]{2} MiB above current( \(peak (at most|sampled)\))?, total RAM usage [0-9]+\.[0-9]{2} MiB$'

# reaped PID: wait up to 10 s for PID to be gone from /proc: ended and
# reaped by its parent (a zombie is not gone).
reaped() {
	eventually 10 "pid $1 still in /proc after 10 s" not_in_proc "$1"
}

not_in_proc() {
	[ ! -e "/proc/$1" ]
}

teardown() {
	local pid
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in $(cat watchers.txt 2> /dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}
