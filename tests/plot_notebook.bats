#!/usr/bin/env bats
# %memwatch plot: in an IPython shell (in the process of tests/
# notebook_plot.py) with the installed extension and its own memwatch,
# the magic returns memwatch's SVG of the session: the cells before it as
# labelled bands, its own cell open.

load installed

@test "%memwatch plot shows the session's cells as labelled bands, inline" {
	run timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/notebook_plot.py"
	echo "$output"
	[ "$status" -eq 0 ]
	# memwatch writes the plot about once a second: the magic waits no more
	local took=$(sed -n 's/^%memwatch plot: .* in \([0-9.]*\) s$/\1/p' <<< "$output")
	[ -n "$took" ]
	[ "$(awk -v t="$took" 'BEGIN { print (t < 2.5) }')" -eq 1 ]
}
