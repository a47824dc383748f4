#!/bin/sh
# pipeline.sh: the README's example of a pipeline in phases, each phase
# named through memwatch's marker FIFO (when there is one) and run by
# programs of its own: the memory memwatch reports is the tree's.
phase() {
	[ -n "$MEMWATCH_FIFO" ] && echo "$1" > "$MEMWATCH_FIFO"
}
hold() {	# hold() MIB SECONDS: a Python program holding MIB MiB
	/usr/bin/python3 -c "import time; a = b'x' * ($1 << 20); time.sleep($2)"
}

phase "load"
hold 200 1.5
phase "transform"
for worker in 1 2 3 4; do
	hold 80 1.5 &
done
wait
phase "write"
hold 300 1
phase "done"
sleep 0.5
