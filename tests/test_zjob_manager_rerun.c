/*  =========================================================================
    test_zjob_manager_rerun - RETRY (a re-run) and RUN_NOW in the manager

    Without sockets: which jobs each applies to, what a re-run keeps and
    clears, that a re-run job is handed out again and completes, dry runs
    (the store compared before and after), the bulk forms' counts, errors
    and ids, a veto, a refused put, a restart over the file store, and the
    cleanup of a job that finished, was re-run and finished again.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_queue.h"

//  A job created and queued with max_attempts 1 (one failure ends it,
//  whatever the retry policy) and run_at in the past (ready at once, but
//  a run_at a re-run must clear); its id into id
static void
s_create_once (zjob_manager_t *manager, const char *workflow, char *id)
{
    zjob_spec_t spec = s_spec (workflow, ZJOB_PRIORITY_MEDIUM);
    spec.max_attempts = 1;
    spec.run_at = zjob_clock_ms () - 60000;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (job, "create: %s", err.text);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

//  A job that ran once on worker and failed; its id into id
static void
s_failed_job (zjob_manager_t *manager, const char *worker, char *id)
{
    s_create_once (manager, "rerun", id);
    const char *only [] = { "rerun" };
    zjob_job_t *job = zjob_manager_take (manager, only, 1, worker);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_progress (manager, id, worker, 0.5f, "half", &err), 0);
    cr_assert_eq (zjob_manager_fail (manager, id, worker, "boom", "it broke", &err), 0, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
}

//  Give job a history of one failed attempt, as the broker records it
static void
s_give_history (zjob_job_t *job)
{
    zjob_history_t *history = (zjob_history_t *) calloc (
        1, sizeof (zjob_history_t) + sizeof (zjob_error_entry_t));
    cr_assert_not_null (history);
    history->count = 1;
    history->entries [0].attempt = 1;
    history->entries [0].kind = strdup ("boom");
    history->entries [0].message = strdup ("it broke");
    history->entries [0].worker_id = strdup ("w1");
    history->entries [0].at = 1750000000000;
    job->history = history;
}

//  Every stored job, encoded, by id: to compare the store before and after
static zhashx_t *
s_store_image (zjob_manager_t *manager)
{
    zhashx_t *image = zhashx_new ();
    zhashx_set_destructor (image, (zhashx_destructor_fn *) zchunk_destroy);
    zjob_query_t query = { .limit = ZJOB_LIST_LIMIT_MAX };
    zjob_job_t **jobs;
    size_t count;
    zjob_error_t err;
    cr_assert_eq (zjob_manager_list (manager, &query, &jobs, &count, NULL, &err), 0);
    for (size_t index = 0; index < count; index++) {
        uint8_t *data;
        size_t size;
        cr_assert_eq (zjob_job_encode (jobs [index], &data, &size), 0);
        zhashx_insert (image, jobs [index]->id, zchunk_new (data, size));
        free (data);
        zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    return image;
}

static void
s_assert_same_image (zhashx_t *before, zhashx_t *after)
{
    cr_assert_eq (zhashx_size (before), zhashx_size (after));
    zchunk_t *chunk = (zchunk_t *) zhashx_first (before);
    for (; chunk; chunk = (zchunk_t *) zhashx_next (before)) {
        const char *id = (const char *) zhashx_cursor (before);
        zchunk_t *other = (zchunk_t *) zhashx_lookup (after, id);
        cr_assert_not_null (other, "job %s is gone", id);
        cr_assert (zchunk_size (chunk) == zchunk_size (other)
                       && memcmp (zchunk_data (chunk), zchunk_data (other), zchunk_size (chunk))
                           == 0,
                   "job %s changed", id);
    }
}


//  --------------------------------------------------------------------------
//  RETRY

Test (manager_rerun, retry_only_failed_and_cancelled)
{
    zjob_manager_t *manager = s_manager (0);
    char failed [ZJOB_ID_LEN + 1], cancelled [ZJOB_ID_LEN + 1], created [ZJOB_ID_LEN + 1];
    char queued [ZJOB_ID_LEN + 1], running [ZJOB_ID_LEN + 1], completed [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", failed);
    s_create_once (manager, "other", completed);
    s_create_once (manager, "other", running);
    const char *other [] = { "other" };
    zjob_job_t *job = zjob_manager_take (manager, other, 1, "w1");
    cr_assert_str_eq (job->id, completed);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, completed, "w1", s_outputs,
                                         sizeof (s_outputs), &err),
                  0);
    job = zjob_manager_take (manager, other, 1, "w1");
    cr_assert_str_eq (job->id, running);
    zjob_job_destroy (&job);
    s_create_once (manager, "other", queued);
    s_create (manager, "other", ZJOB_PRIORITY_LOW, false, created);
    s_create (manager, "other", ZJOB_PRIORITY_LOW, true, cancelled);
    cr_assert_eq (zjob_manager_cancel (manager, cancelled, &err), 0);

    const char *refused [] = { created, queued, running, completed };
    const char *names [] = { "created", "queued", "running", "completed" };
    for (size_t index = 0; index < 4; index++) {
        int before = s_status (manager, refused [index]);
        cr_assert_eq (zjob_manager_retry (manager, refused [index], false, &err), -1);
        cr_assert_eq (err.code, ZJOB_CONFLICT);
        cr_assert (strstr (err.text, refused [index]) && strstr (err.text, names [index]),
                   "%s", err.text);
        cr_assert_eq (s_status (manager, refused [index]), before);
    }
    cr_assert_eq (zjob_manager_retry (manager, "0000000000000000000Z", false, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    cr_assert_eq (zjob_manager_retry (manager, failed, false, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_apply (manager, ZJOB_APPLY_RETRY, cancelled, &err), 0, "%s",
                  err.text);
    s_assert_heard (&log, 0, ZJOB_EVENT_STATUS, failed, ZJOB_FAILED, ZJOB_QUEUED);
    s_assert_heard (&log, 1, ZJOB_EVENT_STATUS, cancelled, ZJOB_CANCELLED, ZJOB_QUEUED);
    cr_assert_eq (log.count, 2);
    //  Queued again: a second RETRY is a conflict
    cr_assert_eq (zjob_manager_retry (manager, failed, false, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager_rerun, retry_keeps_history_clears_the_run)
{
    zjob_manager_t *manager = s_manager (0);
    char kept [ZJOB_ID_LEN + 1], reset [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", kept);
    s_failed_job (manager, "w1", reset);
    zjob_job_t *job = s_get (manager, kept);
    s_give_history (job);
    job->result_attempt = 1;
    cr_assert_neq (job->run_at, 0);
    cr_assert_neq (job->completed_at, 0);
    cr_assert_not_null (job->error_kind);
    zjob_job_destroy (&job);

    cr_assert_eq (zjob_manager_retry (manager, kept, false, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_retry (manager, reset, true, &err), 0, "%s", err.text);
    job = s_get (manager, kept);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 1, "attempts kept");
    cr_assert_eq (job->run_at, 0, "ready at once");
    cr_assert_eq (job->completed_at, 0);
    cr_assert_null (job->error_kind);
    cr_assert_null (job->error_message);
    cr_assert_null (job->worker_id);
    cr_assert_eq (job->outputs.size, 0);
    cr_assert_float_eq (job->progress, 0.0f, 1e-6);
    cr_assert_null (job->progress_message);
    cr_assert_eq (zjob_job_result_attempt (job), 0);
    //  The history stays, entry for entry
    cr_assert_eq (zjob_job_error_count (job), 1);
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, 0, &entry), 0);
    cr_assert_eq (entry.attempt, 1);
    cr_assert_str_eq (entry.kind, "boom");
    cr_assert_str_eq (entry.worker_id, "w1");
    cr_assert_gt (job->execution_ms + job->queued_at, 0);
    zjob_job_destroy (&job);
    job = s_get (manager, reset);
    cr_assert_eq (job->attempts, 0, "attempts reset");
    cr_assert_eq (job->status, ZJOB_QUEUED);
    zjob_job_destroy (&job);
    //  Both ready now, none waiting for a run_at
    cr_assert_eq (zjob_manager_queued (manager), 2);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager_rerun, rerun_job_runs_again_and_completes)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", id);
    cr_assert_eq (zjob_manager_retry (manager, id, false, &err), 0);
    //  A result of the run before the re-run no longer counts
    const char *only [] = { "rerun" };
    cr_assert_eq (zjob_manager_finish (manager, id, "w1", only, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    s_take (manager, "w2", taken);
    cr_assert_str_eq (taken, id);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->attempts, 2);
    cr_assert_str_eq (job->worker_id, "w2");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, id, "w2", s_outputs, sizeof (s_outputs), &err),
                  0, "%s", err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_COMPLETED);
    job = zjob_manager_results (manager, id, &err);
    cr_assert_not_null (job);
    cr_assert_eq (job->outputs.size, sizeof (s_outputs));
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  A refused put leaves the failed job exactly as it was
Test (manager_rerun, retry_refused_put_changes_nothing)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    char id [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", id);
    zhashx_t *before = s_store_image (manager);
    flaky->refuse_put = true;
    cr_assert_eq (zjob_manager_retry (manager, id, true, &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    zhashx_t *after = s_store_image (manager);
    s_assert_same_image (before, after);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_str_eq (job->error_kind, "boom");
    cr_assert_str_eq (job->worker_id, "w1");
    cr_assert_eq (job->attempts, 1);
    cr_assert_neq (job->run_at, 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    s_assert_counts (manager);
    zhashx_destroy (&before);
    zhashx_destroy (&after);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  RUN_NOW

Test (manager_rerun, run_now_only_a_job_waiting_for_its_time)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    zjob_spec_t spec = s_spec ("later", ZJOB_PRIORITY_MEDIUM);
    spec.run_at = zjob_clock_ms () + 3600000;
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    char waiting [ZJOB_ID_LEN + 1], due [ZJOB_ID_LEN + 1], running [ZJOB_ID_LEN + 1];
    char created [ZJOB_ID_LEN + 1];
    strcpy (waiting, job->id);
    zjob_job_destroy (&job);
    job = zjob_manager_create (manager, &spec, false, &err);
    strcpy (created, job->id);
    zjob_job_destroy (&job);
    s_create (manager, "now", ZJOB_PRIORITY_MEDIUM, true, running);
    s_create (manager, "now", ZJOB_PRIORITY_LOW, true, due);
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, running);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    cr_assert_eq (zjob_manager_queued (manager), 1);

    cr_assert_eq (zjob_manager_run_now (manager, running, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "is running; cannot run now"), "%s", err.text);
    cr_assert_eq (zjob_manager_run_now (manager, due, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "queued and due already"), "%s", err.text);
    cr_assert_eq (zjob_manager_run_now (manager, created, &err), -1);
    cr_assert (strstr (err.text, "is created"), "%s", err.text);
    cr_assert_eq (zjob_manager_run_now (manager, "0000000000000000000Z", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    uint64_t seq = zjob_manager_seq (manager);
    cr_assert_eq (zjob_manager_apply (manager, ZJOB_APPLY_RUN_NOW, waiting, &err), 0, "%s",
                  err.text);
    cr_assert_eq (log.count, 0, "no status changed");
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 2);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    job = s_get (manager, waiting);
    cr_assert_eq (job->run_at, 0, "stored ready");
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_gt (job->seq, seq, "behind what was ready before it");
    zjob_job_destroy (&job);
    //  Now it is due already
    cr_assert_eq (zjob_manager_run_now (manager, waiting, &err), -1);
    cr_assert (strstr (err.text, "due already"), "%s", err.text);
    const char *later [] = { "later" };
    job = zjob_manager_take (manager, later, 1, "w2");
    cr_assert_not_null (job, "handed out at once");
    cr_assert_str_eq (job->id, waiting);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Dry runs, bulk forms, veto

Test (manager_rerun, dry_run_changes_nothing)
{
    zjob_manager_t *manager = s_manager (0);
    char failed [ZJOB_ID_LEN + 1], waiting [ZJOB_ID_LEN + 1], ready [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", failed);
    zjob_spec_t spec = s_spec ("later", ZJOB_PRIORITY_MEDIUM);
    spec.run_at = zjob_clock_ms () + 3600000;
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    strcpy (waiting, job->id);
    zjob_job_destroy (&job);
    s_create (manager, "later", ZJOB_PRIORITY_MEDIUM, true, ready);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zhashx_t *before = s_store_image (manager);
    size_t counts_before [ZJOB_STATUS_COUNT], counts_after [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts_before);

    zjob_apply_opts_t dry = { .reset_attempts = true, .dry_run = true };
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RETRY, failed, &dry, &err), 0);
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RETRY, ready, &dry, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, ready), "%s", err.text);
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RUN_NOW, waiting, &dry, &err), 0);
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RUN_NOW, ready, &dry, &err), -1);
    cr_assert (strstr (err.text, "due already"), "%s", err.text);
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RUN_NOW, "0000000000000000000Z",
                                           &dry, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    zjob_bulk_t bulk;
    char done [4][ZJOB_ID_LEN + 1];
    dry.done_ids = done;
    dry.done_max = 4;
    zjob_filter_t filter = { .status_mask = (1u << ZJOB_FAILED) | (1u << ZJOB_QUEUED) };
    cr_assert_eq (zjob_manager_apply_bulk_with (manager, ZJOB_APPLY_RETRY, NULL, 0, &filter,
                                                &dry, &bulk, &err),
                  0);
    cr_assert_eq (bulk.done, 1);
    cr_assert_eq (bulk.failed, 0, "by filter, only the jobs it is legal for");
    cr_assert_str_eq (done [0], failed);
    cr_assert_eq (zjob_manager_apply_bulk_with (manager, ZJOB_APPLY_RUN_NOW, NULL, 0, &filter,
                                                &dry, &bulk, &err),
                  0);
    cr_assert_eq (bulk.done, 1);
    cr_assert_str_eq (done [0], waiting);
    const char *ids [] = { failed, waiting, ready };
    cr_assert_eq (zjob_manager_apply_bulk_with (manager, ZJOB_APPLY_RETRY, ids, 3, NULL, &dry,
                                                &bulk, &err),
                  0);
    cr_assert_eq (bulk.done, 1);
    cr_assert_eq (bulk.failed, 2);
    cr_assert_eq (bulk.error_count, 2);
    cr_assert_str_eq (bulk.ids [0], waiting);
    cr_assert_eq (bulk.errors [0].code, ZJOB_CONFLICT);

    zhashx_t *after = s_store_image (manager);
    s_assert_same_image (before, after);
    zjob_manager_counts (manager, counts_after);
    cr_assert_eq (memcmp (counts_before, counts_after, sizeof (counts_before)), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (log.count, 0, "nothing heard");
    zhashx_destroy (&before);
    zhashx_destroy (&after);
    zjob_manager_destroy (&manager);
}

Test (manager_rerun, bulk_counts_errors_and_ids)
{
    zjob_manager_t *manager = s_manager (0);
    char f1 [ZJOB_ID_LEN + 1], f2 [ZJOB_ID_LEN + 1], c1 [ZJOB_ID_LEN + 1];
    char q1 [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", f1);
    s_failed_job (manager, "w1", f2);
    s_create (manager, "rerun", ZJOB_PRIORITY_LOW, false, c1);
    cr_assert_eq (zjob_manager_cancel (manager, c1, &err), 0);
    s_create (manager, "rerun", ZJOB_PRIORITY_LOW, false, q1);

    //  By ids: each one counted, the unknown and the illegal as failures
    const char *ids [] = { f1, q1, "0000000000000000000Z", c1 };
    char done [1][ZJOB_ID_LEN + 1];
    zjob_apply_opts_t opts = { .reset_attempts = true, .done_ids = done, .done_max = 1 };
    zjob_bulk_t bulk;
    cr_assert_eq (zjob_manager_apply_bulk_with (manager, ZJOB_APPLY_RETRY, ids, 4, NULL, &opts,
                                                &bulk, &err),
                  0);
    cr_assert_eq (bulk.done, 2);
    cr_assert_eq (bulk.failed, 2);
    cr_assert_str_eq (done [0], f1, "done_max ids at most");
    cr_assert_str_eq (bulk.ids [0], q1);
    cr_assert_eq (bulk.errors [0].code, ZJOB_CONFLICT);
    cr_assert_eq (bulk.errors [1].code, ZJOB_NOT_FOUND);
    zjob_job_t *job = s_get (manager, f1);
    cr_assert_eq (job->attempts, 0, "reset in bulk too");
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (manager, c1), ZJOB_QUEUED);

    //  By filter: only the failed and cancelled jobs it matches
    zjob_filter_t filter = { .workflow_id = "rerun" };
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_RETRY, NULL, 0, &filter, &bulk,
                                           &err),
                  0);
    cr_assert_eq (bulk.done, 1);
    cr_assert_eq (bulk.failed, 0);
    cr_assert_eq (s_status (manager, f2), ZJOB_QUEUED);
    job = s_get (manager, f2);
    cr_assert_eq (job->attempts, 1, "kept by default");
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  A veto refuses what the table allows
static int
s_veto (zjob_apply_t what, const zjob_job_t *job, void *arg, zjob_error_t *err)
{
    (void) what;
    if (strcmp (job->id, (const char *) arg) == 0)
        return zjob_error_set (err, ZJOB_CONFLICT, "job %s: vetoed", job->id);
    return 0;
}

Test (manager_rerun, veto_refuses_one_job)
{
    zjob_manager_t *manager = s_manager (0);
    char f1 [ZJOB_ID_LEN + 1], f2 [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", f1);
    s_failed_job (manager, "w1", f2);
    zjob_apply_opts_t opts = { .veto = s_veto, .veto_arg = f1 };
    cr_assert_eq (zjob_manager_apply_with (manager, ZJOB_APPLY_RETRY, f1, &opts, &err), -1);
    cr_assert (strstr (err.text, "vetoed"), "%s", err.text);
    cr_assert_eq (s_status (manager, f1), ZJOB_FAILED);
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_FAILED };
    zjob_bulk_t bulk;
    cr_assert_eq (zjob_manager_apply_bulk_with (manager, ZJOB_APPLY_RETRY, NULL, 0, &filter,
                                                &opts, &bulk, &err),
                  0);
    cr_assert_eq (bulk.done, 1);
    cr_assert_eq (bulk.failed, 1, "a vetoed job is a failure");
    cr_assert_str_eq (bulk.ids [0], f1);
    cr_assert_eq (s_status (manager, f1), ZJOB_FAILED);
    cr_assert_eq (s_status (manager, f2), ZJOB_QUEUED);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Restart and cleanup

Test (manager_rerun, restart_keeps_a_rerun_and_a_run_now, .fini = s_tmpdir_fini)
{
    char *dir = s_dir = s_tmpdir ();
    char failed [ZJOB_ID_LEN + 1], waiting [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    s_failed_job (manager, "w1", failed);
    zjob_spec_t spec = s_spec ("later", ZJOB_PRIORITY_MEDIUM);
    spec.run_at = zjob_clock_ms () + 3600000;
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    strcpy (waiting, job->id);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retry (manager, failed, true, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_run_now (manager, waiting, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_queued (manager), 2, "both ready after the restart");
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    job = s_get (manager, failed);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0);
    cr_assert_eq (job->run_at, 0);
    cr_assert_eq (job->completed_at, 0);
    cr_assert_null (job->error_kind);
    zjob_job_destroy (&job);
    job = s_get (manager, waiting);
    cr_assert_eq (job->run_at, 0);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  A job that failed, was re-run and failed again is kept for the
//  retention from its second end, not its first
Test (manager_rerun, cleanup_counts_from_the_last_end)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_failed_job (manager, "w1", id);
    zjob_job_t *job = s_get (manager, id);
    int64_t first_end = job->completed_at;
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retry (manager, id, false, &err), 0);
    s_let_time_pass (5);
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_fail (manager, id, "w1", "boom", "again", &err), 0, "%s",
                  err.text);
    job = s_get (manager, id);
    int64_t second_end = job->completed_at;
    zjob_job_destroy (&job);
    cr_assert_gt (second_end, first_end);

    //  The cutoff between the two ends: kept
    size_t deleted = 0;
    int64_t now = second_end + ZJOB_RETENTION_DEFAULT_MS - 1;
    cr_assert_eq (zjob_manager_cleanup_step (manager, now, 10, &deleted, &err), 0);
    cr_assert_eq (deleted, 0);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
    //  Past the second end: deleted
    now = second_end + ZJOB_RETENTION_DEFAULT_MS + 1;
    cr_assert_eq (zjob_manager_cleanup_step (manager, now, 10, &deleted, &err), 0);
    cr_assert_eq (deleted, 1);
    cr_assert_eq (zjob_manager_status (manager, id, &err), -1);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}
