# ipython.bash: for the tests that type into a real IPython on a
# pseudo-terminal (tests/ipty.py) and read what its screen shows.

load helpers

# Debian's IPython and Python: the python3 first on PATH may lack numpy
PYTHON=${PYTHON:-/usr/bin/python3}
IPYTHON=${IPYTHON:-/usr/bin/ipython3}

# np.ones(10**7): 10**7 doubles, 76.29 MiB
ARRAY=80000000
ARRAY_MIB=76.29

# on_pty COMMAND...: run COMMAND on a terminal, typed into as the ipty.py
# script on standard input says; the screen ends up in ./screen, the exit
# status of COMMAND in $status.
on_pty() {
	timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/ipty.py" screen -- \
		"$@" > driver.out
	[[ "$(cat driver.out)" =~ ^exit\ ([0-9]+)$ ]]
	status=${BASH_REMATCH[1]}
	# shown only if the test fails
	echo "on_pty: $1 exited with status $status; the screen:" >&2
	cat screen >&2
}

# lines N: how many lines the screen shows for cell N.
lines() {
	grep -c "^In \[$1\] used " screen || true
}

# shows REGEX: the screen as a whole matches Perl REGEX (\n between lines).
shows() {
	grep -Pzq -- "$1" screen && return
	printf 'screen does not match /%s/:\n' "$1" >&2
	cat screen >&2
	return 1
}

# hint_for MEMWATCH COMMAND...: what MEMWATCH -p says on attaching to
# COMMAND, run in the background for it.
hint_for() {
	local memwatch=$1 mwpid
	shift
	"$@" & echo $! > target
	: > hint.err
	timeout -k 5 60 "$memwatch" -p "$(cat target)" 2> hint.err & mwpid=$!
	wait_for hint.err 'watching pid'
	# signals wait for the loop, which starts after the hint
	kill -TERM $mwpid
	wait $mwpid || true
	kill -KILL "$(cat target)"
	wait "$(cat target)" 2> /dev/null || true
	cat hint.err
}

# ipython_standin DIR: DIR/ipython3, a Python program that sleeps, whose
# command line is an IPython's.
ipython_standin() {
	mkdir -p "$1"
	printf '%s\n' 'import time' 'time.sleep(30)' > "$1/ipython3"
}
