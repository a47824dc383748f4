#!/usr/bin/env bats
# The guard in IPython and Jupyter: a cell that goes past the limit stops
# with a KeyboardInterrupt and says so; the session, its variables and the
# next cells go on.

load installed

needs_ipython() {
	[ -x "$IPYTHON" ] || skip "no IPython at $IPYTHON (Debian: apt-get install ipython3)"
}

needs_jupyter() {
	"$PYTHON" -c 'import jupyter_client, ipykernel' 2> /dev/null ||
		skip "no jupyter_client or ipykernel for $PYTHON (Debian: apt-get install python3-jupyter-client python3-ipykernel)"
}

# seg LABEL COLUMN: column COLUMN of the segments row labelled LABEL.
seg() {
	awk -F, -v label="$1" -v name="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		$2 == label { print $c }' seg.csv
}

# a cell that would take 1000 MiB, 10 MiB at a time
GREEDY="l = [b'x' * (10 << 20) for _ in range(100)]"

@test "ipython: %memwatch limit 300M, a cell past it gets KeyboardInterrupt and a line saying why, a is still there" {
	needs_ipython
	on_pty "$MEMWATCH" -q -s seg.csv -- "$IPYTHON" <<-EOF
		cell 1 %memwatch limit 300M
		expect ^memwatch: limit 300.00 MiB from the next cell on
		cell 2 a = b'a' * (50 << 20)
		type 3 $GREEDY
		expect ^KeyboardInterrupt
		line 3
		expect ^memwatch: the cell went past the memory limit of 300.00 MiB: memwatch interrupted it
		type 4 len(a)
		expect ^Out\[4\]: 52428800
		line 4
		type 5 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	# memwatch's own warning, on the same terminal, despite -q
	shows 'memwatch: 3[0-9][0-9]\.[0-9]{2} MiB, over the limit of 300\.00 MiB: interrupting pid [0-9]+ \(SIGINT\)'
	# in this order: the traceback, the cell's line, the guard's
	shows 'KeyboardInterrupt[^\n]*\n(\n|[^I][^\n]*\n)*In \[3\] used [^\n]*\nmemwatch: the cell went past'
	[ "$(seg 'In [3]' interrupts)" -eq 1 ]
	[ "$(seg 'In [2]' interrupts)" -eq 0 ]
	[ "$(grep -c 'went past the memory limit' screen)" -eq 1 ]
}

@test "ipython: a bad %memwatch limit is refused by memwatch, and the limit stays" {
	needs_ipython
	on_pty "$MEMWATCH" -s seg.csv --limit 1G -- "$IPYTHON" <<-'EOF'
		cell 1 %memwatch limit 2X
		expect ^memwatch: limit still 1.00 GiB: memwatch did not take '2X'
		type 2 get_ipython().run_line_magic('memwatch', '')
		expect ^memwatch: on, .*; limit 1.00 GiB
		line 2
		cell 3 %memwatch limit off
		expect ^memwatch: limit off from the next cell on
		type 4 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	shows 'memwatch: limit 2X: invalid unit'
}

@test "jupyter: the memwatch kernel with MEM_LIMIT: 90% of it by default, the cell past it interrupted, the kernel and a go on" {
	needs_jupyter
	MEM_LIMIT=$(( 600 * MiB )) run timeout -k 5 60 "$PYTHON" \
		"$BATS_TEST_DIRNAME/jupyter_cells.py" -k memwatch <<-EOF
		cell a = b'a' * (50 << 20)
		cell %memwatch
		cell $GREEDY
		cell len(a)
	EOF
	[ "$status" -eq 0 ]
	cat cell-*.txt
	grep -q 'limit 540.00 MiB' cell-2.txt
	grep -q '^error: KeyboardInterrupt' cell-3.txt
	grep -q '^memwatch: the cell went past the memory limit of 540.00 MiB: memwatch interrupted it' cell-3.txt
	[ "$(head -n 1 cell-4.txt)" = 52428800 ]
	grep -Eq "$LINE" cell-4.txt
}
