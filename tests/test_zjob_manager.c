/*  =========================================================================
    test_zjob_manager - the job manager, driven in-process

    Every public call of zjob_manager.h, on the memory store, a file store
    in a fresh temporary directory (recovery), and a "flaky" store that
    wraps the memory store and refuses puts on demand (a refused put must
    leave job, queue and held set as they were). Scheduled jobs (run_at)
    are driven mostly through zjob_manager_promote with an explicit time,
    so that no test waits for the clock longer than a few milliseconds.
    ========================================================================= */


#include "helper_zjob_manager.h"


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
        specs [index] = s_spec (index % 2 ? "odd" : "even", (zjob_priority_t) (index % 4));
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
    cr_assert_eq (job->execution_ms, 0, "an attempt is counted when it ends");
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
    //  The attempt, pause included, from its start to the cancel
    cr_assert_geq (job->execution_ms, 2);
    cr_assert_geq (job->execution_ms, job->completed_at - job->started_at);
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
        zjob_spec_t spec = s_spec (index % 2 ? "odd" : "even", (zjob_priority_t) (index % 4));
        spec.user_id = user;
        spec.tags = tags;
        spec.tag_count = index % 2 ? 1 : 2;
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
    cr_assert_eq (s_matches (manager, ids, &filter), 0x492u, "user");  //  1, 4, 7, 10

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
        case ZJOB_SORT_CREATED: return job->created_at;
        case ZJOB_SORT_UPDATED: return job->updated_at;
        case ZJOB_SORT_PRIORITY: return job->priority;
        case ZJOB_SORT_STATUS: return job->status;
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
                        ? (int) index
                        : LIST_JOBS - 1 - (int) index;
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
        size_t expected = offset >= LIST_JOBS ? 0 : LIST_JOBS - offset < 5 ? LIST_JOBS - offset
                                                                           : 5;
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


//  A reference for paging: every matching job, fully sorted with qsort.
//  LIST's `created` is creation order, the id (PROTOCOL.md 9.4), even
//  where these tests give created_at other values
static const zjob_query_t *s_ref_query;

static int
s_ref_compare (const void *a, const void *b)
{
    if (s_ref_query->sort_by == ZJOB_SORT_CREATED) {
        int rc = strcmp ((*(zjob_job_t *const *) a)->id, (*(zjob_job_t *const *) b)->id);
        return s_ref_query->descending ? -rc : rc;
    }
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
    size_t limit = query->limit ? query->limit : ZJOB_LIST_LIMIT_MAX;
    size_t first = query->offset < matching ? query->offset : matching;
    size_t expected = matching - first < limit ? matching - first : limit;
    cr_assert_eq (total, matching);
    cr_assert_eq (count, expected, "%s %s offset %zu limit %zu: %zu jobs, not %zu",
                  zjob_sort_name (query->sort_by), query->descending ? "desc" : "asc",
                  query->offset, query->limit, count, expected);
    for (size_t index = 0; index < count; index++)
        cr_assert_str_eq (jobs [index]->id, sorted [first + index]->id,
                          "%s %s offset %zu limit %zu: job %zu differs",
                          zjob_sort_name (query->sort_by), query->descending ? "desc" : "asc",
                          query->offset, query->limit, index);
    s_list_free (&jobs, count);
}

//  Deep pages (offset + limit past 4096: the matching jobs are collected
//  and the page found by selection, not kept in a heap) equal pages of a
//  full sort, for every key and order, with heavy ties, filtered or not
Test (manager, deep_pages_by_selection_equal_a_full_sort)
{
#define DEEP_JOBS 9000
    zjob_store_t *store = zjob_store_memory_new ();
    unsigned seed = 777;
    for (int index = 0; index < DEEP_JOBS; index++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        zjob_spec_t spec = s_spec (r % 3 ? "busy" : "rare", (zjob_priority_t) (r % 4));
        zjob_error_t err = { 0, "" };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        job->created_at = s_base + (r / 7) % 40;
        job->updated_at = s_base + (r / 11) % 25;
        job->status = (uint8_t) s_list_status [(r / 13) % 6];
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    zjob_manager_t *manager = s_manager_over (store, 0);
    const struct {
        size_t offset, limit;
    } pages [] = {
        { 4096, 1 }, { 4000, 200 }, { 5000, 17 }, { 5990, 20 }, { 7000, 1000 }, { 8999, 1 }, { 8990, 100 }, { 9000, 1 }, { 0, ZJOB_LIST_LIMIT_MAX }, { 3500, ZJOB_LIST_LIMIT_MAX }
    };
    zjob_filter_t filters [2];
    memset (filters, 0, sizeof (filters));
    filters [1].workflow_id = "busy";
    zjob_job_t **sorted = (zjob_job_t **) calloc (DEEP_JOBS, sizeof (zjob_job_t *));
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
                s_ref_query = &query;
                qsort (sorted, ref.count, sizeof (zjob_job_t *), s_ref_compare);
                for (size_t page = 0; page < sizeof (pages) / sizeof (pages [0]); page++) {
                    query.offset = pages [page].offset;
                    query.limit = pages [page].limit;
                    s_check_page (manager, &query, sorted, ref.count);
                }
                for (int trial = 0; trial < 10; trial++) {
                    seed = seed * 1103515245u + 12345u;
                    query.offset = 4096 + (seed >> 8) % (DEEP_JOBS - 4000);
                    query.limit = 1 + (seed >> 20) % 300;
                    s_check_page (manager, &query, sorted, ref.count);
                }
                for (size_t index = 0; index < ref.count; index++)
                    zjob_job_destroy (&sorted [index]);
            }
        }
    }
    free (sorted);
    zjob_manager_destroy (&manager);
#undef DEEP_JOBS
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
        zjob_spec_t spec = s_spec (r % 3 ? "busy" : "rare", (zjob_priority_t) (r % 4));
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

    const struct {
        size_t offset, limit;
    } pages [] = {
        { 0, 0 }, { 0, 1 }, { 0, 20 }, { 1, 1 }, { 5, 17 }, { 99, 1 }, { 250, 100 }, { 390, 20 }, { 395, 10 }, { 399, 1 }, { 400, 5 }, { 580, 30 }, { 599, 1 }, { 599, 2 }, { 600, 1 }, { 601, 10 }, { 5000, 3 }, { SIZE_MAX - 5, 10 }, { 0, ZJOB_LIST_LIMIT_MAX }, { 10, ZJOB_LIST_LIMIT_MAX }
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
                cr_assert (which ? ref.count < PAGE_JOBS && ref.count > PAGE_JOBS / 2
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
