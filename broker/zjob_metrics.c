/*  =========================================================================
    zjob_metrics - the broker's metrics, and their Prometheus text

    A workflow's series (s_series_t) hold its five counters and its two
    histograms; they are found by a zhashx lookup and kept, in the order
    first seen, in a vector, so a render walks them in a stable order.
    The label value is escaped once, when the series is made, not at every
    render. A histogram keeps a count per bucket (not cumulative: an
    observation adds to one bucket), and the render sums them as it
    writes the cumulative _bucket lines.

    The history ring has one slot per minute of the hour, each stamped
    with the minute it counts: a slot whose stamp is not the minute asked
    for is an old one, read as zero and reset when written. So a broker
    idle for hours needs no timer to age its history.

    The render writes into one growing buffer with its own integer
    formatting: with 1,000 workflows it writes some 60,000 lines, and
    snprintf for each would be most of the time.
    ========================================================================= */

#include <czmq.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include "zjob_metrics.h"
#include "zjob_job_impl.h"
#include "zjob_times.h"
#include "zjob_util.h"

//  The buckets' upper bounds (the last, +Inf, is implicit)
static const double s_job_edges [] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600 };
static const char *s_job_les [] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "1800", "3600", "+Inf" };
static const double s_loop_edges [] = { .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1 };
static const char *s_loop_les [] = { "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf" };
#define S_JOB_BUCKETS (sizeof s_job_les / sizeof s_job_les [0])
#define S_LOOP_BUCKETS (sizeof s_loop_les / sizeof s_loop_les [0])
#define S_BUCKETS_MAX S_JOB_BUCKETS

//  The counters per workflow, and their names in metric names
typedef enum { S_SUBMITTED = 0,
               S_COMPLETED,
               S_FAILED,
               S_RETRIED,
               S_CANCELLED,
               S_COUNTERS } s_counter_t;
static const char *s_counter_names [S_COUNTERS] = { "submitted", "completed", "failed", "retried", "cancelled" };
static const char *s_counter_help [S_COUNTERS] = {
    "Jobs created.", "Jobs completed.", "Jobs failed for good (no retry left).",
    "Failed attempts whose job was retried.", "Jobs cancelled."
};

//  A histogram: observations per bucket (not cumulative), their sum
typedef struct {
    uint64_t buckets [S_BUCKETS_MAX];
    double sum;
    uint64_t count;
} s_hist_t;

//  One workflow's series
typedef struct {
    char *workflow;                   //  The workflow id
    char *label;                      //  Its label value, escaped
    uint64_t counters [S_COUNTERS];   //  submitted ... cancelled
    s_hist_t wait;                    //  ready -> running, per attempt
    s_hist_t run;                     //  running -> finished, per attempt
    uint64_t epoch;                   //  The render its gauges below are of
    size_t jobs [ZJOB_STATUS_COUNT];  //  Gauges summed at render time
    uint64_t ready;
    int64_t oldest_ready_ms;  //  0 if none
} s_series_t;

//  One minute of the history ring
typedef struct {
    int64_t minute;  //  Minutes since the epoch this slot counts
    uint64_t counts [3];
} s_minute_t;

struct _zjob_metrics_t {
    zhashx_t *lookup;     //  workflow id -> s_series_t (owned by series)
    s_series_t **series;  //  In the order first seen
    size_t series_count;
    s_series_t other;  //  Every workflow beyond the cap
    bool other_used;   //  other has been counted into
    uint64_t epoch;    //  Renders so far
    s_hist_t sync;     //  Store syncs
    s_hist_t pass;     //  Loop passes
    uint64_t dropped;  //  Messages dropped (the broker's count)
    uint64_t connections [ZJOB_METRICS_SOCKETS];
    s_minute_t ring [ZJOB_METRICS_MINUTES];  //  Slot minute % 60
    int64_t (*clock_fn) (void);              //  The wall clock, ms UTC
    bool unwritable;                         //  The store's last sync failed
    int64_t started;                         //  ms UTC of zjob_metrics_new
    size_t last_size;                        //  Bytes of the last render: the
                                             //  next one's first allocation
};

//  A growing text buffer; failed once an allocation failed
typedef struct {
    char *data;
    size_t size;
    size_t max;
    bool failed;
} s_buf_t;


//  --------------------------------------------------------------------------
//  Series

static void
s_series_free (s_series_t *series)
{
    if (series) {
        free (series->workflow);
        free (series->label);
        free (series);
    }
}

//  The label value of text, escaped as the exposition format wants: a
//  backslash, a double quote and a newline get a backslash. NULL if out of memory.
static char *
s_escape (const char *text)
{
    size_t size = 1;
    for (const char *cursor = text; *cursor; cursor++)
        size += (*cursor == '\\' || *cursor == '"' || *cursor == '\n') ? 2 : 1;
    char *escaped = (char *) malloc (size);
    char *out = escaped;
    for (; out && *text; text++) {
        if (*text == '\\' || *text == '"' || *text == '\n') {
            *out++ = '\\';
            *out++ = *text == '\n' ? 'n' : *text;
        }
        else
            *out++ = *text;
    }
    if (out)
        *out = 0;
    return escaped;
}

//  The series of workflow: its own, made if under the cap, else other.
//  NULL only when out of memory (the observation is lost, nothing else)
static s_series_t *
s_series_for (zjob_metrics_t *self, const char *workflow)
{
    workflow = workflow ? workflow : "";
    s_series_t *series = (s_series_t *) zhashx_lookup (self->lookup, workflow);
    if (series)
        return series;
    if (self->series_count >= ZJOB_METRICS_WORKFLOWS_MAX) {
        self->other_used = true;
        return &self->other;
    }
    series = (s_series_t *) calloc (1, sizeof (s_series_t));
    if (series) {
        series->workflow = strdup (workflow);
        series->label = s_escape (workflow);
    }
    if (!series || !series->workflow || !series->label
        || zhashx_insert (self->lookup, series->workflow, series)) {
        s_series_free (series);
        return NULL;
    }
    self->series [self->series_count++] = series;
    return series;
}

static void
s_observe (s_hist_t *hist, const double *edges, size_t edge_count, double value)
{
    size_t index = 0;
    while (index < edge_count && value > edges [index])
        index++;
    hist->buckets [index]++;
    hist->sum += value;
    hist->count++;
}


//  --------------------------------------------------------------------------
//  The life of the object

zjob_metrics_t *
zjob_metrics_new (void)
{
    zjob_metrics_t *self = (zjob_metrics_t *) calloc (1, sizeof (zjob_metrics_t));
    if (!self)
        return NULL;
    self->lookup = zjob_hashx_new ();
    self->series = (s_series_t **) calloc (ZJOB_METRICS_WORKFLOWS_MAX, sizeof (s_series_t *));
    self->other.workflow = strdup (ZJOB_METRICS_OTHER);
    self->other.label = strdup (ZJOB_METRICS_OTHER);
    self->clock_fn = zjob_clock_ms;
    self->started = zjob_clock_ms ();
    if (!self->lookup || !self->series || !self->other.workflow || !self->other.label)
        zjob_metrics_destroy (&self);
    return self;
}

void
zjob_metrics_destroy (zjob_metrics_t **self_p)
{
    assert (self_p);
    zjob_metrics_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->series_count; index++)
        s_series_free (self->series [index]);
    free (self->series);
    zhashx_destroy (&self->lookup);
    free (self->other.workflow);
    free (self->other.label);
    free (self);
    *self_p = NULL;
}

void
zjob_metrics_set_clock (zjob_metrics_t *self, int64_t (*clock_fn) (void))
{
    assert (self);
    self->clock_fn = clock_fn ? clock_fn : zjob_clock_ms;
}


//  --------------------------------------------------------------------------
//  Observations

//  Count one of a history counter (0 submitted, 1 completed, 2 failed)
static void
s_history_count (zjob_metrics_t *self, size_t which)
{
    int64_t minute = self->clock_fn () / 60000;
    s_minute_t *slot = &self->ring [minute % ZJOB_METRICS_MINUTES];
    if (slot->minute != minute) {
        memset (slot, 0, sizeof *slot);
        slot->minute = minute;
    }
    slot->counts [which]++;
}

static void
s_count (zjob_metrics_t *self, s_series_t *series, s_counter_t counter)
{
    series->counters [counter]++;
    if (counter <= S_FAILED)
        s_history_count (self, (size_t) counter);
}

void
zjob_metrics_job (zjob_metrics_t *self, zjob_event_t event, const zjob_job_t *job,
                  zjob_status_t old_status, bool created)
{
    assert (self && job);
    if (event != ZJOB_EVENT_STATUS && event != ZJOB_EVENT_RETRYING)
        return;
    s_series_t *series = s_series_for (self, job->workflow_id);
    if (!series)
        return;
    zjob_status_t status = (zjob_status_t) job->status;
    if (created)
        s_count (self, series, S_SUBMITTED);
    if (event == ZJOB_EVENT_RETRYING)
        s_count (self, series, S_RETRIED);
    else if (status != old_status && status == ZJOB_COMPLETED)
        s_count (self, series, S_COMPLETED);
    else if (status != old_status && status == ZJOB_FAILED)
        s_count (self, series, S_FAILED);
    else if (status != old_status && status == ZJOB_CANCELLED)
        s_count (self, series, S_CANCELLED);
    //  A new attempt: zjob_times_stamp set started_at to the change's time
    //  (an adoption, which continues an attempt, leaves it older)
    if (old_status == ZJOB_QUEUED && status == ZJOB_RUNNING
        && job->started_at == job->updated_at) {
        int64_t ready_at = job->run_at > job->queued_at ? job->run_at : job->queued_at;
        double wait = (double) zjob_times_elapsed (ready_at, job->started_at) / 1000.0;
        s_observe (&series->wait, s_job_edges, S_JOB_BUCKETS - 1, wait);
    }
    //  An attempt ended with a result (or a timeout) while running
    if (old_status == ZJOB_RUNNING
        && (event == ZJOB_EVENT_RETRYING || status == ZJOB_COMPLETED || status == ZJOB_FAILED)) {
        double run = (double) zjob_times_elapsed (job->started_at, job->updated_at) / 1000.0;
        s_observe (&series->run, s_job_edges, S_JOB_BUCKETS - 1, run);
    }
}

void
zjob_metrics_sync (zjob_metrics_t *self, double seconds)
{
    assert (self);
    s_observe (&self->sync, s_loop_edges, S_LOOP_BUCKETS - 1, seconds);
}

void
zjob_metrics_pass (zjob_metrics_t *self, double seconds)
{
    assert (self);
    s_observe (&self->pass, s_loop_edges, S_LOOP_BUCKETS - 1, seconds);
}

void
zjob_metrics_connection (zjob_metrics_t *self, zjob_metrics_socket_t socket, int delta)
{
    assert (self);
    if ((unsigned) socket >= ZJOB_METRICS_SOCKETS)
        return;
    if (delta > 0)
        self->connections [socket]++;
    else if (self->connections [socket] > 0)
        self->connections [socket]--;
}

void
zjob_metrics_set_dropped (zjob_metrics_t *self, uint64_t dropped)
{
    assert (self);
    self->dropped = dropped;
}

void
zjob_metrics_set_writable (zjob_metrics_t *self, bool writable)
{
    assert (self);
    self->unwritable = !writable;
}

bool
zjob_metrics_writable (zjob_metrics_t *self)
{
    assert (self);
    return !self->unwritable;
}

int64_t
zjob_metrics_started (zjob_metrics_t *self)
{
    assert (self);
    return self->started;
}

void
zjob_metrics_history (zjob_metrics_t *self, int64_t now_ms, zjob_metrics_history_t *history)
{
    assert (self && history);
    memset (history, 0, sizeof *history);
    int64_t minute = now_ms / 60000;
    history->minute = minute * 60000;
    for (int64_t index = 0; index < ZJOB_METRICS_MINUTES; index++) {
        int64_t which = minute - (ZJOB_METRICS_MINUTES - 1) + index;
        if (which < 0)
            continue;
        const s_minute_t *slot = &self->ring [which % ZJOB_METRICS_MINUTES];
        if (slot->minute != which)
            continue;
        history->submitted [index] = slot->counts [0];
        history->completed [index] = slot->counts [1];
        history->failed [index] = slot->counts [2];
    }
}

uint64_t
zjob_metrics_count (zjob_metrics_t *self, const char *workflow, const char *what)
{
    assert (self && what);
    if (streq (what, "sync"))
        return self->sync.count;
    if (streq (what, "pass"))
        return self->pass.count;
    uint64_t total = 0;
    for (size_t index = 0; index <= self->series_count; index++) {
        const s_series_t *series = index < self->series_count ? self->series [index] : &self->other;
        if (workflow && !streq (workflow, series->workflow))
            continue;
        if (streq (what, "wait"))
            total += series->wait.count;
        else if (streq (what, "run"))
            total += series->run.count;
        for (size_t counter = 0; counter < S_COUNTERS; counter++)
            if (streq (what, s_counter_names [counter]))
                total += series->counters [counter];
    }
    return total;
}


//  --------------------------------------------------------------------------
//  The text

static void
s_put (s_buf_t *buf, const char *text, size_t size)
{
    if (buf->failed)
        return;
    if (buf->size + size + 1 > buf->max) {
        size_t max = buf->max ? buf->max : 65536;
        while (buf->size + size + 1 > max)
            max *= 2;
        char *data = (char *) realloc (buf->data, max);
        if (!data) {
            buf->failed = true;
            return;
        }
        buf->data = data;
        buf->max = max;
    }
    memcpy (buf->data + buf->size, text, size);
    buf->size += size;
    buf->data [buf->size] = 0;
}

static void
s_puts (s_buf_t *buf, const char *text)
{
    s_put (buf, text, strlen (text));
}

static void
s_put_uint (s_buf_t *buf, uint64_t value)
{
    char digits [24];
    char *cursor = digits + sizeof digits;
    do {
        *--cursor = (char) ('0' + value % 10);
        value /= 10;
    } while (value);
    s_put (buf, cursor, (size_t) (digits + sizeof digits - cursor));
}

static void
s_put_double (s_buf_t *buf, double value)
{
    char text [40];
    int size = snprintf (text, sizeof text, "%.15g", value);
    s_put (buf, text, (size_t) size);
}

//  The HELP and TYPE lines of a family
static void
s_family (s_buf_t *buf, const char *name, const char *type, const char *help)
{
    s_puts (buf, "# HELP ");
    s_puts (buf, name);
    s_puts (buf, " ");
    s_puts (buf, help);
    s_puts (buf, "\n# TYPE ");
    s_puts (buf, name);
    s_puts (buf, " ");
    s_puts (buf, type);
    s_puts (buf, "\n");
}

//  A sample: name{label="value"} (label NULL: no labels) and its value
static void
s_sample_uint (s_buf_t *buf, const char *name, const char *label, const char *value,
               uint64_t number)
{
    s_puts (buf, name);
    if (label) {
        s_puts (buf, "{");
        s_puts (buf, label);
        s_puts (buf, "=\"");
        s_puts (buf, value);
        s_puts (buf, "\"}");
    }
    s_puts (buf, " ");
    s_put_uint (buf, number);
    s_puts (buf, "\n");
}

static void
s_gauge_uint (s_buf_t *buf, const char *name, const char *help, uint64_t value)
{
    s_family (buf, name, "gauge", help);
    s_sample_uint (buf, name, NULL, NULL, value);
}

static void
s_gauge_double (s_buf_t *buf, const char *name, const char *type, const char *help,
                double value)
{
    s_family (buf, name, type, help);
    s_puts (buf, name);
    s_puts (buf, " ");
    s_put_double (buf, value);
    s_puts (buf, "\n");
}

//  A histogram's lines; workflow is the label value (escaped), or NULL
static void
s_hist_lines (s_buf_t *buf, const char *name, const char *workflow, const s_hist_t *hist,
              const char **les, size_t bucket_count)
{
    uint64_t cumulative = 0;
    for (size_t index = 0; index < bucket_count; index++) {
        cumulative += hist->buckets [index];
        s_puts (buf, name);
        s_puts (buf, "_bucket{");
        if (workflow) {
            s_puts (buf, "workflow=\"");
            s_puts (buf, workflow);
            s_puts (buf, "\",");
        }
        s_puts (buf, "le=\"");
        s_puts (buf, les [index]);
        s_puts (buf, "\"} ");
        s_put_uint (buf, cumulative);
        s_puts (buf, "\n");
    }
    const char *suffixes [2] = { "_sum", "_count" };
    for (size_t index = 0; index < 2; index++) {
        s_puts (buf, name);
        s_puts (buf, suffixes [index]);
        if (workflow) {
            s_puts (buf, "{workflow=\"");
            s_puts (buf, workflow);
            s_puts (buf, "\"}");
        }
        s_puts (buf, " ");
        if (index == 0)
            s_put_double (buf, hist->sum);
        else
            s_put_uint (buf, hist->count);
        s_puts (buf, "\n");
    }
}

//  The series in render order (their own, then other if used); NULL after the last
static const s_series_t *
s_series_at (const zjob_metrics_t *self, size_t index)
{
    if (index < self->series_count)
        return self->series [index];
    return index == self->series_count && self->other_used ? &self->other : NULL;
}

//  Sum figures' workflows into their series' gauges for this render
static void
s_gather (zjob_metrics_t *self, const zjob_metrics_figures_t *figures)
{
    self->epoch++;
    size_t count = figures && figures->workflows ? figures->workflow_count : 0;
    for (size_t index = 0; index < count; index++) {
        const zjob_metrics_workflow_t *figure = &figures->workflows [index];
        s_series_t *series = s_series_for (self, figure->workflow);
        if (!series)
            continue;
        if (series->epoch != self->epoch) {
            series->epoch = self->epoch;
            memset (series->jobs, 0, sizeof series->jobs);
            series->ready = 0;
            series->oldest_ready_ms = 0;
        }
        for (size_t status = 0; status < ZJOB_STATUS_COUNT; status++)
            series->jobs [status] += figure->jobs [status];
        series->ready += figure->ready;
        if (figure->oldest_ready_ms
            && (!series->oldest_ready_ms || figure->oldest_ready_ms < series->oldest_ready_ms))
            series->oldest_ready_ms = figure->oldest_ready_ms;
    }
}

//  The gauges per workflow: jobs by status, ready jobs, oldest ready age
static void
s_render_workflow_gauges (zjob_metrics_t *self, s_buf_t *buf, int64_t now_ms)
{
    s_family (buf, "zjob_jobs", "gauge", "Jobs stored, by workflow and status.");
    const s_series_t *series;
    for (size_t index = 0; (series = s_series_at (self, index)); index++) {
        if (series->epoch != self->epoch)
            continue;
        for (size_t status = 0; status < ZJOB_STATUS_COUNT; status++) {
            if (!series->jobs [status])
                continue;
            s_puts (buf, "zjob_jobs{workflow=\"");
            s_puts (buf, series->label);
            s_puts (buf, "\",status=\"");
            s_puts (buf, zjob_status_name ((zjob_status_t) status));
            s_puts (buf, "\"} ");
            s_put_uint (buf, series->jobs [status]);
            s_puts (buf, "\n");
        }
    }
    s_family (buf, "zjob_queue_ready_jobs", "gauge", "Ready jobs (queued and due), by workflow.");
    for (size_t index = 0; (series = s_series_at (self, index)); index++)
        if (series->epoch == self->epoch)
            s_sample_uint (buf, "zjob_queue_ready_jobs", "workflow", series->label, series->ready);
    s_family (buf, "zjob_queue_oldest_ready_age_seconds", "gauge",
              "Age of the oldest ready job, by workflow (0 if none).");
    for (size_t index = 0; (series = s_series_at (self, index)); index++) {
        if (series->epoch != self->epoch)
            continue;
        s_puts (buf, "zjob_queue_oldest_ready_age_seconds{workflow=\"");
        s_puts (buf, series->label);
        s_puts (buf, "\"} ");
        int64_t age = series->ready ? zjob_times_elapsed (series->oldest_ready_ms, now_ms) : 0;
        s_put_double (buf, (double) age / 1000.0);
        s_puts (buf, "\n");
    }
}

//  The gauges of the broker as a whole, from figures
static void
s_render_gauges (zjob_metrics_t *self, s_buf_t *buf, const zjob_metrics_figures_t *figures)
{
    s_family (buf, "zjob_build_info", "gauge", "The broker's version, as a label; always 1.");
    s_sample_uint (buf, "zjob_build_info", "version", figures->version ? figures->version : "", 1);
    s_gauge_double (buf, "zjob_start_time_seconds", "gauge",
                    "When the broker started, in seconds since the epoch.", figures->start_time);
    s_render_workflow_gauges (self, buf, figures->now_ms);
    s_gauge_uint (buf, "zjob_scheduled_jobs", "Queued jobs waiting for their run_at.",
                  figures->scheduled);
    s_gauge_uint (buf, "zjob_workers", "Workers connected.", figures->workers);
    s_gauge_uint (buf, "zjob_worker_slots", "The workers' slots, summed.", figures->slots);
    s_gauge_uint (buf, "zjob_worker_slots_busy", "Jobs the workers hold, summed.", figures->busy);
    s_gauge_uint (buf, "zjob_max_concurrent", "The cap on jobs held by workers (0: none).",
                  figures->max_concurrent);
    s_gauge_uint (buf, "zjob_held_by_max_concurrent",
                  "1 if ready jobs and free slots are held back by max_concurrent alone.",
                  figures->held_by_max_concurrent);
    if (figures->journal)
        s_gauge_uint (buf, "zjob_store_journal_bytes", "Bytes in the file store's journal.",
                      figures->journal_bytes);
    s_gauge_uint (buf, "zjob_store_writable", "1 if the store's last sync succeeded.",
                  figures->writable);
}

static void
s_render_process (s_buf_t *buf, const zjob_metrics_figures_t *figures)
{
    s_gauge_double (buf, "process_cpu_seconds_total", "counter",
                    "Total user and system CPU time spent in seconds.",
                    figures->process_cpu_seconds);
    s_gauge_uint (buf, "process_resident_memory_bytes", "Resident memory size in bytes.",
                  figures->process_resident_bytes);
    s_gauge_uint (buf, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                  figures->process_virtual_bytes);
    s_gauge_uint (buf, "process_open_fds", "Number of open file descriptors.",
                  figures->process_open_fds);
    s_gauge_uint (buf, "process_max_fds", "Maximum number of open file descriptors.",
                  figures->process_max_fds);
    s_gauge_double (buf, "process_start_time_seconds", "gauge",
                    "Start time of the process since unix epoch in seconds.",
                    figures->process_start_time);
}

//  The counters: per workflow, then the broker's
static void
s_render_counters (zjob_metrics_t *self, s_buf_t *buf, const zjob_metrics_figures_t *figures)
{
    char name [64];
    const s_series_t *series;
    for (size_t counter = 0; counter < S_COUNTERS; counter++) {
        snprintf (name, sizeof name, "zjob_jobs_%s_total", s_counter_names [counter]);
        s_family (buf, name, "counter", s_counter_help [counter]);
        for (size_t index = 0; (series = s_series_at (self, index)); index++)
            s_sample_uint (buf, name, "workflow", series->label, series->counters [counter]);
    }
    s_family (buf, "zjob_store_syncs_total", "counter", "Store syncs (group commits) run.");
    s_sample_uint (buf, "zjob_store_syncs_total", NULL, NULL, self->sync.count);
    if (figures && figures->journal) {
        s_family (buf, "zjob_store_compactions_total", "counter", "Journal compactions done.");
        s_sample_uint (buf, "zjob_store_compactions_total", NULL, NULL, figures->compactions);
    }
    s_family (buf, "zjob_loop_passes_total", "counter", "Broker loop passes run.");
    s_sample_uint (buf, "zjob_loop_passes_total", NULL, NULL, self->pass.count);
    if (figures) {
        s_family (buf, "zjob_events_published_total", "counter", "Events published.");
        s_sample_uint (buf, "zjob_events_published_total", NULL, NULL, figures->events_published);
    }
    s_family (buf, "zjob_messages_dropped_total", "counter", "Messages dropped without a reply.");
    s_sample_uint (buf, "zjob_messages_dropped_total", NULL, NULL, self->dropped);
}

static void
s_render_histograms (zjob_metrics_t *self, s_buf_t *buf)
{
    const char *names [2] = { "zjob_job_wait_seconds", "zjob_job_run_seconds" };
    const char *helps [2] = { "Time from ready to started, per attempt.",
                              "Time from started to finished (completed or failed), per attempt." };
    const s_series_t *series;
    for (size_t which = 0; which < 2; which++) {
        s_family (buf, names [which], "histogram", helps [which]);
        for (size_t index = 0; (series = s_series_at (self, index)); index++)
            s_hist_lines (buf, names [which], series->label,
                          which ? &series->run : &series->wait, s_job_les, S_JOB_BUCKETS);
    }
    s_family (buf, "zjob_store_sync_seconds", "histogram", "Time a store sync took.");
    s_hist_lines (buf, "zjob_store_sync_seconds", NULL, &self->sync, s_loop_les, S_LOOP_BUCKETS);
    s_family (buf, "zjob_loop_pass_seconds", "histogram", "Time a broker loop pass took.");
    s_hist_lines (buf, "zjob_loop_pass_seconds", NULL, &self->pass, s_loop_les, S_LOOP_BUCKETS);
}

int
zjob_metrics_render (zjob_metrics_t *self, const zjob_metrics_figures_t *figures,
                     char **text_p, size_t *size_p)
{
    assert (self && text_p);
    //  The next text is about as long as the last: one allocation, no
    //  copies of megabytes as it grows
    s_buf_t buf = { NULL, 0, 0, false };
    buf.data = (char *) malloc (self->last_size + 4096);
    buf.max = buf.data ? self->last_size + 4096 : 0;
    if (buf.data)
        buf.data [0] = 0;
    s_gather (self, figures);
    if (figures)
        s_render_gauges (self, &buf, figures);
    static const char *sockets [ZJOB_METRICS_SOCKETS] = { "clients", "workers", "events" };
    s_family (&buf, "zjob_connections", "gauge", "Open connections, by socket.");
    for (size_t socket = 0; socket < ZJOB_METRICS_SOCKETS; socket++)
        s_sample_uint (&buf, "zjob_connections", "socket", sockets [socket],
                       self->connections [socket]);
    s_render_counters (self, &buf, figures);
    s_render_histograms (self, &buf);
    if (figures && figures->process)
        s_render_process (&buf, figures);
    if (buf.failed || !buf.data) {
        free (buf.data);
        *text_p = NULL;
        return -1;
    }
    *text_p = buf.data;
    self->last_size = buf.size;
    if (size_p)
        *size_p = buf.size;
    return 0;
}


//  --------------------------------------------------------------------------
//  The process collector's figures

void
zjob_metrics_process (zjob_metrics_figures_t *figures)
{
    assert (figures);
    figures->process = false;
    FILE *file = fopen ("/proc/self/stat", "r");
    if (!file)
        return;
    char line [1024];
    bool read = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    //  The command name may hold spaces and parentheses: fields follow the last ')'
    char *fields = read ? strrchr (line, ')') : NULL;
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long starttime = 0;
    long rss = 0;
    if (!fields
        || sscanf (fields + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                   "%llu %lu %ld",
                   &utime, &stime, &starttime, &vsize, &rss)
            != 5)
        return;
    double ticks = (double) sysconf (_SC_CLK_TCK);
    long page = sysconf (_SC_PAGESIZE);
    figures->process_cpu_seconds = (double) (utime + stime) / ticks;
    figures->process_virtual_bytes = vsize;
    figures->process_resident_bytes = (uint64_t) (rss > 0 ? rss : 0) * (uint64_t) page;
    //  starttime is in ticks since boot: the boot time is in /proc/stat
    double boot = 0;
    file = fopen ("/proc/stat", "r");
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, "btime ", 6) == 0) {
            boot = strtod (line + 6, NULL);
            break;
        }
    if (file)
        fclose (file);
    figures->process_start_time = boot + (double) starttime / ticks;
    uint64_t fds = 0;
    DIR *dir = opendir ("/proc/self/fd");
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        fds += entry->d_name [0] != '.';
    if (dir) {
        closedir (dir);
        fds--;  //  The directory's own descriptor
    }
    figures->process_open_fds = fds;
    struct rlimit limit;
    figures->process_max_fds = getrlimit (RLIMIT_NOFILE, &limit) == 0 ? (uint64_t) limit.rlim_cur
                                                                      : 0;
    figures->process = true;
}
