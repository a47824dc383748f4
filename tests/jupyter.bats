#!/usr/bin/env bats
# Jupyter with nothing typed but cells: the "Python 3 (memwatch)" kernel
# that make install puts where Jupyter looks, through jupyter_client as a
# notebook drives it (tests/jupyter_cells.py), through nbconvert as CI runs
# notebooks, and in a notebook server in a real browser
# (tests/browser_cells.py).  The kernel starts its own memwatch; every
# cell's output ends in its line.

load installed

needs_jupyter() {
	"$PYTHON" -c 'import jupyter_client, ipykernel' 2> /dev/null ||
		skip "no jupyter_client or ipykernel for $PYTHON (Debian: apt-get install python3-jupyter-client python3-ipykernel)"
}

# notebook FILE CELL...: a notebook on the memwatch kernel.
notebook() {
	local file=$1
	shift
	"$PYTHON" - "$file" "$@" <<-'EOF'
		import json, sys
		cells = [{"cell_type": "code", "id": "cell-%d" % n, "metadata": {},
		          "execution_count": None, "outputs": [], "source": code}
		         for n, code in enumerate(sys.argv[2:], 1)]
		json.dump({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
		           "metadata": {"kernelspec": {
		               "name": "memwatch", "language": "python",
		               "display_name": "Python 3 (memwatch)"}}},
		          open(sys.argv[1], "w"), indent=1)
	EOF
}

# example_lines: cell-1.txt .. cell-4.txt hold the lines of the example
# session, with its numbers.
example_lines() {
	local n
	for n in 1 2 3 4; do
		[ "$(grep -c ' used .* MiB RAM in ' cell-$n.txt)" -eq 1 ]
		grep -Eq "$LINE" cell-$n.txt
	done
	mib_near "$(used cell-2.txt 2)" $ARRAY_MIB
	mib_near "$(used cell-3.txt 3)" $ARRAY_MIB
	# b = a * b: its temporary is gone at the end; the kernel's
	# high-water mark saw it
	mib_near "$(used cell-4.txt 4)" 0
	if exact_peaks; then
		mib_near "$(peaked cell-4.txt 4)" $ARRAY_MIB
		[ "$(cat cell-[1234].txt | grep -c '(peak ')" -eq 0 ]
	fi
}

@test "jupyter: the memwatch kernelspec is installed where Jupyter looks, naming a Python with ipykernel" {
	needs_jupyter
	run "$PYTHON" -c '
from jupyter_client.kernelspec import KernelSpecManager
print(KernelSpecManager().find_kernel_specs()["memwatch"])'
	[ "$status" -eq 0 ]
	[ "$output" = "$INSTALLED$CONFIGURED_KERNELDIR" ]
	run "$PYTHON" -c '
import json, sys
spec = json.load(open(sys.argv[1]))
print(spec["display_name"])
print(spec["argv"][0])
print(" ".join(spec["argv"][1:]))' "$INSTALLED$CONFIGURED_KERNELDIR/kernel.json"
	[ "${lines[0]}" = "Python 3 (memwatch)" ]
	[[ "${lines[1]}" == /* ]]
	"${lines[1]}" -c 'import ipykernel'
	# the kernel itself, with the extension: no memwatch around it
	[ "${lines[2]}" = "-m ipykernel_launcher -f {connection_file} --ext memwatch" ]
}

@test "jupyter: the memwatch kernel through jupyter_client: the example's lines, an interrupt, a restart, no memwatch left" {
	needs_jupyter
	run timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/jupyter_cells.py" \
		-k memwatch <<-'EOF'
		cell import numpy as np
		cell a = np.ones(10**7)
		cell b = np.ones(10**7)
		cell b = a * b
		watchers
		interrupt import time; print('sleep' + 'ing', flush=True); time.sleep(30)
		cell 6 * 7
		cell !echo phase > $MEMWATCH_FIFO
		restart
		watchers
		cell x = b'x' * (8 << 20)
	EOF
	[ "$status" -eq 0 ]
	example_lines
	# one KeyboardInterrupt, the cell's line, and the kernel goes on
	[ "$(grep -c KeyboardInterrupt cell-5.txt)" -eq 1 ]
	grep -Eq "$LINE" cell-5.txt
	[ "$(head -n 1 cell-6.txt)" = 42 ]
	grep -Eq "$LINE" cell-6.txt
	# a cell that cuts its own segment keeps its line
	grep -Eq "$LINE" cell-7.txt
	# the restarted kernel: a memwatch of its own, lines from In [1]
	[[ "$(tail -n 1 cell-8.txt)" == "In [1] used "* ]]
	mib_near "$(used cell-8.txt 1)" 8
	# one memwatch per kernel, each ended with its kernel
	[ "$(wc -l < watchers.txt)" -eq 2 ]
	[ "$(sort -u watchers.txt | wc -l)" -eq 2 ]
	local pid
	for pid in $(cat watchers.txt); do
		ended "$pid" 10
	done
	# no memwatch watches any of the kernels
	for pid in $(cat kernels.txt); do
		[ -z "$(pgrep -f -- "memwatch .*-p $pid\$")" ]
	done
}

@test "jupyter: nbconvert --execute of a notebook on the memwatch kernel: a line in each cell's output" {
	needs_jupyter
	"$PYTHON" -c 'import nbconvert, nbclient' 2> /dev/null ||
		skip "no nbconvert for $PYTHON (Debian: apt-get install python3-nbconvert)"
	notebook example.ipynb 'import numpy as np' 'a = np.ones(10**7)' \
		'b = np.ones(10**7)' 'b = a * b'
	run timeout -k 5 60 "$JUPYTER" nbconvert --to notebook --execute \
		example.ipynb --output executed.ipynb
	[ "$status" -eq 0 ]
	"$PYTHON" - executed.ipynb <<-'EOF'
		import json, sys
		nb = json.load(open(sys.argv[1]))
		for n, cell in enumerate(nb["cells"], 1):
		    with open("cell-%d.txt" % n, "w") as f:
		        # nbformat keeps a text as a string or a list of lines
		        f.write("".join("".join(o.get("text", ""))
		                        for o in cell["outputs"]))
	EOF
	example_lines
}

@test "jupyter: a notebook server in headless Chromium, the memwatch kernel: the lines rendered in the cells' outputs" {
	needs_jupyter
	local chromium=${CHROMIUM:-/usr/bin/chromium}
	local chromedriver=${CHROMEDRIVER:-/usr/bin/chromedriver}
	[ -x "$chromium" ] && [ -x "$chromedriver" ] ||
		skip "no $chromium or $chromedriver (Debian: apt-get install chromium chromium-driver)"
	"$PYTHON" -c 'import selenium, notebook' 2> /dev/null ||
		skip "no selenium or notebook for $PYTHON (Debian: apt-get install python3-selenium jupyter-notebook)"
	mkdir site
	notebook site/example.ipynb 'import numpy as np' 'a = np.ones(10**7)' \
		'b = np.ones(10**7)' 'b = a * b'
	run timeout -k 5 90 "$PYTHON" "$BATS_TEST_DIRNAME/browser_cells.py" \
		"$JUPYTER" "$chromium" "$chromedriver" "$PWD/site" example.ipynb
	if [ "$status" -ne 0 ]; then
		tail -n 20 server.log >&2
	fi
	[ "$status" -eq 0 ]
	example_lines
	[ "$(wc -l < watchers.txt)" -eq 1 ]
	ended "$(cat watchers.txt)" 10
}
