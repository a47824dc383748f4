#!/usr/bin/env bats
# Fake /proc trees, planted under MEMWATCH_PROC_ROOT, for what a real
# kernel will not show on demand: children files that list the gone and
# the unreadable, no children files at all, a name that is a terminal
# escape, an smaps_rollup whose Pss_* lines come before Pss.  The root is
# a real process (memwatch attaches to it through a pidfd); its files and
# its descendants are the planted ones.

load helpers

# plant DIR PID PPID RESIDENT SHARED NAME: the files of a process.
plant() {
	local d=$1/$2
	mkdir -p "$d/task/$2"
	printf '4000 %d %d 10 0 300 0\n' "$4" "$5" > "$d/statm"
	printf 'Name:\t%s\nState:\tS (sleeping)\nPPid:\t%d\nVmHWM:\t%d kB\nVmSwap:\t8 kB\n' \
		"$6" "$3" $(( $4 * 4 )) > "$d/status"
	printf '%d (%s) S %d 1 1 0 -1 0 0 0 0 0 0 0\n' "$2" "$6" "$3" > "$d/stat"
	printf '00400000-00401000 r-xp 0 0:0 0 x\n' > "$d/maps"
	printf 'Rss:\t%d kB\nPss_Anon:\t1 kB\nPss_File:\t2 kB\nPss:\t%d kB\n' \
		$(( $4 * 4 )) $(( $4 * 2 )) > "$d/smaps_rollup"
}

setup() {
	fifo_setup
	[ "$(getconf PAGESIZE)" -eq 4096 ] || skip "the planted statm files count 4 KiB pages"
	sleep 30 &
	root=$!
	fake=$BATS_TEST_TMPDIR/proc
	plant "$fake" $root 1 500 100 root
	export MEMWATCH_PROC_ROOT=$fake
}

# stop_root: end the real root after a few samples.
stop_root() {
	wait_rows out.csv 3
	kill $root
}

@test "fake tree: listed children counted, a gone one ignored, an unreadable one said and not counted" {
	plant "$fake" 4190001 $root 1000 0 kid
	plant "$fake" 4190003 $root 700 0 hidden
	rm "$fake/4190003/statm"
	mkdir "$fake/4190003/statm"	# read(2) of it fails: EISDIR
	printf '4190001 4190002 4190003 ' > "$fake/$root/task/$root/children"
	: > "$fake/4190001/task/4190001/children"
	"$MEMWATCH" -q -i 20ms -o out.csv -s seg.csv -P proc.csv -p $root 2> err &
	local mw=$!
	wait_rows out.csv 3
	# a boundary while all live, then the end
	kill -USR1 $mw
	wait_rows seg.csv 1
	kill $root
	wait_status $mw
	cat err
	[ "$status" -eq 0 ]
	# 500 + 1000 resident pages of 4 KiB, the root and its kid
	[ "$(field rss_bytes 2 out.csv)" -eq $(( 1500 * 4096 )) ]
	[ "$(field file_bytes 2 out.csv)" -eq $(( 100 * 4096 )) ]
	[ "$(field processes 2 out.csv)" -eq 2 ]
	[ "$(awk -F, 'NR > 1 && $3 == 4190001 && $4 == '$root' && $5 == "kid"' proc.csv | wc -l)" -ge 2 ]
	# said once, and no exact or upper peak claimed with a process unread
	[ "$(grep -c 'pid 4190003, in the tree, cannot be read' err)" -eq 1 ]
	[ "$(field peak_kind 1 seg.csv)" = sampled ]
	# VmSwap, 8 kB planted in each of the two read
	[ "$(field end_swap_bytes 1 seg.csv)" -eq 16384 ]
	# never written to: a planted directory is not the kernel's procfs
	[ ! -e "$fake/$root/clear_refs" ]
}

@test "fake tree without children files: found by their parents" {
	plant "$fake" 4190011 $root 200 0 kid
	plant "$fake" 4190012 4190011 300 0 grandkid
	# the grandchild listed before its parent, and no children files
	mw -q -i 20ms -o out.csv -p $root 2> err &
	local mw=$!
	stop_root
	wait_status $mw
	[ "$status" -eq 0 ]
	[ "$(field processes 2 out.csv)" -eq 3 ]
	[ "$(field rss_bytes 2 out.csv)" -eq $(( 1000 * 4096 )) ]
}

@test "fake tree: a command name that is a terminal escape is escaped in the CSV" {
	plant "$fake" 4190021 $root 10 0 $'a,b\e[2J'
	printf '4190021' > "$fake/$root/task/$root/children"
	mw -q -i 20ms -o out.csv -P proc.csv -p $root 2> err &
	local mw=$!
	stop_root
	wait_status $mw
	[ "$status" -eq 0 ]
	grep -qF '"a,b\x1b[2J"' proc.csv
	! grep -q $'\e' proc.csv || false
}

@test "--pss reads the Pss: line, not the Pss_Anon: or Pss_File: before it" {
	: > "$fake/$root/task/$root/children"
	mw -q --pss -i 20ms -o out.csv -p $root 2> err &
	local mw=$!
	stop_root
	wait_status $mw
	[ "$status" -eq 0 ]
	# Pss: 1000 kB, as planted
	[ "$(field pss_bytes 1 out.csv)" -eq $(( 1000 * 1024 )) ]
	[ "$(head -n 1 out.csv)" = "elapsed_s,rss_bytes,segment,anon_bytes,file_bytes,processes,pss_bytes" ]
}

# limit_line MOUNTINFO: the first line of memwatch --limit 50% attached to
# the root, with MOUNTINFO as the planted self/mountinfo and a MemTotal of
# 8000000 kB.
limit_line() {
	# stop_root waits for rows of this run, not of the one before
	rm -f out.csv err
	mkdir -p "$fake/self"
	printf '%s\n' "$1" > "$fake/self/mountinfo"
	printf 'MemTotal:        8000000 kB\n' > "$fake/meminfo"
	: > "$fake/$root/task/$root/children"
	mw --limit 50% -i 20ms -o out.csv -p $root 2> err &
	local mw=$!
	stop_root
	wait_status $mw
	cat err >&2
	head -n 1 err
}

@test "fake /proc, --limit 50%: the smallest cgroup v2 memory.max at or above the process's cgroup" {
	mkdir -p cg/a/b
	echo max > cg/a/b/memory.max
	echo $(( 1024 * MiB )) > cg/a/memory.max
	printf '0::/a/b\n' > "$fake/$root/cgroup"
	[ "$(limit_line "30 20 0:26 / $PWD/cg rw,relatime - cgroup2 cgroup2 rw")" = \
		"memwatch: limit 512.00 MiB (50% of cgroup memory.max 1.00 GiB)" ]
}

@test "fake /proc, --limit 50%: cgroup v1 beside a v2 hierarchy, the memory controller's, below its mount's root" {
	mkdir -p v2 mem/x
	echo $(( 2048 * MiB )) > mem/x/memory.limit_in_bytes
	echo 9223372036854771712 > mem/memory.limit_in_bytes
	printf '5:cpu,memory:/docker/x\n0::/\n' > "$fake/$root/cgroup"
	[ "$(limit_line "30 20 0:26 / $PWD/v2 rw - cgroup2 cgroup2 rw
31 20 0:27 /docker $PWD/mem rw shared:5 - cgroup cgroup rw,cpu,memory")" = \
		"memwatch: limit 1.00 GiB (50% of cgroup memory.limit_in_bytes 2.00 GiB)" ]
}

@test "fake /proc, --limit 50%: MEM_LIMIT from the process's environment where it is the smallest, else MemTotal" {
	printf 'HOME=/root\0MEM_LIMIT=%d\0TERM=x\0' $(( 600 * MiB )) > "$fake/$root/environ"
	[ "$(limit_line "")" = "memwatch: limit 300.00 MiB (50% of MEM_LIMIT 600.00 MiB)" ]
	rm "$fake/$root/environ"
	sleep 30 &
	root=$!
	plant "$fake" $root 1 500 100 root
	[ "$(limit_line "")" = "memwatch: limit 3.81 GiB (50% of MemTotal 7.63 GiB)" ]
}
