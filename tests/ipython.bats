#!/usr/bin/env bats
# IPython and Jupyter: a real IPython under memwatch, typed into on a
# pseudo-terminal (tests/ipty.py), and a real Jupyter kernel memwatch
# attaches to (tests/jupyter_cells.py).  After each cell the snippet prints
# the cell's line, which must agree with the segments CSV.

load helpers

# Debian's IPython and Python: the python3 first on PATH may lack numpy
IPYTHON=${IPYTHON:-/usr/bin/ipython3}
PYTHON=${PYTHON:-/usr/bin/python3}
PYTHONDIR=$BATS_TEST_DIRNAME/../python

# np.ones(10**7): 10**7 doubles, 76.29 MiB
ARRAY=80000000

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	[ -x "$PYTHON" ] ||
		skip "no Python at $PYTHON (Debian: apt-get install python3)"
	# a profile, history and FIFOs of the test's own
	export IPYTHONDIR=$BATS_TEST_TMPDIR/ipython
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR
	export JUPYTER_RUNTIME_DIR=$BATS_TEST_TMPDIR/jupyter
	unset PYTHONSTARTUP MEMWATCH_FIFO MEMWATCH_PID MEMWATCH_PYTHONSTARTUP
}

needs_ipython() {
	[ -x "$IPYTHON" ] && "$PYTHON" -c 'import IPython' 2> /dev/null ||
		skip "no IPython at $IPYTHON (Debian: apt-get install ipython3)"
}

needs_numpy() {
	"$PYTHON" -c 'import numpy' 2> /dev/null ||
		skip "no numpy for $PYTHON (Debian: apt-get install python3-numpy)"
}

# session ARG...: run memwatch ARG... on a terminal, typed into as the
# ipty.py script on standard input says; the screen ends up in ./screen,
# the exit status of memwatch in $status.
session() {
	timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/ipty.py" screen -- \
		"$MEMWATCH" "$@" > driver.out
	[[ "$(cat driver.out)" =~ ^exit\ ([0-9]+)$ ]]
	status=${BASH_REMATCH[1]}
}

# lines N: how many lines the screen shows for cell N.
lines() {
	grep -c "^In \[$1\] used " screen || true
}

# seg LABEL COLUMN: column COLUMN of the segments row labelled LABEL.
seg() {
	awk -F, -v label="$1" -v name="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		$2 == label { print $c }' seg.csv
}

# line_for N: the line cell N should get, made from its segments row.
line_for() {
	awk -F, -v label="In [$1]" '$2 == label {
		note = $13 == "upper" ? " (peak at most)" : $13 == "sampled" ? " (peak sampled)" : ""
		printf "%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB above " \
		    "current%s, total RAM usage %.2f MiB\n", $2, $8 / 1048576, \
		    $5, $10 / 1048576, note, $7 / 1048576 }' seg.csv
}

# shows REGEX: the screen as a whole matches Perl REGEX (\n between lines).
shows() {
	grep -Pzq -- "$1" screen && return
	printf 'screen does not match /%s/:\n' "$1" >&2
	cat screen >&2
	return 1
}

@test "ipython: the seed example, one line per cell after its output, exact peak of b = a * b" {
	needs_ipython
	needs_numpy
	session -q -i 1s -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send import numpy as np
		expect ^In \[1\] used 
		expect In \[2\]:
		send a = np.ones(10**7)
		expect ^In \[2\] used 
		expect In \[3\]:
		send b = np.ones(10**7)
		expect ^In \[3\] used 
		expect In \[4\]:
		send b = a * b
		expect ^In \[4\] used 
		expect In \[5\]:
		send a.sum()
		expect ^In \[5\] used 
		expect In \[6\]:
		send exit
		wait
	EOF
	[ "$status" -eq 0 ]
	shows 'memwatch: a line after each cell; %memwatch off stops them'
	local n
	for n in 1 2 3 4 5 6; do
		[ "$(lines $n)" -eq 1 ]
		# the line is memwatch's row for the cell, to the digit
		grep -qxF -- "$(line_for $n)" screen
	done
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 6 ]
	near "$(seg 'In [2]' delta_bytes)" $ARRAY $TOL
	near "$(seg 'In [3]' delta_bytes)" $ARRAY $TOL
	# at -i 1s sampling sees nothing of the 0.1 s temporary of a * b: the
	# peak comes from the kernel's high-water mark, exact to the page
	if [ -w /proc/self/clear_refs ]; then
		[ "$(seg 'In [4]' peak_exact)" -eq 1 ]
		near "$(seg 'In [4]' peak_above_end_bytes)" $ARRAY $TOL
		near "$(seg 'In [4]' delta_bytes)" 0 $TOL
	fi
	# the line follows the cell's output and precedes the next prompt
	shows 'Out\[5\]: 10000000\.0\nIn \[5\] used [^\n]*\n\n+In \[6\]: '
	# idle time between cells is a segment of its own
	[ "$(grep -c '^[0-9]*,idle,' seg.csv)" -ge 6 ]
}

@test "ipython: cells that raise, %magic and !shell cells get a line; empty cells are skipped" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send 1/0
		expect ZeroDivisionError: division by zero
		expect ^In \[1\] used 
		expect In \[2\]:
		keys \r
		keys \x20\x20\x20\r
		send print('after ' + 'the blanks')
		expect ^after the blanks$
		expect ^In \[2\] used 
		expect In \[3\]:
		send %time x = sum(range(1000))
		expect ^Wall time
		expect ^In \[3\] used 
		expect In \[4\]:
		send !echo from-the-'shell'
		expect ^from-the-shell$
		expect ^In \[4\] used 
		expect In \[5\]:
		send %memwatch
		expect ^memwatch: on, through 
		expect ^In \[5\] used 
		expect In \[6\]:
		send exit
		wait
	EOF
	[ "$status" -eq 0 ]
	local n
	for n in 1 2 3 4 5 6; do
		[ "$(lines $n)" -eq 1 ]
		grep -qxF -- "$(line_for $n)" screen
	done
	# an empty or blank cell takes no number and gets no line
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 6 ]
	shows 'ZeroDivisionError: division by zero\nIn \[1\] used [^\n]*\n\n+In \[2\]: '
	shows 'from-the-shell\nIn \[4\] used [^\n]*\n\n+In \[5\]: '
	# nothing went wrong on the snippet's side
	! grep -q 'Error in callback' screen
}

@test "ipython: Ctrl-C and SIGINT during a cell: KeyboardInterrupt, the cell's line, the shell goes on" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send import time; print('sleep' + 'ing', flush=True); time.sleep(30)
		expect ^sleeping$
		intr
		expect ^KeyboardInterrupt
		expect ^In \[1\] used 
		expect In \[2\]:
		send print('sleeping ' + 'again', flush=True); time.sleep(30)
		expect ^sleeping again
		kill INT child
		expect ^KeyboardInterrupt
		expect ^In \[2\] used 
		expect In \[3\]:
		send 6 * 7
		expect ^Out\[3\]: 42
		expect ^In \[3\] used 
		expect In \[4\]:
		send exit
		wait
	EOF
	# Ctrl-C reached memwatch too, which let IPython handle it
	[ "$status" -eq 0 ]
	local n
	for n in 1 2 3 4; do
		[ "$(lines $n)" -eq 1 ]
		grep -qxF -- "$(line_for $n)" screen
	done
	# the interrupted cells ended well before their 30 s
	(( $(seg 'In [1]' duration_s | cut -d. -f1) < 20 ))
	(( $(seg 'In [2]' duration_s | cut -d. -f1) < 20 ))
	shows 'KeyboardInterrupt: *\nIn \[2\] used [^\n]*\n\n+In \[3\]: '
	! grep -q 'Error in callback' screen
}

@test "ipython: the user's own PYTHONSTARTUP still runs, and no names are left behind" {
	needs_ipython
	printf '%s\n' "mine = 'ran'" "print('user startup ' + mine)" > mine.py
	PYTHONSTARTUP=$PWD/mine.py session -q -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send sorted(k for k in globals() if not k.startswith('_'))
		expect ^In \[1\] used 
		expect In \[2\]:
		send import os; print(os.environ.get('PYTHONSTARTUP'), 'MEMWATCH_PYTHONSTARTUP' in os.environ)
		expect ^In \[2\] used 
		expect In \[3\]:
		send import memwatch; print(memwatch.__file__)
		expect ^In \[3\] used 
		expect In \[4\]:
		send exit
		wait
	EOF
	[ "$status" -eq 0 ]
	shows '\nuser startup ran\n'
	shows "Out\[1\]: \['In', 'Out', 'exit', 'get_ipython', 'mine', 'quit'\]\n"
	# the user's environment again, for what they start from IPython
	shows "\n$PWD/mine.py False\n"
	shows "\n$(cd "$PYTHONDIR" && pwd -P)/memwatch.py\n"
}

@test "python: the plain REPL runs the user's PYTHONSTARTUP and nothing else" {
	printf '%s\n' "mine = 'ran'" "print('user startup ' + mine)" > mine.py
	PYTHONSTARTUP=$PWD/mine.py run --separate-stderr mw -q -- "$PYTHON" -i <<-'EOF'
		print(mine, 'memwatch' in __import__('sys').modules)
	EOF
	[ "$status" -eq 0 ]
	[ "$output" = $'user startup ran\nran False' ]
}

@test "ipython: memwatch killed mid-session: said once, IPython goes on" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send 1 + 1
		expect ^In \[1\] used 
		expect In \[2\]:
		kill KILL command
		send 2 + 2
		expect ^Out\[2\]: 4
		expect In \[3\]:
		send 3 + 3
		expect ^Out\[3\]: 6
		expect In \[4\]:
		send exit
		wait
	EOF
	[ "$status" -eq $(( 128 + 9 )) ]
	[ "$(grep -c '^memwatch: ' screen)" -eq 2 ]
	[ "$(grep -c '^memwatch: the memwatch process has exited' screen)" -eq 1 ]
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 1 ]
	! grep -q 'Error in callback' screen
}

@test "ipython: memwatch stopped: no answer in 1 s, said once, %memwatch on resumes" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send 1 + 1
		expect ^In \[1\] used 
		expect In \[2\]:
		kill STOP command
		send 2 + 2
		expect ^memwatch: no answer from memwatch in 1 s
		expect In \[3\]:
		send 3 + 3
		expect ^Out\[3\]: 6
		expect In \[4\]:
		kill CONT command
		send %memwatch on
		expect ^memwatch: per-cell lines on
		expect In \[5\]:
		send 5 + 5
		expect ^In \[5\] used 
		expect In \[6\]:
		send exit
		wait
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c '^memwatch: no answer' screen)" -eq 1 ]
	[ "$(lines 1)" -eq 1 ]
	[ "$(lines 5)" -eq 1 ]
	grep -qxF -- "$(line_for 5)" screen
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 3 ]
	# while quiet, no markers: no segment for cells 3 and 4
	[ -z "$(seg 'In [3]' segment)" ]
	[ -z "$(seg 'In [4]' segment)" ]
}

@test "ipython: %memwatch last, history, off and on; memwatch.measurements and history()" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		expect In \[1\]:
		send x = 1
		expect ^In \[1\] used 
		expect In \[2\]:
		send %memwatch last
		expect ^In \[2\] used 
		expect In \[3\]:
		send %memwatch history
		expect ^In \[3\] used 
		expect In \[4\]:
		send %memwatch off
		expect ^memwatch: per-cell lines off
		expect ^In \[4\] used 
		expect In \[5\]:
		send print('quiet ' + 'cell')
		expect ^quiet cell$
		expect In \[6\]:
		send %memwatch on
		expect ^memwatch: per-cell lines on
		expect In \[7\]:
		send import memwatch; m = memwatch.measurements; print(len(memwatch.cells), m.memory_usage > 0, type(memwatch.history()).__name__)
		expect ^In \[7\] used 
		expect In \[8\]:
		send exit
		wait
	EOF
	[ "$status" -eq 0 ]
	# last: cell 1's line again
	[ "$(grep -cxF -- "$(line_for 1)" screen)" -eq 2 ]
	shows 'Out\[3\]: \n +memory_delta +time_delta +memory_peak +memory_usage\ncell +\n1 +[-0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+\n2 '
	# off: the off cell still gets its line, the next none, nor the on cell
	[ "$(lines 5)" -eq 0 ]
	[ "$(lines 6)" -eq 0 ]
	[ -z "$(seg 'In [5]' segment)" ]
	[ -z "$(seg 'In [6]' segment)" ]
	shows '\n4 True DataFrame\n'
	local n
	for n in 2 3 4 7 8; do
		[ "$(lines $n)" -eq 1 ]
		grep -qxF -- "$(line_for $n)" screen
	done
}

@test "ipython inside a shell memwatch watches: says once that it watches another process" {
	needs_ipython
	run --separate-stderr mw -q -- sh -c "$IPYTHON --simple-prompt; true" <<-'EOF'
		1 + 1
		2 + 2
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c 'memwatch watches process [0-9]*, not this one' <<< "$stderr")" -eq 1 ]
	[[ "$output" == *"Out[2]: 4"* ]]
	[[ "$output" != *" used "* ]]
}

@test "ipython: a FIFO directory others may enter is refused, said once" {
	needs_ipython
	local dir=$BATS_TEST_TMPDIR/memwatch-$(id -u)
	# the shell's PID becomes Python's through exec
	run --separate-stderr sh -c '
		mkdir -p "$1/$$" && chmod 0755 "$1" && chmod 0700 "$1/$$" &&
		mkfifo "$1/$$/marker" "$1/$$/reply" &&
		exec "$2" -c "
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.extension_manager.load_extension(\"memwatch\")
ip.run_cell(\"1 + 1\")
ip.run_cell(\"2 + 2\")
print(\"done\")" "$3"' sh "$dir" "$PYTHON" "$PYTHONDIR"
	[ "$status" -eq 0 ]
	[[ "$output" == *done ]]
	[[ "$output" != *" used "* ]]
	[ "$(grep -c "memwatch: $dir: mode 0755 lets others in: refusing it" <<< "$stderr")" -eq 1 ]
}

@test "ipython: rows with sampled peaks (peak_kind sampled) say so in their line" {
	needs_ipython
	# a stand-in for memwatch that answers every marker with a row whose
	# peak is sampled, as an attached memwatch that may not reset the
	# process's high-water mark does
	run --separate-stderr "$PYTHON" - "$PYTHONDIR" <<-'EOF'
		import os, sys, threading
		sys.dont_write_bytecode = True
		sys.path.insert(0, sys.argv[1])
		d = "%s/memwatch-%d/%d" % (os.environ["XDG_RUNTIME_DIR"], os.geteuid(), os.getpid())
		os.makedirs(d, 0o700)
		os.chmod(os.path.dirname(d), 0o700)
		os.mkfifo(d + "/marker", 0o600)
		os.mkfifo(d + "/reply", 0o600)
		marker = os.fdopen(os.open(d + "/marker", os.O_RDWR))
		def answer():
		    index, label = 1, "segment 1"
		    for line in marker:
		        fd = os.open(d + "/reply", os.O_WRONLY | os.O_NONBLOCK)
		        os.write(fd, b"segment=%d\tlabel=%s\tnext=%s\tduration_s=0.500000\tstart_rss_bytes=0\tend_rss_bytes=1048576\tdelta_bytes=1048576\tpeak_rss_bytes=2097152\tpeak_above_end_bytes=1048576\tpeak_exact=0\tpeak_kind=sampled\tprocesses=1\n" % (index, label.encode(), line.strip().encode()))
		        os.close(fd)
		        index, label = index + 1, line.strip()
		threading.Thread(target=answer, daemon=True).start()
		from IPython.core.interactiveshell import InteractiveShell
		ip = InteractiveShell.instance()
		ip.extension_manager.load_extension("memwatch")
		for cell in ("1", "2", "3"):
		    ip.run_cell(cell, store_history=True)
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c '^In \[[123]\] used 1.0000 MiB RAM in 0.50s, peaked 1.00 MiB above current (peak sampled), total RAM usage 1.00 MiB$' <<< "$output")" -eq 3 ]
}

@test "jupyter: memwatch -p on a kernel, %run of the line it gives, a line in each cell's output" {
	needs_ipython
	needs_numpy
	"$PYTHON" -c 'import jupyter_client, ipykernel' 2> /dev/null ||
		skip "no jupyter_client or ipykernel for $PYTHON (Debian: apt-get install python3-jupyter-client python3-ipykernel)"
	run timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/jupyter_cells.py" \
		"$MEMWATCH" seg.csv \
		'import numpy as np' \
		'a = np.ones(10**7)' \
		"print('hel' + 'lo')" \
		'1/0' \
		"sorted(k for k in globals() if not k.startswith('_'))"
	# the kernel ended, and memwatch with it
	[ "$status" -eq 0 ]
	grep -q '^    %run .*/startup.py$' memwatch.err
	[ "$(cat cell-1.txt)" = "memwatch: a line after each cell; %memwatch off stops them, %memwatch history lists them" ]
	local n
	for n in 2 3 4 5 6; do
		[ "$(grep -c ' used .* MiB RAM in ' cell-$n.txt)" -eq 1 ]
		[ "$(tail -n 1 cell-$n.txt)" = "$(line_for $n)" ]
	done
	near "$(seg 'In [3]' delta_bytes)" $ARRAY $TOL
	[ "$(head -n 1 cell-4.txt)" = hello ]
	[ "$(head -n 1 cell-5.txt)" = "error: ZeroDivisionError" ]
	[ "$(head -n 1 cell-6.txt)" = "['In', 'Out', 'a', 'exit', 'get_ipython', 'np', 'quit']" ]
}
