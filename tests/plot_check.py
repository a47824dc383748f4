# plot_check.py: checks of memwatch's SVG plot against its segments CSV,
# for plot.bats.  Each subcommand prints what it measured and exits 1,
# saying why, when the plot is wrong.
#
#   size SVG                      "WIDTH,HEIGHT" for chromium's window
#   structure SVG SEGMENTS CMD    well-formed; a band per segment at the
#                                 CSV's times; labels, title and axes there
#   pixels SVG PNG SEGMENTS LABEL in Chromium's rendering of SVG, the RSS
#                                 line in the middle of band LABEL sits at
#                                 the segment's end_rss on the axis's scale,
#                                 and the label row above the band has ink
#   envelope SVG SAMPLES          the RSS envelope's highest and lowest
#                                 points are the samples CSV's highest
#                                 and lowest RSS, on the axis's scale
#   count SVG                     the number of elements and bytes
#   render SVG                    seconds Chromium (through selenium and
#                                 chromedriver) takes to load SVG and
#                                 paint it into a screenshot
#   whole FILE PIDFILE            read FILE in a tight loop while the pid
#                                 in PIDFILE lives; every read must parse
#                                 (XML for .svg, exposition format for
#                                 .prom); print reads and distinct versions

import csv
import os
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3,
         "TiB": 1024 ** 4, "s": 1, "min": 60, "h": 3600, "d": 86400}


def is_line(rgb):
    r, g, b = rgb
    return r < 150 and b - r > 40


def fail(why):
    print("plot_check: " + why, file=sys.stderr)
    sys.exit(1)


def text_of(el):
    return "".join(el.itertext())


def ticks(root, cls):
    """[(value in bytes or seconds, pixel)] of the axis's tick groups."""
    got = []
    for g in root.iter(NS + "g"):
        if g.get("class") != cls:
            continue
        line, text = g.find(NS + "line"), g.find(NS + "text")
        number, unit = text_of(text).split()
        pos = float(line.get("y1" if cls == "ytick" else "x1"))
        got.append((float(number) * UNITS[unit], pos))
    if len(got) < 2:
        fail("fewer than two %s ticks" % cls)
    return got


def scale(tick):
    """A function from value to pixel, fitted on the first and last tick;
    every tick between must lie on it."""
    (v0, p0), (v1, p1) = tick[0], tick[-1]
    f = lambda v: p0 + (v - v0) * (p1 - p0) / (v1 - v0)
    for v, p in tick:
        if abs(f(v) - p) > 0.2:
            fail("tick %g at %.1f, off the axis's scale" % (v, p))
    return f


def segments(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def bands(root):
    """[(title text, x, width)] of the bands, left to right."""
    got = []
    for r in root.iter(NS + "rect"):
        if r.get("class") == "band":
            got.append((text_of(r.find(NS + "title")), float(r.get("x")),
                        float(r.get("width"))))
    return got


def structure(svg, segs_csv, command):
    root = ET.parse(svg).getroot()
    segs = segments(segs_csv)
    title = text_of(root.find(NS + "title"))
    if command not in title:
        fail("title %r lacks the command %r" % (title, command))
    x = scale(ticks(root, "xtick"))
    scale(ticks(root, "ytick"))
    got = bands(root)
    if len(got) != len(segs):
        fail("%d bands for %d segments" % (len(got), len(segs)))
    labels = [text_of(t) for t in root.iter(NS + "text")
              if t.get("class") == "label"]
    for (tip, bx, bw), s in zip(got, segs):
        if not tip.startswith(s["label"] + ":"):
            fail("band %r is not segment %r" % (tip, s["label"]))
        for edge, t in ((bx, s["start_s"]), (bx + bw, s["end_s"])):
            if abs(edge - x(float(t))) > 1:
                fail("segment %s: band edge at %.1f, axis puts %s s at %.1f"
                     % (s["label"], edge, t, x(float(t))))
        if s["label"] not in labels:
            fail("no label %r among %r" % (s["label"], labels))
    peaks = [p for p in root.iter(NS + "line") if p.get("class") == "peak"]
    if len(peaks) != len(segs):
        fail("%d peak marks for %d segments" % (len(peaks), len(segs)))
    print("structure: %d bands, labels %s" % (len(got), labels))


def pixels(svg, png, segs_csv, label):
    from PIL import Image
    root = ET.parse(svg).getroot()
    seg = [s for s in segments(segs_csv) if s["label"] == label][0]
    y = scale(ticks(root, "ytick"))
    tip, bx, bw = [b for b in bands(root) if b[0].startswith(label + ":")][0]
    img = Image.open(png).convert("RGB")
    col = int(bx + bw / 2)
    # the line's blue, or its anti-aliased edge: bluer and darker than the
    # bands and the envelope's fill (#a9c4ec)
    ink = [row for row in range(img.height)
           if is_line(img.getpixel((col, row)))]
    if not ink:
        fail("no RSS line in column %d" % col)
    want = y(int(seg["end_rss_bytes"]))
    print("pixels: RSS line at y=%d..%d in column %d; the axis puts %s "
          "bytes at y=%.1f" % (ink[0], ink[-1], col, seg["end_rss_bytes"],
                               want))
    # the line is 1.5 px wide, anti-aliased: its top row is within 2 px
    if abs(ink[0] - want) > 2:
        fail("RSS line at y=%d, want %.1f" % (ink[0], want))
    label_el = [t for t in root.iter(NS + "text")
                if t.get("class") == "label" and text_of(t) == label][0]
    lx, ly = float(label_el.get("x")), float(label_el.get("y"))
    dark = sum(1 for px in range(int(lx), int(lx) + 7 * len(label))
               for py in range(int(ly) - 9, int(ly) + 2)
               if sum(img.getpixel((px, py))) < 300)
    print("pixels: %d dark pixels where label %r is drawn" % (dark, label))
    if dark < 3 * len(label):
        fail("label %r not drawn at %.0f,%.0f" % (label, lx, ly))


def envelope(svg, samples_csv):
    root = ET.parse(svg).getroot()
    y = scale(ticks(root, "ytick"))
    path = [p for p in root.iter(NS + "path") if p.get("id") == "rss"][0]
    ys = [float(v) for v in re.findall(r"[ML ]?[0-9.]+,([0-9.]+)",
                                       path.get("d"))]
    with open(samples_csv, newline="") as f:
        rss = [int(r["rss_bytes"]) for r in csv.DictReader(f)]
    print("envelope: y %.1f..%.1f; samples put it at %.1f..%.1f" %
          (min(ys), max(ys), y(max(rss)), y(min(rss))))
    # coordinates are written to 0.1 px
    if abs(min(ys) - y(max(rss))) > 0.1 or abs(max(ys) - y(min(rss))) > 0.1:
        fail("the envelope is not the samples' highest and lowest")


def count(svg):
    root = ET.parse(svg).getroot()
    print(sum(1 for _ in root.iter()), os.path.getsize(svg))


def render(svg):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    import time
    options = Options()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--no-first-run",
                "--window-size=1000,600"):
        options.add_argument(arg)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    driver = webdriver.Chrome(options=options)
    try:
        # a first page, so the browser's own start is not counted
        driver.get("about:blank")
        start = time.monotonic()
        driver.get("file://" + os.path.abspath(svg))
        driver.get_screenshot_as_png()
        print("%.3f" % (time.monotonic() - start))
    finally:
        driver.quit()


PROM_LINE = re.compile(r'^(# (HELP|TYPE) .*|[a-z_]+\{[^}]*\} -?[0-9.e+]+)$')


def parses(path, data):
    """Whether data is a whole file of its kind."""
    if path.endswith(".svg"):
        try:
            ET.fromstring(data)
            return True
        except ET.ParseError:
            return False
    text = data.decode()
    return (text.endswith("\n") and "memwatch_late_ticks_total" in text and
            all(PROM_LINE.match(line) for line in text.splitlines()))


def whole(path, pidfile):
    with open(pidfile) as f:
        pid = int(f.read())
    reads, seen = 0, set()
    while os.path.exists("/proc/%d" % pid):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        reads += 1
        seen.add(hash(data))
        if not parses(path, data):
            fail("read %d of %s is not whole: %r" % (reads, path,
                                                      data[-200:]))
    print(reads, len(seen))


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "size":
        root = ET.parse(args[0]).getroot()
        print("%s,%s" % (root.get("width"), root.get("height")))
    elif cmd == "structure":
        structure(*args)
    elif cmd == "pixels":
        pixels(*args)
    elif cmd == "envelope":
        envelope(*args)
    elif cmd == "count":
        count(*args)
    elif cmd == "render":
        render(*args)
    elif cmd == "whole":
        whole(*args)
    else:
        fail("unknown subcommand " + cmd)


if __name__ == "__main__":
    main(sys.argv)
