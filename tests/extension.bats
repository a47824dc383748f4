#!/usr/bin/env bats
# The memwatch extension as installed, in a plain ipython3 on a terminal
# (tests/ipty.py) that no memwatch watches: %load_ext memwatch, --ext,
# ipython_config.py and ipython_memwatcher's MemWatcher each start a
# memwatch of their own, which ends with IPython or %unload_ext.

load installed

# session ARG...: ipython3 ARG... on a terminal (on_pty).
session() {
	on_pty "$IPYTHON" "$@"
}

# watchers_shown: the memwatch processes the screen's ps output showed,
# as "PID COMMAND".
watchers_shown() {
	sed -n 's/^ *\([0-9][0-9]*\) [A-Za-z+<]* *\(.*memwatch.*\)$/\1 \2/p' screen
}

@test "extension: %load_ext memwatch in a plain ipython3 starts memwatch -p on it; the example's numbers; %unload_ext stops it; exit leaves none" {
	session <<-'EOF'
		type 1 %load_ext memwatch
		expect ^memwatch: a line after each cell
		line 1
		cell 2 import numpy as np
		cell 3 a = np.ones(10**7)
		cell 4 b = np.ones(10**7)
		cell 5 b = a * b
		type 6 !ps -o pid=,stat=,args= --ppid $PPID; echo ipython $PPID
		expect ^ipython [0-9]+
		line 6
		cell 7 %unload_ext memwatch
		type 8 !ps -o pid=,stat=,args= --ppid $PPID; echo listed
		expect ^listed
		type 9 9 * 9
		expect ^Out\[9\]: 81
		cell 10 %load_ext memwatch
		type 11 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	local n
	for n in 1 2 3 4 5 6 7 10 11; do
		[ "$(lines $n)" -eq 1 ]
	done
	[ "$(grep -Ec "$LINE" screen)" -eq 9 ]
	mib_near "$(used screen 3)" $ARRAY_MIB
	mib_near "$(used screen 4)" $ARRAY_MIB
	mib_near "$(used screen 5)" 0
	if exact_peaks; then
		mib_near "$(peaked screen 5)" $ARRAY_MIB
		# the example's cells ran no other process: exact; the !ps cell
		# 6 reaped a child it started: a bound
		[ "$(grep -c '^In \[[1-5]\] .*(peak ' screen)" -eq 0 ]
	fi
	# one memwatch, IPython's child, the installed binary watching it;
	# the second ps, after %unload_ext, shows none, no zombie either
	local ipython
	ipython=$(sed -n 's/^ipython \([0-9]*\)$/\1/p' screen)
	run watchers_shown
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^[0-9]+\ "$MEMWATCH_BINARY -q -p $ipython"$ ]]
	# the session's wait saw every process on the terminal end, the
	# memwatch of the second %load_ext too
	reaped "${lines[0]%% *}"
}

@test "extension: ipython3 --ext memwatch; memwatch killed: said once, reaped at once, IPython goes on, %memwatch on starts another" {
	session --ext memwatch <<-'EOF'
		expect ^memwatch: a line after each cell
		cell 1 x = 1
		type 2 import os, signal; w = int(os.environ['MEMWATCH_PID']); os.kill(w, signal.SIGKILL)
		expect ^memwatch: the memwatch process has exited
		type 3 print('reaped', not os.path.exists('/proc/%d' % w), 'MEMWATCH_PID' in os.environ)
		expect ^reaped 
		type 4 %memwatch
		expect ^memwatch: not connected
		type 5 %memwatch on
		expect ^memwatch: a line after each cell
		line 5
		cell 6 6 * 6
		type 7 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	[ "$(lines 1)" -eq 1 ]
	# %memwatch on started another
	[ "$(lines 5)" -eq 1 ]
	[ "$(lines 6)" -eq 1 ]
	[ "$(grep -Ec "$LINE" screen)" -eq 4 ]
	[ "$(grep -c '^memwatch: the memwatch process has exited' screen)" -eq 1 ]
	grep -qx 'reaped True False' screen
	[ "$(grep -c 'Error in callback' screen)" -eq 0 ]
}

@test "extension: c.InteractiveShellApp.extensions = ['memwatch'] in ipython_config.py" {
	mkdir -p "$IPYTHONDIR/profile_default"
	echo "c.InteractiveShellApp.extensions = ['memwatch']" > \
		"$IPYTHONDIR/profile_default/ipython_config.py"
	session <<-'EOF'
		expect ^memwatch: a line after each cell
		cell 1 x = b'x' * (8 << 20)
		type 2 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	[ "$(grep -Ec "$LINE" screen)" -eq 2 ]
	mib_near "$(used screen 1)" 8
}

@test "extension: ipython_memwatcher's README session with only the import changed: its lines, mw.measurements of the last cell" {
	session <<-'EOF'
		type 1 from memwatch import MemWatcher
		type 2 mw = MemWatcher()
		cell 3 mw.start_watching_memory()
		cell 4 import numpy as np
		cell 5 a = np.ones(10**7)
		cell 6 b = np.ones(10**7)
		cell 7 b = a * b
		cell 8 meas = mw.measurements
		type 9 meas
		expect ^Out\[9\]: Measurements
		line 9
		cell 10 mw.stop_watching_memory()
		type 11 print('no ' + 'line')
		expect ^no line
		type 12 exit
		wait
	EOF
	[ "$status" -eq 0 ]
	local n
	for n in 1 2 11 12; do
		[ "$(lines $n)" -eq 0 ]
	done
	for n in 3 4 5 6 7 8 9 10; do
		[ "$(lines $n)" -eq 1 ]
	done
	[ "$(grep -Ec "$LINE" screen)" -eq 8 ]
	mib_near "$(used screen 5)" $ARRAY_MIB
	# meas: cell 7's numbers, as its line has them
	local delta time peak usage
	read -r delta time peak usage < <(sed -n 's/^Out\[9\]: Measurements(memory_delta=\([-0-9.e]*\), time_delta=\([0-9.e-]*\), memory_peak=\([0-9.e-]*\), memory_usage=\([0-9.]*\))$/\1 \2 \3 \4/p' screen)
	[ -n "$usage" ]
	[ "$(awk -v d="$delta" -v t="$time" -v p="$peak" -v u="$usage" 'BEGIN {
		printf "In [7] used %.4f MiB RAM in %.2fs, peaked %.2f MiB above current, total RAM usage %.2f MiB", d, t, p, u }')" = "$(grep '^In \[7\] used ' screen)" ]
	mib_near "$delta" 0
	if exact_peaks; then
		mib_near "$peak" $ARRAY_MIB
	fi
}

@test "extension: the installed memwatch -p's %run hint names the installed startup.py" {
	ipython_standin bin
	run hint_for "$MEMWATCH_BINARY" "$PYTHON" bin/ipython3
	[[ "$output" == *$'\n'"    %run $CONFIGURED_PYTHONDIR/memwatch/startup.py"$'\n'* ]]
	[ -f "$INSTALLED$CONFIGURED_PYTHONDIR/memwatch/startup.py" ]
}
