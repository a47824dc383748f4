#!/usr/bin/env bats
# IPython and Jupyter: a real IPython under memwatch, typed into on a
# pseudo-terminal (tests/ipty.py), and a real Jupyter kernel memwatch
# attaches to (tests/jupyter_cells.py).  After each cell the snippet prints
# the cell's line, which must agree with the segments CSV.

load ipython

PYTHONDIR=$BATS_TEST_DIRNAME/../python

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

# session ARG...: memwatch ARG... on a terminal (on_pty).
session() {
	on_pty "$MEMWATCH" "$@"
}

# seg LABEL COLUMN: column COLUMN of the segments row labelled LABEL.
seg() {
	awk -F, -v label="$1" -v name="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		$2 == label { print $c }' seg.csv
}

# line_for N: the line cell N should get, made from its segments rows: the
# one labelled "In [N]" and those the cell cut after it, up to "idle".
line_for() {
	awk -F, -v label="In [$1]" '
		$2 == label { on = 1; first = $6; n0 = $1 }
		on && $2 == "idle" { exit }
		on {
			dur += $5; last = $7; if ($9 + 0 > peak) peak = $9
			rows++; lastn = $1
			if ($13 == "sampled") sampled = 1
			if ($13 == "upper") upper = 1
		}
		END {
			# a row missing: the peak is a lower bound
			if (sampled || lastn - n0 + 1 != rows)
				note = " (peak sampled)"
			else if (upper)
				note = " (peak at most)"
			printf "%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB " \
			    "above current%s, total RAM usage %.2f MiB\n", label, \
			    (last - first) / 1048576, dur, (peak - last) / 1048576, \
			    note, last / 1048576 }' seg.csv
}

# agree N...: cells N... have a line each, and it is memwatch's rows for
# the cell, to the digit.
agree() {
	local n
	for n in "$@"; do
		if [ "$(lines $n)" -ne 1 ] ||
		    ! grep -qxF -- "$(line_for $n)" screen; then
			echo "cell $n: not one line '$(line_for $n)'" >&2
			return 1
		fi
	done
}

@test "ipython: the seed example, one line per cell after its output, exact peak of b = a * b" {
	needs_ipython
	needs_numpy
	session -q -i 1s -s seg.csv -- "$IPYTHON" <<-'EOF'
		cell 1 import numpy as np
		cell 2 a = np.ones(10**7)
		cell 3 b = np.ones(10**7)
		cell 4 b = a * b
		cell 5 a.sum()
		type 6 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	shows 'memwatch: a line after each cell; %memwatch off stops them'
	agree 1 2 3 4 5 6
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

@test "ipython: memwatch without -q leaves the lines to IPython: no line of its own for the idle segments, at exit neither" {
	needs_ipython
	session -s seg.csv -- "$IPYTHON" <<-'EOF'
		cell 1 x = 1
		cell 2 y = 2
		type 3 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	agree 1 2 3
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 3 ]
	# its summary at exit is still there
	[ "$(grep -c '^memwatch: [0-9.]*s, peak ' screen)" -eq 1 ]
}

@test "ipython: cells that raise, %magic and !shell cells get a line; empty cells are skipped" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		type 1 1/0
		expect ZeroDivisionError: division by zero
		line 1
		expect In \[2\]:
		keys \r
		keys \x20\x20\x20\r
		send print('after ' + 'the blanks')
		expect ^after the blanks$
		line 2
		type 3 %time x = sum(range(1000))
		expect ^Wall time
		line 3
		type 4 !echo from-the-'shell'
		expect ^from-the-shell$
		line 4
		type 5 %memwatch
		expect ^memwatch: on, through 
		line 5
		type 6 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	agree 1 2 3 4 5 6
	# an empty or blank cell takes no number and gets no line
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 6 ]
	shows 'ZeroDivisionError: division by zero\nIn \[1\] used [^\n]*\n\n+In \[2\]: '
	shows 'from-the-shell\nIn \[4\] used [^\n]*\n\n+In \[5\]: '
	# nothing went wrong on the snippet's side
	[ "$(grep -c 'Error in callback' screen)" -eq 0 ]
}

@test "ipython: Ctrl-C and SIGINT during a cell: KeyboardInterrupt, the cell's line, the shell goes on" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		type 1 import time; print('sleep' + 'ing', flush=True); time.sleep(30)
		expect ^sleeping$
		intr
		expect ^KeyboardInterrupt
		line 1
		type 2 print('sleeping ' + 'again', flush=True); time.sleep(30)
		expect ^sleeping again
		kill INT child
		expect ^KeyboardInterrupt
		line 2
		type 3 6 * 7
		expect ^Out\[3\]: 42
		line 3
		type 4 exit
		wait
	EOF
	# Ctrl-C reached memwatch too, which let IPython handle it
	[ "$status" -eq 0 ]
	agree 1 2 3 4
	# the interrupted cells ended well before their 30 s
	(( $(seg 'In [1]' duration_s | cut -d. -f1) < 20 ))
	(( $(seg 'In [2]' duration_s | cut -d. -f1) < 20 ))
	shows 'KeyboardInterrupt: *\nIn \[2\] used [^\n]*\n\n+In \[3\]: '
	[ "$(grep -c 'Error in callback' screen)" -eq 0 ]
}

@test "ipython: a cell that cuts its own segments (FIFO marker, SIGUSR1) gets one line, of all its segments" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		cell 1 x = b'x' * (8 << 20); get_ipython().system('echo phase > "$MEMWATCH_FIFO"'); y = b'y' * (16 << 20)
		cell 2 !echo phase > $MEMWATCH_FIFO
		cell 3 import os, signal; z = b'z' * (8 << 20); os.kill(int(os.environ['MEMWATCH_PID']), signal.SIGUSR1); w = b'w' * (8 << 20)
		cell 4 4 + 4
		type 5 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c 'no answer from memwatch' screen)" -eq 0 ]
	agree 1 2 3 4 5
	# the cells' own boundaries are in the timeline
	[ "$(grep -c '^[0-9]*,phase,' seg.csv)" -eq 2 ]
	[[ "$(grep -A1 '^[0-9]*,In \[3\],' seg.csv | tail -n 1)" == *,"segment "[0-9]*,* ]]
	# and each line holds the whole cell: 24 MiB, then 16 MiB
	local used
	used=$(sed -n 's/^In \[1\] used \([0-9]*\)\..*/\1/p' screen)
	[ "$used" -ge 23 ] && [ "$used" -le 25 ]
	used=$(sed -n 's/^In \[3\] used \([0-9]*\)\..*/\1/p' screen)
	[ "$used" -ge 15 ] && [ "$used" -le 17 ]
}

@test "ipython: the user's own PYTHONSTARTUP still runs, and no names are left behind" {
	needs_ipython
	printf '%s\n' "mine = 'ran'" "print('user startup ' + mine)" > mine.py
	PYTHONSTARTUP=$PWD/mine.py session -q -- "$IPYTHON" <<-'EOF'
		cell 1 sorted(k for k in globals() if not k.startswith('_'))
		cell 2 import os; print(os.environ.get('PYTHONSTARTUP'), 'MEMWATCH_PYTHONSTARTUP' in os.environ)
		cell 3 import memwatch; print(memwatch.__file__)
		type 4 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	shows '\nuser startup ran\n'
	shows "Out\[1\]: \['In', 'Out', 'exit', 'get_ipython', 'mine', 'quit'\]\n"
	# the user's environment again, for what they start from IPython
	shows "\n$PWD/mine.py False\n"
	shows "\n$(cd "$PYTHONDIR" && pwd -P)/memwatch/__init__.py\n"
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
		cell 1 1 + 1
		expect In \[2\]:
		kill KILL command
		send 2 + 2
		expect ^Out\[2\]: 4
		type 3 3 + 3
		expect ^Out\[3\]: 6
		type 4 exit
		wait
	EOF
	[ "$status" -eq $(( 128 + 9 )) ]
	[ "$(grep -c '^memwatch: ' screen)" -eq 2 ]
	[ "$(grep -c '^memwatch: the memwatch process has exited' screen)" -eq 1 ]
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 1 ]
	[ "$(grep -c 'Error in callback' screen)" -eq 0 ]
}

@test "ipython: memwatch stopped: no answer in 1 s, said once, %memwatch on resumes" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		cell 1 1 + 1
		expect In \[2\]:
		kill STOP command
		send 2 + 2
		expect ^memwatch: no answer from memwatch in 1 s
		type 3 3 + 3
		expect ^Out\[3\]: 6
		expect In \[4\]:
		kill CONT command
		send %memwatch on
		expect ^memwatch: per-cell lines on
		line 4
		cell 5 5 + 5
		type 6 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c '^memwatch: no answer' screen)" -eq 1 ]
	local n
	for n in 1 4 5 6; do
		[ "$(lines $n)" -eq 1 ]
	done
	grep -qxF -- "$(line_for 5)" screen
	[ "$(grep -c ' used .* MiB RAM in ' screen)" -eq 4 ]
	# while quiet, no markers: no segment for cell 3; the rest of the on
	# cell is measured
	[ -z "$(seg 'In [3]' segment)" ]
	[ -n "$(seg 'In [4]' segment)" ]
}

@test "ipython: %memwatch last, history, off and on, bad subcommands; memwatch.measurements and history() without pandas imported" {
	needs_ipython
	session -q -s seg.csv -- "$IPYTHON" <<-'EOF'
		cell 1 x = 1
		cell 2 %memwatch last
		cell 3 %memwatch history
		type 4 %memwatch off
		expect ^memwatch: per-cell lines off
		line 4
		type 5 print('quiet ' + 'cell')
		expect ^quiet cell$
		type 6 %memwatch on
		expect ^memwatch: per-cell lines on
		line 6
		cell 7 import memwatch, sys; m = memwatch.measurements; print(len(memwatch.cells), m.memory_usage > 0, type(memwatch.history()).__name__, 'pandas' in sys.modules)
		type 8 %memwatch off now
		expect ^UsageError: %memwatch off takes no arguments
		line 8
		type 9 %memwatch bogus
		expect ^UsageError: unknown subcommand 'bogus'
		line 9
		cell 10 import pandas
		cell 11 %memwatch history
		type 12 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	# last: cell 1's line again
	[ "$(grep -cxF -- "$(line_for 1)" screen)" -eq 2 ]
	# history: rows of memwatch.Cell, pandas left alone
	shows 'Out\[3\]: \n\[Cell\(cell=1, memory_delta=[-0-9.e]+, time_delta=[0-9.e-]+, memory_peak=[0-9.e-]+, memory_usage=[0-9.]+\),\n Cell\(cell=2, '
	shows '\n5 True list False\n'
	# off: the off cell still gets its line, the next none; on: the rest
	# of the on cell is measured
	[ "$(lines 5)" -eq 0 ]
	[ -z "$(seg 'In [5]' segment)" ]
	# the usage lists the subcommands
	shows 'usage:\n%memwatch +say whether lines are on [^\n]*\n%memwatch on +'
	# with pandas imported, a DataFrame
	shows 'Out\[11\]: \n +memory_delta +time_delta +memory_peak +memory_usage\ncell +\n1 +[-0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+\n2 '
	agree 2 3 4 6 7 8 9 10 11 12
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

@test "memwatch -p: a %run hint for an IPython or a Jupyter kernel, none for other Python programs" {
	ipython_standin bin
	cp bin/ipython3 bin/train.py
	cp bin/ipython3 bin/ipykernel_standin.py
	# the build tree's binary names the source tree's package
	[[ "$(hint_for "$MEMWATCH" "$PYTHON" bin/ipython3)" == *$'\n    %run '"$(cd "$PYTHONDIR" && pwd)"/memwatch/startup.py* ]]
	[[ "$(cd bin && hint_for "$MEMWATCH" "$PYTHON" -W ignore -m ipykernel_standin)" == *"%run "* ]]
	[[ "$(hint_for "$MEMWATCH" "$PYTHON" bin/train.py)" != *"%run"* ]]
	[[ "$(hint_for "$MEMWATCH" "$PYTHON" -c 'import time; time.sleep(30)')" != *"%run"* ]]
}

@test "memwatch -p as root on another user's IPython: no %run hint that cannot work, what to do instead" {
	needs_root
	share
	ipython_standin "$shared"
	chmod 644 "$shared/ipython3"
	run hint_for "$shared/memwatch" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PYTHON" "$shared/ipython3"
	[[ "$output" != *"%run"* ]]
	[[ "$output" == *"runs as nobody, who cannot use this memwatch's FIFO"*"%load_ext memwatch"*"run memwatch -p "[0-9]*" as nobody"* ]]
}

@test "jupyter: memwatch -p on a kernel, %run of the line it gives, a line in each cell's output" {
	needs_ipython
	needs_numpy
	"$PYTHON" -c 'import jupyter_client, ipykernel' 2> /dev/null ||
		skip "no jupyter_client or ipykernel for $PYTHON (Debian: apt-get install python3-jupyter-client python3-ipykernel)"
	run timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/jupyter_cells.py" \
		-a "$MEMWATCH" seg.csv <<-'EOF'
		cell import numpy as np
		cell a = np.ones(10**7)
		cell print('hel' + 'lo')
		cell 1/0
		cell sorted(k for k in globals() if not k.startswith('_'))
	EOF
	# the kernel ended, and memwatch with it
	[ "$status" -eq 0 ]
	grep -q '^    %run .*/startup.py$' memwatch.err
	[ "$(head -n 1 cell-1.txt)" = "memwatch: a line after each cell; %memwatch off stops them, %memwatch history lists them" ]
	local n
	for n in 1 2 3 4 5 6; do
		[ "$(grep -c ' used .* MiB RAM in ' cell-$n.txt)" -eq 1 ]
		[ "$(tail -n 1 cell-$n.txt)" = "$(line_for $n)" ]
	done
	near "$(seg 'In [3]' delta_bytes)" $ARRAY $TOL
	[ "$(head -n 1 cell-4.txt)" = hello ]
	[ "$(head -n 1 cell-5.txt)" = "error: ZeroDivisionError" ]
	[ "$(head -n 1 cell-6.txt)" = "['In', 'Out', 'a', 'exit', 'get_ipython', 'np', 'quit']" ]
}
