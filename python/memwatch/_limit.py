# _limit.py: memwatch's --limit guard, from the IPython side.
#
# "%memwatch limit 2G" asks the memwatch that watches this process for a
# new limit: a file "limit" in its FIFO directory, written whole (written
# as limit.new, then renamed), which memwatch takes at its next marker,
# the end of the cell, and applies from there on.  With MEM_LIMIT set, as
# JupyterHub sets it, the extension asks for "default 90%" as it starts:
# memwatch takes that only where it has no limit of its own.  Each reply
# row says the limit memwatch holds (limit_bytes) and how often the
# segment was interrupted (interrupts).

import os

DEFAULT = "90%"     # of what the process may use, where MEM_LIMIT is set


def ask(link, spec):
    """Leave spec for the memwatch of link: a size, N%, off, or "default "
    and one.  Raises OSError."""
    piddir = os.path.dirname(link.path)
    new = os.path.join(piddir, "limit.new")
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW |
                 os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, spec.encode("utf-8") + b"\n")
    finally:
        os.close(fd)
    os.replace(new, os.path.join(piddir, "limit"))


def size(n):
    """n bytes as memwatch writes them."""
    if n >= 1 << 30:
        return "%.2f GiB" % (n / float(1 << 30))
    return "%.2f MiB" % (n / float(1 << 20))


def said(before, asked, rows):
    """The lines for a cell whose segments are rows: what became of the
    limit asked for in it, if any; that the limit interrupted it, if it
    did.  before is the limit held before the cell."""
    now = rows[-1].limit_bytes
    lines = []
    if asked is not None and now is not None:
        if now != before:
            lines.append("memwatch: limit %s from the next cell on" %
                         (size(now) if now else "off"))
        else:
            lines.append("memwatch: limit still %s: memwatch did not take "
                         "%r, or it was the same (its standard error says "
                         "why)" % (size(now) if now else "off", asked))
    if any(row.interrupts for row in rows):
        lines.append("memwatch: the cell went past the memory limit%s: "
                     "memwatch interrupted it (SIGINT)" %
                     (" of " + size(rows[-1].limit_bytes)
                      if rows[-1].limit_bytes else ""))
    return lines
