#!/usr/bin/env bats
# Segments: SIGUSR1 cuts the run; each segment's delta and peak are what the
# workload allocated, and peaks are exact from the kernel's high-water mark.

load helpers

needs_exact_peaks() {
	[ -w /proc/self/clear_refs ] ||
		skip "no writable /proc/PID/clear_refs: this kernel cannot reset VmHWM"
}

@test "SIGUSR1 closes a segment; a 64 MiB allocation shows as its delta" {
	run --separate-stderr mw -i 10ms -s seg.csv -- "$WORKLOAD" mark alloc 64 mark free mark
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 4 ]
	[ "$(field segment 2 seg.csv)" -eq 2 ]
	[ "$(field label 2 seg.csv)" = "segment 2" ]
	near "$(field delta_bytes 2 seg.csv)" $(( 64 * MiB )) $TOL
	near "$(field delta_bytes 3 seg.csv)" $(( -64 * MiB )) $TOL
	# segments follow one another without gaps in RSS
	[ "$(field end_rss_bytes 1 seg.csv)" -eq "$(field start_rss_bytes 2 seg.csv)" ]
	[ "$(field end_rss_bytes 2 seg.csv)" -eq "$(field start_rss_bytes 3 seg.csv)" ]
	# the human line, in the shape of the IPython report
	[[ "$stderr" =~ segment\ 2\ used\ (6[34]\.[0-9]{4})\ MiB\ RAM\ in\ [0-9]+\.[0-9]{2}s,\ peaked\ [0-9]+\.[0-9]{2}\ MiB\ above\ current,\ total\ RAM\ usage\ [0-9]+\.[0-9]{2}\ MiB ]]
}

@test "a 5 ms spike of 100 MiB at -i 1s is reported as the segment's peak" {
	needs_exact_peaks
	run mw -q -i 1s -s seg.csv -- "$WORKLOAD" mark spike 100 5 mark sleep 10
	[ "$status" -eq 0 ]
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
	near "$(field peak_above_end_bytes 2 seg.csv)" $(( 100 * MiB )) $TOL
	# the reset at the boundary keeps the spike out of the next segment
	near "$(field peak_above_end_bytes 3 seg.csv)" 0 $TOL
}

@test "a spike just before the command exits is exact too (wait4's ru_maxrss)" {
	needs_exact_peaks
	run mw -q -i 1s -s seg.csv -- "$WORKLOAD" alloc 8 mark spike 100 5
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 2 ]
	[ "$(field peak_exact 2 seg.csv)" -eq 1 ]
	near $(( $(field peak_rss_bytes 2 seg.csv) - $(field start_rss_bytes 2 seg.csv) )) $(( 100 * MiB )) $TOL
}

@test "a boundary takes its own sample at once, not at the next tick" {
	run mw -q -i 3600s -o out.csv -s seg.csv -- "$WORKLOAD" mark alloc 32 mark
	[ "$status" -eq 0 ]
	# time 0, two boundaries: three samples, none from the timer
	[ "$(rows out.csv)" -eq 3 ]
	near "$(field delta_bytes 2 seg.csv)" $(( 32 * MiB )) $TOL
	[ "$(field segment 2 out.csv)" -eq 1 ]
	[ "$(field segment 3 out.csv)" -eq 2 ]
}

@test "samples and segments agree: each segment counts its rows" {
	run mw -q -i 5ms -o out.csv -s seg.csv -- "$WORKLOAD" sleep 50 mark sleep 50 mark sleep 50
	[ "$status" -eq 0 ]
	local i
	for i in 1 2 3; do
		[ "$(awk -F, -v s=$i 'NR > 1 && $3 == s' out.csv | wc -l)" -eq "$(field samples $i seg.csv)" ]
	done
}
