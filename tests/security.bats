#!/usr/bin/env bats
# What memwatch lets in and out: no descriptor of its own reaches the
# command; planted paths are refused; under hidepid it fails clearly.
# Tests that act as another user or mount need root and skip without it.

load helpers

setup() {
	fifo_setup
}

@test "no descriptor of memwatch's reaches the command" {
	# both CSVs, the FIFO, the /proc files, signalfd, timerfd, pidfd open
	( close_fds && exec "$MEMWATCH" -q -o out.csv -s seg.csv -- sh -c 'ls /proc/$$/fd; echo "memwatch has $(ls /proc/$MEMWATCH_PID/fd | wc -l)"' ) > fds 2> err
	cat fds err
	[ "$(head -n -1 fds | tr '\n' ' ')" = "0 1 2 " ]
	# so there was something to leak
	[[ "$(tail -1 fds)" =~ ^memwatch\ has\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ge 12 ]
}

# planted MODE [OWNER]: attach memwatch with a PID directory planted for
# the target, mode MODE, owned by OWNER; check that it is refused, saying
# WHY, and left as it was.
planted() {
	rm -rf "$userdir" target err
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	local dir="$userdir/$(cat target)"
	mkdir -p -m 0700 "$userdir"
	mkdir -m "$1" "$dir"
	[ -z "${2-}" ] || chown "$2" "$dir"
	"$MEMWATCH" -s seg.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	kill -USR2 "$(cat target)"
	wait_status $mw
	cat err
	[ "$status" -eq 0 ]
	if [ -z "${2-}" ]; then
		grep -q "$dir: mode $1 lets others in: refusing it" err
	else
		grep -q "$dir: owned by uid $(id -u "$2"), not by us: refusing it" err
	fi
	# not used, not removed
	[ -d "$dir" ]
	[ -z "$(ls -A "$dir")" ]
}

@test "a planted PID directory open to others is refused" {
	planted 0777
	planted 0750
}

@test "a planted PID directory of another user is refused" {
	needs_root
	planted 0700 nobody
	planted 0777 nobody
}

@test "a FIFO of another user at the marker's path: replaced if stale, refused if held" {
	needs_root
	"$WORKLOAD" pidfile target waitsig &
	wait_for target .
	local dir="$userdir/$(cat target)"
	mkdir -p -m 0700 "$userdir" "$dir"
	mkfifo -m 0666 "$dir/marker"
	chown nobody "$dir/marker"
	# held open for reading, as a memwatch would
	sh -c 'exec 3<> "$1"; echo held > "$2"; exec sleep 30' sh "$dir/marker" held &
	local holder=$!
	wait_for held .
	"$MEMWATCH" -s seg.csv -p "$(cat target)" 2> err &
	local mw=$!
	wait_for err "watching pid"
	kill -TERM $mw
	wait_status $mw
	[ "$status" -eq 0 ]
	grep -q "$dir: in use by another memwatch" err
	[ "$(stat -c '%U %a' "$dir/marker")" = "nobody 666" ]
	# once nobody holds it, it is stale: replaced by memwatch's own
	kill $holder
	wait $holder || true
	rm err
	"$MEMWATCH" -s seg.csv -p "$(cat target)" 2> err &
	mw=$!
	wait_for err "watching pid"
	[ "$(stat -c '%U %a' "$dir/marker")" = "root 600" ]
	kill -TERM $mw
	wait_status $mw
	[ "$status" -eq 0 ]
	[ ! -e "$dir" ]
}

# hidepid MODE CMD...: run CMD in a PID namespace of its own, whose /proc
# is mounted with hidepid=MODE.
hidepid() {
	local mode=$1
	shift
	unshare --mount --pid --fork --mount-proc sh -c '
		mount -o remount,hidepid=$0 /proc || exit 99
		exec "$@"' "$mode" "$@"
}

@test "/proc with hidepid: another user's process, a clear error and exit 122" {
	needs_root
	hidepid invisible true 2> /dev/null || skip "cannot mount /proc with hidepid here"
	share
	local mode
	for mode in invisible noaccess; do
		run hidepid $mode sh -c '
			"$1/alloc" pidfile target waitsig &
			while [ ! -s target ]; do sleep 0.01; done
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
				"$1/memwatch" -o - -p "$(cat target)"
			echo "attach: $?"
			# its own processes it still sees, and watches
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
				"$1/memwatch" -q -s - -- "$1/alloc" alloc 8 mark sleep 10 | wc -l
			kill -KILL $!' sh "$shared"
		echo "$output"
		rm -f target
		[ "$status" -eq 0 ]
		case $mode in
		invisible)
			[[ "${lines[0]}" =~ ^"memwatch: /proc/"[0-9]+": hidden from us, though the process exists (/proc mounted with hidepid?)"$ ]] ;;
		noaccess)
			[[ "${lines[0]}" =~ ^"memwatch: /proc/"[0-9]+": Operation not permitted"$ ]] ;;
		esac
		[ "${lines[1]}" = "attach: 122" ]
		# a header and two segments
		[ "${lines[2]}" -eq 3 ]
	done
}

@test "root given another user's XDG_RUNTIME_DIR and TMPDIR (su without -, sudo -E) uses neither" {
	needs_root
	share
	# the user's own runtime directory, and a TMPDIR that leads, by a link
	# of theirs, to a directory of root's
	mkdir -m 0700 "$shared/xdg" "$shared/home"
	mkdir -m 0755 "$shared/etc"
	chown nobody "$shared/xdg" "$shared/home"
	setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$shared/etc" "$shared/home/tmp"
	# and a link of theirs in a sticky directory open to all, as /tmp is
	mkdir -m 1777 "$shared/sticky"
	setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$shared/etc" "$shared/sticky/tmp"
	local tmp
	for tmp in "$shared/home/tmp" "$shared/sticky/tmp"; do
		run --separate-stderr env XDG_RUNTIME_DIR="$shared/xdg" TMPDIR="$tmp" "$MEMWATCH" -q -- sh -c 'echo "$MEMWATCH_FIFO"'
		echo "$stderr"
		[ "$status" -eq 0 ]
		[[ "$output" == "/tmp/memwatch-0/"*"/marker" ]]
		[[ "$stderr" == *"memwatch: $shared/xdg: owned by uid $(id -u nobody), neither root nor us: \$XDG_RUNTIME_DIR not used for the FIFO"* ]]
		case $tmp in
		*/home/*)
			[[ "$stderr" == *"memwatch: $shared/home: owned by uid $(id -u nobody), neither root nor us: \$TMPDIR not used for the FIFO"* ]] ;;
		*)
			[[ "$stderr" == *"memwatch: $shared/sticky/tmp: a symbolic link of uid $(id -u nobody), neither root nor us: \$TMPDIR not used for the FIFO"* ]] ;;
		esac
		[ -z "$(find "$shared/xdg" "$shared/etc" -mindepth 1)" ]
	done
}

# as_nobody CMD...: run CMD as an unprivileged user.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

@test "planted output paths in a sticky directory: root follows no link, truncates nothing, opens no FIFO" {
	needs_root
	share
	local sticky="$shared/sticky" opt
	mkdir -m 1777 "$sticky"
	echo precious > "$shared/victim"
	as_nobody ln -s "$shared/victim" "$sticky/link.csv"
	as_nobody sh -c 'echo theirs > "$1"' sh "$sticky/theirs.csv"
	as_nobody mkfifo -m 0666 "$sticky/fifo.csv"
	# and a link on the way to a directory of root's
	mkdir -m 0755 "$shared/rootdir"
	as_nobody ln -s "$shared/rootdir" "$sticky/dir"
	run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q -o "$sticky/dir/out.csv" -- touch ran
	[ "$status" -eq 124 ]
	[ "$stderr" = "memwatch: $sticky/dir: a symbolic link of uid $(id -u nobody) in a sticky directory open to others: not followed" ]
	run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q --plot "$sticky/dir/out.svg" -- touch ran
	[ "$status" -eq 124 ]
	[ "$stderr" = "memwatch: $sticky/dir: a symbolic link of uid $(id -u nobody) in a sticky directory open to others: not followed" ]
	[ -z "$(ls "$shared/rootdir")" ]
	for opt in -o -s -P; do
		run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q $opt "$sticky/link.csv" -- touch ran
		[ "$status" -eq 124 ]
		[ "$stderr" = "memwatch: $sticky/link.csv: a symbolic link of uid $(id -u nobody) in a sticky directory open to others: not followed" ]
		run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q $opt "$sticky/theirs.csv" -- touch ran
		[ "$status" -eq 124 ]
		[ "$stderr" = "memwatch: $sticky/theirs.csv: owned by uid $(id -u nobody) in a sticky directory open to others: not truncated" ]
		# refused before it is opened: no wait for a reader, nothing blocked
		run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q $opt "$sticky/fifo.csv" -- touch ran
		[ "$status" -eq 124 ]
		[ "$stderr" = "memwatch: $sticky/fifo.csv: a FIFO of uid $(id -u nobody), not asked for: refused (name it under /dev, as /dev/stdout or /dev/fd/N, to write to it)" ]
	done
	# the outputs rewritten whole replace no entry of theirs either
	for opt in --plot --metrics; do
		run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q $opt "$sticky/link.csv" -- touch ran
		[ "$status" -eq 124 ]
		[[ "$stderr" == *"memwatch: $sticky/link.csv: owned by uid $(id -u nobody) in a sticky directory open to others: not replaced" ]]
	done
	[ -L "$sticky/link.csv" ]
	[ ! -e ran ]
	[ "$(cat "$shared/victim")" = precious ]
	[ "$(cat "$sticky/theirs.csv")" = theirs ]
	# the same planted FIFO, asked for through a descriptor, is written
	run sh -c 'exec 3<> "$1"; "$MEMWATCH" -q -s /dev/fd/3 -- true; head -n 2 <&3' sh "$sticky/fifo.csv"
	[ "$status" -eq 0 ]
	[ "${lines[0]%%,*}" = "segment" ]
	# root's own link and file there are taken, as are ours anywhere
	ln -s "$shared/mine" "$sticky/mine.csv"
	run mw -q -o "$sticky/mine.csv" -- true
	[ "$status" -eq 0 ]
	[ "$(head -c 10 "$shared/mine")" = "elapsed_s," ]
}

@test "a FIFO planted in another user's directory is not opened by root" {
	needs_root
	share
	# a directory of nobody's own, not sticky: what is there is theirs, and
	# root writing there is what root asked for, but a FIFO is not opened
	mkdir -m 0755 "$shared/theirs"
	chown nobody "$shared/theirs"
	as_nobody mkfifo "$shared/theirs/out.csv"
	run --separate-stderr timeout -s KILL 10 "$MEMWATCH" -q -o "$shared/theirs/out.csv" -- touch ran
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"a FIFO of uid $(id -u nobody), not asked for: refused"* ]]
	[ ! -e ran ]
}

@test "a directory one may search but not read is still a way to an output and to the FIFO" {
	needs_root
	share
	mkdir -m 0711 "$shared/xonly"
	mkdir -m 0700 "$shared/xonly/in"
	chown nobody "$shared/xonly/in"
	run --separate-stderr as_nobody env TMPDIR="$shared/xonly/in" "$shared/memwatch" -q -o "$shared/xonly/in/out.csv" -- sh -c 'echo "$MEMWATCH_FIFO"'
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == "$shared/xonly/in/memwatch-$(id -u nobody)/"*"/marker" ]]
	[ "$(head -c 10 "$shared/xonly/in/out.csv")" = "elapsed_s," ]
}
