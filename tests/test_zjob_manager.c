/*  =========================================================================
    test_zjob_manager - the job manager, driven in-process

    Every public call of zjob_manager.h, on the memory store, a file store
    in a fresh temporary directory (recovery), and a "flaky" store that
    wraps the memory store and refuses puts on demand (a refused put must
    leave job, queue and held set as they were). Scheduled jobs (run_at)
    are driven mostly through zjob_manager_promote with an explicit time,
    so that no test waits for the clock longer than a few milliseconds.
    ========================================================================= */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "zjob_manager.h"
#include "helper_zjob_test.h"

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
    zjob_manager_config_t config = { max_concurrent, 0 };
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
    zjob_store_t *inner;                //  A memory store doing the work
    bool refuse_put;                    //  Fail every put
    bool refuse_remove;                 //  Fail every remove
    size_t puts;                        //  Puts accepted
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


//  --------------------------------------------------------------------------
//  Creating and reading jobs

Test (manager, create_get_status)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);

    const char *tags [] = { "red", "blue" };
    zjob_spec_t spec = s_spec ("resize", ZJOB_PRIORITY_HIGH);
    spec.user_id = "ann";
    spec.tags = tags;
    spec.tag_count = 2;
    spec.inputs = s_outputs;
    spec.inputs_size = sizeof (s_outputs);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, false, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert (zjob_id_valid (job->id));
    cr_assert_eq (job->status, ZJOB_CREATED);
    cr_assert_str_eq (job->workflow_id, "resize");
    cr_assert_str_eq (job->user_id, "ann");
    cr_assert_eq (job->priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (job->inputs.size, sizeof (s_outputs));
    cr_assert_eq (zjob_manager_queued (manager), 0);

    zjob_job_t *again = s_get (manager, job->id);
    cr_assert_str_eq (again->id, job->id);
    cr_assert_eq (again->tag_count, 2);
    cr_assert_str_eq (again->tags [1], "blue");
    zjob_job_destroy (&again);
    cr_assert_eq (zjob_manager_status (manager, job->id, &err), ZJOB_CREATED);

    //  auto_start: queued at once, in one event
    zjob_job_t *queued = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (queued, "%s", err.text);
    cr_assert_eq (queued->status, ZJOB_QUEUED);
    cr_assert_gt (queued->queued_at, 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);

    cr_assert_eq (log.count, 2);
    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, job->id, ZJOB_CREATED, ZJOB_CREATED);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, queued->id, ZJOB_CREATED, ZJOB_QUEUED);

    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_CREATED], 1);
    cr_assert_eq (counts [ZJOB_QUEUED], 1);
    s_assert_counts (manager);

    //  A bad spec is a 400 and stores nothing
    zjob_spec_t bad = s_spec (NULL, ZJOB_PRIORITY_LOW);
    cr_assert_null (zjob_manager_create (manager, &bad, true, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_manager_create (manager, NULL, true, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 2);
    cr_assert_eq (log.count, 2, "nothing heard for a refused job");

    //  Unknown ids
    cr_assert_null (zjob_manager_get (manager, "0000000000000000000Z", &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert (strstr (err.text, "0000000000000000000Z"), "%s", err.text);
    cr_assert_eq (zjob_manager_status (manager, "nope", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_null (zjob_manager_get (manager, NULL, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    cr_assert_str_eq (zjob_store_name (zjob_manager_store (manager)), "memory");
    cr_assert_eq (zjob_manager_sync (manager, &err), 0);
    zjob_job_destroy (&job);
    zjob_job_destroy (&queued);
    zjob_manager_destroy (&manager);
    cr_assert_null (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, create_batch_all_or_none)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);

    zjob_spec_t specs [5];
    for (int index = 0; index < 5; index++)
        specs [index] = s_spec (index % 2? "odd": "even", (zjob_priority_t) (index % 4));
    zjob_job_t *jobs [5] = { NULL };
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 5, true, jobs, &err), 0, "%s", err.text);
    char last_id [ZJOB_ID_LEN + 1] = "";
    for (int index = 0; index < 5; index++) {
        cr_assert_not_null (jobs [index]);
        cr_assert_eq (jobs [index]->status, ZJOB_QUEUED);
        cr_assert_str_eq (jobs [index]->workflow_id, specs [index].workflow_id);
        cr_assert_lt (strcmp (last_id, jobs [index]->id), 0, "ids in order");
        strcpy (last_id, jobs [index]->id);
        s_assert_heard (&log, index, ZJOB_EVENT_STATUS, jobs [index]->id,
                        ZJOB_CREATED, ZJOB_QUEUED);
        zjob_job_destroy (&jobs [index]);
    }
    cr_assert_eq (zjob_manager_queued (manager), 5);

    //  One bad spec: nothing created, err names its index
    specs [3].workflow_id = NULL;
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 5, true, jobs, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (strncmp (err.text, "jobs[3]: ", 9), 0, "%s", err.text);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 5);
    cr_assert_eq (zjob_manager_queued (manager), 5);
    cr_assert_eq (log.count, 5);

    //  Without a result array, and empty
    specs [3].workflow_id = "odd";
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 5, false, NULL, &err), 0);
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 0, false, NULL, &err), 0);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_CREATED], 5);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, create_batch_store_refuses)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    zjob_spec_t specs [3] = { s_spec ("a", 0), s_spec ("a", 1), s_spec ("a", 2) };
    zjob_error_t err = { 0, "" };
    flaky->refuse_put = true;
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 3, true, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert_null (zjob_manager_create (manager, &specs [0], true, &err));
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 0);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  The ready queue

#define ORDER_JOBS 3000

Test (manager, take_order_thousands)
{
    zjob_manager_t *manager = s_manager (0);
    const char *workflows [] = { "alpha", "beta", "gamma" };
    srand (20240611);
    size_t per_workflow [3] = { 0 };
    for (int index = 0; index < ORDER_JOBS; index++) {
        char id [ZJOB_ID_LEN + 1];
        int workflow = rand () % 3;
        per_workflow [workflow]++;
        s_create (manager, workflows [workflow], (zjob_priority_t) (rand () % 4), true, id);
    }
    cr_assert_eq (zjob_manager_queued (manager), ORDER_JOBS);

    //  A worker serving alpha and gamma gets only those, in order:
    //  priority first, then creation (ids sort by creation)
    const char *subset [] = { "gamma", "alpha" };
    int last_priority = ZJOB_PRIORITY_CRITICAL + 1;
    char last_id [ZJOB_ID_LEN + 1] = "";
    size_t taken = 0;
    zjob_job_t *job;
    while ((job = zjob_manager_take (manager, subset, 2, "w1"))) {
        cr_assert (streq (job->workflow_id, "alpha") || streq (job->workflow_id, "gamma"),
                   "took %s", job->workflow_id);
        cr_assert_eq (job->status, ZJOB_RUNNING);
        cr_assert_eq (job->attempts, 1);
        cr_assert_str_eq (job->worker_id, "w1");
        cr_assert_leq (job->priority, last_priority);
        if (job->priority == last_priority)
            cr_assert_lt (strcmp (last_id, job->id), 0, "FIFO within a priority");
        last_priority = job->priority;
        strcpy (last_id, job->id);
        taken++;
        zjob_job_destroy (&job);
    }
    cr_assert_eq (taken, per_workflow [0] + per_workflow [2]);
    cr_assert_eq (zjob_manager_queued (manager), per_workflow [1]);
    cr_assert_eq (zjob_manager_active (manager), taken);

    //  A workflow nobody queued for
    const char *other [] = { "delta" };
    cr_assert_null (zjob_manager_take (manager, other, 1, "w2"));

    //  Any workflow: the rest, in order
    last_priority = ZJOB_PRIORITY_CRITICAL + 1;
    last_id [0] = 0;
    while ((job = zjob_manager_take (manager, NULL, 0, "w2"))) {
        cr_assert_str_eq (job->workflow_id, "beta");
        cr_assert_leq (job->priority, last_priority);
        if (job->priority == last_priority)
            cr_assert_lt (strcmp (last_id, job->id), 0);
        last_priority = job->priority;
        strcpy (last_id, job->id);
        taken++;
        zjob_job_destroy (&job);
    }
    cr_assert_eq (taken, ORDER_JOBS);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, take_fifo_across_workflows)
{
    zjob_manager_t *manager = s_manager (0);
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1], third [ZJOB_ID_LEN + 1];
    char urgent [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "b", ZJOB_PRIORITY_MEDIUM, true, first);
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, second);
    s_create (manager, "b", ZJOB_PRIORITY_MEDIUM, true, third);
    s_create (manager, "c", ZJOB_PRIORITY_CRITICAL, true, urgent);
    const char *both [] = { "a", "b" };
    zjob_job_t *job = zjob_manager_take (manager, both, 2, "w");
    cr_assert_str_eq (job->id, first);
    zjob_job_destroy (&job);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, urgent);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, second);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, third);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w"));
    zjob_manager_destroy (&manager);
}

Test (manager, requeue_goes_to_the_front)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, a);
    s_create (manager, "y", ZJOB_PRIORITY_HIGH, true, b);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, c);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, a);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, b);

    //  The worker is lost: both go back ahead of c, in their old order
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_requeue (manager, b, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_requeue (manager, a, &err), 0, "%s", err.text);
    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, b, ZJOB_RUNNING, ZJOB_QUEUED);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, a, ZJOB_RUNNING, ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 3);
    zjob_job_t *job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->held, 0);
    cr_assert_eq (job->attempts, 1, "attempts counts dispatches");
    zjob_job_destroy (&job);

    //  Requeue of a job nobody holds is a conflict
    cr_assert_eq (zjob_manager_requeue (manager, c, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_requeue (manager, "unknown", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    s_take (manager, "w2", id);
    cr_assert_str_eq (id, a);
    job = s_get (manager, a);
    cr_assert_eq (job->attempts, 2);
    cr_assert_str_eq (job->worker_id, "w2");
    zjob_job_destroy (&job);
    s_take (manager, "w2", id);
    cr_assert_str_eq (id, b);
    s_take (manager, "w2", id);
    cr_assert_str_eq (id, c);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, max_concurrent)
{
    zjob_manager_t *manager = s_manager (2);
    char ids [8][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 8; index++)
        s_create (manager, "w", ZJOB_PRIORITY_LOW, true, ids [index]);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };

    s_take (manager, "w1", a);
    s_take (manager, "w1", b);
    cr_assert_eq (zjob_manager_active (manager), 2);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"), "at the limit");

    //  Complete frees a slot
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), 0,
                  "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 1);
    s_take (manager, "w1", a);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));

    //  So do fail, cancel and requeue
    cr_assert_eq (zjob_manager_fail (manager, a, "w1", "oops", "it broke", &err), 0, "%s", err.text);
    s_take (manager, "w1", a);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    cr_assert_eq (zjob_manager_cancel (manager, a, &err), 0, "%s", err.text);
    s_take (manager, "w1", a);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    cr_assert_eq (zjob_manager_requeue (manager, a, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 1);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, a, "the requeued job comes back first");

    //  A paused job still held counts; let go by requeue, it does not
    cr_assert_eq (zjob_manager_pause (manager, b, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 2);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    cr_assert_eq (zjob_manager_requeue (manager, b, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, b), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_active (manager), 1);
    s_take (manager, "w1", id);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, default_config)
{
    //  No global cap by default: every ready job can be handed out
    cr_assert_eq (ZJOB_MAX_CONCURRENT_DEFAULT, 0);
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_manager_t *manager = zjob_manager_new (&store, NULL, NULL);
    cr_assert_not_null (manager);
    cr_assert_eq (zjob_manager_max_concurrent (manager), 0);
    char id [ZJOB_ID_LEN + 1];
    for (int index = 0; index < 25; index++)
        s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    for (int index = 0; index < 25; index++)
        s_take (manager, "w", id);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w"));
    cr_assert_eq (zjob_manager_active (manager), 25);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Transitions through the manager

Test (manager, lifecycle_of_created_job)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, id);
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };

    //  Nothing to take while created
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w"));
    //  Resume of a created job is illegal, with a message
    cr_assert_eq (zjob_manager_resume (manager, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_gt (strlen (err.text), 0);
    cr_assert_eq (s_status (manager, id), ZJOB_CREATED);

    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_resume (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    //  Start of a queued job is illegal
    cr_assert_eq (zjob_manager_start (manager, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  Cancel of a created job
    char other [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, other);
    cr_assert_eq (zjob_manager_cancel (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, other), ZJOB_CANCELLED);
    zjob_job_t *job = s_get (manager, other);
    cr_assert_gt (job->completed_at, 0);
    zjob_job_destroy (&job);
    //  Terminal: everything is a conflict
    cr_assert_eq (zjob_manager_start (manager, other, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_pause (manager, other, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_resume (manager, other, &err), -1);
    cr_assert_eq (zjob_manager_cancel (manager, other, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, id, ZJOB_CREATED, ZJOB_PAUSED);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, id, ZJOB_PAUSED, ZJOB_QUEUED);
    s_assert_heard (&log, 2, ZJOB_EVENT_STATUS, other, ZJOB_CREATED, ZJOB_CREATED);
    s_assert_heard (&log, 3, ZJOB_EVENT_STATUS, other, ZJOB_CREATED, ZJOB_CANCELLED);
    cr_assert_eq (log.count, 4, "refused operations are not heard");

    //  Start of a created job, and unknown ids
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, other);
    cr_assert_eq (zjob_manager_start (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, other), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_start (manager, "unknown", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_pause (manager, "unknown", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_resume (manager, "unknown", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_cancel (manager, "unknown", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, lifecycle_of_queued_job)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, a);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, b);
    zjob_error_t err = { 0, "" };

    //  Pause takes it out of the queue; resume puts it at the back
    cr_assert_eq (zjob_manager_pause (manager, a, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_resume (manager, a, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_queued (manager), 2);
    zjob_job_t *job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->held, 0);
    zjob_job_destroy (&job);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, b, "a resumed job goes to the back");

    //  Cancel takes it out of the queue
    cr_assert_eq (zjob_manager_cancel (manager, a, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w"));
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, lifecycle_of_running_job)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_let_time_pass (3);
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, id);
    zjob_error_t err = { 0, "" };

    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->held, 1);
    cr_assert_eq (job->attempts, 1);
    cr_assert_geq (job->started_at, job->queued_at);
    cr_assert_geq (job->queued_ms, 3, "queued_ms %lld", (long long) job->queued_ms);
    zjob_job_destroy (&job);

    //  Start and resume of a running job are conflicts
    cr_assert_eq (zjob_manager_start (manager, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_resume (manager, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  Pause: paused, still held; progress still allowed; complete is not
    s_let_time_pass (2);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_PAUSED);
    cr_assert_eq (job->held, 1);
    cr_assert_geq (job->execution_ms, 2);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_active (manager), 1);
    cr_assert_eq (zjob_manager_progress (manager, id, "w1", 0.5f, "half", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_complete (manager, id, "w1", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  Resume of a held paused job: running again, not queued
    cr_assert_eq (zjob_manager_resume (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);
    cr_assert_eq (zjob_manager_queued (manager), 0);

    //  Cancel of a running job lets it go; the late complete is a conflict
    cr_assert_eq (zjob_manager_cancel (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 0);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_CANCELLED);
    cr_assert_eq (job->held, 0);
    cr_assert_gt (job->completed_at, 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, id, "w1", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "not held by worker w1"), "%s", err.text);

    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, id, ZJOB_CREATED, ZJOB_QUEUED);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, id, ZJOB_QUEUED, ZJOB_RUNNING);
    s_assert_heard (&log, 2, ZJOB_EVENT_STATUS, id, ZJOB_RUNNING, ZJOB_PAUSED);
    s_assert_heard (&log, 3, ZJOB_EVENT_PROGRESS, id, ZJOB_PAUSED, ZJOB_PAUSED);
    cr_assert_float_eq (log.heard [3].progress, 0.5f, 1e-6);
    s_assert_heard (&log, 4, ZJOB_EVENT_STATUS, id, ZJOB_PAUSED, ZJOB_RUNNING);
    s_assert_heard (&log, 5, ZJOB_EVENT_STATUS, id, ZJOB_RUNNING, ZJOB_CANCELLED);
    cr_assert_eq (log.count, 6);

    //  Cancel of a paused held job lets it go too
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_cancel (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, worker_reports)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, a);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, b);
    s_take (manager, "w1", id);
    s_take (manager, "w2", id);
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };

    //  Wrong worker, unknown job, job not running
    cr_assert_eq (zjob_manager_complete (manager, a, "w2", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    char *expected = zsys_sprintf ("job %s is not held by worker w2", a);
    cr_assert_str_eq (err.text, expected);
    zstr_free (&expected);
    cr_assert_eq (zjob_manager_fail (manager, a, "w2", "x", "y", &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_progress (manager, a, "w2", 0.1f, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_manager_complete (manager, "unknown", "w1", NULL, 0, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_fail (manager, "unknown", "w1", "x", "y", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_progress (manager, "unknown", "w1", 0.1f, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  Progress, then bad outputs (400, still running), then complete
    cr_assert_eq (zjob_manager_progress (manager, a, "w1", 0.25f, "a quarter", &err), 0, "%s", err.text);
    zjob_job_t *job = s_get (manager, a);
    cr_assert_float_eq (job->progress, 0.25f, 1e-6);
    cr_assert_str_eq (job->progress_message, "a quarter");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_progress (manager, a, "w1", 1.5f, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    const uint8_t not_a_map [] = { 0x01 };
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", not_a_map, 1, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->outputs.size, 0);
    cr_assert_float_eq (job->progress, 0.25f, 1e-6);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), 0,
                  "%s", err.text);
    job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_float_eq (job->progress, 1.0f, 1e-6);
    cr_assert_eq (job->outputs.size, sizeof (s_outputs));
    cr_assert_eq (memcmp (job->outputs.data, s_outputs, sizeof (s_outputs)), 0);
    cr_assert_geq (job->completed_at, job->started_at);
    cr_assert_geq (job->execution_ms, 0);
    zjob_job_destroy (&job);
    //  Twice is a conflict
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  Fail
    cr_assert_eq (zjob_manager_fail (manager, b, "w2", "timeout", "took too long", &err), 0, "%s", err.text);
    job = s_get (manager, b);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "timeout");
    cr_assert_str_eq (job->error_message, "took too long");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_progress (manager, b, "w2", 0.5f, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    s_assert_heard (&log, 0, ZJOB_EVENT_PROGRESS, a, ZJOB_RUNNING, ZJOB_RUNNING);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, a, ZJOB_RUNNING, ZJOB_COMPLETED);
    s_assert_heard (&log, 2, ZJOB_EVENT_STATUS, b, ZJOB_RUNNING, ZJOB_FAILED);
    cr_assert_eq (log.count, 3);
    cr_assert_eq (zjob_manager_active (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, results)
{
    zjob_manager_t *manager = s_manager (0);
    char done [ZJOB_ID_LEN + 1], failed [ZJOB_ID_LEN + 1], running [ZJOB_ID_LEN + 1];
    char cancelled [ZJOB_ID_LEN + 1], created [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, done);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, failed);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, running);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, cancelled);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, created);
    s_take (manager, "w", id);
    s_take (manager, "w", id);
    s_take (manager, "w", id);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_complete (manager, done, "w", s_outputs, sizeof (s_outputs), &err), 0);
    cr_assert_eq (zjob_manager_fail (manager, failed, "w", "bad_input", "no such file", &err), 0);
    cr_assert_eq (zjob_manager_cancel (manager, cancelled, &err), 0);

    zjob_job_t *job = zjob_manager_results (manager, done, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->outputs.size, sizeof (s_outputs));
    zjob_job_destroy (&job);
    job = zjob_manager_results (manager, failed, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->error_kind, "bad_input");
    cr_assert_str_eq (job->error_message, "no such file");
    zjob_job_destroy (&job);

    cr_assert_null (zjob_manager_results (manager, running, &err));
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    char *expected = zsys_sprintf ("job %s is running; results exist once it completes or fails",
                                   running);
    cr_assert_str_eq (err.text, expected);
    zstr_free (&expected);
    cr_assert_null (zjob_manager_results (manager, created, &err));
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "is created"), "%s", err.text);
    cr_assert_null (zjob_manager_results (manager, cancelled, &err));
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "cancelled"), "%s", err.text);
    cr_assert_null (zjob_manager_results (manager, "unknown", &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    zjob_manager_destroy (&manager);
}

Test (manager, delete)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    char running [ZJOB_ID_LEN + 1], created [ZJOB_ID_LEN + 1], queued [ZJOB_ID_LEN + 1];
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, running);
    s_take (manager, "w", id);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, created);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, queued);
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };

    //  A running job is cancelled first, then deleted
    cr_assert_eq (zjob_manager_delete (manager, running, &err), 0, "%s", err.text);
    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, running, ZJOB_RUNNING, ZJOB_CANCELLED);
    s_assert_heard (&log, 1, ZJOB_EVENT_DELETED, running, ZJOB_CANCELLED, ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_null (zjob_manager_get (manager, running, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_manager_complete (manager, running, "w", NULL, 0, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  A created job is deleted outright; a queued one leaves the queue
    cr_assert_eq (zjob_manager_delete (manager, created, &err), 0, "%s", err.text);
    s_assert_heard (&log, 2, ZJOB_EVENT_DELETED, created, ZJOB_CREATED, ZJOB_CREATED);
    cr_assert_eq (zjob_manager_delete (manager, queued, &err), 0, "%s", err.text);
    s_assert_heard (&log, 3, ZJOB_EVENT_STATUS, queued, ZJOB_QUEUED, ZJOB_CANCELLED);
    s_assert_heard (&log, 4, ZJOB_EVENT_DELETED, queued, ZJOB_CANCELLED, ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w"));
    cr_assert_eq (log.count, 5);

    cr_assert_eq (zjob_manager_delete (manager, queued, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Listing

#define LIST_JOBS 12

//  A store holding LIST_JOBS jobs with known fields: job i was created at
//  base + i * 1000, updated at base + (LIST_JOBS - i) * 10, in workflow
//  "even"/"odd", user "u<i%3>", priority i%4, tagged "all" and, for even
//  i, "even"; statuses cycle through created, queued, paused, completed,
//  failed, cancelled.
static const int s_list_status [] = {
    ZJOB_CREATED, ZJOB_QUEUED, ZJOB_PAUSED, ZJOB_COMPLETED, ZJOB_FAILED, ZJOB_CANCELLED
};
static const int64_t s_base = 1700000000000LL;

static zjob_manager_t *
s_list_manager (char ids [LIST_JOBS][ZJOB_ID_LEN + 1])
{
    zjob_store_t *store = zjob_store_memory_new ();
    for (int index = 0; index < LIST_JOBS; index++) {
        const char *tags [] = { "all", "even" };
        char user [8];
        snprintf (user, sizeof (user), "u%d", index % 3);
        zjob_spec_t spec = s_spec (index % 2? "odd": "even", (zjob_priority_t) (index % 4));
        spec.user_id = user;
        spec.tags = tags;
        spec.tag_count = index % 2? 1: 2;
        zjob_error_t err = { 0, "" };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        job->created_at = s_base + index * 1000;
        job->status = (uint8_t) s_list_status [index % 6];
        if (zjob_status_terminal ((zjob_status_t) job->status))
            job->completed_at = s_base + index * 1000 + 1;
        if (job->status == ZJOB_QUEUED)
            job->queued_at = job->created_at;
        job->updated_at = s_base + (LIST_JOBS - index) * 10;
        strcpy (ids [index], job->id);
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    return s_manager_over (store, 0);
}

//  Index (in creation order) of the listed job with id
static int
s_index_of (char ids [LIST_JOBS][ZJOB_ID_LEN + 1], const char *id)
{
    for (int index = 0; index < LIST_JOBS; index++)
        if (streq (ids [index], id))
            return index;
    cr_assert_fail ("unexpected job %s", id);
    return -1;
}

static void
s_list (zjob_manager_t *manager, const zjob_query_t *query, zjob_job_t ***jobs_p,
        size_t *count_p, size_t *total_p)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_list (manager, query, jobs_p, count_p, total_p, &err), 0,
                  "%s", err.text);
    cr_assert_not_null (*jobs_p);
}

static void
s_list_free (zjob_job_t ***jobs_p, size_t count)
{
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&(*jobs_p) [index]);
    free (*jobs_p);
    *jobs_p = NULL;
}

//  The jobs a filter matches, as a bit set of creation indexes
static unsigned
s_matches (zjob_manager_t *manager, char ids [LIST_JOBS][ZJOB_ID_LEN + 1],
           const zjob_filter_t *filter)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter = *filter;
    zjob_job_t **jobs;
    size_t count, total;
    s_list (manager, &query, &jobs, &count, &total);
    cr_assert_eq (count, total);
    unsigned set = 0;
    for (size_t index = 0; index < count; index++) {
        cr_assert (zjob_filter_match (filter, jobs [index]));
        set |= 1u << s_index_of (ids, jobs [index]->id);
    }
    s_list_free (&jobs, count);
    return set;
}

Test (manager, list_filters)
{
    char ids [LIST_JOBS][ZJOB_ID_LEN + 1];
    zjob_manager_t *manager = s_list_manager (ids);
    zjob_filter_t filter;

    memset (&filter, 0, sizeof (filter));
    cr_assert_eq (s_matches (manager, ids, &filter), (1u << LIST_JOBS) - 1);

    //  Status set: created or failed -> 0, 4, 6, 10
    filter.status_mask = (1u << ZJOB_CREATED) | (1u << ZJOB_FAILED);
    cr_assert_eq (s_matches (manager, ids, &filter), 0x451u, "status set");

    memset (&filter, 0, sizeof (filter));
    filter.workflow_id = "odd";
    cr_assert_eq (s_matches (manager, ids, &filter), 0xAAAu, "workflow");

    memset (&filter, 0, sizeof (filter));
    filter.user_id = "u1";
    cr_assert_eq (s_matches (manager, ids, &filter), 0x492u, "user");    //  1, 4, 7, 10

    memset (&filter, 0, sizeof (filter));
    const char *tags [] = { "all", "even" };
    filter.tags = tags;
    filter.tag_count = 2;
    cr_assert_eq (s_matches (manager, ids, &filter), 0x555u, "all the tags");
    filter.tag_count = 1;
    cr_assert_eq (s_matches (manager, ids, &filter), 0xFFFu, "one tag");

    //  Exclusive bounds: created after job 2, before job 6 -> 3, 4, 5
    memset (&filter, 0, sizeof (filter));
    filter.created_after = s_base + 2000;
    filter.created_before = s_base + 6000;
    cr_assert_eq (s_matches (manager, ids, &filter), 0x38u, "created window");

    //  Together: odd workflow, user u1, created after job 2 -> 7
    memset (&filter, 0, sizeof (filter));
    filter.workflow_id = "odd";
    filter.user_id = "u1";
    filter.created_after = s_base + 2000;
    cr_assert_eq (s_matches (manager, ids, &filter), 0x80u, "conjunction");

    //  Invalid queries
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    zjob_job_t **jobs = NULL;
    size_t count = 0, total = 0;
    zjob_error_t err = { 0, "" };
    query.filter.status_mask = 1u << 20;
    cr_assert_eq (zjob_manager_list (manager, &query, &jobs, &count, &total, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    query.filter.status_mask = 0;
    query.limit = ZJOB_LIST_LIMIT_MAX + 1;
    cr_assert_eq (zjob_manager_list (manager, &query, &jobs, &count, &total, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (jobs);
    zjob_manager_destroy (&manager);
}

//  The key a sort compares, for checking pairs
static int64_t
s_sort_key (const zjob_job_t *job, zjob_sort_t sort)
{
    switch (sort) {
        case ZJOB_SORT_CREATED:  return job->created_at;
        case ZJOB_SORT_UPDATED:  return job->updated_at;
        case ZJOB_SORT_PRIORITY: return job->priority;
        case ZJOB_SORT_STATUS:   return job->status;
    }
    return 0;
}

Test (manager, list_sort_and_page)
{
    char ids [LIST_JOBS][ZJOB_ID_LEN + 1];
    zjob_manager_t *manager = s_list_manager (ids);
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    zjob_job_t **jobs;
    size_t count, total;

    for (int sort = ZJOB_SORT_CREATED; sort <= ZJOB_SORT_STATUS; sort++) {
        for (int descending = 0; descending < 2; descending++) {
            query.sort_by = (zjob_sort_t) sort;
            query.descending = descending;
            s_list (manager, &query, &jobs, &count, &total);
            cr_assert_eq (count, LIST_JOBS);
            cr_assert_eq (total, LIST_JOBS);
            for (size_t index = 1; index < count; index++) {
                int64_t before = s_sort_key (jobs [index - 1], (zjob_sort_t) sort);
                int64_t after = s_sort_key (jobs [index], (zjob_sort_t) sort);
                if (descending)
                    cr_assert_geq (before, after, "%s descending at %zu", zjob_sort_name (sort), index);
                else
                    cr_assert_leq (before, after, "%s ascending at %zu", zjob_sort_name (sort), index);
            }
            //  Created and updated keys are distinct: the order is exact
            if (sort == ZJOB_SORT_CREATED || sort == ZJOB_SORT_UPDATED) {
                for (size_t index = 0; index < count; index++) {
                    int expected = (sort == ZJOB_SORT_CREATED) != (bool) descending
                                 ? (int) index: LIST_JOBS - 1 - (int) index;
                    cr_assert_str_eq (jobs [index]->id, ids [expected]);
                }
            }
            s_list_free (&jobs, count);
        }
    }

    //  Pages of 5 by creation: 5, 5, 2, then none; together the whole list
    query.sort_by = ZJOB_SORT_CREATED;
    query.descending = false;
    query.limit = 5;
    for (size_t offset = 0; offset <= 15; offset += 5) {
        query.offset = offset;
        s_list (manager, &query, &jobs, &count, &total);
        cr_assert_eq (total, LIST_JOBS);
        size_t expected = offset >= LIST_JOBS? 0: LIST_JOBS - offset < 5? LIST_JOBS - offset: 5;
        cr_assert_eq (count, expected, "offset %zu", offset);
        for (size_t index = 0; index < count; index++)
            cr_assert_str_eq (jobs [index]->id, ids [offset + index]);
        s_list_free (&jobs, count);
    }
    //  Paging with a filter: total is the number matching
    query.offset = 1;
    query.limit = 2;
    query.filter.workflow_id = "even";
    s_list (manager, &query, &jobs, &count, &total);
    cr_assert_eq (total, 6);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (jobs [0]->id, ids [2]);
    cr_assert_str_eq (jobs [1]->id, ids [4]);
    s_list_free (&jobs, count);

    //  A NULL query lists everything; total_p may be NULL
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_list (manager, NULL, &jobs, &count, NULL, &err), 0);
    cr_assert_eq (count, LIST_JOBS);
    s_list_free (&jobs, count);
    zjob_manager_destroy (&manager);
}


//  A reference for paging: every matching job, fully sorted with qsort
static const zjob_query_t *s_ref_query;

static int
s_ref_compare (const void *a, const void *b)
{
    return zjob_job_compare (*(zjob_job_t *const *) a, *(zjob_job_t *const *) b,
                             s_ref_query->sort_by, s_ref_query->descending);
}

typedef struct {
    const zjob_filter_t *filter;
    zjob_job_t **jobs;
    size_t count;
} s_ref_t;

static int
s_ref_visit (zjob_job_t *job, void *arg)
{
    s_ref_t *ref = (s_ref_t *) arg;
    if (zjob_filter_match (ref->filter, job))
        ref->jobs [ref->count++] = zjob_job_ref (job);
    return 0;
}

//  The page must be exactly the reference's [offset, offset + limit)
static void
s_check_page (zjob_manager_t *manager, const zjob_query_t *query,
              zjob_job_t **sorted, size_t matching)
{
    zjob_job_t **jobs;
    size_t count, total;
    s_list (manager, query, &jobs, &count, &total);
    size_t limit = query->limit? query->limit: ZJOB_LIST_LIMIT_MAX;
    size_t first = query->offset < matching? query->offset: matching;
    size_t expected = matching - first < limit? matching - first: limit;
    cr_assert_eq (total, matching);
    cr_assert_eq (count, expected, "%s %s offset %zu limit %zu: %zu jobs, not %zu",
                  zjob_sort_name (query->sort_by), query->descending? "desc": "asc",
                  query->offset, query->limit, count, expected);
    for (size_t index = 0; index < count; index++)
        cr_assert_str_eq (jobs [index]->id, sorted [first + index]->id,
                          "%s %s offset %zu limit %zu: job %zu differs",
                          zjob_sort_name (query->sort_by), query->descending? "desc": "asc",
                          query->offset, query->limit, index);
    s_list_free (&jobs, count);
}

//  Pages taken by bounded selection equal pages of a full sort, for every
//  key and order, with heavy ties (broken by id), filtered or not
Test (manager, list_pages_equal_a_full_sort)
{
    #define PAGE_JOBS 600
    zjob_store_t *store = zjob_store_memory_new ();
    unsigned seed = 12345;
    for (int index = 0; index < PAGE_JOBS; index++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        zjob_spec_t spec = s_spec (r % 3? "busy": "rare", (zjob_priority_t) (r % 4));
        zjob_error_t err = { 0, "" };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        //  Few distinct times: most comparisons fall to the id
        job->created_at = s_base + (r / 7) % 40;
        job->updated_at = s_base + (r / 11) % 25;
        job->status = (uint8_t) s_list_status [(r / 13) % 6];
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    zjob_manager_t *manager = s_manager_over (store, 0);

    const struct { size_t offset, limit; } pages [] = {
        { 0, 0 }, { 0, 1 }, { 0, 20 }, { 1, 1 }, { 5, 17 }, { 99, 1 }, { 250, 100 },
        { 390, 20 }, { 395, 10 }, { 399, 1 }, { 400, 5 }, { 580, 30 }, { 599, 1 },
        { 599, 2 }, { 600, 1 }, { 601, 10 }, { 5000, 3 }, { SIZE_MAX - 5, 10 },
        { 0, ZJOB_LIST_LIMIT_MAX }, { 10, ZJOB_LIST_LIMIT_MAX }
    };
    zjob_filter_t filters [2];
    memset (filters, 0, sizeof (filters));
    filters [1].workflow_id = "busy";
    zjob_job_t **sorted = (zjob_job_t **) calloc (PAGE_JOBS, sizeof (zjob_job_t *));
    cr_assert_not_null (sorted);
    for (int which = 0; which < 2; which++) {
        for (int sort = ZJOB_SORT_CREATED; sort <= ZJOB_SORT_STATUS; sort++) {
            for (int descending = 0; descending < 2; descending++) {
                zjob_query_t query;
                memset (&query, 0, sizeof (query));
                query.filter = filters [which];
                query.sort_by = (zjob_sort_t) sort;
                query.descending = descending;
                s_ref_t ref = { &query.filter, sorted, 0 };
                zjob_store_iterate (zjob_manager_store (manager), NULL, s_ref_visit, &ref);
                cr_assert (which? ref.count < PAGE_JOBS && ref.count > PAGE_JOBS / 2
                                : ref.count == PAGE_JOBS);
                s_ref_query = &query;
                qsort (sorted, ref.count, sizeof (zjob_job_t *), s_ref_compare);
                for (size_t page = 0; page < sizeof (pages) / sizeof (pages [0]); page++) {
                    query.offset = pages [page].offset;
                    query.limit = pages [page].limit;
                    s_check_page (manager, &query, sorted, ref.count);
                }
                //  Around the end of this selection's total, and at random
                for (size_t offset = ref.count - 3; offset <= ref.count + 1; offset++) {
                    query.offset = offset;
                    query.limit = 2;
                    s_check_page (manager, &query, sorted, ref.count);
                }
                for (int trial = 0; trial < 20; trial++) {
                    seed = seed * 1103515245u + 12345u;
                    query.offset = (seed >> 8) % (PAGE_JOBS + 10);
                    query.limit = 1 + (seed >> 20) % 50;
                    s_check_page (manager, &query, sorted, ref.count);
                }
                for (size_t index = 0; index < ref.count; index++)
                    zjob_job_destroy (&sorted [index]);
            }
        }
    }
    free (sorted);
    zjob_manager_destroy (&manager);
    #undef PAGE_JOBS
}


//  --------------------------------------------------------------------------
//  Counts per workflow

#define TALLY_WORKFLOWS 5
static const char *s_tally_names [TALLY_WORKFLOWS] = { "w0", "w1", "w2", "w3", "w4" };

static int
s_tally_index (const char *workflow)
{
    for (int index = 0; index < TALLY_WORKFLOWS; index++)
        if (streq (s_tally_names [index], workflow))
            return index;
    cr_assert_fail ("unexpected workflow %s", workflow);
    return -1;
}

typedef struct {
    size_t counts [TALLY_WORKFLOWS][ZJOB_STATUS_COUNT];
    bool seen [TALLY_WORKFLOWS];
} s_tally_t;

static int
s_recount_visit (zjob_job_t *job, void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    int index = s_tally_index (job->workflow_id);
    tally->counts [index][job->status]++;
    tally->seen [index] = true;
    return 0;
}

static void
s_tally_heard (const char *workflow_id, const size_t counts [ZJOB_STATUS_COUNT], void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    int index = s_tally_index (workflow_id);
    cr_assert_not (tally->seen [index], "workflow %s heard twice", workflow_id);
    tally->seen [index] = true;
    size_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        tally->counts [index][status] = counts [status];
        total += counts [status];
    }
    cr_assert_gt (total, 0, "workflow %s heard with no jobs", workflow_id);
}

//  The manager's counts per workflow equal a full recount of the store,
//  and add up to zjob_manager_counts
static void
s_assert_tallies (zjob_manager_t *manager, const char *when)
{
    s_tally_t recount, heard;
    memset (&recount, 0, sizeof (recount));
    memset (&heard, 0, sizeof (heard));
    zjob_store_iterate (zjob_manager_store (manager), NULL, s_recount_visit, &recount);
    int workflows = zjob_manager_workflow_counts (manager, s_tally_heard, &heard);
    size_t expected = 0;
    for (int index = 0; index < TALLY_WORKFLOWS; index++)
        expected += recount.seen [index];
    cr_assert_eq ((size_t) workflows, expected, "%s: %d workflows, not %zu", when,
                  workflows, expected);
    cr_assert_eq (zjob_manager_workflows (manager), expected, "%s", when);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        size_t sum = 0;
        for (int index = 0; index < TALLY_WORKFLOWS; index++) {
            cr_assert_eq (heard.counts [index][status], recount.counts [index][status],
                          "%s: workflow %s, %s: %zu counted, %zu stored", when,
                          s_tally_names [index], zjob_status_name ((zjob_status_t) status),
                          heard.counts [index][status], recount.counts [index][status]);
            sum += heard.counts [index][status];
        }
        cr_assert_eq (sum, counts [status], "%s: %s", when,
                      zjob_status_name ((zjob_status_t) status));
    }
    s_assert_counts (manager);
}

Test (manager, workflow_counts_follow_every_operation, .fini = s_tmpdir_fini)
{
    #define TALLY_IDS 1200
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    s_assert_tallies (manager, "empty");
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (TALLY_IDS, ZJOB_ID_LEN + 1);
    cr_assert_not_null (ids);
    size_t id_count = 0;
    unsigned seed = 4242;
    int64_t now = zjob_clock_ms ();
    int reopened = 0, cleaned = 0;
    bool reached [ZJOB_STATUS_COUNT] = { false };
    size_t counts [ZJOB_STATUS_COUNT];
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        const char *workflow = s_tally_names [r % TALLY_WORKFLOWS];
        const char *id = id_count? ids [(r / 7) % id_count]: "none";
        const char *worker = (r / 3) % 2? "wa": "wb";
        unsigned op = (r / 11) % 100;
        zjob_error_t err = { 0, "" };
        if (op < 25 && id_count < TALLY_IDS - 3) {
            zjob_spec_t spec = s_spec (workflow, (zjob_priority_t) ((r / 5) % 4));
            //  Some wait for their run_at (the scheduled set)
            if (op < 4)
                spec.run_at = now + 3600 * 1000;
            if (op % 5 == 0) {
                zjob_spec_t specs [3] = { spec, s_spec (s_tally_names [(r / 13) % TALLY_WORKFLOWS],
                                                         ZJOB_PRIORITY_MEDIUM), spec };
                zjob_job_t *made [3];
                cr_assert_eq (zjob_manager_create_batch (manager, specs, 3, op % 2, made, &err),
                              0, "%s", err.text);
                for (int index = 0; index < 3; index++) {
                    strcpy (ids [id_count++], made [index]->id);
                    zjob_job_destroy (&made [index]);
                }
            }
            else
                s_create (manager, workflow, (zjob_priority_t) ((r / 5) % 4), op % 2,
                          ids [id_count++]);
        }
        else
        if (op < 35)
            zjob_manager_start (manager, id, &err);
        else
        if (op < 50) {
            zjob_job_t *job = zjob_manager_take (manager, NULL, 0, worker);
            zjob_job_destroy (&job);
        }
        else
        if (op < 60)
            zjob_manager_complete (manager, id, worker, s_outputs, sizeof (s_outputs), &err);
        else
        if (op < 65)
            zjob_manager_fail (manager, id, worker, "boom", "it broke", &err);
        else
        if (op < 68)
            zjob_manager_finish (manager, id, worker, NULL, 0, r % 2, s_outputs,
                                 sizeof (s_outputs), "boom", "late", &err);
        else
        if (op < 72)
            zjob_manager_pause (manager, id, &err);
        else
        if (op < 76)
            zjob_manager_resume (manager, id, &err);
        else
        if (op < 81)
            zjob_manager_cancel (manager, id, &err);
        else
        if (op < 84)
            zjob_manager_requeue (manager, id, &err);
        else
        if (op < 86) {
            zjob_job_t *job = zjob_manager_adopt (manager, id, worker, &err);
            zjob_job_destroy (&job);
        }
        else
        if (op < 94)
            zjob_manager_delete (manager, id, &err);
        else
        if (op < 96) {
            //  Far enough ahead that every terminal job has expired
            int deleted = zjob_manager_cleanup (manager, now + 3 * ZJOB_RETENTION_DEFAULT_MS, &err);
            cr_assert_geq (deleted, 0, "%s", err.text);
            cleaned += deleted;
        }
        else
        if (op < 97 || step == 1500) {
            //  Recovery: running jobs go back to the queue, held paused
            //  ones are let go, and the counts are rebuilt from the store
            s_assert_tallies (manager, "before reopening");
            zjob_manager_destroy (&manager);
            manager = s_manager_over (s_file_store (s_dir), 0);
            reopened++;
            s_assert_tallies (manager, "after reopening");
        }
        else
            zjob_manager_promote (manager, now + 7200 * 1000);
        if (step % 100 == 0)
            s_assert_tallies (manager, "during the run");
        zjob_manager_counts (manager, counts);
        for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
            reached [status] |= counts [status] > 0;
    }
    s_assert_tallies (manager, "at the end");
    cr_assert_gt (reopened, 2);
    cr_assert_gt (cleaned, 0);
    //  Every status was reached on the way
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        cr_assert (reached [status], "no job was %s", zjob_status_name ((zjob_status_t) status));

    //  A workflow whose last job goes is dropped
    for (size_t index = 0; index < id_count; index++)
        zjob_manager_delete (manager, ids [index], NULL);
    s_assert_tallies (manager, "all deleted");
    cr_assert_eq (zjob_manager_workflows (manager), 0);
    free (ids);
    zjob_manager_destroy (&manager);
    #undef TALLY_IDS
}

//  A create the store refuses leaves no workflow behind
Test (manager, workflow_counts_after_refused_creates)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w0", ZJOB_PRIORITY_MEDIUM, true, id);
    flaky->refuse_put = true;
    zjob_spec_t specs [2] = { s_spec ("w1", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("w0", ZJOB_PRIORITY_HIGH) };
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &specs [0], true, &err);
    cr_assert_null (job);
    zjob_job_t *made [2];
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 2, false, made, &err), -1);
    s_assert_tallies (manager, "refused");
    cr_assert_eq (zjob_manager_workflows (manager), 1);
    flaky->refuse_put = false;
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 2, false, made, &err), 0, "%s",
                  err.text);
    zjob_job_destroy (&made [0]);
    zjob_job_destroy (&made [1]);
    s_assert_tallies (manager, "accepted");
    cr_assert_eq (zjob_manager_workflows (manager), 2);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Cleanup

Test (manager, cleanup_only_old_terminal_jobs)
{
    const int64_t retention = 60 * 1000;
    int64_t now = zjob_clock_ms ();
    //  Old and recent jobs of every status, put into the store directly
    zjob_store_t *store = zjob_store_memory_new ();
    char ids [ZJOB_STATUS_COUNT][2][ZJOB_ID_LEN + 1];
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        for (int old = 0; old < 2; old++) {
            zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
            zjob_error_t err = { 0, "" };
            zjob_job_t *job = zjob_job_new (&spec, &err);
            cr_assert_not_null (job);
            job->status = (uint8_t) status;
            job->held = status == ZJOB_RUNNING;
            //  Non-terminal jobs too carry an old date, to show it is ignored
            job->completed_at = old? now - 2 * retention: now - retention / 2;
            job->created_at = job->updated_at = job->completed_at - 1000;
            strcpy (ids [status][old], job->id);
            cr_assert_eq (zjob_store_put (store, job, &err), 0);
            zjob_job_destroy (&job);
        }
    }
    zjob_manager_config_t config = { 0, retention };
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);

    cr_assert_eq (zjob_manager_cleanup (manager, now, &err), 3, "%s", err.text);
    cr_assert_eq (log.count, 3);
    for (size_t index = 0; index < log.count; index++) {
        cr_assert_eq (log.heard [index].event, ZJOB_EVENT_DELETED);
        cr_assert (zjob_status_terminal (log.heard [index].status));
    }
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        bool terminal = zjob_status_terminal ((zjob_status_t) status);
        cr_assert_eq (zjob_manager_status (manager, ids [status][1], NULL) < 0, terminal,
                      "old %s job", zjob_status_name (status));
        cr_assert_geq (zjob_manager_status (manager, ids [status][0], NULL), 0,
                       "recent %s job", zjob_status_name (status));
    }
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 11);
    s_assert_counts (manager);

    //  Nothing more to do now; an hour later the rest of the terminal jobs go
    cr_assert_eq (zjob_manager_cleanup (manager, now, &err), 0);
    cr_assert_eq (zjob_manager_cleanup (manager, now + 3600 * 1000, &err), 3);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 8);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_COMPLETED] + counts [ZJOB_FAILED] + counts [ZJOB_CANCELLED], 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, cleanup_default_retention)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, id);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_cancel (manager, id, &err), 0);
    int64_t now = zjob_clock_ms ();
    cr_assert_eq (zjob_manager_cleanup (manager, now + ZJOB_RETENTION_DEFAULT_MS - 1000, &err), 0);
    cr_assert_eq (zjob_manager_cleanup (manager, now + ZJOB_RETENTION_DEFAULT_MS + 1000, &err), 1);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  A store that refuses: nothing changes

Test (manager, refused_put_changes_nothing)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, a);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, b);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, a);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };

    flaky->refuse_put = true;
    //  A take the store refuses gives nothing and leaves b queued
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w2"));
    zjob_job_t *job = s_get (manager, b);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0);
    cr_assert_null (job->worker_id);
    cr_assert_eq (job->started_at, 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_active (manager), 1);

    //  Complete, fail, pause, cancel, requeue, progress all refused
    job = s_get (manager, a);
    int64_t updated_at = job->updated_at;
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert_eq (zjob_manager_fail (manager, a, "w1", "k", "m", &err), -1);
    cr_assert_eq (zjob_manager_progress (manager, a, "w1", 0.5f, "half", &err), -1);
    cr_assert_eq (zjob_manager_pause (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_cancel (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_requeue (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_pause (manager, b, &err), -1);
    cr_assert_eq (zjob_manager_delete (manager, b, &err), -1);
    job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->held, 1);
    cr_assert_eq (job->outputs.size, 0);
    cr_assert_null (job->error_kind);
    cr_assert_null (job->progress_message);
    cr_assert_float_eq (job->progress, 0.0f, 1e-6);
    cr_assert_eq (job->completed_at, 0);
    cr_assert_eq (job->updated_at, updated_at);
    cr_assert_str_eq (job->worker_id, "w1");
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (manager, b), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_active (manager), 1);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (log.count, 0, "nothing heard");
    s_assert_counts (manager);

    //  A refused remove: the cancelled job stays (cancelled), not heard deleted
    flaky->refuse_put = false;
    flaky->refuse_remove = true;
    cr_assert_eq (zjob_manager_delete (manager, b, &err), -1);
    cr_assert_eq (s_status (manager, b), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    flaky->refuse_remove = false;

    //  Accepted again: the same calls work
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), 0,
                  "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_put_refused)
{
    s_flaky_t *flaky;
    zjob_store_t *store = s_flaky_new (&flaky);
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    job->status = ZJOB_RUNNING;
    job->held = 1;
    job->attempts = 1;
    cr_assert_eq (zjob_store_put (store, job, &err), 0);
    zjob_job_destroy (&job);
    flaky->refuse_put = true;
    zjob_manager_t *manager = zjob_manager_new (&store, NULL, &err);
    cr_assert_null (manager);
    cr_assert_null (store, "the store is the manager's either way");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
}


//  --------------------------------------------------------------------------
//  Recovery from a file store

Test (manager, recovery_after_crash, .fini = s_tmpdir_fini)
{
    char *dir = s_dir = s_tmpdir ();
    char c1 [ZJOB_ID_LEN + 1], h1 [ZJOB_ID_LEN + 1], h2 [ZJOB_ID_LEN + 1];
    char m1 [ZJOB_ID_LEN + 1], l1 [ZJOB_ID_LEN + 1], y1 [ZJOB_ID_LEN + 1];
    char done [ZJOB_ID_LEN + 1], created [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };

    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    s_create (manager, "x", ZJOB_PRIORITY_LOW, true, l1);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, m1);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, h1);
    s_create (manager, "x", ZJOB_PRIORITY_CRITICAL, true, c1);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, h2);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, done);
    s_create (manager, "x", ZJOB_PRIORITY_LOW, false, created);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, c1);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, h1);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, h2);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, done);
    cr_assert_eq (zjob_manager_complete (manager, done, "w1", s_outputs, sizeof (s_outputs), &err), 0);
    cr_assert_eq (zjob_manager_pause (manager, h2, &err), 0);
    cr_assert_eq (zjob_manager_progress (manager, h1, "w1", 0.5f, "half", &err), 0);
    //  A medium job of another workflow, taken later than m1 was queued:
    //  it goes back ahead of m1
    s_create (manager, "y", ZJOB_PRIORITY_MEDIUM, true, y1);
    const char *only_y [] = { "y" };
    zjob_job_t *job = zjob_manager_take (manager, only_y, 1, "w2");
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, y1);
    zjob_job_destroy (&job);

    //  The process dies: what was written is synced, nothing completes
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (dir), 0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 5);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], 5);
    cr_assert_eq (counts [ZJOB_PAUSED], 1);
    cr_assert_eq (counts [ZJOB_COMPLETED], 1);
    cr_assert_eq (counts [ZJOB_CREATED], 1);
    cr_assert_eq (counts [ZJOB_RUNNING], 0);
    s_assert_counts (manager);

    //  Running jobs are queued again, attempts as counted at dispatch
    job = s_get (manager, h1);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->held, 0);
    cr_assert_eq (job->attempts, 1);
    cr_assert_float_eq (job->progress, 0.5f, 1e-6);
    zjob_job_destroy (&job);
    //  The held paused job stays paused, let go
    job = s_get (manager, h2);
    cr_assert_eq (job->status, ZJOB_PAUSED);
    cr_assert_eq (job->held, 0);
    zjob_job_destroy (&job);
    job = zjob_manager_results (manager, done, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->outputs.size, sizeof (s_outputs));
    zjob_job_destroy (&job);

    //  Taken again in priority order, recovered ones ahead in their priority
    const char *order [] = { c1, h1, y1, m1, l1 };
    for (int index = 0; index < 5; index++) {
        job = zjob_manager_take (manager, NULL, 0, "w3");
        cr_assert_not_null (job, "take %d", index);
        cr_assert_str_eq (job->id, order [index], "take %d", index);
        bool was_running = index < 3;
        cr_assert_eq (job->attempts, was_running? 2: 1, "take %d", index);
        s_assert_heard (&log, index, ZJOB_EVENT_STATUS, order [index], ZJOB_QUEUED, ZJOB_RUNNING);
        zjob_job_destroy (&job);
    }
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w3"));
    cr_assert_eq (zjob_manager_resume (manager, h2, &err), 0, "%s", err.text);
    s_assert_heard (&log, 5, ZJOB_EVENT_STATUS, h2, ZJOB_PAUSED, ZJOB_QUEUED);
    s_take (manager, "w3", id);
    cr_assert_str_eq (id, h2);
    cr_assert_eq (zjob_manager_complete (manager, h2, "w3", s_outputs, sizeof (s_outputs), &err), 0);
    s_assert_heard (&log, 6, ZJOB_EVENT_STATUS, h2, ZJOB_QUEUED, ZJOB_RUNNING);
    s_assert_heard (&log, 7, ZJOB_EVENT_STATUS, h2, ZJOB_RUNNING, ZJOB_COMPLETED);
    cr_assert_eq (log.count, 8);

    //  A second crash: the five taken again are all queued again. Among
    //  jobs put back, the order is (priority, last enqueue, id): y1 was
    //  last enqueued by the first recovery, after m1, so m1 now goes first
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 5);
    cr_assert_eq (s_status (manager, h2), ZJOB_COMPLETED);
    cr_assert_eq (s_status (manager, created), ZJOB_CREATED);
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_RUNNING], 0);
    cr_assert_eq (counts [ZJOB_QUEUED], 5);
    s_assert_counts (manager);
    const char *order2 [] = { c1, h1, m1, y1, l1 };
    const uint32_t attempts2 [] = { 3, 3, 2, 3, 2 };
    for (int index = 0; index < 5; index++) {
        job = zjob_manager_take (manager, NULL, 0, "w4");
        cr_assert_not_null (job, "take %d", index);
        cr_assert_str_eq (job->id, order2 [index], "take %d", index);
        cr_assert_eq (job->attempts, attempts2 [index], "take %d", index);
        zjob_job_destroy (&job);
    }
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_queue_order, .fini = s_tmpdir_fini)
{
    //  Queued jobs come back in (priority, queued_at, id) order, whatever
    //  order the store visits them in
    char *dir = s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    srand (7);
    for (int index = 0; index < 200; index++) {
        char id [ZJOB_ID_LEN + 1];
        s_create (manager, index % 2? "a": "b", (zjob_priority_t) (rand () % 4), true, id);
    }
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_queued (manager), 200);
    int last_priority = ZJOB_PRIORITY_CRITICAL + 1;
    char last_id [ZJOB_ID_LEN + 1] = "";
    zjob_job_t *job;
    size_t taken = 0;
    while ((job = zjob_manager_take (manager, NULL, 0, "w"))) {
        cr_assert_leq (job->priority, last_priority);
        if (job->priority == last_priority)
            cr_assert_lt (strcmp (last_id, job->id), 0);
        last_priority = job->priority;
        strcpy (last_id, job->id);
        taken++;
        zjob_job_destroy (&job);
    }
    cr_assert_eq (taken, 200);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Scheduled jobs: run_at

//  Create a job that is not to start before run_at; its id into id
static void
s_create_at (zjob_manager_t *manager, const char *workflow, zjob_priority_t priority,
             bool auto_start, int64_t run_at, char *id)
{
    zjob_spec_t spec = s_spec (workflow, priority);
    spec.run_at = run_at;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, auto_start, &err);
    cr_assert_not_null (job, "create: %s", err.text);
    cr_assert_eq (job->run_at, run_at);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

//  Nothing can be taken now
static void
s_assert_nothing (zjob_manager_t *manager)
{
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w");
    cr_assert_null (job, "took %s, expected nothing", job? job->id: "");
}

Test (manager, scheduled_job_waits_for_its_time)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    cr_assert_eq (zjob_manager_promote (manager, INT64_MAX), 0);

    //  An hour ahead: queued by status, but not in the ready queue
    int64_t run_at = zjob_clock_ms () + 3600 * 1000;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_create_at (manager, "later", ZJOB_PRIORITY_CRITICAL, true, run_at, id);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    cr_assert_eq (zjob_manager_next_due (manager), run_at);
    s_assert_counts (manager);
    s_assert_nothing (manager);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_promote (manager, run_at - 1), 0, "promoted before its time");
    s_assert_nothing (manager);

    //  Due: promoted once, with no event (its status does not change)
    zjob_job_t *job = s_get (manager, id);
    int64_t queued_at = job->queued_at;
    zjob_job_destroy (&job);
    size_t heard = log.count;
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 0);
    cr_assert_eq (log.count, heard, "promotion is not an event");
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    s_assert_counts (manager);
    job = s_get (manager, id);
    cr_assert_eq (job->queued_at, queued_at, "promotion changes nothing stored");
    cr_assert_eq (job->status, ZJOB_QUEUED);
    zjob_job_destroy (&job);
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);

    //  By the real clock: take promotes by itself once the time has come
    run_at = zjob_clock_ms () + 30;
    s_create_at (manager, "soon", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    int64_t deadline = zjob_mono_ms () + 5000;
    while (true) {
        int64_t before = zjob_clock_ms ();
        if ((job = zjob_manager_take (manager, NULL, 0, "w")))
            break;
        //  Nothing only while the clock had not reached run_at
        cr_assert_lt (before, run_at, "due at %" PRId64 ", not taken at %" PRId64,
                      run_at, before);
        cr_assert_eq (zjob_manager_scheduled (manager), 1);
        cr_assert_lt (zjob_mono_ms (), deadline, "the job never became due");
    }
    int64_t taken_at = zjob_clock_ms ();
    cr_assert_str_eq (job->id, id);
    cr_assert_geq (taken_at, run_at, "taken %" PRId64 " ms early", run_at - taken_at);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);

    //  run_at already past, or 0: ready at once
    s_create_at (manager, "past", ZJOB_PRIORITY_LOW, true, zjob_clock_ms () - 1000, id);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, scheduled_jobs_become_due_in_run_at_order)
{
    zjob_manager_t *manager = s_manager (0);
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    //  Created out of order; two share a run_at (creation order breaks it)
    const int64_t offsets [] = { 300, 100, 200, 100, 50 };
    const size_t expected [] = { 4, 1, 3, 2, 0 };
    char ids [5][ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < 5; index++)
        s_create_at (manager, index % 2? "a": "b", ZJOB_PRIORITY_MEDIUM, true,
                     base + offsets [index], ids [index]);
    cr_assert_eq (zjob_manager_scheduled (manager), 5);
    cr_assert_eq (zjob_manager_next_due (manager), base + 50);

    //  Partial promotion: only what is due
    cr_assert_eq (zjob_manager_promote (manager, base + 100), 3);
    cr_assert_eq (zjob_manager_queued (manager), 3);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_next_due (manager), base + 200);
    s_assert_counts (manager);
    //  A job queued now, between two promotions, is served between them
    char now_id [ZJOB_ID_LEN + 1];
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, now_id);
    cr_assert_eq (zjob_manager_promote (manager, base + 1000), 2);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    for (size_t index = 0; index < 6; index++) {
        s_take (manager, "w", id);
        const char *want = index < 3? ids [expected [index]]
                         : index == 3? now_id: ids [expected [index - 1]];
        cr_assert_str_eq (id, want, "take %zu", index);
    }
    s_assert_nothing (manager);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, priority_order_applies_once_due)
{
    zjob_manager_t *manager = s_manager (0);
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char low [ZJOB_ID_LEN + 1], critical [ZJOB_ID_LEN + 1], medium [ZJOB_ID_LEN + 1];
    char high [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base, low);
    s_create_at (manager, "x", ZJOB_PRIORITY_CRITICAL, true, base + 10, critical);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, medium);
    s_create_at (manager, "x", ZJOB_PRIORITY_HIGH, true, base + 20, high);
    //  Before they are due, a scheduled critical job does not block the rest
    s_take (manager, "w", id);
    cr_assert_str_eq (id, medium);
    s_assert_nothing (manager);
    //  Once due, priority first, then the order they became due
    char again [ZJOB_ID_LEN + 1];
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, again);
    cr_assert_eq (zjob_manager_promote (manager, base + 20), 3);
    const char *order [] = { critical, high, again, low };
    for (size_t index = 0; index < 4; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    //  take_before sees a promoted job as enqueued at its promotion
    char late [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 30, late);
    uint64_t durable = zjob_manager_seq (manager);
    cr_assert_eq (zjob_manager_promote (manager, base + 30), 1);
    cr_assert_null (zjob_manager_take_before (manager, NULL, 0, "w", durable));
    zjob_job_t *job = zjob_manager_take_before (manager, NULL, 0, "w", zjob_manager_seq (manager));
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, late);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, pause_cancel_delete_of_scheduled_jobs)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char paused [ZJOB_ID_LEN + 1], cancelled [ZJOB_ID_LEN + 1], deleted [ZJOB_ID_LEN + 1];
    char kept [ZJOB_ID_LEN + 1], started [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 1, paused);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 2, cancelled);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 3, deleted);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 4, kept);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, false, base + 5, started);
    cr_assert_eq (zjob_manager_scheduled (manager), 4);
    cr_assert_eq (s_status (manager, started), ZJOB_CREATED);

    //  Pause takes the job out of the schedule, resume puts it back
    cr_assert_eq (zjob_manager_pause (manager, paused, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 3);
    cr_assert_eq (zjob_manager_next_due (manager), base + 2);
    cr_assert_eq (zjob_manager_resume (manager, paused, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, paused), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_scheduled (manager), 4);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), base + 1);
    //  Start of a created job respects its run_at
    cr_assert_eq (zjob_manager_start (manager, started, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 5);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    //  Cancel and delete: gone from the schedule
    cr_assert_eq (zjob_manager_cancel (manager, cancelled, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_delete (manager, deleted, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 3);
    s_assert_counts (manager);

    //  Only the live ones are promoted, each once, in run_at order
    size_t heard = log.count;
    cr_assert_eq (zjob_manager_promote (manager, base + 100), 3);
    cr_assert_eq (log.count, heard);
    const char *order [] = { paused, kept, started };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    s_assert_nothing (manager);
    cr_assert_eq (s_status (manager, cancelled), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_status (manager, deleted, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    s_assert_counts (manager);

    //  A job paused until after its run_at is ready at once on resume
    int64_t run_at = zjob_clock_ms () + 20;
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    s_let_time_pass (20);
    cr_assert_eq (zjob_manager_resume (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, schedule_churn_keeps_one_entry_per_job)
{
    //  Many pauses and resumes, and most scheduled jobs cancelled: the
    //  heap drops what went stale, and each live job comes out once
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char churned [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base, churned);
    for (int round = 0; round < 1000; round++) {
        cr_assert_eq (zjob_manager_pause (manager, churned, &err), 0, "%s", err.text);
        cr_assert_eq (zjob_manager_resume (manager, churned, &err), 0, "%s", err.text);
    }
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    #define S_CHURN 500
    static char ids [S_CHURN][ZJOB_ID_LEN + 1];
    for (int index = 0; index < S_CHURN; index++)
        s_create_at (manager, "y", ZJOB_PRIORITY_LOW, true, base + S_CHURN - index, ids [index]);
    for (int index = 0; index < S_CHURN; index++)
        if (index % 10)
            cr_assert_eq (zjob_manager_cancel (manager, ids [index], &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 1 + S_CHURN / 10);
    s_assert_counts (manager);
    cr_assert_eq (zjob_manager_next_due (manager), base);
    cr_assert_eq (zjob_manager_promote (manager, base + S_CHURN), 1 + S_CHURN / 10);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, churned);
    //  The survivors, latest created first (their run_at is earliest)
    for (int index = S_CHURN - 10; index >= 0; index -= 10) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, ids [index]);
    }
    s_assert_nothing (manager);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, requeue_and_adopt_ignore_run_at)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    //  Promoted early (an explicit time), so by the clock run_at is ahead
    int64_t run_at = zjob_clock_ms () + 3600 * 1000;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, id);
    //  The worker is lost: the job is ready again at once
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    s_take (manager, "w2", taken);
    cr_assert_str_eq (taken, id);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);

    //  A scheduled job adopted by a worker that still runs it leaves the
    //  schedule
    char other [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, other);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    s_take (manager, "w3", taken);
    cr_assert_str_eq (taken, other);
    cr_assert_eq (zjob_manager_pause (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_requeue (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, other), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_resume (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 1, "a resume respects run_at");
    job = zjob_manager_adopt (manager, other, "w3", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_promote (manager, INT64_MAX), 0);
    s_assert_nothing (manager);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, scheduled_batch_and_refused_put)
{
    s_flaky_t *flaky = NULL;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    zjob_spec_t specs [3] = { s_spec ("x", ZJOB_PRIORITY_LOW), s_spec ("x", ZJOB_PRIORITY_LOW),
                              s_spec ("x", ZJOB_PRIORITY_LOW) };
    specs [0].run_at = base + 2;
    specs [2].run_at = base + 1;
    zjob_job_t *jobs [3];
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 3, true, jobs, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    s_assert_counts (manager);

    //  A refused pause leaves the job scheduled
    flaky->refuse_put = true;
    cr_assert_eq (zjob_manager_pause (manager, jobs [0]->id, &err), -1);
    flaky->refuse_put = false;
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (s_status (manager, jobs [0]->id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_promote (manager, base + 2), 2);
    char id [ZJOB_ID_LEN + 1];
    const size_t order [] = { 1, 2, 0 };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, jobs [order [index]]->id, "take %zu", index);
    }
    for (size_t index = 0; index < 3; index++)
        zjob_job_destroy (&jobs [index]);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_keeps_the_schedule, .fini = s_tmpdir_fini)
{
    char *dir = s_dir = s_tmpdir ();
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1], ready [ZJOB_ID_LEN + 1];
    char running [ZJOB_ID_LEN + 1], soon [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    int64_t soon_at = zjob_clock_ms () + 50;

    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    s_create_at (manager, "x", ZJOB_PRIORITY_CRITICAL, true, base + 2000, second);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 1000, first);
    s_create_at (manager, "x", ZJOB_PRIORITY_HIGH, true, soon_at, soon);
    //  Taken early: running when the process stops, its run_at still ahead
    s_create_at (manager, "r", ZJOB_PRIORITY_LOW, true, base, running);
    cr_assert_eq (zjob_manager_promote (manager, base), 2);     //  soon and running
    const char *only_r [] = { "r" };
    zjob_job_t *job = zjob_manager_take (manager, only_r, 1, "w");
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, running);
    zjob_job_destroy (&job);
    //  soon goes back to the schedule (if its time has not come yet)
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_pause (manager, soon, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_resume (manager, soon, &err), 0, "%s", err.text);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, ready);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    //  After soon's time, a restart: the running job is queued again
    //  whatever its run_at, soon is due, the two others are still ahead
    int64_t left = soon_at - zjob_clock_ms ();
    s_let_time_pass (left > 0? left: 0);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_queued (manager), 3);
    cr_assert_eq (zjob_manager_next_due (manager), base + 1000);
    s_assert_counts (manager);
    const char *order [] = { soon, ready, running };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    s_assert_nothing (manager);
    cr_assert_eq (zjob_manager_promote (manager, base + 1999), 1);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, first);
    cr_assert_eq (zjob_manager_promote (manager, base + 2000), 1);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, second);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  The job rules the broker used to keep around the manager: SUBMIT's
//  idempotency, bulk operations, a lost worker's jobs

Test (manager, submit_one_with_and_without_key)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    spec.idempotency_key = "order-1";
    zjob_job_t *jobs [1] = { NULL };
    uint64_t existing [1];
    size_t existing_count = 99;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), 1, "%s", err.text);
    cr_assert_eq (existing_count, 0);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);
    //  The same key again: the same job, nothing created
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), 0);
    cr_assert_str_eq (jobs [0]->id, id);
    cr_assert_eq (existing_count, 1);
    cr_assert_eq (existing [0], 0);
    zjob_job_destroy (&jobs [0]);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], 1);
    //  A bad spec is refused
    spec.workflow_id = NULL;
    spec.idempotency_key = NULL;
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), -1);
    cr_assert_null (jobs [0]);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_manager_destroy (&manager);
}

Test (manager, submit_batch_keys_and_error_index)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t known = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    known.idempotency_key = "known";
    zjob_job_t *jobs [5] = { NULL };
    uint64_t existing [5];
    size_t existing_count = 0;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &known, 1, true, jobs, existing,
                                       &existing_count, &err), 1);
    char known_id [ZJOB_ID_LEN + 1];
    strcpy (known_id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);

    //  [known, fresh "a", plain, "a" again, plain]
    zjob_spec_t specs [5];
    for (size_t index = 0; index < 5; index++)
        specs [index] = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    specs [0].idempotency_key = "known";
    specs [1].idempotency_key = "a";
    specs [3].idempotency_key = "a";
    cr_assert_eq (zjob_manager_submit (manager, specs, 5, true, jobs, existing,
                                       &existing_count, &err), 3, "%s", err.text);
    cr_assert_eq (existing_count, 2);
    cr_assert_eq (existing [0], 0);
    cr_assert_eq (existing [1], 3);
    cr_assert_str_eq (jobs [0]->id, known_id);
    cr_assert_str_eq (jobs [3]->id, jobs [1]->id);
    cr_assert_str_neq (jobs [2]->id, jobs [4]->id);
    for (size_t index = 0; index < 5; index++)
        zjob_job_destroy (&jobs [index]);

    //  A bad spec after a known one is named by its index in the batch,
    //  not among the specs created, and nothing is created
    specs [0].idempotency_key = "known";
    specs [1].idempotency_key = "b";
    specs [3].idempotency_key = NULL;
    specs [4].workflow_id = NULL;
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    size_t before = counts [ZJOB_QUEUED];
    cr_assert_eq (zjob_manager_submit (manager, specs, 5, true, jobs, existing,
                                       &existing_count, &err), -1);
    cr_assert (strncmp (err.text, "jobs[4]: ", 9) == 0, "%s", err.text);
    cr_assert_eq (existing_count, 0);
    for (size_t index = 0; index < 5; index++)
        cr_assert_null (jobs [index]);
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], before);
    cr_assert_null (zjob_manager_find_key (manager, "b"));
    zjob_manager_destroy (&manager);
}

Test (manager, worker_lost_requeues_or_fails_on_last_attempt)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    spec.max_attempts = 2;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (job);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, job->id);
    zjob_job_destroy (&job);

    //  First attempt lost: queued again
    job = zjob_manager_take (manager, NULL, 0, "w1");
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    //  Not held: nothing to do
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), 0);
    //  Second (last) attempt lost: failed, worker_lost
    job = zjob_manager_take (manager, NULL, 0, "w2");
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_FAILED, "%s",
                  err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "worker_lost");
    cr_assert_eq (zjob_manager_active (manager), 0);
    zjob_job_destroy (&job);
    //  Unknown job
    cr_assert_eq (zjob_manager_worker_lost (manager, "nope", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  A held paused job stays paused, no longer held
    char paused [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, paused);
    job = zjob_manager_take (manager, NULL, 0, "w3");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_pause (manager, paused, &err), 0);
    cr_assert_eq (zjob_manager_active (manager), 1);
    cr_assert_eq (zjob_manager_worker_lost (manager, paused, &err), ZJOB_LOST_REQUEUED);
    cr_assert_eq (s_status (manager, paused), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    zjob_manager_destroy (&manager);
}

Test (manager, apply_bulk_by_ids_and_by_filter)
{
    zjob_manager_t *manager = s_manager (0);
    char ids [4][ZJOB_ID_LEN + 1];
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, ids [0]);
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, false, ids [1]);
    s_create (manager, "b", ZJOB_PRIORITY_MEDIUM, true, ids [2]);
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, ids [3]);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_cancel (manager, ids [3], &err), 0);
    zjob_bulk_t *bulk = (zjob_bulk_t *) malloc (sizeof (zjob_bulk_t));
    cr_assert_not_null (bulk);

    //  By ids: the one it cannot apply is listed with its error
    const char *list [] = { ids [0], "0000000000000000nope", ids [3] };
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_PAUSE, list, 3, NULL, bulk,
                                           &err), 0);
    cr_assert_eq (bulk->done, 1);
    cr_assert_eq (bulk->failed, 2);
    cr_assert_eq (bulk->error_count, 2);
    cr_assert_str_eq (bulk->ids [0], list [1]);
    cr_assert_eq (bulk->errors [0].code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (bulk->ids [1], ids [3]);
    cr_assert_eq (bulk->errors [1].code, ZJOB_CONFLICT);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_PAUSED);

    //  By filter: only the jobs the operation is legal for (the paused
    //  and the created one start; cancelled and queued are left alone)
    zjob_filter_t filter = { 0 };
    filter.workflow_id = "a";
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_START, NULL, 0, &filter, bulk,
                                           &err), 0);
    cr_assert_eq (bulk->failed, 0);
    cr_assert_eq (bulk->done, 2);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [1]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [3]), ZJOB_CANCELLED);
    //  Delete by filter: every match, whatever its status
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_DELETE, NULL, 0, &filter, bulk,
                                           &err), 0);
    cr_assert_eq (bulk->done, 3);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Neither ids nor a filter
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_CANCEL, NULL, 0, NULL, bulk,
                                           &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    //  One job by name
    cr_assert_eq (zjob_manager_apply (manager, ZJOB_APPLY_CANCEL, ids [2], &err), 0);
    cr_assert_eq (s_status (manager, ids [2]), ZJOB_CANCELLED);
    free (bulk);
    zjob_manager_destroy (&manager);
}

Test (manager, open_and_store_figures)
{
    zjob_error_t err = { 0, "" };
    cr_assert_null (zjob_manager_open ("tape:/dev/st0", NULL, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_manager_t *manager = zjob_manager_open ("memory:", NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    cr_assert_str_eq (zjob_manager_store_name (manager), "memory");
    zhashx_t *figures = zjob_hashx_new ();
    zjob_manager_store_stats (manager, figures);
    zhashx_destroy (&figures);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, id);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    cr_assert_eq (zjob_manager_reclaimable (manager), 0);
    //  Handed out, then requeued: a worker may reclaim it
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0);
    cr_assert_eq (zjob_manager_reclaimable (manager), 1);
    zjob_manager_destroy (&manager);
}

Test (manager, finish_only_from_a_worker_that_ran_an_attempt)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wfA", ZJOB_PRIORITY_MEDIUM, true, id);
    const char *serves_a [] = { "wfA" };
    const char *serves_b [] = { "wfB" };
    zjob_error_t err = { 0, "" };
    //  Never handed out: nobody's
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "a");
    zjob_job_destroy (&job);
    //  Another worker, or the holder while it does not serve the workflow
    cr_assert_eq (zjob_manager_finish (manager, id, "b", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "never given to worker b"), "%s", err.text);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_b, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);
    //  a is lost, b takes the next attempt; a's late result still counts
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0);
    job = zjob_manager_take (manager, NULL, 0, "b");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), 1, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_COMPLETED);
    //  b's result afterwards is a duplicate: accepted, nothing changes
    cr_assert_eq (zjob_manager_finish (manager, id, "b", NULL, 0, false, NULL, 0, "x", "y",
                                       &err), 0);
    cr_assert_eq (zjob_manager_finish (manager, id, "c", NULL, 0, false, NULL, 0, "x", "y",
                                       &err), -1);
    zjob_manager_destroy (&manager);
}

Test (manager, finish_after_a_restart_from_the_last_holder, .fini = s_tmpdir_fini)
{
    //  The worker of the last attempt is stored with the job
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, id);
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "a");
    zjob_job_destroy (&job);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_sync (manager, &err), 0);
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (s_dir), 0);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED, "recovery queues it again");
    cr_assert_eq (zjob_manager_finish (manager, id, "b", NULL, 0, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), -1);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", NULL, 0, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err), 1, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_COMPLETED);
    zjob_manager_destroy (&manager);
}

Test (manager, submit_key_reused_with_other_inputs_is_a_conflict)
{
    zjob_manager_t *manager = s_manager (0);
    static const uint8_t one [] = { 0x81, 0xa1, 'n', 0x01 };       //  {"n": 1}
    static const uint8_t two [] = { 0x81, 0xa1, 'n', 0x02 };       //  {"n": 2}
    zjob_spec_t spec = s_spec ("pay", ZJOB_PRIORITY_MEDIUM);
    spec.idempotency_key = "k";
    spec.inputs = one;
    spec.inputs_size = sizeof (one);
    zjob_job_t *jobs [3] = { NULL };
    uint64_t existing [3];
    size_t existing_count = 0;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), 1);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);
    //  Same workflow, same inputs: the same job
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), 0);
    cr_assert_str_eq (jobs [0]->id, id);
    zjob_job_destroy (&jobs [0]);
    //  Other inputs: 409, naming the spec and the job
    spec.inputs = two;
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    char expected [ZJOB_ERROR_TEXT_MAX];
    snprintf (expected, sizeof (expected),
              "jobs[0]: idempotency key \"k\" is already used by job %s with different inputs",
              id);
    cr_assert_str_eq (err.text, expected);
    cr_assert_null (jobs [0]);
    //  Another workflow: 409 too
    spec.inputs = one;
    spec.workflow_id = "refund";
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, id) && strstr (err.text, "different workflow"), "%s",
               err.text);
    //  In a batch, at its index; nothing is created
    zjob_spec_t specs [3] = { s_spec ("pay", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("pay", ZJOB_PRIORITY_MEDIUM), spec };
    specs [2].workflow_id = "pay";
    specs [2].inputs = two;
    cr_assert_eq (zjob_manager_submit (manager, specs, 3, true, jobs, existing,
                                       &existing_count, &err), -1);
    snprintf (expected, sizeof (expected),
              "jobs[2]: idempotency key \"k\" is already used by job %s with different inputs",
              id);
    cr_assert_str_eq (err.text, expected);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Two specs of one batch with one key and different inputs
    specs [0].idempotency_key = "fresh";
    specs [1].idempotency_key = "fresh";
    specs [1].inputs = two;
    specs [1].inputs_size = sizeof (two);
    cr_assert_eq (zjob_manager_submit (manager, specs, 2, true, jobs, existing,
                                       &existing_count, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "jobs[1]: idempotency key \"fresh\" is already used by jobs[0]"),
               "%s", err.text);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  No inputs and {} are the same
    zjob_spec_t bare = s_spec ("pay", ZJOB_PRIORITY_MEDIUM);
    bare.idempotency_key = "bare";
    cr_assert_eq (zjob_manager_submit (manager, &bare, 1, true, jobs, existing,
                                       &existing_count, &err), 1);
    zjob_job_destroy (&jobs [0]);
    static const uint8_t empty [] = { 0x80 };
    bare.inputs = empty;
    bare.inputs_size = 1;
    cr_assert_eq (zjob_manager_submit (manager, &bare, 1, true, jobs, existing,
                                       &existing_count, &err), 0, "%s", err.text);
    zjob_job_destroy (&jobs [0]);
    zjob_manager_destroy (&manager);
}
