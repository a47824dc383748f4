# browser_cells.py: a notebook run in a real browser.  Starts a Jupyter
# Notebook server on 127.0.0.1 (a free port, a token) serving DIR, opens
# NOTEBOOK in headless Chromium through chromedriver, runs every cell from
# the Cell menu, and writes what each code cell's output area shows, as
# rendered, to cell-N.txt in the current directory (N from 1).  The PIDs of
# the memwatch processes the notebook's kernel started go to watchers.txt.
# Then shuts the server down and exits 0, or 1 with the reason on standard
# error.  Every wait is bounded; the browser and the server are ended on
# the way out whatever happened.
#
# usage: python3 browser_cells.py JUPYTER CHROMIUM CHROMEDRIVER DIR NOTEBOOK
#
# The server's log goes to server.log, the browser's profile to a fresh
# directory under DIR.

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from jupyter_cells import children, watchers

TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, test, timeout=TIMEOUT):
    """Wait for test() to give a true value, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = test()
        except (OSError, WebDriverException):
            got = None
        if got:
            return got
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.05)


class Server:
    def __init__(self, jupyter, root):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = "http://127.0.0.1:%d" % self.port
        self.log = open("server.log", "wb")
        self.proc = subprocess.Popen(
            [jupyter, "notebook", "--no-browser", "--ip=127.0.0.1",
             "--port=%d" % self.port, "--NotebookApp.port_retries=0",
             "--NotebookApp.token=" + self.token,
             "--notebook-dir=" + root, "--allow-root"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        until("the notebook server", self.up)

    def request(self, path, method="GET"):
        req = urllib.request.Request(
            self.base + path, method=method,
            headers={"Authorization": "token " + self.token})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status

    def up(self):
        if self.proc.poll() is not None:
            raise SystemExit("the notebook server exited with status %d"
                             % self.proc.returncode)
        return self.request("/api/status") == 200

    def url(self, notebook):
        return "%s/notebooks/%s?token=%s" % (self.base, notebook, self.token)

    def watchers(self):
        """memwatch processes the server's kernels started."""
        return [w for k in children(self.proc.pid) for w in watchers(k)]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.request("/api/shutdown", "POST")
                self.proc.wait(TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def browser(chromium, chromedriver, root):
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1200,2000",
                "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-",
                                                      dir=root)):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


def kernel_idle(driver):
    return driver.execute_script(
        "return typeof Jupyter !== 'undefined' && Jupyter.notebook &&"
        " Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()"
        " && document.querySelector('#kernel_indicator_icon')"
        ".classList.contains('kernel_idle_icon')")


def outputs(driver):
    """What each code cell's output area shows, once every cell ran."""
    cells = driver.find_elements(By.CSS_SELECTOR, ".cell.code_cell")
    texts = []
    for cell in cells:
        prompt = cell.find_element(By.CSS_SELECTOR, ".input_prompt").text
        if "*" in prompt or not any(c.isdigit() for c in prompt):
            return None     # not run yet, or still running
        texts.append(cell.find_element(By.CSS_SELECTOR, ".output_wrapper")
                     .text)
    if not all(" used " in t for t in texts):
        return None         # a line not rendered yet
    return texts


def main():
    jupyter, chromium, chromedriver, root, notebook = sys.argv[1:]
    server = Server(jupyter, root)
    driver = None
    try:
        driver = browser(chromium, chromedriver, root)
        driver.set_page_load_timeout(TIMEOUT)
        driver.get(server.url(notebook))
        until("the kernel", lambda: kernel_idle(driver))
        with open("watchers.txt", "a") as f:
            f.writelines("%d\n" % p for p in server.watchers())
        driver.find_element(By.ID, "celllink").click()
        until("the Cell menu", lambda: driver.find_element(
            By.ID, "run_all_cells").is_displayed())
        driver.find_element(By.ID, "run_all_cells").click()
        texts = until("the cells' outputs", lambda: outputs(driver))
        for n, text in enumerate(texts, 1):
            with open("cell-%d.txt" % n, "w") as f:
                f.write(text + "\n")
        return 0
    except (TimeoutError, WebDriverException) as e:
        print("browser_cells: %s" % e, file=sys.stderr)
        if driver is not None:
            with open("page.html", "w") as f:
                f.write(driver.page_source)
        return 1
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
