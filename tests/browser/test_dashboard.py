#!/usr/bin/env python3
"""Browser test of the web dashboard (issue 8): a real `otedama-host serve` devnet pool, a real headless
Chromium, driven over chromedriver's W3C WebDriver HTTP protocol (https://www.w3.org/TR/webdriver2/).
Python standard library only (urllib, socket, hashlib): no selenium, no npm.

The host runs a devnet pool with one local CPU mining thread on loopback, the stratum server and the
admin API on free ports. A small Stratum v1 client in this file authorizes a worker whose name is an
HTML injection attempt and keeps submitting valid sha256d shares (share difficulty 1e-9: about one
hash in four meets it). The page is opened once; without reloading it the test waits until
  - #ws-state reads "live",
  - #hashrate shows a non-zero local hashrate (from the WebSocket's `hashrate` topic),
  - #shares-accepted rises above the value first seen, and the page is still the same document,
  - #plugins-table lists every plugin that GET /api/plugins names, the devnet and stratum server among them,
  - the hostile worker name appears in #workers-table as text, no element was created from it and its
    handler never ran,
  - #hashrate-chart has drawn something.
Screenshots: <artifacts>/dashboard.png (1280x800) and dashboard-full.png (whole page), copied to
$OTEDAMA_ARTIFACTS_DIR when set; on a failure dashboard-failure.png, the host's log and the browser console.

Chromium or chromedriver missing: exit 77 (meson: skipped) with a message, but a failure when CI=true.
Every wait polls its condition under a generous guard; no timing is asserted.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SKIP = 77
HOSTILE_WORKERS = [
    "xss.<img/src/onerror=window.__xss=1>",
    "<svg/onload=window.__xss=2>",
]


def log(*a):
    print("[dashboard-test]", *a, flush=True)


class TestFailure(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, fn, guard_s=120.0, every_s=0.25):
    """Polls fn() until it returns a truthy value; raises TestFailure naming `what` after guard_s."""
    deadline = time.monotonic() + guard_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except TestFailure:
            raise
        except Exception as e:  # noqa: BLE001 (a transient error while polling is retried)
            last_error = e
        time.sleep(every_s)
    raise TestFailure(f"timed out after {guard_s:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def http_json(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


# ------------------------------------------------------------------------------------------------ host

class Host:
    """otedama-host serve with its output in a file."""

    def __init__(self, binary, workdir, config, name="host"):
        self.log_path = os.path.join(workdir, name + ".log")
        self.log_file = open(self.log_path, "wb")
        env = dict(os.environ)
        env.pop("OTEDAMA_PLUGIN_PATH", None)
        self.proc = subprocess.Popen([binary, "serve", "--config", config, "--run-for", "900"], cwd=workdir,
                                     stdout=self.log_file, stderr=subprocess.STDOUT, env=env)

    def output(self):
        with open(self.log_path, "rb") as fh:
            return fh.read().decode(errors="replace")

    def alive(self):
        if self.proc.poll() is not None:
            raise TestFailure(f"otedama-host exited with status {self.proc.returncode}:\n{self.output()[-6000:]}")
        return True

    def search(self, pattern):
        self.alive()
        return re.search(pattern, self.output())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


# ------------------------------------------------------------------------------------------------ stratum

def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


class StratumMiner(threading.Thread):
    """A Stratum v1 (Bitcoin dialect) client: subscribe, authorize the hostile workers, then submit valid
    sha256d shares, one every ~0.3 s, in turn for each worker. Header as in BIP 22/23 pool mining:
    version, prevhash (the notify's word-swapped form), merkle root from coinb1+en1+en2+coinb2 and the
    branch, ntime, nbits, nonce, all little-endian on the wire."""

    def __init__(self, port, workers):
        super().__init__(daemon=True)
        self.port = port
        self.workers = workers
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.accepted = 0
        self.rejected = []
        self.authorized = []
        self.error = None
        self.job = None
        self.target = None
        self.extranonce1 = b""
        self.e2size = 4
        self.next_id = 10
        self.pending = {}

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001 (reported by the test)
            if not self.stop_flag.is_set():
                self.error = f"{type(e).__name__}: {e}"

    def _send(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())

    def _run(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.settimeout(0.3)
        self._send({"id": 1, "method": "mining.subscribe", "params": ["otedama-browser-test/1.0"]})
        for i, w in enumerate(self.workers):
            self._send({"id": 2 + i, "method": "mining.authorize", "params": [w, "x"]})
        buf = b""
        e2 = 0
        turn = 0
        next_submit = 0.0
        while not self.stop_flag.is_set():
            try:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the stratum server closed the connection")
                buf += chunk
            except socket.timeout:
                pass
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    self._on_line(json.loads(line))
            if self.job and self.target is not None and len(self.authorized) == len(self.workers) and time.monotonic() >= next_submit:
                e2 += 1
                worker = self.workers[turn % len(self.workers)]
                turn += 1
                self._submit(worker, e2)
                next_submit = time.monotonic() + 0.3

    def _on_line(self, m):
        method = m.get("method")
        if method == "mining.notify":
            p = m["params"]
            self.job = {"id": p[0], "prevhash": bytes.fromhex(p[1]), "coinb1": bytes.fromhex(p[2]),
                        "coinb2": bytes.fromhex(p[3]), "branches": [bytes.fromhex(b) for b in p[4]],
                        "version": int(p[5], 16), "nbits": int(p[6], 16), "ntime": p[7]}
        elif method == "mining.set_difficulty":
            diff = float(m["params"][0])
            self.target = int(0xFFFF * 2 ** 208 / diff)  # Bitcoin's difficulty 1 target / difficulty
        elif method is None:
            mid = m.get("id")
            if mid == 1:
                if m.get("error") or not m.get("result"):
                    raise ConnectionError(f"mining.subscribe refused: {m.get('error')}")
                self.extranonce1 = bytes.fromhex(m["result"][1])
                self.e2size = int(m["result"][2])
            elif isinstance(mid, int) and 2 <= mid < 2 + len(self.workers):
                if m.get("result") is not True:
                    raise ConnectionError(f"mining.authorize {self.workers[mid - 2]!r} refused: {m.get('error')}")
                self.authorized.append(self.workers[mid - 2])
            elif mid in self.pending:
                self.pending.pop(mid)
                with self.lock:
                    if m.get("result") is True:
                        self.accepted += 1
                    else:
                        self.rejected.append(m.get("error"))

    def _submit(self, worker, e2):
        job = self.job
        en2 = e2.to_bytes(self.e2size, "big")
        root = sha256d(job["coinb1"] + self.extranonce1 + en2 + job["coinb2"])
        for b in job["branches"]:
            root = sha256d(root + b)
        prev = b"".join(job["prevhash"][4 * i:4 * i + 4][::-1] for i in range(8))
        ntime = int(job["ntime"], 16)
        head = struct.pack("<I", job["version"]) + prev + root + struct.pack("<II", ntime, job["nbits"])
        for nonce in range(1 << 32):
            h = sha256d(head + struct.pack("<I", nonce))
            if int.from_bytes(h, "little") <= self.target:
                break
        mid = self.next_id
        self.next_id += 1
        self.pending[mid] = time.monotonic()
        self._send({"id": mid, "method": "mining.submit",
                    "params": [worker, job["id"], en2.hex(), job["ntime"], f"{nonce:08x}"]})

    def stop(self):
        self.stop_flag.set()
        try:
            self.sock.close()
        except Exception:  # noqa: BLE001
            pass


# ------------------------------------------------------------------------------------------------ WebDriver

class WebDriver:
    """The few W3C WebDriver commands this test needs, over HTTP to chromedriver."""

    def __init__(self, chromedriver, chromium, workdir):
        self.port = free_port()
        self.log_path = os.path.join(workdir, "chromedriver.log")
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}", f"--log-path={self.log_path}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_until("chromedriver to answer /status",
                   lambda: http_json("GET", self.base + "/status", timeout=5)[1].get("value", {}).get("ready"), guard_s=60)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                         "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--metrics-recording-only", "--password-store=basic",
                         f"--user-data-dir={os.path.join(workdir, 'chromium-profile')}"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        status, r = http_json("POST", self.base + "/session", caps, timeout=120)
        if status != 200:
            raise TestFailure(f"chromedriver could not start a session ({status}): {json.dumps(r)[:2000]}")
        self.session = r["value"]["sessionId"]
        log("browser:", r["value"]["capabilities"].get("browserVersion"))

    def set_viewport(self, width, height):
        """Sizes the window so that the page itself (the viewport) is width x height CSS pixels."""
        self.cmd("POST", "/window/rect", {"width": width, "height": height})
        for _ in range(3):
            inner = self.js("return [window.innerWidth, window.innerHeight];")
            if inner == [width, height]:
                return
            rect = self.cmd("GET", "/window/rect")
            self.cmd("POST", "/window/rect", {"width": rect["width"] + width - inner[0], "height": rect["height"] + height - inner[1]})

    def cmd(self, method, path, body=None, timeout=60):
        status, r = http_json(method, f"{self.base}/session/{self.session}{path}", body, timeout=timeout)
        if status != 200:
            raise TestFailure(f"WebDriver {method} {path} failed ({status}): {json.dumps(r)[:2000]}")
        return r.get("value")

    def element(self, css):
        found = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))  # {"element-6066-11e4-a4ee-4ad7-...": id}

    def type_into(self, css, text):
        element = self.element(css)
        self.cmd("POST", f"/element/{element}/clear", {})
        self.cmd("POST", f"/element/{element}/value", {"text": text})

    def click(self, css):
        self.cmd("POST", f"/element/{self.element(css)}/click", {})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as fh:
            fh.write(png)
        return path

    def console(self):
        try:
            status, r = http_json("POST", f"{self.base}/session/{self.session}/se/log", {"type": "browser"})
            return r.get("value", []) if status == 200 else []
        except Exception:  # noqa: BLE001
            return []

    def quit(self):
        try:
            http_json("DELETE", f"{self.base}/session/{self.session}", timeout=30)
        except Exception:  # noqa: BLE001
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ------------------------------------------------------------------------------------------------ the test

def find_browser():
    chromium = os.environ.get("OTEDAMA_CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("OTEDAMA_CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver and os.path.exists("/usr/lib/chromium/chromedriver"):
        driver = "/usr/lib/chromium/chromedriver"
    usable = lambda p: p if p and os.path.isfile(p) and os.access(p, os.X_OK) else None
    return usable(chromium), usable(driver)


def write_config(path, workdir, api_port, secret=None):
    """The pool's configuration; with `secret`, reads need a token too (api.auth.public_read off)."""
    auth = f"""  auth:
    secret: "{secret}"
    public_read: false
""" if secret else ""
    with open(path, "w") as fh:
        fh.write(f"""app:
  mode: pool
mining:
  algorithm: sha256d
  enable_cpu: true
  cpu:
    threads: 1
    priority: 19
storage:
  path: {os.path.join(workdir, 'ledger.db')}
devnet:
  difficulty: 0.005
  block_time: 20s
api:
  enable: true
  address: 127.0.0.1:{api_port}
{auth}monitoring:
  metrics:
    enable: false
  health:
    enable: false
plugins:
  settings:
    org.otedama.transport.stratum-server:
      ports:
        - address: 127.0.0.1:0
          algorithm: sha256d
          difficulty: 0.000000001
          vardiff: {{enabled: false}}
""")


def api_listening(host, api_port):
    """Waits until the host's own log says where its API is: True when it listens on api_port, False when it
    could not (another process took the free port after it was picked). Never asks the port itself first, so
    the test cannot mistake another process on that port for its host."""
    m = wait_until(f"the host's API on 127.0.0.1:{api_port} (its log)",
                   lambda: host.search(rf"api: (listening on|cannot listen on) 127\.0\.0\.1:{api_port}\b"))
    return m.group(1) == "listening on"


def start_host(args, workdir, config, tries=3):
    """The host on a free API port (metrics and health off, stratum on 127.0.0.1:0): (host, api_port). A port
    taken between picking and binding is picked again."""
    for attempt in range(1, tries + 1):
        api_port = free_port()
        write_config(config, workdir, api_port)
        host = Host(args.host, workdir, config, name="host" if attempt == 1 else f"host-try{attempt}")
        try:
            if api_listening(host, api_port):
                return host, api_port
        except BaseException:
            host.stop()
            raise
        log(f"API port {api_port} was taken before the host bound it; picking another (try {attempt + 1} of {tries})")
        host.stop()
    raise TestFailure(f"no free API port after {tries} tries")


def run_test(args, workdir, artifacts):
    config = os.path.join(workdir, "otedama.yaml")
    host, api_port = start_host(args, workdir, config)
    miner = None
    driver = None
    try:
        m = wait_until("the stratum server to listen", lambda: host.search(r"stratum-server: listening on 127\.0\.0\.1:([0-9]+)"))
        stratum_port = int(m.group(1))
        base = f"http://127.0.0.1:{api_port}"
        wait_until(f"the admin API on {base}", lambda: host.alive() and http_json("GET", base + "/api/status", timeout=5)[0] == 200)
        log(f"host up: api {base}, stratum 127.0.0.1:{stratum_port}")

        miner = StratumMiner(stratum_port, HOSTILE_WORKERS)
        miner.start()
        def first_share():
            if miner.error:
                raise TestFailure(f"the stratum client failed: {miner.error}")
            return miner.accepted > 0
        wait_until("the hostile workers' first accepted share", first_share, guard_s=60)

        _, plugins = http_json("GET", base + "/api/plugins")
        plugin_ids = [p["id"] for p in plugins.get("plugins", [])]
        for required in ("org.otedama.transport.devnet", "org.otedama.transport.stratum-server"):
            if required not in plugin_ids:
                raise TestFailure(f"GET /api/plugins does not list {required}: {plugin_ids}")

        driver = WebDriver(args.chromedriver, args.chromium, workdir)
        driver.cmd("POST", "/url", {"url": base + "/"}, timeout=120)
        driver.set_viewport(1280, 800)
        title = driver.cmd("GET", "/title")
        if "Otedama" not in title:
            raise TestFailure(f"the page at {base}/ is not the dashboard (title {title!r})")
        # A marker on this document: if the page reloaded, it would be gone.
        driver.js("window.__otedamaTestMarker = 'same-document'; return true;")

        def text_of(sel):
            return driver.js("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;", sel)

        wait_until("#ws-state to read 'live'", lambda: text_of("#ws-state") == "live", guard_s=60)
        log("#ws-state:", text_of("#ws-state"))

        def hashrate_nonzero():
            value = driver.js("return Number(document.getElementById('hashrate').dataset.value);")
            shown = text_of("#hashrate")
            return value and value > 0 and re.search(r"[1-9]", shown or "") and shown
        shown = wait_until("#hashrate to show a non-zero hashrate", hashrate_nonzero, guard_s=120)
        log("#hashrate:", shown)

        def accepted():
            t = text_of("#shares-accepted")
            return int(t) if t and t.isdigit() else None
        first = wait_until("#shares-accepted to hold an integer", accepted, guard_s=60)
        # Only WebSocket messages can move it now: the REST load is done.
        later = wait_until(f"#shares-accepted to rise above {first} without a reload", lambda: (accepted() or 0) >= first + 3 and accepted(), guard_s=120)
        log(f"#shares-accepted: {first} -> {later}")
        if driver.js("return window.__otedamaTestMarker;") != "same-document":
            raise TestFailure("the page reloaded while the share count rose")

        # Plugins: every plugin the API names is a row.
        table = wait_until("#plugins-table to list the plugins", lambda: (lambda t: t if t and all(i in t for i in plugin_ids) else None)(text_of("#plugins-table tbody")), guard_s=30)
        log(f"#plugins-table lists {len(plugin_ids)} plugins")

        # The hostile worker names: shown as text, nothing created from them, no handler ran.
        def workers_listed():
            cells = driver.js("return [...document.querySelectorAll('#workers-table tbody td')].map(td => td.textContent);")
            return all(w in cells for w in HOSTILE_WORKERS) and cells
        wait_until("the hostile worker names in #workers-table", workers_listed, guard_s=60)
        injected = driver.js("return document.querySelectorAll('#workers-table img, #workers-table svg, #shares-table img, #shares-table svg').length;")
        if injected != 0:
            raise TestFailure(f"{injected} element(s) were created from worker names")
        time.sleep(1.0)  # give an injected handler (an image error event) the chance to run before checking
        if driver.js("return window.__xss === undefined;") is not True:
            raise TestFailure(f"a worker name's script ran: window.__xss = {driver.js('return window.__xss;')}")
        log("hostile worker names shown as text; nothing executed")

        # The chart drew on its canvas.
        painted = driver.js("""
            const c = document.getElementById('hashrate-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
            return n;""")
        if not painted or painted < 500:
            raise TestFailure(f"#hashrate-chart drew {painted} pixels")
        for sel in ("#devices-table", "#blocks-table", "#payments-table"):
            if text_of(sel) is None:
                raise TestFailure(f"{sel} is missing")

        # Let the chart gather half a minute of points, then keep the picture.
        wait_until("30 hashrate points on the chart",
                   lambda: int(driver.js("return document.getElementById('hashrate-chart').dataset.points || '0';")) >= 30, guard_s=120)
        errors = [e for e in driver.console() if e.get("level") == "SEVERE"]
        if errors:
            raise TestFailure("the browser console has errors: " + json.dumps(errors)[:2000])
        os.makedirs(artifacts, exist_ok=True)
        shot = driver.screenshot(os.path.join(artifacts, "dashboard.png"))
        height = driver.js("return Math.ceil(document.documentElement.scrollHeight);")
        driver.set_viewport(1280, max(800, min(int(height or 800), 4000)))
        time.sleep(0.5)
        full = driver.screenshot(os.path.join(artifacts, "dashboard-full.png"))
        log("screenshots:", shot, full)
        if miner.error:
            raise TestFailure(f"the stratum client failed: {miner.error}")

        # Reconnect: the host goes away (the page says so and retries with back-off) and comes back on the
        # same API port, now with reads behind a token. The same document asks for the admin secret, refuses
        # a wrong one, signs in with the right one, goes live again and reads the REST endpoints once more.
        def uptime_s():
            m = re.fullmatch(r"up (?:(\d+)h )?(\d+)m (\d+)s", text_of("#uptime") or "")
            return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3)) if m else None
        before = uptime_s()
        if before is None:
            raise TestFailure(f"#uptime reads {text_of('#uptime')!r}")
        miner.stop()
        miner = None
        rc = host.stop()
        if rc != 0:
            raise TestFailure(f"otedama-host exited with {rc} when stopped:\n{host.output()[-4000:]}")
        wait_until("#ws-state to leave 'live' once the host stopped", lambda: text_of("#ws-state") not in ("live", None) and text_of("#ws-state"), guard_s=60)
        log("#ws-state without a host:", text_of("#ws-state"))
        secret = "s" + base64.b16encode(os.urandom(16)).decode().lower()
        write_config(config, workdir, api_port, secret=secret)
        host = Host(args.host, workdir, config, name="host-restarted")
        # The page reconnects to the same origin, so the restarted host must get the same port back.
        if not api_listening(host, api_port):
            raise TestFailure(f"the restarted host could not listen on its API port {api_port} again (taken meanwhile):\n{host.output()[-4000:]}")
        wait_until("the restarted host's API (401 without a token)", lambda: host.alive() and http_json("GET", base + "/api/status", timeout=5)[0] == 401, guard_s=120)
        wait_until("the sign-in form", lambda: driver.js("return !document.getElementById('login').hidden;"), guard_s=90)
        driver.type_into("#login-secret", "not-the-secret")
        driver.click("#login button[type=submit]")
        refused = wait_until("the wrong secret refused", lambda: text_of("#login-error"), guard_s=30)
        if "401" not in refused:
            raise TestFailure(f"a wrong secret gave {refused!r}")
        log("wrong secret:", refused)
        driver.type_into("#login-secret", secret)
        driver.click("#login button[type=submit]")
        wait_until("the sign-in form to close", lambda: driver.js("return document.getElementById('login').hidden;"), guard_s=30)
        wait_until("#ws-state to read 'live' again after the restart", lambda: text_of("#ws-state") == "live", guard_s=90)
        if secret in (driver.js("return document.documentElement.outerHTML;") or ""):
            raise TestFailure("the admin secret is left in the page")
        wait_until(f"#uptime to restart below {before}s (the REST endpoints read again)", lambda: (uptime_s() or before) < before, guard_s=30)
        if driver.js("return window.__otedamaTestMarker;") != "same-document":
            raise TestFailure("the page reloaded while reconnecting")
        log("reconnected without a reload:", text_of("#ws-state"), text_of("#uptime"))
        return [shot, full]
    except TestFailure:
        if driver is not None:
            try:
                os.makedirs(artifacts, exist_ok=True)
                log("failure screenshot:", driver.screenshot(os.path.join(artifacts, "dashboard-failure.png")))
            except Exception:  # noqa: BLE001
                pass
            for e in driver.console():
                log("console:", e.get("level"), e.get("message"))
        log("host output (tail):\n" + host.output()[-6000:])
        raise
    finally:
        if driver is not None:
            driver.quit()
        if miner is not None:
            miner.stop()
        rc = host.stop()
        log(f"otedama-host exited with {rc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="the otedama-host binary")
    ap.add_argument("--artifacts", required=True, help="directory for the screenshots")
    args = ap.parse_args()

    args.chromium, args.chromedriver = find_browser()
    if not args.chromium or not args.chromedriver:
        missing = " and ".join(n for n, p in (("chromium", args.chromium), ("chromedriver", args.chromedriver)) if not p)
        msg = f"{missing} not found (Debian: apt-get install chromium chromium-driver; scripts/install-deps.sh installs them)"
        ci = os.environ.get("CI", "")
        if ci and ci.lower() not in ("false", "0"):  # the Makefile's reading of CI
            log("FAIL:", msg, f"(CI={ci}: the browser test must run in CI)")
            return 1
        log("SKIP:", msg)
        return SKIP

    workdir = tempfile.mkdtemp(prefix="otedama-dashboard-test-")
    try:
        shots = run_test(args, workdir, args.artifacts)
    except TestFailure as e:
        log("FAIL:", e)
        keep = os.environ.get("OTEDAMA_ARTIFACTS_DIR")
        for name in ("dashboard-failure.png",):
            p = os.path.join(args.artifacts, name)
            if keep and os.path.exists(p):
                os.makedirs(keep, exist_ok=True)
                shutil.copy(p, keep)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    keep = os.environ.get("OTEDAMA_ARTIFACTS_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        for s in shots:
            shutil.copy(s, keep)
        log("copied the screenshots to", keep)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
