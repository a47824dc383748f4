# notebook_plot.py: %memwatch plot in an IPython shell run in this process,
# for plot.bats.
#
# usage: python3 notebook_plot.py PYTHONDIR
#
# Loads the extension from PYTHONDIR (it starts a memwatch of its own,
# $MEMWATCH_BINARY), runs two cells that allocate and free 50 MiB, then
# "%memwatch plot", and checks what it returned: an IPython SVG whose
# bands are the cells, each with its label, and whose open segment is the
# plot's own cell.  Prints how long the magic took.

import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, sys.argv[1])

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

NS = "{http://www.w3.org/2000/svg}"


def fail(why):
    print("notebook_plot: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    ip = InteractiveShell.instance()
    # cells long enough for their labels beside the plot's own
    for cell in ("%load_ext memwatch",
                 "import time; x = b'x' * (50 << 20); time.sleep(0.5)",
                 "del x; time.sleep(0.5)"):
        r = ip.run_cell(cell, store_history=True)
        if not r.success:
            fail("cell %r failed" % cell)
    start = time.monotonic()
    r = ip.run_cell("%memwatch plot", store_history=True)
    took = time.monotonic() - start
    svg = r.result
    if type(svg).__name__ != "SVG" or not svg.data:
        fail("%%memwatch plot returned %r" % (svg,))
    root = ET.fromstring(svg.data)
    tips = [r.find(NS + "title").text for r in root.iter(NS + "rect")
            if r.get("class") == "band"]
    labels = [t.text for t in root.iter(NS + "text")
              if t.get("class") == "label"]
    for cell in ("In [2]", "In [3]"):
        if not any(t.startswith(cell + ":") for t in tips):
            fail("no band for %s among %r" % (cell, tips))
        if cell not in labels:
            fail("no label %s among %r" % (cell, labels))
    if root.get("data-open") != "In [4]":
        fail("the plot's open segment is %r, not the magic's own cell"
             % root.get("data-open"))
    print("%%memwatch plot: %d bands, labels %r, in %.3f s"
          % (len(tips), labels, took))
    ip.run_cell("%unload_ext memwatch", store_history=True)


if __name__ == "__main__":
    main()
