#!/usr/bin/env bats
# The command line: usage, help, and every kind of bad input, each with its
# own exit status and a message that names what was wrong.

load helpers

@test "no arguments: usage on stderr, exit 125" {
	run --separate-stderr mw
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"no command to run"* ]]
	[[ "$stderr" == *"usage: memwatch"* ]]
	[ -z "$output" ]
}

@test "--help prints usage and options on stdout, exit 0" {
	run --separate-stderr mw --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: memwatch"* ]]
	[[ "$output" == *"--interval"* ]]
	[ -z "$stderr" ]
}

@test "-V prints the version" {
	run mw -V
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^memwatch\ [0-9]+\.[0-9]+ ]]
}

@test "unknown option: exit 125" {
	run --separate-stderr mw --bogus -- true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"bogus"* ]]
}

@test "getopt's messages name memwatch as memwatch's own do, not its path" {
	local args
	for args in --bogus -x -i --interval; do
		run --separate-stderr mw $args
		echo "$args: $stderr"
		[ "$status" -eq 125 ]
		# $MEMWATCH is a full path: no line may start with it
		[[ "$stderr" == "memwatch: "* ]]
		[[ "$stderr" != *"$MEMWATCH"* ]]
	done
}

@test "both -p and a command: exit 125" {
	run --separate-stderr mw -p $$ -- true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"not both"* ]]
}

@test "bad intervals are refused with the reason, exit 125" {
	local bad
	for bad in 0 -1 abc 10xs 1.5.2 '' 50us 0.00001 2h 99999999999999999999s; do
		run --separate-stderr mw -i "$bad" -- true
		echo "interval '$bad': status $status, $stderr"
		[ "$status" -eq 125 ]
		[[ "$stderr" == *"interval $bad: "* ]]
	done
}

@test "good intervals in every unit are taken" {
	local good
	for good in 0.1 1 250us 10ms 2s 0.5s 100000ns; do
		run mw -q -i "$good" -- true
		echo "interval '$good': status $status"
		[ "$status" -eq 0 ]
	done
}

@test "bad pid: exit 125" {
	local bad
	# strtol(3) would take the blank and the sign
	for bad in abc 0 -5 12x ' 12' '+12' '12 ' '' 0x10 99999999999; do
		run --separate-stderr mw -p "$bad"
		echo "pid '$bad': status $status, $stderr"
		[ "$status" -eq 125 ]
		[[ "$stderr" == *"pid '$bad': "* ]]
	done
}

@test "-o - and -s - together: exit 125" {
	run --separate-stderr mw -o - -s - -- true
	[ "$status" -eq 125 ]
}

@test "nonexistent pid: exit 123, no output file made" {
	# a PID above the kernel's pid_max cannot exist
	local pid=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
	run --separate-stderr mw -o out.csv -s seg.csv -p "$pid"
	[ "$status" -eq 123 ]
	[[ "$stderr" == *"pid $pid: No such process"* ]]
	[ ! -e out.csv ]
	[ ! -e seg.csv ]
}

@test "command not found: exit 127" {
	run --separate-stderr mw -- ./no-such-command
	[ "$status" -eq 127 ]
	[[ "$stderr" == *"no-such-command: No such file or directory"* ]]
}

@test "command not executable: exit 126" {
	echo 'echo hi' > script
	chmod 644 script
	run --separate-stderr mw -- ./script
	[ "$status" -eq 126 ]
	[[ "$stderr" == *"script: Permission denied"* ]]
	mkdir dir
	run --separate-stderr mw -- ./dir
	[ "$status" -eq 126 ]
}

@test "unwritable output path: exit 124, command not run" {
	run --separate-stderr mw -o no/such/dir/out.csv -- touch ran
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"no/such/dir/out.csv: No such file or directory"* ]]
	[ ! -e ran ]
	run --separate-stderr mw -s no/such/dir/seg.csv -- touch ran
	[ "$status" -eq 124 ]
	[ ! -e ran ]
}

@test "output to a full disk: exit 124, command not run" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr mw -o /dev/full -- touch ran
	[ "$status" -eq 124 ]
	[[ "$stderr" == *"/dev/full: No space left on device"* ]]
	[ ! -e ran ]
}

@test "the manual is clean under mandoc -Tlint" {
	command -v mandoc > /dev/null || skip "mandoc not installed (Debian: mandoc)"
	run mandoc -Tlint -W warning "$BATS_TEST_DIRNAME/../man/memwatch.1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "bad limits and sizes are refused with the reason, exit 125" {
	local bad
	for bad in 0 -1G 150% 2X '' 0% 1.5 0.5B 100.1% 12%% 20000000T ' 1G'; do
		run --separate-stderr mw --limit "$bad" -- true
		echo "limit '$bad': status $status, $stderr"
		[ "$status" -eq 125 ]
		[[ "$stderr" == *"limit $bad: "* ]]
	done
	for bad in 0 -1G 50% 2X ''; do
		run --separate-stderr mw --limit 1G --limit-kill "$bad" -- true
		echo "limit-kill '$bad': status $status, $stderr"
		[ "$status" -eq 125 ]
		[[ "$stderr" == *"limit-kill $bad: "* ]]
	done
	run --separate-stderr mw --limit 2G --limit-kill 1G -- true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"limit-kill 1.00 GiB is not above the limit 2.00 GiB"* ]]
	for bad in FOO 0 65 SIG ''; do
		run --separate-stderr mw --limit 1G --limit-signal "$bad" -- true
		[ "$status" -eq 125 ]
		[[ "$stderr" == *"limit-signal $bad: no such signal"* ]]
	done
}

@test "good sizes in every unit are taken, K M G T as powers of 1024" {
	local good want
	while read -r good want; do
		run --separate-stderr mw --limit "$good" -- true
		echo "limit '$good': status $status, $stderr"
		[ "$status" -eq 0 ]
		[[ "$stderr" == "memwatch: limit $want"$'\n'* ]]
	done <<-'EOF2'
		314572800 300.00 MiB
		300M 300.00 MiB
		307200k 300.00 MiB
		300MiB 300.00 MiB
		300mb 300.00 MiB
		1.5GiB 1.50 GiB
		1.5G 1.50 GiB
		2G 2.00 GiB
		0.5T 512.00 GiB
		1073741824B 1.00 GiB
	EOF2
	for good in INT SIGTERM term 15 USR1; do
		run mw -q --limit 1G --limit-signal "$good" -- true
		[ "$status" -eq 0 ]
	done
}
