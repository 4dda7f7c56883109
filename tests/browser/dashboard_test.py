#!/usr/bin/python3
"""dashboard_test.py - the web dashboard in a real browser, on a real broker

Usage: tests/browser/dashboard_test.py BUILD_DIR [--docs-screenshot PNG]

Starts zjobd (memory store, every endpoint and --http on 127.0.0.1 with
ports the kernel picks), a zjob-worker that runs examples/progress_job.sh
for workflows render and etl, and submits jobs with the zjob CLI: quick
ones that complete, one that fails for good, one that depends on two
others, one that runs for minutes (progress 1 % a step) and one of a
workflow no worker serves (it stays queued). Then headless Chromium,
driven by Selenium through chromedriver (Debian's chromium,
chromium-driver and python3-selenium), checks what a user would:

  overview  the counts per status and per workflow equal the broker's
            (zjob stats), the chart's sums equal STATS.history's, the
            failure rate, the worker's load; the live indicator is on and
            a job submitted meanwhile shows up without a reload (SSE)
  jobs      the list, the workflow and status filters, a cancel button
            only on the rows that can be cancelled
  job       the running job's page: progress, inputs; its Cancel button,
            then the page says cancelled AND `zjob get` does; then Retry,
            Pause, Resume and Delete (which asks again), each confirmed
            by `zjob get`; the failed job's error and attempt; parents
            and children as links
  workers   the worker, its slots, its busy count back to 0
  queues    pause and resume a queue from the page, each confirmed by
            `zjob queue list`
  console   no error in the browser's console (a CSP violation would be
            one)
  login     a second broker with --http-token: the page asks for the
            token, and the overview shows once it is given

Every wait polls a condition with a deadline (WebDriverWait or
s_wait_for), never a bare sleep. Screenshots go to BUILD_DIR/artifacts/
(dashboard-overview.png, -jobs, -job, -workers, -queues; -failure.png
when a check fails); --docs-screenshot also copies the overview one to
PNG (docs/dashboard.png is made so). Everything started is stopped at
the end, also on a failure or a signal, and the processes die with this
one even if it is killed (PR_SET_PDEATHSIG).

Exit 0 when every check passed, 1 on a failure, 77 (CTest's
SKIP_RETURN_CODE) only when chromium is not installed.
"""

import ctypes
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
TOTAL_SECONDS = 170        # the whole test, whatever happens (CTest allows 240)
WAIT_SECONDS = 30          # one condition, at most
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


class Failure(Exception):
    """A check failed: the message says which and what was seen."""


def s_log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def s_wait_for(what, condition, seconds=WAIT_SECONDS, interval=0.1):
    """Poll condition() until it returns a true value, which is returned;
    fail after seconds naming what was awaited and the last value seen."""
    deadline = time.monotonic() + seconds
    last = None
    while True:
        try:
            last = condition()
        except (Failure, subprocess.SubprocessError, ValueError, KeyError) as error:
            last = f"({error})"
            if isinstance(error, Failure):
                last = str(error)
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {seconds} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def s_die_with_parent():
    """preexec_fn: SIGTERM this child when the test process dies, even by
    SIGKILL (a CTest timeout), so no broker or worker outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


class Harness:
    """The processes and files of one run."""

    def __init__(self, build):
        self.build = build
        self.artifacts = os.path.join(build, "artifacts")
        os.makedirs(self.artifacts, exist_ok=True)
        tmp_root = os.environ.get("ZJOB_TEST_TMP") or os.path.join(build, "test-tmp")
        os.makedirs(tmp_root, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="dashboard-", dir=tmp_root)
        self.procs = []            # (name, Popen, log path)
        self.driver = None
        self.env = dict(os.environ)

    # -- processes ---------------------------------------------------------

    def spawn(self, name, argv, env=None):
        log = os.path.join(self.tmp, f"{name}.log")
        out = open(log, "wb")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env or self.env, preexec_fn=s_die_with_parent)
        out.close()
        self.procs.append((name, proc, log))
        return proc, log

    def start_broker(self, name, extra=()):
        """zjobd on ephemeral ports; returns its ready line's {key: value}."""
        argv = [os.path.join(self.build, "zjobd"), "--store", "memory:", "--log-level", "info",
                "--clients", "tcp://127.0.0.1:0", "--workers", "tcp://127.0.0.1:0",
                "--events", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", *extra]
        proc, log = self.spawn(name, argv)

        def ready():
            if proc.poll() is not None:
                raise Failure(f"{name} exited with {proc.returncode}:\n{self.tail(log)}")
            with open(log, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("zjobd ready"):
                        return dict(word.split("=", 1) for word in line.split()[2:] if "=" in word)
            return None

        fields = s_wait_for(f"{name}'s ready line", ready, seconds=20)
        if "http" not in fields:
            raise Failure(f"{name}'s ready line has no http=HOST:PORT: {fields}")
        return fields

    def tail(self, log, lines=25):
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def zjob(self, *args):
        """Run the CLI with --json; returns the parsed output (or None);
        fails unless it exits 0."""
        status, value = self.zjob_status(*args)
        if status != 0:
            raise Failure(f"zjob {' '.join(args)} exited {status}: {value}")
        return value

    def zjob_status(self, *args):
        """Run the CLI with --json; returns its exit status and its
        output (parsed, else the text of stdout or stderr)."""
        argv = [os.path.join(self.build, "zjob"), "--json", *args]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)
        text = done.stdout.strip()
        try:
            value = json.loads(text) if text else None
        except ValueError:
            value = text
        return done.returncode, value if value is not None or done.returncode == 0 else done.stderr.strip()

    def stop(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception as error:          # the browser may be gone already
                s_log(f"chromedriver quit: {error}")
            self.driver = None
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for name, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s_log(f"{name} ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()

    def dump_logs(self):
        for name, _, log in self.procs:
            print(f"---- {name} (last lines of {log})\n{self.tail(log)}", flush=True)

    # -- the browser ---------------------------------------------------------

    def start_browser(self, chromium, chromedriver):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        options = webdriver.ChromeOptions()
        options.binary_location = self.chromium_wrapper(chromium)
        profile = os.path.join(self.tmp, "chromium-profile")
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", f"--user-data-dir={profile}", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking", "--lang=en-US"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=chromedriver,
                          log_path=os.path.join(self.tmp, "chromedriver.log"),
                          popen_kw={"preexec_fn": s_die_with_parent})
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT_SECONDS)
        return self.driver

    def chromium_wrapper(self, chromium):
        """A launcher that makes Chromium die with chromedriver (which
        dies with this process), so a killed test leaves no browser:
        PR_SET_PDEATHSIG survives the exec."""
        path = os.path.join(self.tmp, "chromium")
        with open(path, "w") as f:
            f.write(f"#!{sys.executable}\n"
                    "import ctypes, os, signal, sys\n"
                    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
                    f"os.execv({chromium!r}, [{chromium!r}] + sys.argv[1:])\n")
        os.chmod(path, 0o755)
        return path

    def check_narrow(self, name, width=420):
        """On a phone-wide screen the page scrolls down, never sideways
        (wide tables scroll inside their own box); saves
        artifacts/dashboard-NAME-narrow.png"""
        driver = self.driver
        try:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": True})
            s_wait_for(f"the {name} page laid out {width} px wide",
                       lambda: driver.execute_script("return window.innerWidth") == width, seconds=5)
            overflow = driver.execute_script("return document.documentElement.scrollWidth")
            driver.save_screenshot(os.path.join(self.artifacts, f"dashboard-{name}-narrow.png"))
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        if overflow > width:
            raise Failure(f"the {name} page is {overflow} px wide on a {width} px screen")

    def screenshot(self, name):
        """The whole page (not only the window) as artifacts/dashboard-NAME.png."""
        driver = self.driver
        path = os.path.join(self.artifacts, f"dashboard-{name}.png")
        try:
            height = driver.execute_script(
                "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight, 800)")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1280, "height": int(min(height, 4000)),
                                    "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(path)
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path


# -- the checks ------------------------------------------------------------

def s_submit_jobs(hx):
    """The jobs the pages show; returns their ids by role."""
    quick = '{"steps": 1, "sleep_ms": 10}'
    jobs = {"render": [], "etl": []}
    for index in range(3):
        extra = ["--user", "alice"] if index == 0 else []
        jobs["render"].append(hx.zjob("submit", "render", "--input", quick, "--tag", "demo", *extra)["id"])
    for _ in range(2):
        jobs["etl"].append(hx.zjob("submit", "etl", "--input", quick, "--tag", "nightly")["id"])
    jobs["failing"] = hx.zjob("submit", "etl", "--input", '{"steps": 1, "sleep_ms": 10, "fail": true}',
                              "--max-attempts", "1", "--tag", "nightly")["id"]
    jobs["merge"] = hx.zjob("submit", "etl", "--input", quick, "--depends-on",
                            f"{jobs['render'][0]},{jobs['render'][1]}")["id"]
    jobs["long"] = hx.zjob("submit", "render", "--input", '{"steps": 100, "sleep_ms": 2000}',
                           "--priority", "high", "--tag", "long")["id"]
    jobs["unserved"] = hx.zjob("submit", "email", "--input", '{"to": "ops@example.org"}')["id"]

    def status(job_id):
        return hx.zjob("get", job_id)["status"]

    for job_id in jobs["render"] + jobs["etl"] + [jobs["merge"]]:
        s_wait_for(f"job {job_id} to complete", lambda: status(job_id) == "completed")
    s_wait_for("the failing job to fail", lambda: status(jobs["failing"]) == "failed")
    s_wait_for("the long job to run", lambda: status(jobs["long"]) == "running")
    return jobs


EXPECTED = {"created": 0, "waiting": 0, "queued": 1, "running": 1, "paused": 0,
            "completed": 6, "failed": 1, "cancelled": 0}


#  Snapshots read in one script, so a refresh between two reads (the page
#  re-renders on every event) cannot mix two versions or go stale
S_WORKFLOW_COUNTS = """
    const out = {};
    for (const row of document.querySelectorAll('#workflow-table tr[data-testid=workflow-row]')) {
        const counts = {};
        for (const cell of row.querySelectorAll('td[data-testid=wf-count]'))
            counts[cell.dataset.status] = Number(cell.textContent.replace(/,/g, ''));
        out[row.dataset.workflow] = counts;
    }
    return out;"""
S_CHART = """
    const chart = document.getElementById('history-chart');
    const rate = document.querySelector('[data-testid=failure-rate]');
    return chart && rate ? [Number(chart.dataset.completed), Number(chart.dataset.failed),
                            chart.querySelectorAll('rect.bar-completed').length, rate.textContent] : null;"""


def s_check_overview(hx, base, wait, by):
    driver = hx.driver
    stats = hx.zjob("stats")
    seen = {status: stats["by_status"].get(status, 0) for status in EXPECTED}
    if seen != EXPECTED:
        raise Failure(f"the broker's counts are {seen}, the test expected {EXPECTED}")

    driver.get(f"{base}/#/")
    wait("the overview", lambda d: d.find_element(by.ID, "page").get_attribute("data-page") == "overview")
    wait("live updates (#conn live)", lambda d: d.find_element(by.ID, "conn").get_attribute("data-state") == "live")
    for status, count in EXPECTED.items():
        wait(f"count-{status} = {count}",
             lambda d: d.find_element(by.CSS_SELECTOR, f"[data-testid=count-{status}]").text == str(count))
    wait("count-total = 9", lambda d: d.find_element(by.CSS_SELECTOR, "[data-testid=count-total]").text == "9")
    expected = {workflow: {status: counts.get(status, 0) for status in EXPECTED}
                for workflow, counts in stats["by_workflow"].items()}
    if sorted(expected) != ["email", "etl", "render"]:
        raise Failure(f"the broker's workflows are {sorted(expected)}")
    wait("the counts per workflow to be the broker's", lambda d: d.execute_script(S_WORKFLOW_COUNTS) == expected,
         seen=lambda d: d.execute_script(S_WORKFLOW_COUNTS))

    history = stats.get("history")
    if history:
        completed, failed = sum(history["completed"]), sum(history["failed"])
        if completed < 6 or failed < 1:
            raise Failure(f"history counts {completed} completed, {failed} failed: fewer than the test made")
        rate = f"{100 * failed / (completed + failed):.1f} %"
        chart = wait("the chart's sums and failure rate to be the history's",
                     lambda d: (lambda c: c and c[0] == completed and c[1] == failed and c[3] == rate and c)(
                         d.execute_script(S_CHART)), seen=lambda d: d.execute_script(S_CHART))
        if chart[2] < 1:
            raise Failure("the chart draws no completed bar")
    else:
        wait("the chart's place saying there is no history", lambda d: d.find_element(by.ID, "history-chart-missing"))
    load = "#worker-load [data-testid=worker-load] [data-testid=load-text]"
    wait("the worker's load 1 / 3", lambda d: d.find_element(by.CSS_SELECTOR, load).text.replace(" ", "") == "1/3",
         seen=lambda d: d.find_element(by.CSS_SELECTOR, load).text)
    hx.screenshot("overview")
    hx.check_narrow("overview")

    # Live: a job submitted now shows up without a reload
    driver.execute_script("window.zjobTestMarker = 42")
    hx.zjob("submit", "email", "--input", '{"to": "dev@example.org"}')
    wait("the new job on the overview (count-queued 2)",
         lambda d: d.find_element(by.CSS_SELECTOR, "[data-testid=count-queued]").text == "2")
    wait("count-total 10", lambda d: d.find_element(by.CSS_SELECTOR, "[data-testid=count-total]").text == "10")
    if driver.execute_script("return window.zjobTestMarker") != 42:
        raise Failure("the page reloaded to show the new job (expected a live update)")


S_JOB_ROWS = """
    return Array.from(document.querySelectorAll('#jobs-table tr[data-testid=job-row]'), (row) => ({
        id: row.dataset.id, status: row.dataset.status, workflow: row.dataset.workflow,
        cancel: row.querySelectorAll('[data-testid=job-cancel]').length }));"""


def s_rows(driver, by):
    """The job list's rows as dicts: id, status, workflow, cancel (buttons)."""
    return driver.execute_script(S_JOB_ROWS)


def s_check_jobs(hx, base, wait, by, jobs):
    driver = hx.driver
    driver.find_element(by.ID, "nav-jobs").click()
    wait("the job list", lambda d: d.find_element(by.ID, "page").get_attribute("data-page") == "jobs"
         and len(s_rows(d, by)) == 10)
    for row in s_rows(driver, by):
        if bool(row["cancel"]) != (row["status"] in ("queued", "running")):
            raise Failure(f"row {row['id']} ({row['status']}) has {row['cancel']} cancel button(s)")

    box = driver.find_element(by.ID, "filter-workflow")
    box.clear()
    box.send_keys("etl")
    driver.find_element(by.ID, "filter-apply").click()
    wait("the etl jobs only", lambda d: "workflow=etl" in d.current_url and len(s_rows(d, by)) == 4
         and all(r["workflow"] == "etl" for r in s_rows(d, by)))
    wait("the etl total 4", lambda d: d.find_element(by.ID, "jobs-total").get_attribute("data-total") == "4",
         seen=lambda d: d.find_element(by.ID, "jobs-total").get_attribute("data-total"))
    hx.screenshot("jobs")
    hx.check_narrow("jobs")

    driver.find_element(by.ID, "filter-status-failed").click()
    driver.find_element(by.ID, "filter-apply").click()
    wait("the failed etl job only", lambda d: [r["id"] for r in s_rows(d, by)] == [jobs["failing"]])


def s_check_job_pages(hx, base, wait, by, jobs):
    driver = hx.driver
    long_id = jobs["long"]
    driver.get(f"{base}/#/jobs?status=running")
    wait("the running job in the list", lambda d: [r["id"] for r in s_rows(d, by)] == [long_id])
    wait("a click on its link", lambda d: d.find_element(
        by.CSS_SELECTOR, f"#jobs-table tr[data-id='{long_id}'] a[data-testid=job-link]").click() or True)
    wait("the running job's page", lambda d: d.find_element(by.ID, "page").get_attribute("data-page") == "job"
         and d.find_element(by.ID, "job-id").text == long_id
         and d.find_element(by.ID, "job-status").get_attribute("data-status") == "running")
    wait("its progress above 0 (a live update)",
         lambda d: int(d.find_element(by.ID, "job-progress").get_attribute("aria-valuenow")) >= 1)
    wait("its inputs", lambda d: json.loads(d.find_element(by.ID, "job-inputs").text) == {"steps": 100, "sleep_ms": 2000},
         seen=lambda d: d.find_element(by.ID, "job-inputs").text)
    hx.screenshot("job")
    hx.check_narrow("job")

    wait("a click on Cancel", lambda d: d.find_element(by.ID, "action-cancel").click() or True)
    wait("the page to say cancelled",
         lambda d: d.find_element(by.ID, "job-status").get_attribute("data-status") == "cancelled"
         and d.find_element(by.ID, "job-status").text == "cancelled")
    s_wait_for("zjob get to say cancelled", lambda: hx.zjob("get", long_id)["status"] == "cancelled")
    wait("a Retry button and no Cancel",
         lambda d: d.find_elements(by.ID, "action-retry") and not d.find_elements(by.ID, "action-cancel"))

    # The other buttons on the same job, each confirmed by the broker: a
    # retry once the worker has let the job go (else 409, PROTOCOL.md 9.5),
    # pause, resume, and delete (it asks again first)
    s_wait_for("the worker to let the cancelled job go",
               lambda: not any(w["jobs"] for w in hx.zjob("workers")["workers"]))
    for button, page_status, broker_status in (("action-retry", "running", "running"),
                                               ("action-pause", "paused", "paused"),
                                               ("action-resume", "running", "running")):
        wait(f"a click on {button}", lambda d: d.find_element(by.ID, button).click() or True)
        wait(f"the page to say {page_status}",
             lambda d: d.find_element(by.ID, "job-status").get_attribute("data-status") == page_status,
             seen=lambda d: d.find_element(by.ID, "job-status").text)
        s_wait_for(f"zjob get to say {broker_status}", lambda: hx.zjob("get", long_id)["status"] == broker_status)
    wait("a click on Delete", lambda d: d.find_element(by.ID, "action-delete").click() or True)
    if hx.zjob("get", long_id)["status"] != "running":
        raise Failure("Delete did not ask again before deleting")
    wait("a click on Delete for good", lambda d: d.find_element(by.ID, "action-delete-confirm").click() or True)
    wait("the job list after the delete", lambda d: d.current_url.endswith("#/jobs")
         and d.find_element(by.ID, "page").get_attribute("data-page") == "jobs")
    s_wait_for("zjob get to find no such job (exit 3)", lambda: hx.zjob_status("get", long_id)[0] == 3)

    driver.get(f"{base}/#/jobs/{jobs['failing']}")
    wait("the failed job's error", lambda d: d.find_element(by.ID, "job-status").get_attribute("data-status") == "failed"
         and "failing after step" in d.find_element(by.ID, "job-error").text)
    count = "return document.querySelectorAll('#job-attempts tr[data-testid=attempt-row]').length"
    wait("its one failed attempt", lambda d: d.execute_script(count) == 1, seen=lambda d: d.execute_script(count))

    driver.get(f"{base}/#/jobs/{jobs['merge']}")
    wait("the merge job's parents", lambda d: sorted(a.text for a in d.find_elements(
        by.CSS_SELECTOR, "#job-parents a[data-testid=parent-link]")) == sorted(jobs["render"][:2]))
    wait("a click on a parent", lambda d: d.find_element(
        by.CSS_SELECTOR, "#job-parents a[data-testid=parent-link]").click() or True)
    wait("the parent's page naming its child", lambda d: [a.text for a in d.find_elements(
        by.CSS_SELECTOR, "#job-children a[data-testid=child-link]")] == [jobs["merge"]])


def s_check_workers(hx, base, wait, by):
    driver = hx.driver
    driver.find_element(by.ID, "nav-workers").click()
    slots = "#workers-table tr[data-testid=worker-row][data-name=browser-w1] [data-testid=worker-slots]"
    wait("the worker's row, 3 slots", lambda d: d.find_element(by.CSS_SELECTOR, slots).text == "3",
         seen=lambda d: d.find_element(by.CSS_SELECTOR, slots).text)
    wait("its busy count back to 0 after the cancel", lambda d: d.find_element(
        by.CSS_SELECTOR, "tr[data-name=browser-w1] [data-testid=worker-busy]").text == "0")
    hx.screenshot("workers")


def s_check_queues(hx, base, wait, by):
    driver = hx.driver
    driver.find_element(by.ID, "nav-queues").click()
    selector = "#queues-table tr[data-testid=queue-row][data-workflow=etl]"
    wait("the etl queue, active", lambda d: d.find_element(by.CSS_SELECTOR, selector).get_attribute("data-paused") == "false")

    def cli_paused():
        queues = hx.zjob("queue", "list")["queues"]
        return {q["workflow_id"]: bool(q.get("paused")) for q in queues}.get("etl")

    wait("a click on Pause", lambda d: d.find_element(
        by.CSS_SELECTOR, f"{selector} button[data-testid=queue-pause]").click() or True)
    wait("the etl queue, paused", lambda d: d.find_element(by.CSS_SELECTOR, selector).get_attribute("data-paused") == "true"
         and d.find_element(by.CSS_SELECTOR, f"{selector} [data-testid=queue-state]").text == "paused")
    s_wait_for("zjob queue list to say etl is paused", lambda: cli_paused() is True)
    hx.screenshot("queues")
    wait("a click on Resume", lambda d: d.find_element(
        by.CSS_SELECTOR, f"{selector} button[data-testid=queue-resume]").click() or True)
    wait("the etl queue, active again", lambda d: d.find_element(by.CSS_SELECTOR, selector).get_attribute("data-paused") == "false")
    s_wait_for("zjob queue list to say etl is active", lambda: cli_paused() is False)


def s_check_console(hx, allow=None):
    """No error in the console since the last call; allow(entry) excuses
    the expected ones (Chromium logs every 4xx answer as an error)"""
    errors = [entry for entry in hx.driver.get_log("browser")
              if entry.get("level") == "SEVERE" and not (allow and allow(entry))]
    if errors:
        raise Failure("the browser's console has errors:\n" + "\n".join(e["message"] for e in errors))


def s_check_login(hx, wait, by):
    """A broker with a token: the form, then the overview."""
    token = "dashboard-test-token-0123456789"
    token_file = os.path.join(hx.tmp, "http.token")
    with open(token_file, "w") as f:
        f.write(token + "\n")
    os.chmod(token_file, 0o600)
    fields = hx.start_broker("zjobd-token", ["--http-token", token_file])
    driver = hx.driver
    driver.get(f"http://{fields['http']}/#/")
    wait("the token form", lambda d: d.find_element(by.ID, "page").get_attribute("data-page") == "login")
    driver.find_element(by.ID, "login-token").send_keys("not-the-token-at-all")
    driver.find_element(by.ID, "login-submit").click()
    wait("the refusal", lambda d: d.find_element(by.ID, "login-error").is_displayed())
    box = driver.find_element(by.ID, "login-token")
    box.clear()
    box.send_keys(token)
    driver.find_element(by.ID, "login-submit").click()
    wait("the overview after signing in",
         lambda d: d.find_element(by.ID, "page").get_attribute("data-page") == "overview"
         and d.find_element(by.CSS_SELECTOR, "[data-testid=count-total]").text == "0")


def s_run(hx, chromium, chromedriver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import TimeoutException, WebDriverException

    started = time.monotonic()
    fields = hx.start_broker("zjobd")
    base = f"http://{fields['http']}"
    hx.env.update(ZJOB_BROKER=fields["clients"], ZJOB_EVENTS=fields["events"],
                  ZJOB_WORKER_BROKER=fields["workers"])
    hx.spawn("zjob-worker", [os.path.join(hx.build, "zjob-worker"), "--workflow", "render",
                             "--workflow", "etl", "--slots", "3", "--name", "browser-w1", "--grace", "2",
                             "--", os.path.join(SOURCE, "examples", "progress_job.sh")])
    s_wait_for("the worker to join", lambda: len(hx.zjob("workers")["workers"]) == 1)
    jobs = s_submit_jobs(hx)
    s_log(f"broker at {base}, {len(jobs)} kinds of jobs ready after {time.monotonic() - started:.1f} s")

    driver = hx.start_browser(chromium, chromedriver)

    def wait(what, condition, seconds=WAIT_SECONDS, seen=None):
        """WebDriverWait for condition(driver); on a timeout, say what
        seen(driver) shows, if given"""
        def guarded(d):
            try:
                return condition(d)
            except WebDriverException:
                return False          # not there yet, or replaced by a refresh
        try:
            return WebDriverWait(driver, seconds, poll_frequency=0.1).until(guarded)
        except TimeoutException:
            last = ""
            if seen:
                try:
                    last = f"; the page shows {seen(driver)!r}"
                except WebDriverException as error:
                    last = f"; ({error.msg})"
            raise Failure(f"timed out after {seconds} s waiting for {what} (at {driver.current_url}){last}") from None

    for name, check in (("overview", lambda: s_check_overview(hx, base, wait, By)),
                        ("jobs", lambda: s_check_jobs(hx, base, wait, By, jobs)),
                        ("job pages", lambda: s_check_job_pages(hx, base, wait, By, jobs)),
                        ("workers", lambda: s_check_workers(hx, base, wait, By)),
                        ("queues", lambda: s_check_queues(hx, base, wait, By)),
                        # A load of the deleted job's page may have been on its
                        # way when it went: that one 404 is expected
                        ("console", lambda: s_check_console(hx, allow=lambda entry: entry.get("source") == "network"
                                                            and f"/api/jobs/{jobs['long']} " in entry.get("message", "")
                                                            and "status of 404" in entry.get("message", ""))),
                        ("login", lambda: s_check_login(hx, wait, By)),
                        ("console after login", lambda: s_check_console(hx, allow=lambda entry: entry.get("source") == "network"
                                                                   and "status of 401" in entry.get("message", "")))):
        check()
        s_log(f"ok: {name} ({time.monotonic() - started:.1f} s)")


def s_on_signal(signum, frame):
    raise Failure(f"stopped by signal {signum}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    docs_png = None
    if len(sys.argv) == 4 and sys.argv[2] == "--docs-screenshot":
        docs_png = os.path.abspath(sys.argv[3])
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("dashboard_test: SKIP: chromium is not installed (apt-get install chromium chromium-driver python3-selenium)")
        return SKIP
    #  From here on anything missing is a failure, not a skip: the test
    #  must not pass unseen on a machine that has the browser
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not os.access(chromedriver, os.X_OK):
        print("dashboard_test: FAIL: chromedriver is missing (apt-get install chromium-driver)")
        return 1
    if importlib.util.find_spec("selenium") is None:
        print(f"dashboard_test: FAIL: {sys.executable} has no selenium (apt-get install python3-selenium)")
        return 1
    for program in ("zjobd", "zjob", "zjob-worker"):
        if not os.access(os.path.join(build, program), os.X_OK):
            print(f"dashboard_test: FAIL: {build}/{program} is missing")
            return 1

    signal.signal(signal.SIGTERM, s_on_signal)
    signal.signal(signal.SIGINT, s_on_signal)
    signal.signal(signal.SIGALRM, lambda *_: s_on_signal("SIGALRM (the test's own deadline)", None))
    signal.alarm(TOTAL_SECONDS)
    hx = Harness(build)
    started = time.monotonic()
    status = 1
    try:
        s_run(hx, chromium, chromedriver)
        status = 0
    except Exception as error:
        print(f"dashboard_test: FAIL: {error}", flush=True)
        if not isinstance(error, Failure):
            traceback.print_exc()
        if hx.driver is not None:
            try:
                print(f"screenshot of the failure: {hx.screenshot('failure')}")
                for entry in hx.driver.get_log("browser"):
                    print(f"console: {entry.get('level')} {entry.get('message')}")
            except Exception as shot_error:
                print(f"(no screenshot: {shot_error})")
        hx.dump_logs()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        hx.stop()
        shutil.rmtree(hx.tmp, ignore_errors=True)
    if status == 0:
        if docs_png:
            shutil.copyfile(os.path.join(hx.artifacts, "dashboard-overview.png"), docs_png)
            s_log(f"copied the overview to {docs_png}")
        s_log(f"dashboard_test: PASS in {time.monotonic() - started:.1f} s; screenshots in {hx.artifacts}")
    return status


if __name__ == "__main__":
    sys.exit(main())
