#!/usr/bin/env bats
# Attach mode: memwatch -p PID watches a process it did not start, until
# the process exits or memwatch is asked to stop.

load helpers

# start_target STEPS...: run the workload in the background, and wait for
# its step "pidfile target"; sets $target.
start_target() {
	rm -f target
	"$WORKLOAD" "$@" &
	wait_for target .
	target=$(cat target)
}

@test "attach: follows allocations until the process exits, exit 0" {
	start_target alloc 16 pidfile target waitsig alloc 64 sleep 100
	"$MEMWATCH" -i 10ms -o out.csv -s seg.csv -p "$target" 2> err &
	local mw=$!
	wait_for err "watching pid $target"
	kill -USR2 "$target"
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 1 ]
	near "$(field delta_bytes 1 seg.csv)" $(( 64 * MiB )) $TOL
	# the process is gone before memwatch could read its high-water mark
	[ "$(field peak_exact 1 seg.csv)" -eq 0 ]
	[[ "$(cat err)" =~ ([0-9]+)\ samples ]]
	[ "$(rows out.csv)" -eq "${BASH_REMATCH[1]}" ]
}

@test "attach: SIGTERM or SIGINT ends the watch, exit 0, target untouched" {
	local sig
	set -m	# or bash starts background jobs with SIGINT ignored
	for sig in TERM INT HUP; do
		start_target alloc 8 pidfile target waitsig
		"$MEMWATCH" -s seg.csv -p "$target" 2> err &
		local mw=$!
		wait_for err "watching pid $target"
		kill -$sig $mw
		wait_status $mw
		[ "$status" -eq 0 ]
		[ "$(rows seg.csv)" -eq 1 ]
		# still alive: its peak could be read at the end
		[ "$(field peak_exact 1 seg.csv)" -eq 1 ]
		kill -0 "$target"
		kill -USR2 "$target"
		wait "$target"
	done
}

@test "attach: SIGUSR1 cuts segments around an allocation" {
	start_target pidfile target waitsig alloc 32 pidfile allocated waitsig
	"$MEMWATCH" -i 10ms -s seg.csv -p "$target" 2> err &
	local mw=$!
	wait_for err "watching pid $target"
	kill -USR1 $mw
	wait_for err "segment 1 used"
	kill -USR2 "$target"
	# the whole 32 MiB touched, not some of it: the workload says when
	wait_for allocated .
	kill -USR1 $mw
	wait_for err "segment 2 used"
	kill -USR2 "$target"
	wait_status $mw
	[ "$status" -eq 0 ]
	near "$(field delta_bytes 2 seg.csv)" $(( 32 * MiB )) $TOL
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
}

@test "attach to another user's process: sampled peaks, said once" {
	local mw_bin=$MEMWATCH
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv > /dev/null || skip "no setpriv to drop root"
		# the build tree may be closed to nobody
		share
		mw_bin=$shared/memwatch
		start_target alloc 8 pidfile target waitsig
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$mw_bin" -i 10ms -s - -p "$target" > seg.csv 2> err &
	else
		# as a user, root's init is another user's process; alone,
		# not the whole system's tree, parts of which others may watch
		target=1
		"$mw_bin" -i 10ms --no-children -s - -p 1 > seg.csv 2> err &
	fi
	local mw=$!
	wait_for err "watching pid $target"
	# statm is world-readable: samples come
	sleep 0.1
	kill -USR1 $mw
	wait_for err "segment 1 used"
	kill -TERM $mw
	wait_status $mw
	cat err
	[ "$status" -eq 0 ]
	[ "$(grep -c 'peaks are sampled, not exact' err)" -eq 1 ]
	[[ "$(cat err)" == *"/proc/$target/clear_refs: peaks are sampled, not exact: Permission denied"* ]]
	[ "$(rows seg.csv)" -eq 2 ]
	[ "$(field peak_exact 1 seg.csv)" -eq 0 ]
	[ "$(field peak_exact 2 seg.csv)" -eq 0 ]
	[ "$(field samples 1 seg.csv)" -ge 3 ]
	[ "$target" -eq 1 ] || kill -USR2 "$target"
}

@test "attach: a zombie, a thread, a kernel thread are refused with the reason, exit 123" {
	# a zombie: a child its parent never reaps
	/usr/bin/python3 -S -c 'import os, time
child = os.fork()
if child == 0:
    os._exit(0)
open("zombie", "w").write("%d\n" % child)
time.sleep(100)' &
	local keeper=$! zombie
	wait_for zombie .
	zombie=$(cat zombie)
	eventually 10 "pid $zombie never a zombie" grep -qs '^State:.Z' /proc/$zombie/status
	run --separate-stderr mw -o out.csv -p "$zombie"
	echo "zombie: $status, $stderr"
	[ "$status" -eq 123 ]
	[[ "$stderr" == "memwatch: pid $zombie: has exited, a zombie its parent has not reaped"* ]]
	[ ! -e out.csv ]
	kill $keeper

	# a thread that is not its process's main one
	start_target pidfile target threads 1 1 10000
	local tid
	eventually 10 "no second thread in $target" test "$(ls /proc/$target/task | wc -l)" -eq 2
	tid=$(ls /proc/$target/task | grep -vx "$target")
	run --separate-stderr mw -p "$tid"
	echo "thread: $status, $stderr"
	[ "$status" -eq 123 ]
	[[ "$stderr" == "memwatch: pid $tid: a thread of process $target, not a process: watch -p $target" ]]
	kill "$target"

	# a kernel thread, if this PID namespace shows one
	local kthread
	kthread=$(grep -l '^Kthread:.1' /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
	[ -n "$kthread" ] || skip "no kernel thread in this PID namespace"
	run --separate-stderr mw -p "$kthread"
	echo "kernel thread: $status, $stderr"
	[ "$status" -eq 123 ]
	[[ "$stderr" == "memwatch: pid $kthread: a kernel thread, which has no memory of its own to watch" ]]
}

@test "attach: a PID reused between pidfd_open and /proc/PID is not watched, exit 123" {
	needs_root
	command -v unshare > /dev/null || skip "no unshare (util-linux)"
	unshare --pid --fork --mount-proc true 2> /dev/null ||
		skip "no PID namespace can be made here"
	# Right after memwatch's pidfd_open, the hook kills the process and,
	# through ns_last_pid, gives its PID to a new one: the impostor, in
	# a PID namespace of the test's own, where nothing else takes PIDs.
	cat > hook <<-'EOF'
	#!/bin/bash
	kill -KILL "$1"
	while [ -e "/proc/$1" ]; do :; done
	echo $(( $1 - 1 )) > /proc/sys/kernel/ns_last_pid
	sleep 3 &
	echo $! > impostor
	EOF
	chmod +x hook
	export PIDFD_OPEN_HOOK=$PWD/hook
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	run --separate-stderr timeout -k 5 20 unshare --pid --fork --mount-proc bash -c '
		"$1" pidfile target waitsig &
		while [ ! -s target ]; do sleep 0.01; done
		# not exec'\''d: this shell, PID 1 here, reaps the process killed
		LD_PRELOAD=$2 "$3" -q -s seg.csv -p "$(cat target)"
		exit $?' \
		_ "$WORKLOAD" "$PIDFD_HOOK_SO" "$MEMWATCH"
	echo "status $status: $stderr; target $(cat target), impostor $(cat impostor)"
	[ "$(cat impostor)" -eq "$(cat target)" ] || skip "the impostor got another PID"
	[ "$status" -eq 123 ]
	[[ "$stderr" == *"/proc/$(cat target): No such process"* ]]
	[ ! -s seg.csv ]
}
