# startup.py: brings memwatch's per-cell lines into an IPython.
#
# memwatch sets PYTHONSTARTUP to this file for the command it launches, so
# an interactive IPython (or a Jupyter kernel) started under memwatch runs
# it; in a kernel that memwatch attached to, "%run .../startup.py" does.
# It loads the memwatch extension from the package directory it is in,
# whatever sys.path holds, and then runs the user's own PYTHONSTARTUP file,
# which memwatch passed on as MEMWATCH_PYTHONSTARTUP.  The extension it
# loads uses the memwatch that brought it here and starts none of its own.
#
# No docstring and no names left behind: %run copies this file's namespace
# into the user's.


def _load_memwatch(here, ip):
    """Load the package in directory here as the memwatch extension of
    shell ip, writing no __pycache__ where memwatch was installed."""
    import importlib.util
    import sys

    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        if "memwatch" not in sys.modules:
            spec = importlib.util.spec_from_file_location(
                "memwatch", here + "/__init__.py",
                submodule_search_locations=[here])
            module = importlib.util.module_from_spec(spec)
            sys.modules["memwatch"] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules["memwatch"]
                raise
        memwatch = sys.modules["memwatch"]
        memwatch._SESSION.autostart = False
        if ip.extension_manager.load_extension("memwatch") == \
                "already loaded":
            # run again: find memwatch again if it was lost
            memwatch.start_watching_memory()
    finally:
        sys.dont_write_bytecode = saved


def _memwatch_startup(ns):
    import os
    import sys

    here = os.path.dirname(os.path.realpath(ns.get("__file__") or
                                            os.environ["PYTHONSTARTUP"]))
    as_startup = os.path.realpath(os.environ.get("PYTHONSTARTUP", "")) == \
        os.path.join(here, "startup.py")
    theirs = None
    if as_startup:
        # the user's environment again, for the processes they start
        theirs = os.environ.pop("MEMWATCH_PYTHONSTARTUP", None)
        if theirs:
            os.environ["PYTHONSTARTUP"] = theirs
        else:
            del os.environ["PYTHONSTARTUP"]

    # a plain python REPL runs PYTHONSTARTUP too; it has no cells
    ip = None
    if "IPython" in sys.modules:
        ip = sys.modules["IPython"].get_ipython()
    if ip is not None:
        try:
            _load_memwatch(here, ip)
        except Exception as e:
            print("memwatch: cannot load %s: %r" % (here, e),
                  file=sys.stderr)

    if not theirs:
        return
    saved = ns.get("__file__")
    ns["__file__"] = theirs
    try:
        if ip is not None:
            ip.safe_execfile(theirs, ns)
        else:
            with open(theirs, "rb") as f:
                code = compile(f.read(), theirs, "exec")
            exec(code, ns)
    finally:
        if saved is None:
            ns.pop("__file__", None)
        else:
            ns["__file__"] = saved


try:
    _memwatch_startup(globals())
finally:
    del _memwatch_startup, _load_memwatch
