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
