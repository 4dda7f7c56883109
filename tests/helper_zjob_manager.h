/*  =========================================================================
    helper_zjob_manager - what the manager's test files share

    Included by test_zjob_manager.c, test_zjob_manager_rules.c and
    test_zjob_queue.c: job specs, a manager over the memory store, a
    listener that records events, a "flaky" store that refuses puts on
    demand, and temporary file stores. All static: each test file takes
    what it uses, so the unused-function warnings are off for this header
    only.
    ========================================================================= */

#ifndef HELPER_ZJOB_MANAGER_H_INCLUDED
#define HELPER_ZJOB_MANAGER_H_INCLUDED

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "zjob_manager.h"
#include "helper_zjob_test.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-const-variable"

//  --------------------------------------------------------------------------
//  Helpers

//  {"ok": 1} as msgpack
static const uint8_t s_outputs [] = { 0x81, 0xa2, 'o', 'k', 0x01 };

static zjob_spec_t
s_spec (const char *workflow, zjob_priority_t priority)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    spec.priority = priority;
    return spec;
}

static zjob_manager_t *
s_manager_over (zjob_store_t *store, size_t max_concurrent)
{
    //  A lost worker's job is retried at once (no backoff): these tests
    //  are about the queue, not the delay
    zjob_manager_config_t config = {
        .max_concurrent = max_concurrent,
        .defaults = { .backoff_base_ms = ZJOB_TIMEOUT_NONE },
        .seed = 1
    };
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "manager: %s", err.text);
    cr_assert_null (store, "the manager takes the store");
    return manager;
}

static zjob_manager_t *
s_manager (size_t max_concurrent)
{
    return s_manager_over (zjob_store_memory_new (), max_concurrent);
}

//  Create a job and return its id in id (ZJOB_ID_LEN + 1 bytes)
static void
s_create (zjob_manager_t *manager, const char *workflow, zjob_priority_t priority,
          bool auto_start, char *id)
{
    zjob_spec_t spec = s_spec (workflow, priority);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, auto_start, &err);
    cr_assert_not_null (job, "create: %s", err.text);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

static int
s_status (zjob_manager_t *manager, const char *id)
{
    return zjob_manager_status (manager, id, NULL);
}

static zjob_job_t *
s_get (zjob_manager_t *manager, const char *id)
{
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_get (manager, id, &err);
    cr_assert_not_null (job, "get %s: %s", id, err.text);
    return job;
}

//  Take a job and return its id in id, or fail the test if there is none
static void
s_take (zjob_manager_t *manager, const char *worker, char *id)
{
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, worker);
    cr_assert_not_null (job, "take: nothing to take");
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

//  The counts must add up to the store and agree with queued/active
static void
s_assert_counts (zjob_manager_t *manager)
{
    size_t counts [ZJOB_STATUS_COUNT];
    cr_assert_eq (zjob_manager_counts (manager, counts), 0);
    size_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        total += counts [status];
    cr_assert_eq (total, zjob_store_count (zjob_manager_store (manager)));
    cr_assert_eq (counts [ZJOB_QUEUED],
                  zjob_manager_queued (manager) + zjob_manager_scheduled (manager));
    cr_assert_geq (counts [ZJOB_RUNNING] + counts [ZJOB_PAUSED], zjob_manager_active (manager));
    cr_assert_leq (counts [ZJOB_RUNNING], zjob_manager_active (manager));
}

//  Wait (by polling the clock, with a deadline) until ms have passed
static void
s_let_time_pass (int64_t ms)
{
    int64_t until = zjob_clock_ms () + ms + 1;
    int64_t deadline = zjob_mono_ms () + 5000;
    while (zjob_clock_ms () < until)
        cr_assert_lt (zjob_mono_ms (), deadline, "the clock does not advance");
}


//  --------------------------------------------------------------------------
//  A listener that records every event

#define EVENTS_MAX 64

typedef struct {
    zjob_event_t event;
    char id [ZJOB_ID_LEN + 1];
    int old_status;
    int status;
    float progress;
} s_heard_t;

typedef struct {
    s_heard_t heard [EVENTS_MAX];
    size_t count;
} s_log_t;

static void
s_listener (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status, void *arg)
{
    s_log_t *log = (s_log_t *) arg;
    cr_assert_lt (log->count, EVENTS_MAX);
    s_heard_t *heard = &log->heard [log->count++];
    heard->event = event;
    strcpy (heard->id, job->id);
    heard->old_status = old_status;
    heard->status = job->status;
    heard->progress = job->progress;
}

static void
s_assert_heard (s_log_t *log, size_t index, zjob_event_t event, const char *id,
                int old_status, int status)
{
    cr_assert_lt (index, log->count, "event %zu not heard (%zu heard)", index, log->count);
    s_heard_t *heard = &log->heard [index];
    cr_assert_eq (heard->event, event, "event %zu: %d, expected %d", index, heard->event, event);
    cr_assert_str_eq (heard->id, id, "event %zu", index);
    cr_assert_eq (heard->old_status, old_status, "event %zu: old %s, expected %s", index,
                  zjob_status_name (heard->old_status), zjob_status_name (old_status));
    cr_assert_eq (heard->status, status, "event %zu: status %s, expected %s", index,
                  zjob_status_name (heard->status), zjob_status_name (status));
}


//  --------------------------------------------------------------------------
//  A store that refuses puts (and removes) when told to

typedef struct {
    zjob_store_t *inner;  //  A memory store doing the work
    bool refuse_put;      //  Fail every put
    bool refuse_remove;   //  Fail every remove
    size_t puts;          //  Puts accepted
} s_flaky_t;

static int
s_flaky_put (void *self, zjob_job_t *job, zjob_error_t *err)
{
    s_flaky_t *flaky = (s_flaky_t *) self;
    if (flaky->refuse_put)
        return zjob_error_set (err, ZJOB_INTERNAL, "flaky store: put refused");
    flaky->puts++;
    return zjob_store_put (flaky->inner, job, err);
}

static zjob_job_t *
s_flaky_get (void *self, const char *id)
{
    return zjob_store_get (((s_flaky_t *) self)->inner, id);
}

static int
s_flaky_remove (void *self, const char *id, zjob_error_t *err)
{
    s_flaky_t *flaky = (s_flaky_t *) self;
    if (flaky->refuse_remove)
        return zjob_error_set (err, ZJOB_INTERNAL, "flaky store: remove refused");
    return zjob_store_remove (flaky->inner, id, err);
}

static int
s_flaky_iterate (void *self, const zjob_filter_t *filter, zjob_store_visit_fn *visit, void *arg)
{
    return zjob_store_iterate (((s_flaky_t *) self)->inner, filter, visit, arg);
}

static int
s_flaky_walk (void *self, const zjob_filter_t *filter, bool descending, char *cursor, size_t max,
              zjob_store_visit_fn *visit, void *arg)
{
    return zjob_store_walk (((s_flaky_t *) self)->inner, filter, descending, cursor, max, visit,
                            arg);
}

static size_t
s_flaky_count (void *self)
{
    return zjob_store_count (((s_flaky_t *) self)->inner);
}

static int
s_flaky_sync (void *self, zjob_error_t *err)
{
    return zjob_store_sync (((s_flaky_t *) self)->inner, err);
}

static void
s_flaky_close (void *self)
{
    s_flaky_t *flaky = (s_flaky_t *) self;
    zjob_store_destroy (&flaky->inner);
    free (flaky);
}

static const zjob_store_ops_t s_flaky_ops = {
    .name = "flaky",
    .put = s_flaky_put,
    .get = s_flaky_get,
    .remove = s_flaky_remove,
    .iterate = s_flaky_iterate,
    .walk = s_flaky_walk,
    .count = s_flaky_count,
    .sync = s_flaky_sync,
    .stats = NULL,
    .close = s_flaky_close
};

//  A flaky store; *flaky_p stays valid while the store lives
static zjob_store_t *
s_flaky_new (s_flaky_t **flaky_p)
{
    s_flaky_t *flaky = (s_flaky_t *) calloc (1, sizeof (s_flaky_t));
    cr_assert_not_null (flaky);
    flaky->inner = zjob_store_memory_new ();
    cr_assert_not_null (flaky->inner);
    *flaky_p = flaky;
    zjob_store_t *store = zjob_store_new (&s_flaky_ops, flaky);
    cr_assert_not_null (store);
    return store;
}


//  --------------------------------------------------------------------------
//  Temporary directories

static char *
s_tmpdir (void)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir, "cannot make a temporary directory");
    return dir;
}

static void
s_tmpdir_remove (char **path_p)
{
    zjob_test_rmtree (*path_p);
    cr_assert (!zsys_file_exists (*path_p), "%s not removed", *path_p);
    free (*path_p);
    *path_p = NULL;
}

//  The directory of the running test, removed by s_tmpdir_fini even when
//  an assertion ends the test early
static char *s_dir;

static void
s_tmpdir_fini (void)
{
    if (s_dir)
        s_tmpdir_remove (&s_dir);
}

static zjob_store_t *
s_file_store (const char *dir)
{
    char *spec = zsys_sprintf ("file:%s?fsync=never", dir);
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "open %s: %s", spec, err.text);
    zstr_free (&spec);
    return store;
}


#pragma GCC diagnostic pop

#endif
