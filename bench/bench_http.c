/*  =========================================================================
    bench_http - zjobd's HTTP side with a million jobs in the store

    Starts zjobd (this build's, a child process; memory store by default,
    --store for another) with --http 127.0.0.1:0, fills it with --jobs
    queued jobs (default 1,000,000) through libzjob's pipelined, batched
    SUBMIT, spread over 100 workflows (wf-00 .. wf-99, so a workflow
    filter matches 1%) and the four priorities, with no worker (so they
    stay queued), then times --rounds requests (default 20) of each of:

      GET /metrics                           the Prometheus exposition
      GET /api/stats                         the dashboard's overview
      GET /api/jobs?limit=50                 the job list's first page
      GET /api/jobs?limit=50&offset=N/2      a deep page
      GET /api/jobs?limit=50&sort=priority&order=desc
      GET /api/jobs?workflow=wf-07&limit=50  a filter that matches 1%
      GET /api/queues                        the queues page

    with a minimal HTTP/1.1 client (bench/bench_httpc.h, one kept-alive
    connection; --keep-alive off opens one per request), printing each
    one's median and max, its bytes and status, and for the lists the
    "total" the broker counted; then the same command sent straight to
    the broker through libzjob (METRICS, STATS, LIST: column "libzjob",
    its median), which tells the broker's share of a request's time from
    the HTTP side's (its DEALER round trip, msgpack to JSON, the socket).

    The claim under test is the project's rule that no pass of the broker
    loop takes more than tens of ms, whatever the number of jobs: the HTTP
    side asks the broker's actor (docs/ARCHITECTURE.md), so a costly page
    would show as a long pass, and every other client would wait for it.
    So, meanwhile, a thread PINGs the broker through libzjob once a
    millisecond (paced, so it does not load the loop itself), first for a
    second with nothing else running (the baseline), then while the HTTP
    requests run, and the table gives p50, p99 and max of each phase. And
    zjob_loop_pass_seconds is read from /metrics before and after the
    requests: the difference of the histograms says how many passes the
    requests' phase had and the largest bucket any of them fell in (the
    fill's passes are shown too). Each row is also followed by its own
    share ("meanwhile"): the longest PING and the passes while its HTTP
    and libzjob requests ran, so a long pass names its request.

        bench_http [--jobs N] [--rounds R] [--batch B] [--store SPEC]
                   [--keep-alive on|off]

    --batch: specs per SUBMIT while filling (default 1,000, at most
    10,000), 4 SUBMITs in flight: the fill's loop passes are shown too.

    ZJOB_BENCH_ZJOBD=PATH runs that zjobd instead of the one built beside it.

    It prints figures; it is not a test (tests/test_zjob_http*.c are).
    ========================================================================= */

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_client.h"
#include "bench_httpc.h"

#define S_READY_MS 15000          //  msecs zjobd has to print its ready line
#define S_ANSWER_MS 30000         //  msecs the broker has to answer a SUBMIT
#define S_HTTP_MS 30000           //  msecs one HTTP request may take
#define S_WORKFLOWS 100           //  workflows the jobs are spread over
#define S_BATCH_MAX 10000         //  specs per SUBMIT at most (ZJOB_BATCH_MAX)
#define S_WINDOW 4                //  SUBMITs in flight while filling
#define S_PING_EVERY_NS 1000000   //  the PING thread's pace
#define S_BASELINE_NS 1000000000  //  the PING thread's idle phase
#define S_BUCKETS_MAX 32          //  buckets of a histogram read from /metrics

static size_t s_jobs = 1000000;
static size_t s_rounds = 20;
static size_t s_batch = 1000;  //  specs per SUBMIT while filling
static const char *s_store = "memory:";
static bool s_keep_alive = true;

static int64_t
s_now_ns (void)
{
    return bench_httpc_now_ns ();
}

//  --------------------------------------------------------------------------
//  zjobd, a child process

typedef struct {
    pid_t pid;
    int out;             //  its stdout (the ready line), -1 if closed
    char clients [256];  //  its clients endpoint
    char http [64];      //  HOST:PORT of its HTTP side
    char log [64];       //  its stderr goes there
} s_broker_t;

//  The value of "key=" in the ready line, into value; 0 or -1
static int
s_ready_field (const char *line, const char *key, char *value, size_t size)
{
    const char *at = strstr (line, key);
    if (!at)
        return -1;
    at += strlen (key);
    size_t length = strcspn (at, " \n");
    if (length == 0 || length >= size)
        return -1;
    memcpy (value, at, length);
    value [length] = 0;
    return 0;
}

//  Read zjobd's ready line (at most S_READY_MS) into line. 0 or -1.
static int
s_ready_line (int fd, char *line, size_t size)
{
    size_t length = 0;
    int64_t deadline = s_now_ns () + (int64_t) S_READY_MS * 1000000;
    while (length + 1 < size) {
        int left = (int) ((deadline - s_now_ns ()) / 1000000);
        struct pollfd item = { fd, POLLIN, 0 };
        if (left <= 0 || poll (&item, 1, left) != 1 || read (fd, line + length, 1) != 1)
            return -1;
        if (line [length++] == '\n')
            break;
    }
    line [length] = 0;
    return 0;
}

//  Start zjobd with --http 127.0.0.1:0, no limit on queued jobs; its log
//  into a file. 0, or -1 after saying why.
static int
s_broker_start (s_broker_t *broker)
{
    memset (broker, 0, sizeof *broker);
    snprintf (broker->log, sizeof broker->log, "/tmp/bench_http-zjobd-%d.log", (int) getpid ());
    int out [2];
    if (pipe2 (out, O_CLOEXEC))
        return -1;
    char path [1024];
    const char *chosen = getenv ("ZJOB_BENCH_ZJOBD");
    if (chosen && *chosen)
        snprintf (path, sizeof path, "%s", chosen);
    else
        snprintf (path, sizeof path, "%s/zjobd", ZJOB_BIN_DIR);
    pid_t parent = getpid ();
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (1);
        dup2 (out [1], STDOUT_FILENO);
        int log = open (broker->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log >= 0)
            dup2 (log, STDERR_FILENO);
        const char *args [] = { "zjobd", "--clients", "tcp://127.0.0.1:*", "--workers",
                                "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--store",
                                s_store, "--http", "127.0.0.1:0", "--max-queued", "0",
                                "--max-queued-bytes", "0", "--log-level", "warning", NULL };
        execv (path, (char *const *) args);
        fprintf (stderr, "bench_http: cannot run %s: %s\n", path, strerror (errno));
        _exit (127);
    }
    close (out [1]);
    if (pid < 0) {
        close (out [0]);
        return -1;
    }
    broker->pid = pid;
    broker->out = out [0];
    char line [1024];
    if (s_ready_line (broker->out, line, sizeof line)
        || s_ready_field (line, "clients=", broker->clients, sizeof broker->clients)
        || s_ready_field (line, "http=", broker->http, sizeof broker->http)) {
        fprintf (stderr, "bench_http: zjobd did not say it was ready with http=: '%s' (log: %s)\n",
                 line, broker->log);
        return -1;
    }
    return 0;
}

//  SIGTERM, then its stdout's EOF within 15 s, else SIGKILL; reaps it
static void
s_broker_stop (s_broker_t *broker)
{
    if (broker->pid <= 0)
        return;
    kill (broker->pid, SIGTERM);
    char byte;
    struct pollfd item = { broker->out, POLLIN, 0 };
    while (poll (&item, 1, 15000) == 1 && read (broker->out, &byte, 1) == 1)
        ;
    if (waitpid (broker->pid, NULL, WNOHANG) == 0) {
        kill (broker->pid, SIGKILL);
        waitpid (broker->pid, NULL, 0);
    }
    close (broker->out);
    broker->pid = 0;
}

//  zjobd's resident set in MB, or -1
static double
s_rss_mb (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long rss = -1;
    while (file && fgets (line, sizeof line, file))
        if (sscanf (line, "VmRSS: %ld kB", &rss) == 1)
            break;
    if (file)
        fclose (file);
    return rss < 0 ? -1 : (double) rss / 1024;
}

//  --------------------------------------------------------------------------
//  The fill: pipelined SUBMITs of s_batch specs, S_WINDOW in flight

//  Submit s_jobs queued jobs. Returns the seconds it took, or -1.
static double
s_fill (const char *endpoint)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (endpoint, S_ANSWER_MS, &err);
    if (!client) {
        fprintf (stderr, "bench_http: connect: %s\n", err.text);
        return -1;
    }
    static zjob_spec_t specs [S_BATCH_MAX];
    static char names [S_WORKFLOWS][16];
    uint8_t inputs [64];
    //  msgpack {"p": "xxx..."}: a small map, as jobs usually carry
    size_t inputs_size = 0;
    inputs [inputs_size++] = 0x81;
    inputs [inputs_size++] = 0xa1;
    inputs [inputs_size++] = 'p';
    inputs [inputs_size++] = 0xa0 | 31;
    memset (inputs + inputs_size, 'x', 31);
    inputs_size += 31;
    for (size_t i = 0; i < S_WORKFLOWS; i++)
        snprintf (names [i], sizeof names [i], "wf-%02zu", i);
    int64_t start = s_now_ns ();
    size_t sent = 0, accepted = 0;
    while (accepted < s_jobs) {
        while (sent < s_jobs && zjob_client_inflight (client) < S_WINDOW) {
            size_t count = s_jobs - sent < s_batch ? s_jobs - sent : s_batch;
            for (size_t i = 0; i < count; i++) {
                specs [i].workflow_id = names [(sent + i) % S_WORKFLOWS];
                specs [i].inputs = inputs;
                specs [i].inputs_size = inputs_size;
                specs [i].priority = (zjob_priority_t) ((sent + i) / S_WORKFLOWS % 4);
            }
            if (!zjob_client_send_submit (client, specs, count, true, &err))
                break;
            sent += count;
        }
        zjob_reply_t *reply = zjob_client_recv (client, S_ANSWER_MS, &err);
        if (!reply || zjob_reply_status (reply) != ZJOB_OK) {
            if (reply)
                zjob_reply_error (reply, &err);
            fprintf (stderr, "bench_http: SUBMIT: %d %s\n", err.code, err.text);
            zjob_reply_destroy (&reply);
            zjob_client_destroy (&client);
            return -1;
        }
        //  Every SUBMIT but the last carries s_batch specs
        size_t count = accepted + s_batch <= s_jobs ? s_batch : s_jobs - accepted;
        accepted += count;
        zjob_reply_destroy (&reply);
    }
    zjob_client_destroy (&client);
    return (double) (s_now_ns () - start) / 1e9;
}

//  --------------------------------------------------------------------------
//  The PING thread: one PING a millisecond, its round trips kept by phase

enum { S_PHASE_BASELINE = 0,
       S_PHASE_HTTP,
       S_PHASE_STOP };

#define S_ROWS_MAX 16  //  requests timed, rows of the table

typedef struct {
    const char *endpoint;
    atomic_int phase;
    atomic_int row;                     //  the request being timed, or -1
    atomic_llong row_max [S_ROWS_MAX];  //  ns, the longest PING of each
    int64_t *samples [2];               //  ns, per phase
    size_t count [2], room [2];
    size_t failed;  //  PINGs that got no answer
    char why [300];
} s_pinger_t;

static void *
s_pinger (void *arg)
{
    s_pinger_t *self = (s_pinger_t *) arg;
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (self->endpoint, 10000, &err);
    if (!client) {
        snprintf (self->why, sizeof self->why, "%s", err.text);
        return NULL;
    }
    int phase;
    int64_t next = s_now_ns ();
    while ((phase = atomic_load (&self->phase)) != S_PHASE_STOP) {
        int64_t sent = s_now_ns ();
        if (zjob_client_ping (client, &err)) {
            self->failed++;
            continue;
        }
        int64_t trip = s_now_ns () - sent;
        if (self->count [phase] == self->room [phase]) {
            size_t room = self->room [phase] ? 2 * self->room [phase] : 4096;
            int64_t *grown = (int64_t *) realloc (self->samples [phase], room * sizeof (int64_t));
            if (!grown)
                break;
            self->samples [phase] = grown;
            self->room [phase] = room;
        }
        self->samples [phase][self->count [phase]++] = trip;
        int row = atomic_load (&self->row);
        if (row >= 0 && row < S_ROWS_MAX && trip > atomic_load (&self->row_max [row]))
            atomic_store (&self->row_max [row], trip);
        //  Paced, so the PINGs do not load the loop they measure
        next += S_PING_EVERY_NS;
        int64_t now = s_now_ns ();
        if (next < now)
            next = now;
        struct timespec until = { (time_t) (next / 1000000000), (long) (next % 1000000000) };
        clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    }
    zjob_client_destroy (&client);
    return NULL;
}

static int
s_compare_int64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

//  The q-quantile of count sorted samples, in ms
static double
s_quantile_ms (const int64_t *samples, size_t count, double q)
{
    if (count == 0)
        return 0;
    size_t at = (size_t) (q * (double) (count - 1) + 0.5);
    return (double) samples [at < count ? at : count - 1] / 1e6;
}

static void
s_print_pings (const char *what, int64_t *samples, size_t count)
{
    qsort (samples, count, sizeof (int64_t), s_compare_int64);
    printf ("  PING round trip %-34s %7zu PINGs  p50 %6.3f  p99 %7.3f  max %8.3f ms\n", what,
            count, s_quantile_ms (samples, count, 0.5), s_quantile_ms (samples, count, 0.99),
            count ? (double) samples [count - 1] / 1e6 : 0);
}

//  --------------------------------------------------------------------------
//  zjob_loop_pass_seconds, read from /metrics

typedef struct {
    size_t count;                   //  buckets read
    double le [S_BUCKETS_MAX];      //  upper bounds (+Inf as HUGE_VAL)
    double passes [S_BUCKETS_MAX];  //  cumulative counts
} s_histogram_t;

//  Read the histogram from a /metrics body. 0, or -1 if it is not there.
static int
s_histogram_parse (const char *text, s_histogram_t *histogram)
{
    memset (histogram, 0, sizeof *histogram);
    const char *name = "zjob_loop_pass_seconds_bucket{";
    for (const char *at = strstr (text, name); at && histogram->count < S_BUCKETS_MAX;
         at = strstr (at + 1, name)) {
        if (at != text && at [-1] != '\n')
            continue;
        const char *le = strstr (at, "le=\"");
        const char *end = strchr (at, '\n');
        const char *close = strchr (at, '}');
        if (!le || !close || (end && le > end))
            continue;
        histogram->le [histogram->count]
            = strncmp (le + 4, "+Inf", 4) == 0 ? HUGE_VAL : strtod (le + 4, NULL);
        histogram->passes [histogram->count++] = strtod (close + 1, NULL);
    }
    return histogram->count ? 0 : -1;
}

//  GET /metrics and parse the histogram. 0 or -1.
static int
s_histogram_get (bench_httpc_t *conn, s_histogram_t *histogram)
{
    bench_httpc_reply_t reply;
    if (bench_httpc_get (conn, "/metrics", S_HTTP_MS, &reply))
        return -1;
    int rc = reply.status == 200 ? s_histogram_parse (reply.body, histogram) : -1;
    free (reply.body);
    return rc;
}

//  One line: the passes of a histogram (after - before, if before), the
//  largest bucket any pass fell in, and how many took over 10, 25 and
//  100 ms
static const char *
s_histogram_summary (const s_histogram_t *after, const s_histogram_t *before, char *text,
                     size_t size)
{
    double counts [S_BUCKETS_MAX];
    size_t n = after->count;
    for (size_t i = 0; i < n; i++)
        counts [i] = after->passes [i]
            - (before && before->count == n ? before->passes [i] : 0);
    //  The largest bucket any pass fell in: the first whose cumulative
    //  count is already the total
    double total = n ? counts [n - 1] : 0, largest = 0, over [3] = { 0 };
    const double limits [3] = { 0.01, 0.025, 0.1 };
    for (size_t i = 0; i < n; i++) {
        if (largest == 0 && total > 0 && counts [i] >= total)
            largest = after->le [i];
        for (size_t l = 0; l < 3; l++)
            if (after->le [i] == limits [l])
                over [l] = total - counts [i];
    }
    char bound [80];
    if (total == 0)
        snprintf (bound, sizeof bound, "none");
    else if (largest == HUGE_VAL)
        snprintf (bound, sizeof bound, "+Inf (over %g s!)", n > 1 ? after->le [n - 2] : 0);
    else
        snprintf (bound, sizeof bound, "le=%g s (%g ms)", largest, largest * 1e3);
    snprintf (text, size,
              "%9.0f passes; the largest bucket any fell in: %s; over 10 ms: %.0f, over 25 ms:"
              " %.0f, over 100 ms: %.0f",
              total, bound, over [0], over [1], over [2]);
    return text;
}

static void
s_print_histogram (const char *what, const s_histogram_t *after, const s_histogram_t *before)
{
    char text [256];
    printf ("  zjob_loop_pass_seconds %-26s %s\n", what,
            s_histogram_summary (after, before, text, sizeof text));
}

//  --------------------------------------------------------------------------
//  The requests timed

//  A request, and the same one sent straight to the broker through
//  libzjob (to tell the broker's part from the HTTP side's)
typedef enum { S_DIRECT_NONE = 0,
               S_DIRECT_METRICS,
               S_DIRECT_STATS,
               S_DIRECT_LIST } s_direct_t;

typedef struct {
    char path [160];
    s_direct_t direct;
    zjob_query_t query;  //  S_DIRECT_LIST
} s_request_t;

//  The "total" of a LIST body, or -1
static double
s_total (const char *body)
{
    const char *at = body ? strstr (body, "\"total\":") : NULL;
    return at ? strtod (at + 8, NULL) : -1;
}

//  The median time (ms) of s_rounds of request's libzjob twin, sent on
//  client; -1 if there is none or it failed
static double
s_time_direct (zjob_client_t *client, const s_request_t *request, int64_t *times)
{
    if (!client || request->direct == S_DIRECT_NONE)
        return -1;
    zjob_error_t err;
    for (size_t round = 0; round < s_rounds; round++) {
        int64_t start = s_now_ns ();
        if (request->direct == S_DIRECT_METRICS) {
            char *text = NULL;
            int rc = zjob_client_metrics (client, &text, &err);
            times [round] = s_now_ns () - start;
            free (text);
            if (rc)
                return -1;
            continue;
        }
        uint64_t id = request->direct == S_DIRECT_STATS
            ? zjob_client_send_cmd (client, ZJOB_CMD_STATS, &err)
            : zjob_client_send_list (client, &request->query, &err);
        zjob_reply_t *reply = id ? zjob_client_recv (client, S_HTTP_MS, &err) : NULL;
        times [round] = s_now_ns () - start;
        bool ok = reply && zjob_reply_status (reply) == ZJOB_OK;
        zjob_reply_destroy (&reply);
        if (!ok)
            return -1;
    }
    qsort (times, s_rounds, sizeof (int64_t), s_compare_int64);
    return s_quantile_ms (times, s_rounds, 0.5);
}

//  Time s_rounds GETs of request, then its libzjob twin on client; print
//  its row. 0, or -1 if one failed.
static int
s_time_request (bench_httpc_t *conn, zjob_client_t *client, const s_request_t *request)
{
    int64_t *times = (int64_t *) calloc (s_rounds, sizeof (int64_t));
    if (!times)
        return -1;
    size_t bytes = 0, bad = 0;
    int status = 0;
    double total = -1;
    for (size_t round = 0; round < s_rounds; round++) {
        bench_httpc_reply_t reply;
        int64_t start = s_now_ns ();
        int rc = bench_httpc_get (conn, request->path, S_HTTP_MS, &reply);
        times [round] = s_now_ns () - start;
        if (!s_keep_alive)
            bench_httpc_close (conn);
        if (rc) {
            printf ("  %-52s no answer within %d ms\n", request->path, S_HTTP_MS);
            bench_httpc_close (conn);
            free (times);
            return -1;
        }
        status = reply.status;
        bad += reply.status != 200;
        bytes = reply.length;
        if (round == 0)
            total = s_total (reply.body);
        free (reply.body);
    }
    qsort (times, s_rounds, sizeof (int64_t), s_compare_int64);
    double median = s_quantile_ms (times, s_rounds, 0.5), max = (double) times [s_rounds - 1] / 1e6;
    double direct = s_time_direct (client, request, times);
    char extra [64] = "", twin [16] = "-";
    if (direct >= 0)
        snprintf (twin, sizeof twin, "%.2f", direct);
    if (total >= 0)
        snprintf (extra, sizeof extra, "total %.0f", total);
    if (bad)
        snprintf (extra + strlen (extra), sizeof extra - strlen (extra), "%s%zu not 200",
                  *extra ? ", " : "", bad);
    printf ("  %-48s %3d %10zu %9.2f %9.2f %9s  %s\n", request->path, status, bytes, median, max,
            twin, extra);
    free (times);
    return 0;
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: bench_http [--jobs N] [--rounds R] [--batch B] [--store SPEC]"
                     " [--keep-alive on|off]\n");
}

//  Set the options from the command line. 0, or 2 after a usage error.
static int
s_parse_options (int argc, char *argv [])
{
    for (int arg = 1; arg + 1 < argc || arg < argc; arg += 2) {
        const char *flag = argv [arg], *value = arg + 1 < argc ? argv [arg + 1] : NULL;
        char *end = NULL;
        unsigned long long number = value ? strtoull (value, &end, 10) : 0;
        bool numeric = value && *value && end && !*end && number > 0;
        if (streq (flag, "--jobs") && numeric)
            s_jobs = (size_t) number;
        else if (streq (flag, "--rounds") && numeric)
            s_rounds = (size_t) number;
        else if (streq (flag, "--batch") && numeric && number <= S_BATCH_MAX)
            s_batch = (size_t) number;
        else if (streq (flag, "--store") && value)
            s_store = value;
        else if (streq (flag, "--keep-alive") && value
                 && (streq (value, "on") || streq (value, "off")))
            s_keep_alive = streq (value, "on");
        else {
            s_usage ();
            return 2;
        }
    }
    return 0;
}

//  The phase of the HTTP requests, with the PING thread and the
//  histogram around it. 0 or -1.
static int
s_measure (s_broker_t *broker, s_pinger_t *pinger, const s_histogram_t *origin)
{
    s_request_t requests [] = {
        { "/metrics", S_DIRECT_METRICS, { .limit = 50 } },
        { "/api/stats", S_DIRECT_STATS, { .limit = 50 } },
        { "/api/jobs?limit=50", S_DIRECT_LIST, { .limit = 50 } },
        { "", S_DIRECT_LIST, { .limit = 50, .offset = s_jobs / 2 } },
        { "/api/jobs?limit=50&sort=priority&order=desc", S_DIRECT_LIST, { .limit = 50, .sort_by = ZJOB_SORT_PRIORITY, .descending = true } },
        { "/api/jobs?workflow=wf-07&limit=50", S_DIRECT_LIST, { .filter = { .workflow_id = "wf-07" }, .limit = 50 } },
        { "/api/queues", S_DIRECT_NONE, { .limit = 50 } },
    };
    snprintf (requests [3].path, sizeof requests [3].path, "/api/jobs?limit=50&offset=%zu",
              s_jobs / 2);
    bench_httpc_t conn;
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (broker->clients, S_HTTP_MS, &err);
    if (bench_httpc_init (&conn, broker->http) || !client) {
        zjob_client_destroy (&client);
        return -1;
    }
    s_histogram_t fill, after;
    bool histograms = s_histogram_get (&conn, &fill) == 0;
    //  The baseline: PINGs alone for a second (a pace, not a wait)
    struct timespec pause = { S_BASELINE_NS / 1000000000, S_BASELINE_NS % 1000000000 };
    nanosleep (&pause, NULL);
    atomic_store (&pinger->phase, S_PHASE_HTTP);
    printf ("  %-48s %3s %10s %9s %9s %9s\n", "GET (rounds each, one after the other)", "st",
            "bytes", "median ms", "max ms", "libzjob");
    int rc = 0;
    int64_t start = s_now_ns ();
    for (size_t i = 0; i < sizeof requests / sizeof requests [0] && rc == 0; i++) {
        //  The loop's passes and the longest PING of this row alone
        s_histogram_t before, row;
        bool rows = histograms && s_histogram_get (&conn, &before) == 0;
        atomic_store (&pinger->row, (int) i);
        rc = s_time_request (&conn, client, &requests [i]);
        atomic_store (&pinger->row, -1);
        char text [256];
        if (rows && s_histogram_get (&conn, &row) == 0)
            printf ("      meanwhile: PING max %.1f ms; loop %s\n",
                    (double) atomic_load (&pinger->row_max [i]) / 1e6,
                    s_histogram_summary (&row, &before, text, sizeof text));
        fflush (stdout);
    }
    zjob_client_destroy (&client);
    double seconds = (double) (s_now_ns () - start) / 1e9;
    histograms = histograms && s_histogram_get (&conn, &after) == 0;
    atomic_store (&pinger->phase, S_PHASE_STOP);
    bench_httpc_close (&conn);
    printf ("  (%.1f s of requests)\n", seconds);
    if (histograms) {
        if (origin->count) {
            s_print_histogram ("from start to the fill", origin, NULL);
            s_print_histogram ("during the fill", &fill, origin);
        }
        else
            s_print_histogram ("from start to the fill's end", &fill, NULL);
        s_print_histogram ("during the requests", &after, &fill);
    }
    else
        printf ("  zjob_loop_pass_seconds: not in /metrics (METRICS not in this zjobd?)\n");
    return rc;
}

int
main (int argc, char *argv [])
{
    int code = s_parse_options (argc, argv);
    if (code)
        return code;
    s_broker_t broker;
    if (s_broker_start (&broker)) {
        s_broker_stop (&broker);
        return 1;
    }
    char jobs [32];
    printf ("bench_http: zjobd --store %s --http %s (no worker: every job stays queued),"
            " %ld CPUs\n",
            s_store, broker.http, sysconf (_SC_NPROCESSORS_ONLN));
    snprintf (jobs, sizeof jobs, "%zu", s_jobs);
    //  The passes zjobd ran before the fill, to leave them out of its figures
    s_histogram_t start = { 0 };
    bench_httpc_t conn;
    if (bench_httpc_init (&conn, broker.http) == 0 && s_histogram_get (&conn, &start))
        start.count = 0;
    bench_httpc_close (&conn);
    double seconds = s_fill (broker.clients);
    if (seconds < 0) {
        s_broker_stop (&broker);
        return 1;
    }
    printf ("  filled with %s jobs (%d workflows, 4 priorities, 35-byte inputs) in %.1f s:"
            " %.0f jobs/s, SUBMITs of %zu jobs, %d in flight; zjobd's RSS %.0f MB\n",
            jobs, S_WORKFLOWS, seconds, (double) s_jobs / seconds, s_batch, S_WINDOW,
            s_rss_mb (broker.pid));
    printf ("  HTTP/1.1 client: %s; %zu rounds of each request\n",
            s_keep_alive ? "one kept-alive connection" : "a connection per request", s_rounds);
    s_pinger_t pinger = { .endpoint = broker.clients };
    pthread_t thread;
    atomic_init (&pinger.phase, S_PHASE_BASELINE);
    atomic_init (&pinger.row, -1);
    for (size_t i = 0; i < S_ROWS_MAX; i++)
        atomic_init (&pinger.row_max [i], 0);
    if (pthread_create (&thread, NULL, s_pinger, &pinger)) {
        s_broker_stop (&broker);
        return 1;
    }
    int rc = s_measure (&broker, &pinger, &start);
    atomic_store (&pinger.phase, S_PHASE_STOP);
    pthread_join (thread, NULL);
    if (*pinger.why)
        printf ("  PING thread: %s\n", pinger.why);
    s_print_pings ("alone, 1 s before the requests", pinger.samples [0], pinger.count [0]);
    s_print_pings ("while the requests ran", pinger.samples [1], pinger.count [1]);
    if (pinger.failed)
        printf ("  %zu PINGs got no answer\n", pinger.failed);
    printf ("  zjobd's RSS after: %.0f MB\n", s_rss_mb (broker.pid));
    free (pinger.samples [0]);
    free (pinger.samples [1]);
    s_broker_stop (&broker);
    return rc ? 1 : 0;
}
