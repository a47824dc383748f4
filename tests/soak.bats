#!/usr/bin/env bats
# The one long test: a soak at 10 kHz, -i 100us, with a flood of markers
# alongside, for $SOAK_SECONDS (60 unless set).  memwatch's own memory stays
# flat, and every tick of its timer is either a sample or counted late:
# none is dropped without a trace.

load helpers

setup() {
	fifo_setup
}

@test "soak at 10 kHz with a marker flood: flat memory, every tick accounted for" {
	local secs=${SOAK_SECONDS:-60} flood=() i
	[ "$secs" -ge 6 ]
	"$MEMWATCH" -i 100us -o out.csv -s seg.csv -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	# bursts of 500 markers ten times a second, from 1 s to 2 s before the
	# end; then only the timer
	for (( i = 0; i < (secs - 3) * 10; i++ )); do
		flood+=(burst 500 sleep 100)
	done
	sleep 1
	MEMWATCH_FIFO="$userdir/$(cat child)/marker" "$WORKLOAD" "${flood[@]}" &
	local writer=$!
	# memwatch's own high-water mark once it has settled, and at the end
	sleep 2
	local hwm_start=$(hwm_kib $mw)
	wait $writer
	sleep 2
	local hwm_end=$(hwm_kib $mw)
	kill -USR2 "$(cat child)"
	wait_status $mw
	tail -1 err
	[ "$status" -eq 0 ]

	# the files hold what the summary counts, each segment its rows
	complete out.csv seg.csv err
	local s nseg nsamples nlate
	read -r s nseg nsamples nlate < <(summary err)
	[ "$nseg" -gt $(( (secs - 3) * 10 * 400 )) ]

	# Samples come from the start (1), from each boundary (one per marker:
	# nseg - 1, all while the command lived) and from the timer.  Every
	# read of the timer gives the ticks due since the last read; one is
	# sampled, the others counted late.  So sampled + late ticks are the
	# ticks due by the last read, which comes after the next-to-last row
	# (the flood is over: both last rows are the timer's) and before the
	# end of the last segment (after the last row, a read may find the
	# command's memory already gone and take no sample).  One more either
	# way for times cut to the microsecond.
	local from_timer=$(( nsamples - 1 - (nseg - 1) ))
	local low high lastseg
	read -r low lastseg < <(awk -F, 'NR > 1 { prev = last; last = $1; seg = $3 }
		END { printf "%d %d\n", int(prev * 10000 + 1e-6), seg }' out.csv)
	high=$(awk -F, -v n=$nseg 'NR - 1 == n { printf "%d\n", int($4 * 10000 + 1e-6) }' seg.csv)
	echo "timer samples $from_timer + late $nlate = $(( from_timer + nlate )); ticks due: $low to $high"
	[ "$lastseg" -eq "$nseg" ]
	[ $(( from_timer + nlate )) -ge $(( low - 1 )) ]
	[ $(( from_timer + nlate )) -le $(( high + 1 )) ]
	# and most ticks were sampled, not late
	[ "$from_timer" -gt $(( high / 2 )) ]

	echo "memwatch VmHWM: $hwm_start kB after 3 s, $hwm_end kB at the end"
	if sanitized; then
		skip "all else checked; memwatch's own RSS is not, under ASan, whose shadow memory and allocator move it"
	fi
	[ $(( hwm_end - hwm_start )) -le 256 ]
}
