# magics.py: the %memwatch line magic.
#
# "%memwatch NAME ARGS" runs the subcommand registered as NAME, with the
# rest of the line as ARGS; its return value is the magic's (shown as the
# cell's result).  A subcommand is a function of the session and ARGS,
# registered with @subcommand: the usage and %memwatch? list it.  Bad
# arguments raise UsageError, which IPython shows without a traceback.

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ._session import SESSION

_SUBCOMMANDS = {}       # name: (function, "NAME ARGS", what it does)


def subcommand(name, args=""):
    """Register the decorated function(session, args) as %memwatch NAME;
    args names its arguments in the usage, its docstring says what it
    does in a line."""
    def register(fn):
        _SUBCOMMANDS[name] = (fn, (name + " " + args).strip(), fn.__doc__)
        return fn
    return register


def no_args(name, args):
    """Refuse arguments to a subcommand that takes none."""
    if args:
        raise UsageError("%%memwatch %s takes no arguments" % name)


@subcommand("")
def _status(session, args):
    """say whether lines are on and where they come from"""
    print(session.status())


@subcommand("on")
def _on(session, args):
    """a line after each cell from this one on (finds memwatch again)"""
    no_args("on", args)
    was_linked = session.link is not None
    session.start()
    if was_linked and session.link is not None and not session.stalled:
        print("memwatch: per-cell lines on")


@subcommand("off")
def _off(session, args):
    """no more lines (this cell still gets its own)"""
    no_args("off", args)
    session.stop()
    print("memwatch: per-cell lines off")


@subcommand("last")
def _last(session, args):
    """the last cell's line again"""
    no_args("last", args)
    print(session.last_line if session.last_line is not None
          else "memwatch: no cell measured yet")


@subcommand("history")
def _history(session, args):
    """every cell measured: a DataFrame if pandas is imported already,
    else a list of memwatch.Cell (memwatch never imports pandas)"""
    no_args("history", args)
    return session.history()


@subcommand("limit", "SIZE|N%|off")
def _limit(session, args):
    """from the next cell on, interrupt a cell whose memory goes past SIZE
    (300M, 2G) or N% of what this process may use; off: never"""
    if not args:
        raise UsageError("%memwatch limit takes a size (2G), N% or off")
    if session.link is None:
        raise UsageError("not connected to memwatch: no limit to set")
    session.ask_limit(args)


# New subcommands go above this line, each a decorated function.


def usage():
    """The subcommands, a line each."""
    lines = ["%%memwatch %-16s %s" % (usage, " ".join(doc.split()))
             for _, usage, doc in _SUBCOMMANDS.values()]
    return "\n".join(lines)


@magics_class
class MemwatchMagics(Magics):

    @line_magic
    def memwatch(self, line):
        name, _, args = line.strip().partition(" ")
        if name not in _SUBCOMMANDS:
            raise UsageError("unknown subcommand %r; usage:\n%s" %
                             (name, usage()))
        return _SUBCOMMANDS[name][0](SESSION, args.strip())


MemwatchMagics.memwatch.__doc__ = """Per-cell memory lines from memwatch.

%s

From code: import memwatch; memwatch.measurements, memwatch.history().
""" % usage()
