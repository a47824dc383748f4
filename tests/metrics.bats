#!/usr/bin/env bats
# --metrics FILE: the Prometheus textfile.  A real node_exporter, started
# here on 127.0.0.1 with only its textfile collector, serves what memwatch
# writes: the values are the samples CSV's, promtool accepts the file, a
# reader never sees half of it, and two memwatches side by side both show.

load helpers

PYTHON=${PYTHON:-/usr/bin/python3}
CHECK=$BATS_TEST_DIRNAME/plot_check.py
EXPORTER=${EXPORTER:-/usr/bin/prometheus-node-exporter}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}

setup() {
	fifo_setup
	mkdir textfile
}

teardown() {
	if [ -f exporter.pid ]; then
		kill "$(cat exporter.pid)" 2> /dev/null || true
	fi
	# helpers.bash's: background jobs and the workload
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2> /dev/null || true
	done
	for pid in child child1 child2; do
		[ -f $pid ] && kill -KILL "$(cat $pid)" 2> /dev/null || true
	done
}

needs_exporter() {
	[ -x "$EXPORTER" ] ||
		skip "no node_exporter at $EXPORTER (Debian: apt-get install prometheus-node-exporter)"
	command -v curl > /dev/null ||
		skip "no curl (Debian: apt-get install curl)"
}

needs_promtool() {
	[ -x "$PROMTOOL" ] ||
		skip "no promtool at $PROMTOOL (Debian: apt-get install prometheus)"
}

# exporter: start node_exporter on a free port of 127.0.0.1, reading
# ./textfile only; its address in $url once it answers.
exporter() {
	local port
	port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$EXPORTER" --web.listen-address="127.0.0.1:$port" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$PWD/textfile" 2> exporter.err &
	echo $! > exporter.pid
	url=http://127.0.0.1:$port/metrics
	eventually 10 "node_exporter did not answer on port $port" \
		curl -fs -o /dev/null "$url"
}

# stop_exporter: stop the node_exporter of exporter().
stop_exporter() {
	kill "$(cat exporter.pid)"
	wait "$(cat exporter.pid)" 2> /dev/null || true
	rm exporter.pid
}

scrape() {
	curl -fs "$url" > scrape.txt
}

# value NAME FILE [MATCH]: the value of metric NAME in FILE, on the line
# that also holds MATCH, as an integer (node_exporter writes 1.0672128e+08).
value() {
	awk -v name="$1" -v match_="${3-}" '
		index($0, name "{") == 1 && index($0, match_) { printf "%d\n", $NF; exit }' "$2"
}

# seconds NAME FILE: the value of metric NAME in FILE as it is written.
seconds() {
	awk -v name="$1" 'index($0, name "{") == 1 { print $NF; exit }' "$2"
}

# scraped NAME MATCH: whether the last scrape holds NAME on a line with MATCH.
scraped() {
	scrape && [ -n "$(value "$1" scrape.txt "$2")" ]
}

@test "node_exporter serves memwatch's metrics, equal to the samples CSV's" {
	needs_exporter
	exporter
	"$MEMWATCH" -q -i 20ms -o out.csv -s seg.csv \
		--metrics textfile/job.prom -- "$WORKLOAD" pidfile child \
		alloc 100 marker loaded waitsig &
	local mw=$!
	wait_for child .
	local pid=$(cat child)
	# the run under way, once the 100 MiB are in
	eventually 10 "no segment 'loaded' in the scrape" scraped \
		memwatch_segment_info 'segment="loaded"'
	grep -q '^node_textfile_scrape_error 0' scrape.txt
	[ "$(value memwatch_running scrape.txt "pid=\"$pid\"")" -eq 1 ]
	local rss=$(value memwatch_rss_bytes scrape.txt) t=$(seconds memwatch_elapsed_seconds scrape.txt)
	near "$rss" $(( 100 * MiB )) $(( 2 * MiB ))
	[ "$(value memwatch_last_segment_info scrape.txt 'segment="segment 1"')" -eq 1 ]

	kill -USR2 "$pid"
	wait_status $mw
	[ "$status" -eq 0 ]
	# the scraped RSS is the last sample's at the file's time
	local csv_rss=$(awk -F, -v t="$t" 'NR > 1 && $1 <= t + 1e-6 { r = $2 } END { print r }' out.csv)
	echo "scraped rss $rss at $t s; the CSV's last sample by then: $csv_rss"
	[ "$rss" -eq "$csv_rss" ]
	# kept at the end, marked finished, with the run's final counts
	scrape
	[ "$(value memwatch_running scrape.txt)" -eq 0 ]
	[ "$(value memwatch_samples_total scrape.txt)" -eq "$(rows out.csv)" ]
	[ "$(value memwatch_segments_total scrape.txt)" -eq "$(rows seg.csv)" ]
	[ "$(value memwatch_last_segment_info scrape.txt 'segment="loaded"')" -eq 1 ]
	[ "$(value memwatch_last_segment_peak_rss_bytes scrape.txt)" -eq "$(field peak_rss_bytes 2 seg.csv)" ]
	[ "$(value memwatch_last_segment_delta_bytes scrape.txt)" -eq "$(field delta_bytes 2 seg.csv)" ]
	# the run's peak is its highest segment's
	local peak=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "peak_rss_bytes") c = i; next }
		$c > p { p = $c } END { print p }' seg.csv)
	[ "$(value memwatch_peak_rss_bytes scrape.txt)" -eq "$peak" ]
	stop_exporter
}

@test "promtool check metrics accepts the file, during the run and after" {
	needs_promtool
	"$MEMWATCH" -q -i 10ms --metrics textfile/job.prom -- "$WORKLOAD" \
		pidfile child marker 'a "quoted" \ label' waitsig &
	local mw=$!
	wait_for child .
	wait_for textfile/job.prom 'quoted'
	"$PROMTOOL" check metrics < textfile/job.prom
	kill -USR2 "$(cat child)"
	wait_status $mw
	[ "$status" -eq 0 ]
	"$PROMTOOL" check metrics < textfile/job.prom
	# no temporary left beside it, and none ever named *.prom
	[ "$(ls textfile)" = job.prom ]
}

@test "a reader in a tight loop never sees half a file" {
	# a boundary every 150 ms, each a rewrite, and markers in between
	"$MEMWATCH" -q -i 1ms --metrics textfile/job.prom -- "$WORKLOAD" \
		pidfile child sleep 100 $(printf 'burst 100 sleep 150 %.0s' 1 2 3 4 5 6 7 8) &
	local mw=$!
	wait_for child .
	run "$PYTHON" "$CHECK" whole textfile/job.prom child
	echo "$output"
	[ "$status" -eq 0 ]
	local reads versions
	read -r reads versions <<< "$output"
	# rewritten at most ten times a second, at boundaries: several
	# versions, each read whole
	[ "$versions" -ge 5 ]
	wait_status $mw
	[ "$status" -eq 0 ]
}

@test "two memwatches side by side both appear in node_exporter" {
	needs_exporter
	exporter
	local i mws=()
	for i in 1 2; do
		"$MEMWATCH" -q -i 20ms --metrics textfile/job$i.prom -- \
			"$WORKLOAD" pidfile child$i alloc $(( 10 * i )) waitsig &
		mws+=($!)
	done
	wait_for child1 .
	wait_for child2 .
	local one=$(cat child1) two=$(cat child2)
	eventually 10 "the first memwatch is not in the scrape" scraped memwatch_rss_bytes "pid=\"$one\""
	eventually 10 "the second memwatch is not in the scrape" scraped memwatch_rss_bytes "pid=\"$two\""
	# same names, same HELP and TYPE, distinct series: no scrape error
	grep -q '^node_textfile_scrape_error 0' scrape.txt
	[ "$(grep -c '^memwatch_rss_bytes{' scrape.txt)" -eq 2 ]
	kill -USR2 "$one" "$two"
	wait "${mws[@]}"
	stop_exporter
}

@test "--metrics needs a file in a directory it can write, before the command runs" {
	run --separate-stderr mw --metrics - -- "$WORKLOAD" pidfile child
	[ "$status" -eq 125 ]
	run --separate-stderr mw --metrics nowhere/job.prom -- "$WORKLOAD" pidfile child
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"nowhere"* ]]
	[ ! -e child ]
	# a name node_exporter would not read: said, and written all the same
	run --separate-stderr mw -q --metrics job.txt -- "$WORKLOAD" pidfile child
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"job.txt: node_exporter's textfile collector reads only files named *.prom"* ]]
	grep -q '^memwatch_running{.*} 0$' job.txt
}
