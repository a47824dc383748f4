#!/usr/bin/env bats
# Job control: memwatch in an interactive bash on a pseudo-terminal
# (tests/ipty.py types the keys), as a user runs it.  The command gets the
# terminal, Ctrl-C and Ctrl-\ reach it once, Ctrl-Z stops the job, and bg
# and fg go on with it as they would without memwatch.

load helpers

setup() {
	fifo_setup
	command -v bash > /dev/null || skip "no bash"
	PYTHON=/usr/bin/python3
}

# session: run bash -i on a pseudo-terminal, driven by the ipty.py script
# on standard input, with $MW and $W for memwatch and the workload; the
# screen ends up in ./screen.  ipty.py fails unless every step ran and
# every process on the terminal is gone at the end.
session() {
	env -i PATH=/usr/bin:/bin HOME="$BATS_TEST_TMPDIR" TERM=dumb \
	    PS1='$ ' MW="$MEMWATCH" W="$WORKLOAD" TMPDIR="$TMPDIR" \
	    timeout -k 5 60 "$PYTHON" "$BATS_TEST_DIRNAME/ipty.py" -t 10 \
	    screen -- bash --norc --noprofile -i
}

# count N: the number of lines of the screen that are N, after the
# terminal's echo of the key (^C) if any.
count() {
	grep -c -E "^(\^.)?$1\$" screen || true
}

@test "Ctrl-C, Ctrl-\\ and Ctrl-Z reach the command once each, memwatch none" {
	# the workload catches them all, and prints each signal's number
	session <<-'EOF'
	expect \$ $
	send $MW -q -- $W signals /dev/tty
	expect ^ready
	intr
	expect ^(\^C)?2$
	keys \x1c
	expect ^(\^\\)?3$
	keys \x1a
	expect ^(\^Z)?20$
	kill KILL child
	expect Killed
	send echo status=$?
	expect status=137
	send pkill -KILL -f 'alloc signals /dev/tty'; echo ended
	expect ^ended
	send exit
	wait
	EOF
	# memwatch killed, the command ran on (as a batch job's would) until
	# ended above
	[ "$(count 2)" -eq 1 ]
	[ "$(count 3)" -eq 1 ]
	[ "$(count 20)" -eq 1 ]
}

@test "Ctrl-Z stops the job, bg runs it in the background, kill ends it" {
	session <<-'EOF'
	expect \$ $
	send $MW -q -- $W pidfile child pidfile /dev/tty sleep 100000
	expect ^[0-9]+$
	keys \x1a
	expect Stopped
	send grep State /proc/$(cat child)/status /proc/$(jobs -p %1)/status
	expect State:\s+T.*\n.*State:\s+T
	send bg
	expect \$ $
	send grep State /proc/$(cat child)/status /proc/$(jobs -p %1)/status
	expect State:\s+S.*\n.*State:\s+S
	send kill %1; wait %1; echo status=$?
	expect status=143
	send exit
	wait
	EOF
}

@test "Ctrl-Z, then bg: a command that reads the terminal stops again; fg, and Ctrl-C ends it" {
	session <<-'EOF'
	expect \$ $
	send set -b
	send $MW -q -- $W cont lines
	expect ^ready
	keys \x1a
	expect Stopped
	send bg
	expect Stopped
	send grep State /proc/$(jobs -p %1)/status
	expect State:\s+T
	send fg
	expect ^continued
	send hi
	expect ^got hi
	intr
	expect \$ $
	send echo status=$?
	expect status=130
	send exit
	wait
	EOF
}

@test "the command has the terminal, and has it back after Ctrl-Z and fg" {
	# the command would be stopped by SIGTTIN if it read the terminal
	# from the background
	session <<-'EOF'
	expect \$ $
	send $MW -q -- $W cont lines
	expect ^ready
	send hello
	expect ^got hello
	keys \x1a
	expect Stopped
	send fg
	expect ^continued
	send again
	expect ^got again
	keys \x04
	expect \$ $
	send echo status=$?
	expect status=0
	send exit
	wait
	EOF
}

@test "a running background job brought to the foreground: the command gets the terminal" {
	# it reads the terminal a second after it starts; fg comes before,
	# and bash sends a running job no SIGCONT
	session <<-'EOF'
	expect \$ $
	send $MW -q -- $W pidfile /dev/tty sleep 1000 lines &
	expect ^(\$ )?[0-9]+$
	send fg
	expect ^ready
	send hello
	expect ^got hello
	keys \x04
	expect \$ $
	send echo status=$?
	expect status=0
	send exit
	wait
	EOF
}

@test "started in the background, a command that reads the terminal stops the job; fg gives it the terminal" {
	session <<-'EOF'
	expect \$ $
	send set -b
	send $MW -q -- $W cont lines &
	expect Stopped
	send fg
	expect ^continued
	send hello
	expect ^got hello
	keys \x04
	expect \$ $
	send echo status=$?
	expect status=0
	send exit
	wait
	EOF
}

# interrupted LINE: type LINE at the prompt, and Ctrl-C once the workload
# it runs has printed its PID.
interrupted() {
	session <<-EOF
	expect \\\$ \$
	send $1
	expect ^[0-9]+\$
	intr
	expect \\\$ \$
	send echo end
	expect ^end
	send exit
	wait
	EOF
}

@test "Ctrl-C ends a shell loop or a script around memwatch, as it would around the command" {
	local shell
	# interactive bash ends the loop on a job that SIGINT killed
	interrupted 'for i in 1 2; do $MW -q -- $W pidfile /dev/tty sleep 100000; echo next $i; done'
	[ "$(grep -c '^next' screen)" -eq 0 ]
	# a script gets the SIGINT from the terminal, as without memwatch
	for shell in sh bash; do
		interrupted "$shell -c '\$MW -q -- \$W pidfile /dev/tty sleep 100000; echo went on'"
		[ "$(grep -c '^went on' screen)" -eq 0 ]
	done
}
