/*  =========================================================================
    zjob_queues - per-workflow queue controls (pause, concurrency, rate)
                  and the index of unique keys

    Queue controls. A workflow may have settings of its own: paused
    (nothing of it is handed out; running jobs go on), a concurrency limit
    (at most that many of its jobs running at once), and a rate limit
    (a token bucket: rate tokens a second, up to burst; a job handed out
    spends one). They apply on top of the broker's max_concurrent. The
    manager's take asks zjob_queues_check for each workflow with ready
    jobs it considers: one hash lookup, the running count from the tally
    (a callback, O(1)) and the bucket's refill by the clock, so a workflow
    at a limit costs O(1) per take, never a walk over its jobs. A workflow
    with no settings costs one failed lookup; a manager with no settings
    at all skips the check (zjob_queues_active).

    Settings are durable: each workflow's is a store record of kind
    "queue" named after the workflow, a msgpack map {p: paused, c:
    concurrency, r: rate, b: burst} (unknown keys skipped), written by the
    call that changes it and made durable by the pass's sync like the
    jobs. The config file gives defaults (workflow/NAME/concurrency, rate,
    burst); a record, once there, overrides them wholesale. Buckets are
    memory only: a restart starts them full.

    Waking. A rate-limited workflow that was refused for want of a token
    goes on a short "starved" list; zjob_queues_next_token says when the
    first of them has a token again (the owner sleeps until then) and
    zjob_queues_refill, when that time has come, that a dispatch walk is
    worth running. Resume and a raised limit return true from their calls
    for the same reason.

    Unique keys. A job submitted with a unique_key is indexed key -> job id
    while it is not terminal (created, waiting, queued, running, paused):
    SUBMIT answers a spec with a key in use by that job, as idempotency
    does. The index forgets a key when its job becomes terminal or is
    deleted (the manager's hooks call zjob_queues_changed and
    zjob_queues_deleted), and is rebuilt at recovery (zjob_queues_unique_add
    for each stored job).
    ========================================================================= */

#ifndef ZJOB_QUEUES_H_INCLUDED
#define ZJOB_QUEUES_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_queues_t zjob_queues_t;

#define ZJOB_QUEUE_CONCURRENCY_MAX 1000000  //  jobs running at once, per workflow
#define ZJOB_QUEUE_RATE_MAX 1000000.0       //  jobs per second, per workflow
#define ZJOB_QUEUE_BURST_MAX 1000000.0      //  tokens a bucket holds at most
#define ZJOB_QUEUES_MAX 10000               //  workflows with settings of their own

//  What holds a workflow's ready jobs back
typedef enum {
    ZJOB_HELD_NONE = 0,
    ZJOB_HELD_PAUSED,       //  The queue is paused
    ZJOB_HELD_CONCURRENCY,  //  Its running jobs are at its concurrency
    ZJOB_HELD_RATE          //  Its bucket has no token
} zjob_held_t;

//  "paused", "concurrency", "rate"; NULL for ZJOB_HELD_NONE
const char *
zjob_held_name (zjob_held_t held);

//  One workflow's defaults from the config (0 = none)
typedef struct {
    const char *workflow_id;
    uint32_t concurrency;  //  Jobs running at once
    double rate;           //  Jobs per second
    double burst;          //  Tokens; 0 = max (1, rate)
} zjob_queue_defaults_t;

//  One workflow's settings, as QUEUE reports them
typedef struct {
    bool paused;
    uint32_t concurrency;  //  0 = none
    double rate;           //  0 = none
    double burst;          //  As set (0 = the default, max (1, rate))
} zjob_queue_settings_t;

//  The running jobs of workflow now (the manager's tally)
typedef size_t (zjob_queues_running_fn) (const char *workflow, void *arg);
//  A clock in ms (monotonic), for the buckets
typedef int64_t (zjob_queues_clock_fn) (void *arg);

//  New controls over store (borrowed: the manager's), with count config
//  defaults (copied), running to count a workflow's running jobs. Loads
//  the "queue" records when the store has them. NULL if out of memory.
zjob_queues_t *
zjob_queues_new (zjob_store_t *store, const zjob_queue_defaults_t *defaults, size_t count,
                 zjob_queues_running_fn *running, void *arg);

//  Destroy the controls. Accepts NULL.
void
zjob_queues_destroy (zjob_queues_t **self_p);

//  Test hook: the buckets' clock (NULL: zjob_mono_ms).
void
zjob_queues_set_clock (zjob_queues_t *self, zjob_queues_clock_fn *clock, void *arg);

//  True if any workflow has settings (else take need not ask).
bool
zjob_queues_active (zjob_queues_t *self);

//  What holds workflow's ready jobs back now, if anything; O(1). A
//  workflow refused for want of a token is noted as starved.
zjob_held_t
zjob_queues_check (zjob_queues_t *self, const char *workflow);

//  A job of workflow was handed out: its bucket spends a token.
void
zjob_queues_took (zjob_queues_t *self, const char *workflow);

//  Pause or resume workflow's queue (a name), durably (a store record).
//  Returns 1 if jobs may now be handed out that could not before (a
//  resume), 0 if not, -1 with err filled (bad name, too many workflows,
//  the store).
int
zjob_queues_pause (zjob_queues_t *self, const char *workflow, bool paused, zjob_error_t *err);

//  Set workflow's limits, durably: concurrency (-1: unchanged, 0: none),
//  rate (jobs/s; < 0: unchanged, 0: none), burst (tokens; < 0: unchanged,
//  0: the default). Returns 1 if a limit was raised or cleared (a walk
//  may hand out more), 0 if not, -1 with err filled (a bad value: 400).
int
zjob_queues_limit (zjob_queues_t *self, const char *workflow, int64_t concurrency,
                   double rate, double burst, zjob_error_t *err);

//  Workflow's settings into settings; false (zeros) if it has none.
bool
zjob_queues_get (zjob_queues_t *self, const char *workflow, zjob_queue_settings_t *settings);

//  True if workflow has a concurrency limit (a finished job of it may let
//  another go).
bool
zjob_queues_limited (zjob_queues_t *self, const char *workflow);

//  Workflows whose queue is paused; workflows with settings.
size_t
zjob_queues_paused (zjob_queues_t *self);
size_t
zjob_queues_size (zjob_queues_t *self);

//  Call fn for each workflow with settings, in no set order; the name and
//  settings are borrowed for the call. Returns how many.
typedef void (zjob_queues_fn) (const char *workflow, const zjob_queue_settings_t *settings,
                               void *arg);
int
zjob_queues_each (zjob_queues_t *self, zjob_queues_fn *fn, void *arg);

//  When (the clock's ms) the first starved workflow has a token again, or
//  0 if none is starved. O(starved workflows).
int64_t
zjob_queues_next_token (zjob_queues_t *self);

//  True if a starved workflow has a token now (it is no longer starved),
//  or a queue was resumed or a limit raised since the last call: the
//  owner runs a dispatch walk.
bool
zjob_queues_refill (zjob_queues_t *self);

//  --------------------------------------------------------------------------
//  Unique keys

//  Copy into id (ZJOB_ID_LEN + 1 bytes) the non-terminal job that holds
//  key. True if one does.
bool
zjob_queues_unique_find (zjob_queues_t *self, const char *key, char *id);

//  A job was created or recovered: index its unique key if it has one and
//  is not terminal (a key already held by another job stays with it).
void
zjob_queues_unique_add (zjob_queues_t *self, const zjob_job_t *job);

//  job changed status from old_status: a terminal job frees its key, a
//  re-run takes it back if free.
void
zjob_queues_changed (zjob_queues_t *self, const zjob_job_t *job, int old_status);

//  job was deleted: its key is free.
void
zjob_queues_deleted (zjob_queues_t *self, const zjob_job_t *job);

//  Keys in the index.
size_t
zjob_queues_unique_size (zjob_queues_t *self);

#ifdef __cplusplus
}
#endif

#endif
