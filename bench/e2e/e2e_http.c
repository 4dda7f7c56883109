/*  =========================================================================
    e2e_http - bench_e2e: the Prometheus server of the --http scenarios

    With --http, zjobd runs with its HTTP side (--http 127.0.0.1:0, the
    bound port read from its ready line) and a real Prometheus server
    (Debian's prometheus, or ZJOB_BENCH_PROMETHEUS) scrapes its /metrics
    every second for the whole scenario, as one would in production: the
    cost of the HTTP side is then its threads, the METRICS requests they
    send to the broker's loop, and a Prometheus process on the same cores.

    Each scenario gets its own server, under the run's directory: a config
    with one job "zjob", its TSDB, its log; its web API on a free loopback
    port. The scenario starts once the server is ready and has scraped
    zjobd once (so scrapes overlap the run), and after the run the server
    is asked through /api/v1/query what it did: the samples of up{job=
    "zjob"} (one per scrape: the number of scrapes, and how many
    succeeded), the mean scrape_duration_seconds, and how many zjob_
    series it holds. Those figures are printed with the scenario, so the
    claim "scraped every second" is checked, not assumed.

    The parent still never touches ZeroMQ: Prometheus is forked and
    exec'd, and spoken to over plain sockets (bench/bench_httpc.h).
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "e2e.h"
#include "../bench_httpc.h"

#define S_POLL_MS 50            //  msecs between looks while waiting for readiness
#define S_QUERY_MS 5000         //  msecs one API request may take
#define S_SCRAPE_WAIT_MS 20000  //  msecs to wait for the first scrape

const char *
e2e_prom_path (void)
{
    const char *chosen = getenv ("ZJOB_BENCH_PROMETHEUS");
    return chosen && *chosen ? chosen : "/usr/bin/prometheus";
}

bool
e2e_variant (const e2e_scenario_t *scenario)
{
    if (e2e_curve == E2E_CURVE_COMPARE)
        return scenario->curve;
    if (e2e_http == E2E_HTTP_COMPARE)
        return scenario->http;
    return false;
}

const char *
e2e_variant_name (void)
{
    return e2e_http == E2E_HTTP_COMPARE ? "http+Prometheus / off" : "CURVE / plain";
}

//  A free TCP port on loopback (bound then released: a race with another
//  process is possible but unlikely; Prometheus then fails to start and
//  the scenario says so). 0 if none.
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof addr;
    int port = 0;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
        && getsockname (fd, (struct sockaddr *) &addr, &length) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

//  Write the server's config: one job, zjob, every second
static int
s_write_config (const char *path, const char *target, char *why, size_t size)
{
    FILE *file = fopen (path, "w");
    if (!file) {
        snprintf (why, size, "cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    fprintf (file,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: zjob\n"
             "    metrics_path: /metrics\n"
             "    static_configs:\n"
             "      - targets: ['%s']\n",
             target);
    return fclose (file) == 0 ? 0 : -1;
}

//  One instant query; the first result's value into *value_p (0 when the
//  result is empty: a count of nothing). 0, or -1 with note filled.
static int
s_query (e2e_prom_t *prom, const char *query, double *value_p, char *note, size_t size)
{
    char encoded [1024], path [1200];
    snprintf (path, sizeof path, "/api/v1/query?query=%s",
              bench_httpc_encode (query, encoded, sizeof encoded));
    bench_httpc_t conn;
    bench_httpc_reply_t reply;
    if (bench_httpc_init (&conn, prom->listen)
        || bench_httpc_get (&conn, path, S_QUERY_MS, &reply)) {
        bench_httpc_close (&conn);
        snprintf (note, size, "no answer from Prometheus to %s", query);
        return -1;
    }
    bench_httpc_close (&conn);
    int rc = 0;
    const char *value = strstr (reply.body, "\"value\":[");
    const char *quote = value ? strchr (value + 9, '"') : NULL;
    if (reply.status != 200 || !strstr (reply.body, "\"status\":\"success\"")) {
        snprintf (note, size, "%s: HTTP %d %.80s", query, reply.status, reply.body);
        rc = -1;
    }
    else
        *value_p = quote ? strtod (quote + 1, NULL) : 0;
    free (reply.body);
    return rc;
}

//  Wait until GET path answers 200 (or, with query, until that query's
//  value is at least 1), looking every S_POLL_MS until deadline. 0 or -1.
static int
s_await (e2e_prom_t *prom, const char *query, int64_t deadline)
{
    char note [160];
    while (e2e_now_ns () < deadline) {
        int status = 0;
        if (query) {
            double value = 0;
            if (s_query (prom, query, &value, note, sizeof note) == 0 && value >= 1)
                return 0;
        }
        else {
            bench_httpc_t conn;
            bench_httpc_reply_t reply;
            if (bench_httpc_init (&conn, prom->listen) == 0
                && bench_httpc_get (&conn, "/-/ready", S_QUERY_MS, &reply) == 0) {
                status = reply.status;
                free (reply.body);
            }
            bench_httpc_close (&conn);
            if (status == 200)
                return 0;
        }
        //  Polling a server with a deadline: it offers nothing to wait on
        struct timespec pause = { 0, S_POLL_MS * 1000000L };
        nanosleep (&pause, NULL);
    }
    return -1;
}

//  Fork and exec the server, its output into its log. 0 or -1.
static int
s_spawn (e2e_prom_t *prom, char *why, size_t size)
{
    char config [E2E_PATH_MAX + 32], data [E2E_PATH_MAX + 32], log [E2E_PATH_MAX + 32],
        listen [96], tsdb [E2E_PATH_MAX + 64], file [E2E_PATH_MAX + 64];
    snprintf (config, sizeof config, "%s/prometheus.yml", prom->dir);
    snprintf (data, sizeof data, "%s/data", prom->dir);
    snprintf (log, sizeof log, "%s/prometheus.log", prom->dir);
    snprintf (listen, sizeof listen, "--web.listen-address=%s", prom->listen);
    snprintf (tsdb, sizeof tsdb, "--storage.tsdb.path=%s", data);
    snprintf (file, sizeof file, "--config.file=%s", config);
    const char *args [] = { "prometheus", file, tsdb, listen, "--log.level=warn", NULL };
    pid_t pid = e2e_exec (e2e_prom_path (), (char *const *) args, log, why, size);
    if (pid < 0)
        return -1;
    prom->pid = pid;
    return 0;
}

int
e2e_prom_start (e2e_prom_t *prom, const char *dir, const char *name, const char *target,
                char *why, size_t size)
{
    memset (prom, 0, sizeof *prom);
    snprintf (prom->dir, sizeof prom->dir, "%s/prometheus-%s", dir, name);
    char config [E2E_PATH_MAX + 32];
    snprintf (config, sizeof config, "%s/prometheus.yml", prom->dir);
    int port = s_free_port ();
    if (mkdir (prom->dir, 0700) && errno != EEXIST) {
        snprintf (why, size, "cannot make %s: %s", prom->dir, strerror (errno));
        return -1;
    }
    if (!port || s_write_config (config, target, why, size)) {
        if (!port)
            snprintf (why, size, "no free loopback port for Prometheus");
        return -1;
    }
    snprintf (prom->listen, sizeof prom->listen, "127.0.0.1:%d", port);
    prom->started = e2e_now_ns ();
    if (s_spawn (prom, why, size))
        return -1;
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    if (s_await (prom, NULL, deadline)) {
        snprintf (why, size, "Prometheus not ready on %s within %d ms (log: %s/prometheus.log)",
                  prom->listen, E2E_READY_MS, prom->dir);
        return -1;
    }
    deadline = e2e_now_ns () + (int64_t) S_SCRAPE_WAIT_MS * 1000000;
    if (s_await (prom, "count_over_time(up{job=\"zjob\"}[1h])", deadline)) {
        snprintf (why, size, "Prometheus did not scrape %s within %d ms", target,
                  S_SCRAPE_WAIT_MS);
        return -1;
    }
    return 0;
}

void
e2e_prom_check (e2e_prom_t *prom, e2e_result_t *result)
{
    static const char *queries [] = {
        "count_over_time(up{job=\"zjob\"}[1h])",
        "sum_over_time(up{job=\"zjob\"}[1h])",
        "count({__name__=~\"zjob_.+\",job=\"zjob\"})",
        "avg_over_time(scrape_duration_seconds{job=\"zjob\"}[1h])",
        "avg_over_time(scrape_samples_scraped{job=\"zjob\"}[1h])",
    };
    double *into [] = { &result->prom_scrapes, &result->prom_up, &result->prom_series,
                        &result->prom_scrape_ms, &result->prom_samples };
    *result->prom_note = 0;
    for (size_t i = 0; i < sizeof queries / sizeof queries [0]; i++) {
        *into [i] = -1;
        if (s_query (prom, queries [i], into [i], result->prom_note, sizeof result->prom_note))
            break;
    }
    if (result->prom_scrape_ms > 0)
        result->prom_scrape_ms *= 1e3;
}

void
e2e_prom_stop (e2e_prom_t *prom, bool show_log)
{
    char log [E2E_PATH_MAX + 32], line [512];
    snprintf (log, sizeof log, "%s/prometheus.log", prom->dir);
    FILE *file = show_log && *prom->dir ? fopen (log, "r") : NULL;
    if (file) {
        fprintf (stderr, "--- %s:\n", log);
        for (int lines = 0; lines < 20 && fgets (line, sizeof line, file); lines++)
            fputs (line, stderr);
        fclose (file);
    }
    if (prom->pid > 0) {
        kill (prom->pid, SIGTERM);
        int64_t deadline = e2e_now_ns () + (int64_t) E2E_STOP_MS * 1000000;
        int status;
        //  waitpid has no timeout: look at S_POLL_MS steps until the deadline
        while (waitpid (prom->pid, &status, WNOHANG) == 0) {
            if (e2e_now_ns () >= deadline) {
                kill (prom->pid, SIGKILL);
                waitpid (prom->pid, &status, 0);
                break;
            }
            struct timespec pause = { 0, S_POLL_MS * 1000000L };
            nanosleep (&pause, NULL);
        }
        prom->pid = 0;
    }
    if (*prom->dir)
        nftw (prom->dir, e2e_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
