#!/usr/bin/env bats
# --plot FILE: an SVG of the run.  It parses; its bands, labels and axes
# agree with the segments CSV; headless Chromium draws a known workload
# where the axes say; it is whole at every moment of the run; its size and
# memwatch's own memory stay bounded however many segments and samples.

load helpers

PYTHON=${PYTHON:-/usr/bin/python3}
CHECK=$BATS_TEST_DIRNAME/plot_check.py
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

setup() {
	fifo_setup
	[ -x "$PYTHON" ] ||
		skip "no Python at $PYTHON (Debian: apt-get install python3)"
}

needs_chromium() {
	[ -x "$CHROMIUM" ] ||
		skip "no Chromium at $CHROMIUM (Debian: apt-get install chromium)"
	"$PYTHON" -c 'import PIL' 2> /dev/null ||
		skip "no PIL for $PYTHON (Debian: apt-get install python3-pil)"
}

# screenshot SVG PNG: Chromium's rendering of SVG, at the plot's own size.
screenshot() {
	timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --hide-scrollbars \
		--force-device-scale-factor=1 \
		--user-data-dir="$BATS_TEST_TMPDIR/chromium" \
		--window-size="$("$PYTHON" "$CHECK" size "$1")" \
		--screenshot="$PWD/$2" "file://$PWD/$1" 2> chromium.err
	[ -s "$2" ]
}

# A 100 MiB plateau between two markers, then freed; every segment wide
# enough for its label.
plateau() {
	mw -q -i 10ms -s seg.csv --plot run.svg "$@" -- "$WORKLOAD" sleep 300 \
		marker plateau alloc 100 sleep 400 marker freed free sleep 300
}

@test "the plot parses, with a band, a label and a peak per segment at the CSV's times" {
	run plateau
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -eq 3 ]
	if command -v xmllint > /dev/null; then
		xmllint --noout run.svg
	fi
	"$PYTHON" "$CHECK" structure run.svg seg.csv "$WORKLOAD"
	grep -q 'data-ended="1"' run.svg
}

@test "Chromium draws the 100 MiB plateau where the axis says, and its label" {
	needs_chromium
	run plateau
	[ "$status" -eq 0 ]
	near "$(field delta_bytes 2 seg.csv)" $(( 100 * MiB )) $TOL
	screenshot run.svg run.png
	"$PYTHON" "$CHECK" pixels run.svg run.png seg.csv plateau
	# and back down after the free, on the same scale
	"$PYTHON" "$CHECK" pixels run.svg run.png seg.csv freed
}

@test "buckets merged as the run grows keep every sample inside the envelope" {
	# 3 s at 1 ms: the 1 ms buckets have merged twice, four samples and
	# more to a bucket, and a 30 ms spike lies in a few of them
	run mw -q -i 1ms -o out.csv --plot run.svg -- "$WORKLOAD" sleep 1500 \
		spike 100 30 sleep 1500
	[ "$status" -eq 0 ]
	"$PYTHON" "$CHECK" envelope run.svg out.csv
}

@test "the notebook's plot: beside the FIFOs while the reply FIFO is read, gone at the end" {
	"$MEMWATCH" -i 10ms -- "$WORKLOAD" pidfile child waitsig 2> err &
	local mw=$!
	wait_for child .
	local dir=$userdir/$(cat child)
	# nobody reads replies: no plot, though memwatch has looked for a
	# reader (once a second) by now
	sleep 1.5
	[ ! -e "$dir/plot.svg" ]
	# as the IPython snippet does: the reply FIFO held open, a marker
	"$PYTHON" - "$dir" <<-'EOF' &
	import os, sys, time
	fd = os.open(sys.argv[1] + "/reply", os.O_RDWR | os.O_NONBLOCK)
	with open(sys.argv[1] + "/marker", "w") as f:
	    f.write("In [1]\n")
	time.sleep(30)
	EOF
	local reader=$!
	eventually 5 "no plot.svg in $dir" grep -qs 'data-open="In \[1\]"' "$dir/plot.svg"
	"$PYTHON" -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$dir/plot.svg"
	kill "$reader"
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	# removed with the directory, which went without a word
	[ ! -e "$dir" ]
	! grep -q "$dir" err || false
}

@test "a plot read during the run is always whole, and shows the run so far" {
	"$MEMWATCH" -q -i 1ms --plot run.svg -- "$WORKLOAD" pidfile child \
		burst 300 sleep 1200 burst 300 sleep 1200 &
	local mw=$!
	wait_for child .
	run "$PYTHON" "$CHECK" whole run.svg child
	echo "$output"
	[ "$status" -eq 0 ]
	# rewritten about once a second, and read many times in between
	local reads versions
	read -r reads versions <<< "$output"
	[ "$versions" -ge 2 ]
	[ "$reads" -gt "$versions" ]
	wait_status $mw
	[ "$status" -eq 0 ]
	grep -q 'data-ended="1"' run.svg
}

@test "5,000 segments draw as a bounded number of bands, labels never overlapping" {
	run mw -q -i 1ms -s seg.csv --plot run.svg -- "$WORKLOAD" burst 5000
	[ "$status" -eq 0 ]
	[ "$(rows seg.csv)" -gt 4000 ]
	local elements bytes
	read -r elements bytes < <("$PYTHON" "$CHECK" count run.svg)
	echo "$(rows seg.csv) segments: $elements elements, $bytes bytes"
	# 400 bands, each with its peak and at most a label: a few thousand
	# elements whatever the number of segments
	[ "$elements" -lt 3000 ]
	[ "$bytes" -lt 400000 ]
	"$PYTHON" - run.svg <<-'EOF'
	import sys, xml.etree.ElementTree as ET
	ns = "{http://www.w3.org/2000/svg}"
	root = ET.parse(sys.argv[1]).getroot()
	spans = sorted((float(t.get("x")), float(t.get("x")) + 6.8 * len("".join(t.itertext())))
	               for t in root.iter(ns + "text") if t.get("class") == "label")
	assert len(spans) >= 5, spans
	for (a, b), (c, d) in zip(spans, spans[1:]):
	    assert b <= c, "labels overlap: %r %r" % ((a, b), (c, d))
	EOF
}

@test "Chromium renders a plot of 5,000 segments in under a second" {
	needs_chromium
	"$PYTHON" -c 'import selenium' 2> /dev/null ||
		skip "no selenium for $PYTHON (Debian: apt-get install python3-selenium)"
	command -v chromedriver > /dev/null ||
		skip "no chromedriver (Debian: apt-get install chromium-driver)"
	run mw -q -i 1ms -s seg.csv --plot run.svg -- "$WORKLOAD" burst 5000
	[ "$status" -eq 0 ]
	run "$PYTHON" "$CHECK" render run.svg
	echo "load and paint: $output s"
	[ "$status" -eq 0 ]
	# about 0.15 s here: the bound leaves a loaded machine a wide margin
	[ "$(echo "$output" | awk '{ print ($1 < 1.0) }')" -eq 1 ]
}

@test "memwatch's own memory stays flat with --plot as samples and segments pile up" {
	if sanitized; then
		skip "memwatch's own RSS is not checked under ASan, whose shadow memory and allocator move it"
	fi
	# stopped once every bucket and band is in use, and again after the
	# buckets have merged twice more and thousands more segments closed
	"$MEMWATCH" -q -i 100us --plot run.svg -- "$WORKLOAD" pidfile child \
		burst 1000 sleep 2200 stop burst 3000 sleep 2500 stop &
	local mw=$!
	wait_for child .
	local child=$(cat child)
	stopped "$child"
	local hwm_start=$(hwm_kib $mw)
	kill -CONT "$child"
	stopped "$child"
	local hwm_end=$(hwm_kib $mw)
	kill -CONT "$child"
	wait_status $mw
	[ "$status" -eq 0 ]
	echo "memwatch VmHWM: $hwm_start kB at 2.5 s, $hwm_end kB at 5.5 s"
	# as in soak.bats: a few pages of stdio and the heap's slack
	[ $(( hwm_end - hwm_start )) -le 256 ]
}

@test "--plot needs a file, and one it can write, before the command runs" {
	run --separate-stderr mw --plot - -- "$WORKLOAD" pidfile child
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"--plot -: "*"needs a file"* ]]
	run --separate-stderr mw --plot nowhere/run.svg -- "$WORKLOAD" pidfile child
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"nowhere/run.svg"* ]]
	[ ! -e child ]
}

@test "attached and stopped by SIGTERM, memwatch leaves the plot and metrics whole, ended" {
	"$WORKLOAD" pidfile target alloc 20 waitsig &
	wait_for target .
	"$MEMWATCH" -q -i 10ms --plot run.svg --metrics run.prom -p "$(cat target)" &
	local mw=$!
	wait_for run.prom memwatch_running
	kill -TERM $mw
	wait_status $mw
	[ "$status" -eq 0 ]
	grep -q 'data-ended="1"' run.svg
	"$PYTHON" -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' run.svg
	grep -q '^memwatch_running{.*} 0$' run.prom
	kill -USR2 "$(cat target)"
}
