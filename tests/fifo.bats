#!/usr/bin/env bats
# The marker FIFO: labelled segments from any program, a private directory
# that goes away on every exit, and hostile input that does no harm.

load helpers

setup() {
	fifo_setup
}

# leftovers USERDIR: the PID directories still in it.
leftovers() {
	find "$userdir" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

@test "a shell script cuts labelled segments with echo" {
	cat > script <<-'END'
	echo "load data" > "$MEMWATCH_FIFO"
	"$WORKLOAD" sleep 50
	echo "train" > "$MEMWATCH_FIFO"
	"$WORKLOAD" sleep 50
	END
	run --separate-stderr mw -s seg.csv -- sh script
	[ "$status" -eq 0 ]
	[ "$(field label 2 seg.csv)" = "load data" ]
	[ "$(field label 3 seg.csv)" = "train" ]
	[[ "$stderr" == *"load data used "*" MiB RAM in "* ]]
}

@test "a labelled segment holds what was allocated in it" {
	run mw -q -s seg.csv -- "$WORKLOAD" marker "load" alloc 48 marker "work" spike 64 5 marker "end"
	[ "$status" -eq 0 ]
	[ "$(field label 2 seg.csv)" = "load" ]
	near "$(field delta_bytes 2 seg.csv)" $(( 48 * MiB )) $TOL
	[ "$(field label 3 seg.csv)" = "work" ]
	near "$(field peak_above_end_bytes 3 seg.csv)" $(( 64 * MiB )) $TOL
}

@test "an empty line cuts a segment with the default label" {
	run mw -q -s seg.csv -- sh -c 'echo > "$MEMWATCH_FIFO"; "$WORKLOAD" sleep 50'
	[ "$status" -eq 0 ]
	[ "$(field label 2 seg.csv)" = "segment 2" ]
}

@test "the FIFO's directory is private and named after the watched PID" {
	run mw -q -- sh -c 'd=$(dirname "$MEMWATCH_FIFO"); echo "$d $$"; stat -c "%a %U %F" "$d" "$d/.." "$MEMWATCH_FIFO" "$d/reply"'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^$userdir/([0-9]+)\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	[ "${lines[1]}" = "700 $(id -un) directory" ]
	[ "${lines[2]}" = "700 $(id -un) directory" ]
	[ "${lines[3]}" = "600 $(id -un) fifo" ]
	[ "${lines[4]}" = "600 $(id -un) fifo" ]
}

@test "the directory goes on every exit: normal, signal, crash, exec failure" {
	run mw -q -- true
	[ "$(leftovers)" -eq 0 ]
	run mw -q -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	[ "$(leftovers)" -eq 0 ]
	run mw -q -- ./no-such-command
	[ "$status" -eq 127 ]
	[ "$(leftovers)" -eq 0 ]
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child sleep 10000 &
	local mw=$!
	wait_for child .
	kill -TERM $mw
	wait_status $mw
	[ "$status" -eq 143 ]
	[ "$(leftovers)" -eq 0 ]
}

@test "a symlink planted for the user directory is refused, not followed" {
	mkdir elsewhere
	ln -s "$PWD/elsewhere" "$userdir"
	run --separate-stderr mw -q -- sh -c 'echo "fifo=${MEMWATCH_FIFO-unset}"'
	[ "$status" -eq 0 ]
	[ "$output" = "fifo=unset" ]
	[[ "$stderr" == *"$userdir"* ]]
	[ -z "$(ls elsewhere)" ]
}

@test "a user directory open to others is refused" {
	mkdir -m 0777 "$userdir"
	run --separate-stderr mw -q -- sh -c 'echo "fifo=${MEMWATCH_FIFO-unset}"'
	[ "$status" -eq 0 ]
	[ "$output" = "fifo=unset" ]
	[[ "$stderr" == *"$userdir: mode 0777 lets others in: refusing it"* ]]
}

@test "a user directory owned by someone else is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to plant another user's directory"
	mkdir -m 0700 "$userdir"
	chown nobody "$userdir"
	run --separate-stderr mw -q -- sh -c 'echo "fifo=${MEMWATCH_FIFO-unset}"'
	[ "$output" = "fifo=unset" ]
	[[ "$stderr" == *"$userdir: owned by uid $(id -u nobody), not by us: refusing it"* ]]
}

@test "attach: a symlink planted at the PID's path is refused" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	mkdir -m 0700 "$userdir" elsewhere
	ln -s "$PWD/elsewhere" "$userdir/$(cat target)"
	"$MEMWATCH" -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	kill -USR2 "$(cat target)"
	wait_status $mw
	[ "$status" -eq 0 ]
	grep -q "$userdir/$(cat target): Not a directory" err
	[ -z "$(ls elsewhere)" ]
}

@test "attach: a stale directory is taken over; a live one is left alone" {
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	local dir="$userdir/$(cat target)"
	mkdir -p -m 0700 "$userdir" "$dir"
	mkfifo -m 0600 "$dir/marker"
	"$MEMWATCH" -s seg.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	echo "first" > "$dir/marker"
	# a second memwatch on the same PID keeps its hands off the FIFO
	"$MEMWATCH" -p "$(cat target)" 2> err2 &
	local mw2=$!
	wait_for err2 "watching pid"
	grep -q "$dir: in use by another memwatch" err2
	kill -TERM $mw2
	wait_status $mw2
	[ -p "$dir/marker" ]
	kill -USR2 "$(cat target)"
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(field label 2 seg.csv)" = "first" ]
	[ ! -e "$dir" ]
}

@test "another user cannot write markers" {
	needs_root
	# a base any user can reach, so that what stops them is memwatch's
	share
	export TMPDIR="$shared"
	userdir="$TMPDIR/memwatch-$(id -u)"
	cat > script <<-'END'
	try() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c 'echo intruder > "$1"' sh "$MEMWATCH_FIFO" 2>&1
		echo "rc=$?"
	}
	try
	# with both directories opened to others, the FIFO's own mode still holds
	chmod 0711 "$(dirname "$MEMWATCH_FIFO")" "$(dirname "$(dirname "$MEMWATCH_FIFO")")"
	try
	END
	run mw -q -s seg.csv -- sh script
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == *"Permission denied" ]]
	[ "${lines[1]}" = "rc=2" ]
	[[ "${lines[2]}" == *"$userdir/"*"/marker: Permission denied" ]]
	[ "${lines[3]}" = "rc=2" ]
	[ "$(rows seg.csv)" -eq 1 ]
}

@test "hostile labels: escapes, NUL, bad UTF-8 never reach the terminal raw" {
	printf 'red \033[31mX\033[0m end\nnul \000 byte\nbad \377\376 utf8\nbidi \342\200\256 mark\nok caf\303\251 \\ done\nc1 \302\2332J csi\nls \342\200\250 sep\n' > lines
	run --separate-stderr mw -s seg.csv -- sh -c 'cat lines > "$MEMWATCH_FIFO"; "$WORKLOAD" sleep 100'
	[ "$status" -eq 0 ]
	# no ESC, NUL, invalid UTF-8 or U+202E in what memwatch wrote
	! grep -q $'\033' seg.csv || false
	! printf '%s' "$stderr" | grep -q $'\033' || false
	! LC_ALL=C grep -q -P '\xff|\xe2\x80[\xa8\xae]|\xc2\x9b|\x00' seg.csv || false
	! printf '%s' "$stderr" | LC_ALL=C grep -q -P '\xff|\xe2\x80[\xa8\xae]|\xc2\x9b' || false
	[ "$(field label 2 seg.csv)" = 'red \x1b[31mX\x1b[0m end' ]
	[ "$(field label 3 seg.csv)" = 'nul \x00 byte' ]
	[ "$(field label 4 seg.csv)" = 'bad \xff\xfe utf8' ]
	[ "$(field label 5 seg.csv)" = 'bidi \u202e mark' ]
	[ "$(field label 6 seg.csv)" = 'ok café \\ done' ]
	# a C1 CSI is a terminal escape too; a line separator breaks the line
	[ "$(field label 7 seg.csv)" = 'c1 \u009b2J csi' ]
	[ "$(field label 8 seg.csv)" = 'ls \u2028 sep' ]
	[[ "$stderr" == *'red \x1b[31mX\x1b[0m end used '* ]]
}

@test "labels with commas, quotes and newlines round-trip through Python's csv" {
	printf 'a, b\n"quoted"\nsay "hi", then\r\n' > lines
	run mw -q -s seg.csv -- sh -c 'cat lines > "$MEMWATCH_FIFO"; "$WORKLOAD" sleep 100'
	[ "$status" -eq 0 ]
	run python3 -c '
import csv
rows = list(csv.DictReader(open("seg.csv", newline="")))
print("|".join(r["label"] for r in rows))
assert all(len(r) == 18 for r in rows)'
	[ "$status" -eq 0 ]
	[ "$output" = 'segment 1|a, b|"quoted"|say "hi", then' ]
}

@test "an overlong line is ignored with one warning; the next line works" {
	{ head -c 5000 /dev/zero | tr '\0' x; echo; head -c 9000 /dev/zero | tr '\0' y; echo; echo after; } > lines
	run --separate-stderr mw -s seg.csv -- sh -c 'cat lines > "$MEMWATCH_FIFO"; "$WORKLOAD" sleep 100'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2 ]
	[ "$(field label 2 seg.csv)" = "after" ]
	[ "$(grep -c 'line longer than 4096 bytes ignored' <<< "$stderr")" -eq 1 ]
}

@test "a line of exactly PIPE_BUF bytes with its newline is taken" {
	{ head -c 4095 /dev/zero | tr '\0' z; echo; } > lines
	run mw -q -s seg.csv -- sh -c 'cat lines > "$MEMWATCH_FIFO"; "$WORKLOAD" sleep 100'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2 ]
	# labels are cut to fit, at a character boundary
	[[ "$(field label 2 seg.csv)" =~ ^z{1000,1023}$ ]]
}

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

@test "10,000 writers opening and closing: no spin, still answers" {
	"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child waitsig marker after 2> err &
	local mw=$!
	wait_for child .
	local fifo="$userdir/$(cat child)/marker" before after start end
	before=$(cpu_ticks $mw)
	start=$(date +%s%N)
	for (( i = 0; i < 10000; i++ )); do : > "$fifo"; done
	sleep 0.5
	after=$(cpu_ticks $mw)
	end=$(date +%s%N)
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	# a poll spinning on end of file would burn a whole CPU; allow a tenth
	local ticks_allowed=$(( (end - start) / 10000000 / 10 + 2 ))
	echo "memwatch used $(( after - before )) ticks in $(( (end - start) / 1000000 )) ms"
	[ $(( after - before )) -le $ticks_allowed ]
	[ "$(rows seg.csv)" -eq 2 ]
	[ "$(field label 2 seg.csv)" = "after" ]
}

@test "a flood of 100,000 markers: every one a segment, memwatch stays small" {
	"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	local fifo="$userdir/$(cat child)/marker" hwm_before hwm_after
	"$WORKLOAD" sleep 200
	hwm_before=$(awk '/^VmHWM/ { print $2 }' /proc/$mw/status)
	seq 1 100000 > "$fifo"
	# segment 1 and markers 1 to 99999 closed: memwatch has read it all
	for (( i = 0; i < 600; i++ )); do
		[ "$(rows seg.csv)" -ge 100000 ] && break
		sleep 0.1
	done
	hwm_after=$(awk '/^VmHWM/ { print $2 }' /proc/$mw/status)
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 100001 ]
	[ "$(field label 100001 seg.csv)" = "100000" ]
	echo "memwatch VmHWM: $hwm_before kB before, $hwm_after kB after"
	if sanitized; then
		skip "all else checked; memwatch's own RSS is not, under ASan, whose shadow memory and allocator move it"
	fi
	# nothing is kept per segment: a few pages of stdio at most
	[ $(( hwm_after - hwm_before )) -le 256 ]
}

@test "lines written whole by several writers at once never mix" {
	"$MEMWATCH" -q -s seg.csv -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	# four writers, each line one write(2) of 1000 bytes with its newline
	/usr/bin/python3 - "$userdir/$(cat child)/marker" <<-'END'
	import os, sys
	pids = []
	for c in "abcd":
	    pid = os.fork()
	    if pid == 0:
	        fd = os.open(sys.argv[1], os.O_WRONLY)
	        for _ in range(500):
	            assert os.write(fd, c.encode() * 999 + b"\n") == 1000
	        os._exit(0)
	    pids.append(pid)
	for pid in pids:
	    assert os.waitpid(pid, 0)[1] == 0
	END
	wait_rows seg.csv 2000
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2001 ]
	# every label is one writer's line, 999 bytes cut to 1023 never
	[ "$(awk -F, 'NR > 2 { print $2 }' seg.csv | sort | uniq -c | awk '{ print $1, length($2), substr($2, 1, 1) }' | tr '\n' ' ')" = "500 999 a 500 999 b 500 999 c 500 999 d " ]
}

@test "a writer that dies mid-line: its bytes are dropped, the next line is whole" {
	"$MEMWATCH" -s seg.csv -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	local fifo="$userdir/$(cat child)/marker"
	# a line finished by a second write at once is still one line
	sh -c 'printf "lo" > "$1"; exec printf "ad\n"' sh "$fifo" >> "$fifo"
	wait_rows seg.csv 1
	printf 'half a li' > "$fifo"
	# the documented second for a writer to finish its line
	sleep 1.2
	echo train > "$fifo"
	wait_rows seg.csv 2
	# the same after an overlong line that never ended
	head -c 6000 /dev/zero | tr '\0' x > "$fifo"
	sleep 1.2
	echo after > "$fifo"
	wait_rows seg.csv 3
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	cat err
	[ "$(field label 2 seg.csv)" = "load" ]
	[ "$(field label 3 seg.csv)" = "train" ]
	[ "$(field label 4 seg.csv)" = "after" ]
	[ "$(rows seg.csv)" -eq 4 ]
	[ "$(grep -c "unfinished line ignored: no newline came" err)" -eq 1 ]
	[ "$(grep -c "line longer than 4096 bytes ignored" err)" -eq 1 ]
}

@test "an unfinished line at the end is dropped, and said" {
	run --separate-stderr mw -s seg.csv -- sh -c 'printf "no newline" > "$MEMWATCH_FIFO"'
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 1 ]
	[[ "$stderr" == *"/marker: unfinished line ignored: no newline came (said once)"* ]]
}

@test "a base open to others is not used: the next one is, and it is said" {
	mkdir -m 0777 open
	chmod 0777 open
	run --separate-stderr env TMPDIR="$PWD/open" "$MEMWATCH" -q -- sh -c 'echo "$MEMWATCH_FIFO"'
	[ "$status" -eq 0 ]
	[[ "$output" == "/tmp/memwatch-$(id -u)/"*"/marker" ]]
	echo "$stderr"
	[[ "$stderr" == *"memwatch: $PWD/open: mode 0777 lets others change it: \$TMPDIR not used for the FIFO"* ]]
	[ -z "$(ls open)" ]
	# sticky, as /tmp is: each may change only their own entries
	chmod 1777 open
	run --separate-stderr env TMPDIR="$PWD/open" "$MEMWATCH" -q -- sh -c 'echo "$MEMWATCH_FIFO"'
	[[ "$stderr" != *"not used for the FIFO"* ]]
	[[ "$output" == "$PWD/open/memwatch-$(id -u)/"*"/marker" ]]
}

@test "a base reached through a symlink of our own is used, by that path" {
	mkdir real
	ln -s "$PWD/real" "$TMPDIR/link"
	run --separate-stderr env TMPDIR="$TMPDIR/link" "$MEMWATCH" -q -- sh -c 'echo "$MEMWATCH_FIFO"; test -p "$MEMWATCH_FIFO"'
	[ "$status" -eq 0 ]
	[[ "$output" == "$TMPDIR/link/memwatch-$(id -u)/"*"/marker" ]]
	[ -d real/memwatch-$(id -u) ]
}

@test "the directories swapped for symlinks during the run: only memwatch's own is removed" {
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	local pid=$(cat child)
	# what removal by path would take instead
	mkdir -p victim/memwatch-$(id -u)/$pid victim/$pid
	mv "$TMPDIR" moved
	ln -s "$PWD/victim" "$TMPDIR"
	mv moved/memwatch-$(id -u)/$pid moved/memwatch-$(id -u)/gone
	ln -s "$PWD/victim/$pid" moved/memwatch-$(id -u)/$pid
	kill -USR2 $pid
	wait_status $mw
	cat err
	[ "$status" -eq 0 ]
	[ -d victim/memwatch-$(id -u)/$pid ] && [ -d victim/$pid ]
	grep -q "/$pid: replaced during the run: left alone" err
	# the FIFOs themselves went, through the directory's fd
	[ -z "$(ls moved/memwatch-$(id -u)/gone)" ]
	# and left alone, untouched, once the entry is its own again
	rm moved/memwatch-$(id -u)/$pid
	"$MEMWATCH" -q -- "$WORKLOAD" pidfile child2 waitsig 2> err &
	mw=$!
	wait_for child2 .
	mv victim victim2
	kill -USR2 "$(cat child2)"
	wait_status $mw
	[ "$status" -eq 0 ]
	# TMPDIR's link now leads nowhere, and memwatch's directory went anyway
	[ -z "$(ls moved/memwatch-$(id -u) | grep -v gone)" ]
}
