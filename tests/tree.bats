#!/usr/bin/env bats
# Process trees: a command's memory is that of everything it starts.  The
# workload (tests/alloc.c) forks children with known allocations; the
# numbers must be the tree's, and each peak must say how far it can be
# trusted: exact (one process, its own high-water mark), upper (the sum of
# the members' marks over a period, which the tree never exceeded) or
# sampled (a bound from below).

load helpers

PYTHON=${PYTHON:-/usr/bin/python3}

# A process of the workload holds about 1 MiB of its own (libc, stack);
# a shell a little more.  Tolerances below are 2% of what the steps
# allocate, plus TOL for each process's own pages.

# stage N: a stage of a pipeline, marking its own segment and waiting for
# memwatch to take the marker, then holding N MiB for 300 ms (three ticks
# at the default interval).
stage() {
	echo "\"$WORKLOAD\" marker 'stage $1' alloc $1 sleep 300"
}

@test "sequential stages: each phase's peak is its stage's, not their sum" {
	run --separate-stderr mw -s seg.csv -- sh -c "$(stage 200); $(stage 300); $(stage 100); \"$WORKLOAD\" marker end"
	[ "$status" -eq 0 ]
	local n row peak
	for n in 200 300 100; do
		row=$(awk -F, -v l="stage $n" '$2 == l { print NR - 1 }' seg.csv)
		peak=$(field peak_rss_bytes "$row" seg.csv)
		echo "stage $n: peak $peak, $(field peak_kind "$row" seg.csv)"
		[ "$peak" -ge $(( n * MiB )) ]
		[ "$peak" -le $(( n * MiB * 102 / 100 + 3 * TOL )) ]
		# the stage ended within the segment: its last mark went with it
		[ "$(field peak_exact "$row" seg.csv)" -eq 0 ]
	done
	# the shell and the three stages, each alive for three ticks, were seen
	[[ "$stderr" =~ ,\ ([0-9]+)\ processes$ ]]
	[ "${BASH_REMATCH[1]}" -ge 4 ]
}

@test "concurrent workers: the tree's peak is their sum, an upper bound within 2%" {
	run --separate-stderr mw -s seg.csv -o out.csv -- "$WORKLOAD" workers 4 100 1500 sleep 400 mark sleep 500 mark reap
	[ "$status" -eq 0 ]
	local peak end
	peak=$(field peak_rss_bytes 2 seg.csv)
	end=$(field end_rss_bytes 2 seg.csv)
	echo "peak $peak end $end"
	[ "$(field processes 2 seg.csv)" -eq 5 ]
	[ "$(field peak_kind 2 seg.csv)" = upper ]
	# 400 MiB and each of the five processes' own pages
	[ "$peak" -ge $(( 400 * MiB )) ]
	[ "$peak" -le $(( 400 * MiB * 102 / 100 + 5 * TOL )) ]
	# and the samples saw the same: a plateau, not a spike
	near "$end" "$peak" $(( 2 * TOL ))
}

@test "a 5 ms spike in one worker of a live tree, at -i 1s: caught by its mark" {
	run --separate-stderr mw -i 1s -s seg.csv -- "$WORKLOAD" workers 3 50 3000 sleep 200 mark child sleep 300 spike 100 5 sleep 300 mark
	[ "$status" -eq 0 ]
	# segment 2: three workers holding 150 MiB, the child spiking by 100
	[ "$(field peak_kind 2 seg.csv)" = upper ]
	near "$(field peak_above_end_bytes 2 seg.csv)" $(( 100 * MiB )) $(( 2 * MiB + TOL ))
}

@test "per-process rows: pandas reads them, and they add up to the samples" {
	"$PYTHON" -c 'import pandas' 2> /dev/null ||
		skip "no pandas for $PYTHON (Debian: apt-get install python3-pandas)"
	run --separate-stderr mw -i 20ms -o out.csv -P proc.csv -- "$WORKLOAD" workers 3 20 400 alloc 10 sleep 300 reap sleep 100
	[ "$status" -eq 0 ]
	run "$PYTHON" - <<-'EOF'
		import pandas as pd
		s = pd.read_csv("out.csv")
		p = pd.read_csv("proc.csv")
		assert list(p.columns[:5]) == ["elapsed_s", "segment", "pid", "ppid", "comm"], p.columns
		by = p.groupby("elapsed_s")
		t = s.set_index("elapsed_s")
		for col in ("rss_bytes", "anon_bytes", "file_bytes"):
		    assert (by[col].sum() == t[col]).all(), col
		assert (by.size() == t["processes"]).all()
		assert t["processes"].max() == 4 and t["processes"].iloc[-1] == 1
		assert set(p.comm) == {"alloc"}, set(p.comm)
		root = p.pid.iloc[0]
		assert (p[p.pid != root].ppid == root).all()
		print("ok", len(p))
	EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == ok* ]]
}

@test "a tree that grows and shrinks at 100us: every sample written, counts move" {
	run --separate-stderr mw -i 100us -o out.csv -s seg.csv -- "$WORKLOAD" workers 4 4 50 sleep 20 workers 4 4 100 sleep 150 reap mark workers 2 4 50 reap
	[ "$status" -eq 0 ]
	echo "$stderr" > err
	complete out.csv seg.csv err
	# processes went up to 5 at least once, and back to 1 after that
	[ "$(awk -F, 'NR > 1 && $6 >= 5 { up = 1 } up && $6 == 1 { print "down"; exit }' out.csv)" = down ]
}

@test "a member that runs another program: its segment's peak is not exact" {
	run --separate-stderr mw -s seg.csv -P proc.csv -- "$WORKLOAD" sleep 150 mark child alloc 20 sleep 150 exec sleep 150 mark
	[ "$status" -eq 0 ]
	[ "$(field peak_exact 2 seg.csv)" -eq 0 ]
	# the child kept its pid across the exec
	[ "$(awk -F, 'NR > 1 && $2 == 2 { print $3 }' proc.csv | sort -u | wc -l)" -eq 2 ]
}

@test "zombies are not members: a child that has exited is no longer counted" {
	# the child exits at once; its parent does not reap it for 500 ms
	run --separate-stderr mw -i 20ms -o out.csv -- "$WORKLOAD" workers 1 10 0 sleep 500
	[ "$status" -eq 0 ]
	# by the last samples only the parent is left, the zombie not counted
	[ "$(tail -n 1 out.csv | cut -d, -f6)" -eq 1 ]
	[ -z "$(grep -v 'cannot be read' <<< "$stderr" | grep -i warn)" ]
}

@test "an orphan stays in the tree once its parent has ended" {
	run --separate-stderr mw -s seg.csv -o out.csv -- "$WORKLOAD" orphan 50 1200 sleep 300 mark sleep 100
	[ "$status" -eq 0 ]
	local end
	end=$(field end_rss_bytes 1 seg.csv)
	# at the mark, the orphan's parent has ended; it still holds 50 MiB,
	# beside its own pages and the root's
	[ "$end" -ge $(( 50 * MiB )) ]
	[ "$end" -le $(( 50 * MiB + 4 * TOL )) ]
}

@test "--no-children gives the numbers of the process alone" {
	run --separate-stderr mw --no-children -s seg.csv -o out.csv -- "$WORKLOAD" workers 2 50 600 sleep 300 mark reap
	[ "$status" -eq 0 ]
	[ "$(field processes 1 seg.csv)" -eq 1 ]
	[ "$(awk -F, 'NR > 1 && $6 != 1' out.csv | wc -l)" -eq 0 ]
	# the parent's own pages, none of the workers' 100 MiB
	[ "$(field peak_rss_bytes 1 seg.csv)" -lt $(( 4 * TOL )) ]
	[ "$(field peak_kind 1 seg.csv)" = exact ]
}

@test "--pss: children sharing their parent's pages are counted once" {
	[ -r /proc/self/smaps_rollup ] || skip "no /proc/PID/smaps_rollup on this kernel"
	run --separate-stderr mw --pss -o out.csv -- "$WORKLOAD" alloc 200 workers 3 0 1500 sleep 1200 reap
	[ "$status" -eq 0 ]
	local last
	# the last sample with PSS, all four alive
	last=$(awk -F, 'NR > 1 && $7 != "" && $6 == 4 { r = $0 } END { print r }' out.csv)
	echo "last: $last"
	[ -n "$last" ]
	# RSS counts the 200 MiB in each of the four; PSS once
	[ "$(cut -d, -f2 <<< "$last")" -ge $(( 800 * MiB )) ]
	near "$(cut -d, -f7 <<< "$last")" $(( 200 * MiB )) $(( 4 * MiB + 4 * TOL ))
	# and not in every tick: at most about once a second
	[ "$(awk -F, 'NR > 1 && $7 != ""' out.csv | wc -l)" -le 4 ]
}

@test "the README's pipeline example, run as written, reports the children's memory" {
	local readme=$BATS_TEST_DIRNAME/../README
	sed -n '/^    cat > pipeline.sh <<.EOF.$/,/^    EOF$/p' "$readme" |
		sed '1d;$d;s/^    //' > pipeline.sh
	grep -q 'memwatch mark' pipeline.sh
	chmod +x pipeline.sh
	mkdir bin
	ln -s "$MEMWATCH" bin/memwatch
	PATH=$PWD/bin:$PATH run mw -q -s phases.csv -P proc.csv -- ./pipeline.sh
	[ "$status" -eq 0 ]
	# memwatch mark is memwatch's, not the pipeline's: never counted
	! awk -F, 'NR > 1 && $5 == "memwatch"' proc.csv | grep -q . || false
	local load train
	load=$(awk -F, '$2 == "load" { print $9 }' phases.csv)
	train=$(awk -F, '$2 == "train" { print $9 }' phases.csv)
	[ "$load" -ge $(( 200 * MiB )) ]
	[ "$load" -lt $(( 250 * MiB )) ]
	[ "$train" -ge $(( 300 * MiB )) ]
	[ "$train" -lt $(( 350 * MiB )) ]
}

@test "attached to a process that started it, memwatch does not count itself" {
	"$MEMWATCH" -q -i 20ms -P proc.csv -p $$ &
	local mw=$!
	wait_rows proc.csv 4
	kill $mw
	wait_status $mw
	[ "$status" -eq 0 ]
	# this shell is there, memwatch, its child, is not
	awk -F, -v p=$$ 'NR > 1 && $3 == p' proc.csv | grep -q .
	! awk -F, -v p=$mw 'NR > 1 && $3 == p' proc.csv | grep -q . || false
}

# as_nobody ARG...: memwatch ARG... as nobody, in a directory of its own
# for the outputs and the FIFO; the copy any user may run ($shared).
as_nobody() {
	mkdir -p nb
	chown nobody nb
	TMPDIR=$PWD/nb XDG_RUNTIME_DIR= setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$shared/memwatch" "$@"
}

# A set-user-ID program started by nobody's command: passwd, waiting on
# its standard input for a second.
SETUID_CHILD='sleep 1 | /usr/bin/passwd > /dev/null 2>&1; true'

@test "a member that is another user's: counted, its marks said once to be out of reach" {
	needs_root
	[ -u /usr/bin/passwd ] || skip "no set-user-ID /usr/bin/passwd (Debian: passwd)"
	share
	run --separate-stderr as_nobody -i 20ms -s nb/seg.csv -P nb/p.csv -- sh -c "$SETUID_CHILD"
	[ "$status" -eq 0 ]
	# its RSS is there for all to read: counted
	awk -F, 'NR > 1 && $5 == "passwd"' nb/p.csv | grep -q .
	# its maps and clear_refs are not: no exact or upper peak, and said
	[ "$(field peak_kind 1 nb/seg.csv)" = sampled ]
	[ "$(grep -c 'peaks are sampled, not exact' <<< "$stderr")" -eq 1 ]
}

@test "a member hidden by hidepid: said once, counted as unknown, not as 0" {
	needs_root
	[ -u /usr/bin/passwd ] || skip "no set-user-ID /usr/bin/passwd (Debian: passwd)"
	unshare --mount --pid --fork --mount-proc sh -c 'mount -o remount,hidepid=invisible /proc' 2> /dev/null ||
		skip "cannot mount /proc with hidepid here"
	share
	run --separate-stderr unshare --mount --pid --fork --mount-proc bash -c "
		mount -o remount,hidepid=invisible /proc || exit 99
		shared=$shared
		$(declare -f as_nobody)
		as_nobody \"\$@\"" sh \
		-i 20ms -o nb/out.csv -s nb/seg.csv -- sh -c "$SETUID_CHILD"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'in the tree, cannot be read: its memory is not counted' <<< "$stderr")" -eq 1 ]
	[ "$(field peak_kind 1 nb/seg.csv)" = sampled ]
	# sh and sleep counted, passwd not once it runs (its shell before the
	# exec may be: it was nobody's then)
	[ "$(awk -F, 'NR > 1 && $1 > 0.5 && $6 > m { m = $6 } END { print m }' nb/out.csv)" -eq 2 ]
}
