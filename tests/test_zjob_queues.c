/*  =========================================================================
    test_zjob_queues - per-workflow queue controls and unique keys, driven
    through the manager on the memory store

    The buckets run on an injected clock, so a rate is tested without a
    sleep: the test moves the clock.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_queues.h"
#include "zjob_proto.h"
#include "zjob_queue_cmd.h"

static int64_t s_fake_now = 1000000;

static int64_t
s_fake_clock (void *arg)
{
    (void) arg;
    return s_fake_now;
}

//  Take jobs for a worker serving workflows (NULL: any) until nothing is
//  given; returns how many, and keeps them (references) in taken if set
static size_t
s_take_all (zjob_manager_t *manager, const char *workflow, zjob_job_t **taken, size_t max)
{
    const char *workflows [] = { workflow };
    size_t count = 0;
    while (count < max) {
        zjob_job_t *job = zjob_manager_take (manager, workflow ? workflows : NULL,
                                             workflow ? 1 : 0, "w1");
        if (!job)
            break;
        if (taken)
            taken [count] = job;
        else
            zjob_job_destroy (&job);
        count++;
    }
    return count;
}

static void
s_create_many (zjob_manager_t *manager, const char *workflow, size_t count)
{
    char id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < count; index++)
        s_create (manager, workflow, ZJOB_PRIORITY_MEDIUM, true, id);
}

Test (queues, paused_workflow_not_taken_others_are)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    s_create_many (manager, "slow", 3);
    s_create_many (manager, "fast", 2);
    zjob_error_t err;
    cr_assert_eq (zjob_queues_pause (queues, "slow", true, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_queues_paused (queues), 1);
    cr_assert_eq (zjob_queues_check (queues, "slow"), ZJOB_HELD_PAUSED);
    cr_assert_str_eq (zjob_held_name (ZJOB_HELD_PAUSED), "paused");

    //  Any-workflow take and a take for "slow" alone: only fast's jobs
    zjob_job_t *taken [8];
    size_t count = s_take_all (manager, NULL, taken, 8);
    cr_assert_eq (count, 2, "only the unpaused workflow's jobs are taken");
    for (size_t index = 0; index < count; index++) {
        cr_assert_str_eq (taken [index]->workflow_id, "fast");
        zjob_job_destroy (&taken [index]);
    }
    cr_assert_eq (s_take_all (manager, "slow", NULL, 8), 0);
    cr_assert_eq (zjob_manager_queued (manager), 3, "the paused jobs stay queued");

    //  Resume: the walk is asked for, and the jobs go
    cr_assert_eq (zjob_queues_pause (queues, "slow", false, &err), 1);
    cr_assert (zjob_queues_refill (queues), "a resume asks for a dispatch walk");
    cr_assert_not (zjob_queues_refill (queues), "once");
    cr_assert_eq (zjob_queues_paused (queues), 0);
    cr_assert_eq (s_take_all (manager, "slow", NULL, 8), 3);
    //  Resumed with nothing else set: no settings left at all
    cr_assert_not (zjob_queues_active (queues));
    zjob_manager_destroy (&manager);
}

Test (queues, concurrency_holds_at_limit)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    s_create_many (manager, "render", 5);
    s_create_many (manager, "other", 3);
    zjob_error_t err;
    cr_assert_eq (zjob_queues_limit (queues, "render", 2, -1, -1, &err), 0, "%s", err.text);
    cr_assert (zjob_queues_limited (queues, "render"));
    cr_assert_not (zjob_queues_limited (queues, "other"));

    zjob_job_t *taken [16];
    size_t count = s_take_all (manager, NULL, taken, 16);
    size_t render = 0;
    for (size_t index = 0; index < count; index++)
        render += streq (taken [index]->workflow_id, "render");
    cr_assert_eq (render, 2, "two render jobs at once, not %zu", render);
    cr_assert_eq (count, 5, "and every other job");
    cr_assert_eq (zjob_queues_check (queues, "render"), ZJOB_HELD_CONCURRENCY);

    //  One finishes: exactly one more goes
    for (size_t index = 0; index < count; index++) {
        if (streq (taken [index]->workflow_id, "render")) {
            cr_assert_eq (zjob_manager_complete (manager, taken [index]->id, "w1", s_outputs,
                                                 sizeof (s_outputs), &err),
                          0, "%s", err.text);
            break;
        }
    }
    cr_assert_eq (s_take_all (manager, "render", NULL, 8), 1);
    cr_assert_eq (s_take_all (manager, "render", NULL, 8), 0);

    //  Raised to 10: a walk is asked for and the rest go
    cr_assert_eq (zjob_queues_limit (queues, "render", 10, -1, -1, &err), 1);
    cr_assert (zjob_queues_refill (queues));
    cr_assert_eq (s_take_all (manager, "render", NULL, 8), 2);
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&taken [index]);
    zjob_manager_destroy (&manager);
}

Test (queues, tokens_refill_by_the_clock)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    zjob_queues_set_clock (queues, s_fake_clock, NULL);
    s_create_many (manager, "mail", 20);
    zjob_error_t err;
    //  5 a second, a burst of 2
    cr_assert_eq (zjob_queues_limit (queues, "mail", -1, 5.0, 2.0, &err), 0, "%s", err.text);
    zjob_queue_settings_t settings;
    cr_assert (zjob_queues_get (queues, "mail", &settings));
    cr_assert_float_eq (settings.rate, 5.0, 1e-9);
    cr_assert_float_eq (settings.burst, 2.0, 1e-9);

    cr_assert_eq (s_take_all (manager, "mail", NULL, 20), 2, "the burst");
    cr_assert_eq (zjob_queues_check (queues, "mail"), ZJOB_HELD_RATE);
    //  The next token is 200 ms away, and the owner is told so
    int64_t due = zjob_queues_next_token (queues);
    cr_assert (due > s_fake_now && due <= s_fake_now + 201, "due %" PRId64, due - s_fake_now);
    s_fake_now += 100;
    cr_assert_not (zjob_queues_refill (queues), "half a token");
    cr_assert_eq (s_take_all (manager, "mail", NULL, 20), 0);
    s_fake_now += 100;
    cr_assert (zjob_queues_refill (queues), "a whole token: walk");
    cr_assert_eq (s_take_all (manager, "mail", NULL, 20), 1);
    //  A second: 5 tokens, but the bucket holds 2
    s_fake_now += 1000;
    cr_assert_eq (s_take_all (manager, "mail", NULL, 20), 2);
    //  Ten seconds at 5/s, taking as they come: 50 jobs' worth, we have 15
    size_t total = 0;
    for (int step = 0; step < 50; step++) {
        s_fake_now += 200;
        total += s_take_all (manager, "mail", NULL, 20);
    }
    cr_assert_eq (total, 15, "one a tick of 200 ms: %zu", total);
    //  Cleared: no limit
    cr_assert_eq (zjob_queues_limit (queues, "mail", -1, 0, 0, &err), 1);
    cr_assert_not (zjob_queues_active (queues));
    zjob_manager_destroy (&manager);
}

Test (queues, bad_limits_refused)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    zjob_error_t err;
    cr_assert_eq (zjob_queues_limit (queues, "w", ZJOB_QUEUE_CONCURRENCY_MAX + 1, -1, -1, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_queues_limit (queues, "w", -1, ZJOB_QUEUE_RATE_MAX * 2, -1, &err), -1);
    cr_assert_eq (zjob_queues_limit (queues, "w", -1, 1, 0.5, &err), -1);
    cr_assert_eq (zjob_queues_limit (queues, "bad name", 1, -1, -1, &err), -1);
    cr_assert_eq (zjob_queues_pause (queues, "", true, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not (zjob_queues_active (queues), "nothing was set");
    zjob_manager_destroy (&manager);
}

Test (queues, config_defaults)
{
    zjob_queue_defaults_t defaults [] = { { "video", 1, 0, 0 }, { "mail", 0, 2.0, 0 } };
    zjob_manager_config_t config = { .queues = defaults, .queue_count = 2 };
    zjob_error_t err;
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    zjob_queue_settings_t settings;
    cr_assert (zjob_queues_get (queues, "video", &settings));
    cr_assert_eq (settings.concurrency, 1);
    cr_assert (zjob_queues_get (queues, "mail", &settings));
    cr_assert_float_eq (settings.burst, 2.0, 1e-9, "burst defaults to the rate");
    s_create_many (manager, "video", 3);
    cr_assert_eq (s_take_all (manager, "video", NULL, 8), 1);
    //  Cleared by hand: the config's default no longer applies
    cr_assert_eq (zjob_queues_limit (queues, "video", 0, -1, -1, &err), 1);
    cr_assert_eq (s_take_all (manager, "video", NULL, 8), 2);
    zjob_manager_destroy (&manager);
}

Test (queues, settings_survive_a_restart_on_the_file_store, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    zjob_error_t err;
    cr_assert_eq (zjob_queues_pause (queues, "slow", true, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_queues_limit (queues, "fast", 4, 2.5, 0, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_queues_limit (queues, "gone", 1, -1, -1, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_queues_limit (queues, "gone", 0, -1, -1, &err), 1, "%s", err.text);
    s_create_many (manager, "slow", 2);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    //  No clean shutdown: the store is reopened from what the sync wrote
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (s_dir), 0);
    queues = zjob_manager_queues (manager);
    zjob_queue_settings_t settings;
    cr_assert (zjob_queues_get (queues, "slow", &settings));
    cr_assert (settings.paused);
    cr_assert_eq (zjob_queues_paused (queues), 1);
    cr_assert (zjob_queues_get (queues, "fast", &settings));
    cr_assert_eq (settings.concurrency, 4);
    cr_assert_float_eq (settings.rate, 2.5, 1e-9);
    cr_assert_float_eq (settings.burst, 2.5, 1e-9, "the default burst");
    cr_assert_not (zjob_queues_get (queues, "gone", &settings), "a cleared queue is forgotten");
    cr_assert_eq (s_take_all (manager, "slow", NULL, 8), 0, "still paused");
    cr_assert_eq (zjob_queues_pause (queues, "slow", false, &err), 1);
    cr_assert_eq (s_take_all (manager, "slow", NULL, 8), 2);
    zjob_manager_destroy (&manager);
}

Test (queues, a_record_that_does_not_decode_keeps_the_defaults, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_store_t *store = s_file_store (s_dir);
    zjob_error_t err;
    //  A map that claims 4 billion pairs in 5 bytes: scanned before
    //  msgpack-c would allocate for them (64 GB: ASan aborts on it)
    const uint8_t huge [] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    cr_assert_eq (zjob_store_record_put (store, "queue", "huge", huge, sizeof (huge), &err), 0);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    zjob_store_destroy (&store);
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    zjob_queue_settings_t settings;
    if (zjob_queues_get (zjob_manager_queues (manager), "huge", &settings))
        cr_assert_not (settings.paused, "the defaults stand");
    s_create_many (manager, "huge", 1);
    cr_assert_eq (s_take_all (manager, "huge", NULL, 8), 1);
    zjob_manager_destroy (&manager);
}

//  --------------------------------------------------------------------------
//  Unique keys

static int
s_submit_unique (zjob_manager_t *manager, const char *workflow, const char *unique,
                 const char *idempotency, char *id, bool *existing)
{
    zjob_spec_t spec = s_spec (workflow, ZJOB_PRIORITY_MEDIUM);
    spec.unique_key = unique;
    spec.idempotency_key = idempotency;
    zjob_job_t *job = NULL;
    uint64_t found [1];
    size_t found_count = 0;
    zjob_error_t err;
    int rc = zjob_manager_submit (manager, &spec, 1, true, &job, found, &found_count, &err);
    cr_assert_geq (rc, 0, "%s", err.text);
    strcpy (id, job->id);
    *existing = found_count == 1;
    zjob_job_destroy (&job);
    return rc;
}

Test (queues, unique_second_submit_answers_the_first)
{
    zjob_manager_t *manager = s_manager (0);
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1];
    bool existing;
    cr_assert_eq (s_submit_unique (manager, "report", "daily", NULL, first, &existing), 1);
    cr_assert_not (existing);
    cr_assert_eq (s_submit_unique (manager, "report", "daily", NULL, second, &existing), 0);
    cr_assert (existing, "listed in existing");
    cr_assert_str_eq (first, second);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Running still holds the key
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w1");
    cr_assert_not_null (job);
    cr_assert_eq (s_submit_unique (manager, "report", "daily", NULL, second, &existing), 0);
    cr_assert_str_eq (first, second);
    //  Terminal: the key is free, a new job is made
    zjob_error_t err;
    cr_assert_eq (zjob_manager_complete (manager, job->id, "w1", s_outputs, sizeof (s_outputs),
                                         &err),
                  0, "%s", err.text);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_queues_unique_size (zjob_manager_queues (manager)), 0);
    cr_assert_eq (s_submit_unique (manager, "report", "daily", NULL, second, &existing), 1);
    cr_assert_str_neq (first, second);
    //  Deleted: free too
    cr_assert_eq (zjob_manager_delete (manager, second, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_queues_unique_size (zjob_manager_queues (manager)), 0);
    zjob_manager_destroy (&manager);
}

Test (queues, unique_twice_in_one_submit_makes_one_job)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t specs [3] = { s_spec ("a", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("a", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("a", ZJOB_PRIORITY_MEDIUM) };
    specs [0].unique_key = "k";
    specs [2].unique_key = "k";
    zjob_job_t *jobs [3] = { NULL };
    uint64_t existing [3];
    size_t existing_count = 0;
    zjob_error_t err;
    int created = zjob_manager_submit (manager, specs, 3, true, jobs, existing,
                                       &existing_count, &err);
    cr_assert_eq (created, 2, "%s", err.text);
    cr_assert_eq (existing_count, 1);
    cr_assert_eq (existing [0], 2);
    cr_assert_str_eq (jobs [0]->id, jobs [2]->id);
    cr_assert_str_neq (jobs [0]->id, jobs [1]->id);
    for (int index = 0; index < 3; index++)
        zjob_job_destroy (&jobs [index]);
    zjob_manager_destroy (&manager);
}

Test (queues, idempotency_is_checked_first)
{
    zjob_manager_t *manager = s_manager (0);
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1], third [ZJOB_ID_LEN + 1];
    bool existing;
    cr_assert_eq (s_submit_unique (manager, "a", "u1", "i1", first, &existing), 1);
    //  Same idempotency key, another unique key: idempotency answers
    cr_assert_eq (s_submit_unique (manager, "a", "u2", "i1", second, &existing), 0);
    cr_assert_str_eq (first, second);
    //  Another idempotency key, the unique key in use: unique answers
    cr_assert_eq (s_submit_unique (manager, "a", "u1", "i2", third, &existing), 0);
    cr_assert_str_eq (first, third);
    zjob_manager_destroy (&manager);
}

Test (queues, recovery_rebuilds_the_unique_index, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char active [ZJOB_ID_LEN + 1], done [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    bool existing;
    s_submit_unique (manager, "a", "done", NULL, done, &existing);
    zjob_error_t err;
    cr_assert_eq (zjob_manager_cancel (manager, done, &err), 0, "%s", err.text);
    s_submit_unique (manager, "a", "active", NULL, active, &existing);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    cr_assert_eq (zjob_queues_unique_size (zjob_manager_queues (manager)), 1);
    cr_assert_eq (s_submit_unique (manager, "a", "active", NULL, id, &existing), 0);
    cr_assert_str_eq (id, active, "the active job still holds its key");
    cr_assert_eq (s_submit_unique (manager, "a", "done", NULL, id, &existing), 1);
    cr_assert_str_neq (id, done, "a cancelled job's key is free");
    zjob_manager_destroy (&manager);
}

//  --------------------------------------------------------------------------
//  The OK to QUEUE: built by proto, read back by libzjob's reader

Test (queues, reply_builder_and_reader)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_OK, 7);
    zjob_queue_info_t sent [] = { { "resize", true, 2, 5.5, 10, 7, 2, "paused" },
                                  { "thumbnail", false, 0, 0, 0, 1, 0, NULL } };
    zjob_msg_add_queues (builder, sent, 2);
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    cr_assert_not_null (frame, "%s", err.text);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_QUEUE, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_queue_count (msg), 2);
    zjob_queue_info_t got;
    cr_assert (zjob_msg_queue (msg, 0, &got));
    cr_assert_str_eq (got.workflow_id, "resize");
    cr_assert (got.paused);
    cr_assert_eq (got.concurrency, 2);
    cr_assert_float_eq (got.rate, 5.5, 1e-9);
    cr_assert_float_eq (got.burst, 10, 1e-9);
    cr_assert_eq (got.queued, 7);
    cr_assert_eq (got.running, 2);
    cr_assert_str_eq (got.held_by, "paused");
    cr_assert (zjob_msg_queue (msg, 1, &got));
    cr_assert_str_eq (got.workflow_id, "thumbnail");
    cr_assert_null (got.held_by);
    cr_assert_not (zjob_msg_queue (msg, 2, &got), "no third");
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    zjob_msg_builder_destroy (&builder);
}

//  A QUEUE request through the handler: what it returns, and err
static int
s_queue_request (zjob_manager_t *manager, const char *op, const char *workflow,
                 int64_t concurrency, zjob_error_t *err)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_QUEUE, 9);
    zjob_msg_add_str (builder, "op", op);
    if (workflow)
        zjob_msg_add_str (builder, "workflow_id", workflow);
    if (concurrency >= 0)
        zjob_msg_add_uint (builder, "concurrency", (uint64_t) concurrency);
    zframe_t *frame = zjob_msg_end (builder, err);
    cr_assert_not_null (frame);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_CLIENT_BROKER, err);
    cr_assert_not_null (msg, "%s", err->text);
    int rc = zjob_queue_cmd_handle (manager, NULL, msg, builder, 9, err);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    zjob_msg_builder_destroy (&builder);
    return rc;
}

Test (queues, queue_command_answers)
{
    zjob_manager_t *manager = s_manager (0);
    s_create_many (manager, "a", 2);
    zjob_error_t err;
    cr_assert_eq (s_queue_request (manager, "list", NULL, -1, &err), 0, "a read");
    cr_assert_eq (s_queue_request (manager, "pause", "a", -1, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_manager_held_back (manager, "a"), ZJOB_HELD_PAUSED);
    cr_assert_eq (s_queue_request (manager, "limit", "a", 3, &err), 1, "%s", err.text);
    cr_assert_eq (s_queue_request (manager, "resume", "a", -1, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_manager_held_back (manager, "a"), ZJOB_HELD_NONE);
    const char *workflows [4], *reasons [4];
    cr_assert_eq (zjob_queue_cmd_held (manager, workflows, reasons, 4), 0);
    cr_assert_eq (s_queue_request (manager, "limit", "a", 0, &err), 1, "%s", err.text);

    cr_assert_eq (s_queue_request (manager, "bogus", "a", -1, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "op: pause, resume, limit or list"), "%s", err.text);
    cr_assert_eq (s_queue_request (manager, "pause", NULL, -1, &err), -1);
    cr_assert (strstr (err.text, "workflow_id: required"), "%s", err.text);
    cr_assert_eq (s_queue_request (manager, "limit", "a", -1, &err), -1);
    cr_assert (strstr (err.text, "concurrency, rate or burst required"), "%s", err.text);
    //  STATS' held
    cr_assert_eq (s_queue_request (manager, "pause", "a", -1, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_queue_cmd_held (manager, workflows, reasons, 4), 1);
    cr_assert_str_eq (workflows [0], "a");
    cr_assert_str_eq (reasons [0], "paused");
    zjob_manager_destroy (&manager);
}
