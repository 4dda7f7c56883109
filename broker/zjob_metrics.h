/*  =========================================================================
    zjob_metrics - the broker's metrics, and their Prometheus text

    The broker feeds this class as things happen (zjob_broker_metrics.c):
    each job change its manager's listener hears, each sync's and each
    loop pass's duration, each connection opened or closed. It keeps
    counters and histograms per workflow, the broker's own histograms, and
    a ring of the last 60 wall-clock minutes of submitted, completed and
    failed jobs (STATS' history). zjob_metrics_render writes all of it, with
    the gauges the caller gathered at that moment (zjob_metrics_figures_t:
    the tally, the queue, the registry, the store, the process), in the
    Prometheus text exposition format 0.0.4.

    Bounded. An observation is a zhashx lookup by workflow id and a walk of
    a fixed bucket list: nothing is kept per job. At most
    ZJOB_METRICS_WORKFLOWS_MAX workflows get series of their own, in the
    order they are first seen; every later one is counted under the
    workflow "~other" (a workflow really named so shares its series), so
    memory and the size of a render are bounded whatever the clients name.
    A render is O(workflows x buckets).
    ========================================================================= */

#ifndef ZJOB_METRICS_H_INCLUDED
#define ZJOB_METRICS_H_INCLUDED

#include "zjob_manager.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_METRICS_WORKFLOWS_MAX 1000  //  workflows with series of their own
#define ZJOB_METRICS_OTHER "~other"      //  the workflow label of the rest
#define ZJOB_METRICS_MINUTES 60          //  minutes of history kept
#define ZJOB_METRICS_FORMAT "prometheus-text-0.0.4"

typedef struct _zjob_metrics_t zjob_metrics_t;

//  The sockets whose connections are counted
typedef enum {
    ZJOB_METRICS_CLIENTS = 0,
    ZJOB_METRICS_WORKERS,
    ZJOB_METRICS_EVENTS,
    ZJOB_METRICS_SOCKETS
} zjob_metrics_socket_t;

//  One workflow's gauges, as gathered at render time
typedef struct {
    const char *workflow;             //  Borrowed
    size_t jobs [ZJOB_STATUS_COUNT];  //  Stored jobs per status
    uint64_t ready;                   //  Ready (queued and due) jobs
    int64_t oldest_ready_ms;          //  ms UTC the oldest ready job became
                                      //  ready; 0 if none
} zjob_metrics_workflow_t;

//  What the broker knows at render time (everything borrowed for the call)
typedef struct {
    int64_t now_ms;                            //  ms UTC of the render
    const zjob_metrics_workflow_t *workflows;  //  Per workflow with jobs
    size_t workflow_count;
    uint64_t scheduled;             //  Queued jobs waiting for run_at
    uint64_t workers, slots, busy;  //  The registry's
    uint64_t max_concurrent;        //  0 = none
    bool held_by_max_concurrent;    //  As STATS' held_by_limit
    bool journal;                   //  A file store: journal_bytes
    uint64_t journal_bytes;         //  and compactions are set
    uint64_t compactions;
    bool writable;              //  The store's last sync worked
    uint64_t events_published;  //  Events since the start
    const char *version;        //  zjob_build_info's label
    double start_time;          //  s since the epoch, the broker's
    bool process;               //  The process_* figures are set
    double process_cpu_seconds;
    uint64_t process_resident_bytes;
    uint64_t process_virtual_bytes;
    uint64_t process_open_fds;
    uint64_t process_max_fds;
    double process_start_time;  //  s since the epoch
} zjob_metrics_figures_t;

//  STATS' history: per wall-clock minute, oldest first, the last entry
//  the current minute
typedef struct {
    int64_t minute;  //  ms UTC of the start of the current minute
    uint64_t submitted [ZJOB_METRICS_MINUTES];
    uint64_t completed [ZJOB_METRICS_MINUTES];
    uint64_t failed [ZJOB_METRICS_MINUTES];
} zjob_metrics_history_t;

//  New, empty metrics. NULL if out of memory.
zjob_metrics_t *
zjob_metrics_new (void);

//  Destroy them. Accepts NULL; sets *self_p to NULL.
void
zjob_metrics_destroy (zjob_metrics_t **self_p);

//  Test hook: the wall clock (ms UTC) the history ring reads; NULL for
//  zjob_clock_ms.
void
zjob_metrics_set_clock (zjob_metrics_t *self, int64_t (*clock_fn) (void));

//  A change the manager's listener heard (zjob_manager.h's arguments);
//  created: the job's first event (it was just created). Counts
//  submitted, completed, failed (for good), retried (ZJOB_EVENT_RETRYING),
//  cancelled; observes the wait (ready -> running, a new attempt) and
//  the run (running -> completed, failed or retried). O(buckets).
void
zjob_metrics_job (zjob_metrics_t *self, zjob_event_t event, const zjob_job_t *job,
                  zjob_status_t old_status, bool created);

//  A store sync, and a loop pass, that took seconds
void
zjob_metrics_sync (zjob_metrics_t *self, double seconds);
void
zjob_metrics_pass (zjob_metrics_t *self, double seconds);

//  A connection to socket opened (delta 1) or closed (-1); never below 0
void
zjob_metrics_connection (zjob_metrics_t *self, zjob_metrics_socket_t socket, int delta);

//  The broker's count of messages dropped without a reply, since it started
void
zjob_metrics_set_dropped (zjob_metrics_t *self, uint64_t dropped);

//  Whether the store's last sync succeeded (the broker's commit says), and
//  that figure; true until told otherwise.
void
zjob_metrics_set_writable (zjob_metrics_t *self, bool writable);
bool
zjob_metrics_writable (zjob_metrics_t *self);

//  ms UTC when the metrics were made (the broker's start).
int64_t
zjob_metrics_started (zjob_metrics_t *self);

//  Fill history for the minute of now_ms (ms UTC).
void
zjob_metrics_history (zjob_metrics_t *self, int64_t now_ms, zjob_metrics_history_t *history);

//  Counters of workflow (NULL: every workflow summed) for tests: what
//  zjob_jobs_<what>_total says, what one of "submitted", "completed",
//  "failed", "retried", "cancelled"; and the count of observations of the
//  histogram "wait" or "run" (workflow) or "sync" or "pass" (workflow NULL).
uint64_t
zjob_metrics_count (zjob_metrics_t *self, const char *workflow, const char *what);

//  Write the whole exposition (Prometheus text format 0.0.4: HELP and TYPE
//  for every family, label values escaped) into *text_p, NUL-terminated,
//  the caller's to free, and its length into *size_p (may be NULL).
//  figures may be NULL (no gauges from the broker). Workflows of figures
//  beyond ZJOB_METRICS_WORKFLOWS_MAX are summed under ~other. 0, or -1 if
//  out of memory.
int
zjob_metrics_render (zjob_metrics_t *self, const zjob_metrics_figures_t *figures,
                     char **text_p, size_t *size_p);

//  Fill the process_* figures of figures from /proc/self and getrlimit;
//  figures->process is false if /proc cannot be read.
void
zjob_metrics_process (zjob_metrics_figures_t *figures);

#ifdef __cplusplus
}
#endif

#endif
