/*  =========================================================================
    test_zjob_batches - batches through the manager: counts through every
    transition (retry, re-run, cancel, delete), open and closed batches,
    the callback created once with the batch summary in its inputs, the
    SUBMIT rules (closed batch, callback, batch_id), records and recovery
    over the file store (a missing callback fired once, never twice),
    cleanup and listing
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_batches.h"
#include "zjob_json.h"

//  Submit count jobs of workflow into opts's batch; ids receives their ids
static int
s_submit (zjob_manager_t *manager, const char *workflow, size_t count, uint32_t max_attempts,
          const zjob_batch_opts_t *opts, char (*ids) [ZJOB_ID_LEN + 1], zjob_error_t *err)
{
    zjob_spec_t specs [16];
    zjob_job_t *jobs [16];
    uint64_t existing [16];
    size_t existing_count = 0;
    cr_assert_leq (count, 16);
    for (size_t index = 0; index < count; index++) {
        specs [index] = s_spec (workflow, ZJOB_PRIORITY_UNSET);
        specs [index].max_attempts = max_attempts;
    }
    int rc = zjob_manager_submit_with (manager, specs, count, true, opts, jobs, existing,
                                       &existing_count, err);
    for (size_t index = 0; rc >= 0 && index < count; index++) {
        if (ids)
            strcpy (ids [index], jobs [index]->id);
        zjob_job_destroy (&jobs [index]);
    }
    return rc;
}

static zjob_batch_info_t
s_info (zjob_manager_t *manager, const char *id)
{
    zjob_batch_info_t info;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_batches_info (zjob_manager_batches (manager), id, &info, &err), 0,
                  "batch %s: %s", id, err.text);
    return info;
}

static void
s_assert_batch (zjob_manager_t *manager, const char *id, const char *state, uint64_t total,
                uint64_t completed, uint64_t failed, uint64_t cancelled)
{
    zjob_batch_info_t info = s_info (manager, id);
    cr_assert_str_eq (info.state, state, "batch %s: state %s, not %s", id, info.state, state);
    cr_assert_eq (info.total, total, "total %" PRIu64 ", not %" PRIu64, info.total, total);
    cr_assert_eq (info.completed, completed, "completed %" PRIu64, info.completed);
    cr_assert_eq (info.failed, failed, "failed %" PRIu64, info.failed);
    cr_assert_eq (info.cancelled, cancelled, "cancelled %" PRIu64, info.cancelled);
    cr_assert_eq (info.pending, total - completed - failed - cancelled);
}

//  Take the job id (the first of its workflow's queue) as worker w
static void
s_take_id (zjob_manager_t *manager, const char *workflow, const char *id)
{
    const char *only [] = { workflow };
    zjob_job_t *job = zjob_manager_take (manager, only, 1, "w");
    cr_assert_not_null (job, "nothing to take");
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
}

static void
s_sync (zjob_manager_t *manager)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "sync: %s", err.text);
}

//  The jobs of workflow now stored; *job_p (if not NULL) the last
static size_t
s_count_of (zjob_manager_t *manager, const char *workflow, zjob_job_t **job_p)
{
    zjob_query_t query = { .filter = { .workflow_id = workflow } };
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_list (manager, &query, &jobs, &count, NULL, &err), 0, "%s",
                  err.text);
    for (size_t index = 0; index < count; index++) {
        if (job_p && index == count - 1)
            *job_p = jobs [index];
        else
            zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    return count;
}

//  {"to": "ops"} as msgpack
static const uint8_t s_cb_inputs [] = { 0x81, 0xa2, 't', 'o', 0xa3, 'o', 'p', 's' };

//  Heard batch_finished events
static int s_finished_heard;
static void
s_on_finished (const zjob_batch_info_t *info, void *arg)
{
    (void) info;
    (void) arg;
    s_finished_heard++;
}


Test (batches, counts_follow_every_transition)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_batches_set_listener (zjob_manager_batches (manager), s_on_finished, NULL);
    s_finished_heard = 0;
    zjob_spec_t callback = s_spec ("after", ZJOB_PRIORITY_HIGH);
    callback.inputs = s_cb_inputs;
    callback.inputs_size = sizeof (s_cb_inputs);
    zjob_batch_opts_t opts = { .id = "b1", .callback = &callback };
    char ids [3][ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit (manager, "w", 3, 1, &opts, ids, &err), 3, "%s", err.text);
    s_assert_batch (manager, "b1", "running", 3, 0, 0, 0);
    for (int index = 0; index < 3; index++) {
        zjob_job_t *job = s_get (manager, ids [index]);
        cr_assert_str_eq (zjob_job_batch (job), "b1");
        zjob_job_destroy (&job);
    }
    //  Running is still pending; completed, failed (for good), cancelled
    s_take_id (manager, "w", ids [0]);
    s_assert_batch (manager, "b1", "running", 3, 0, 0, 0);
    cr_assert_eq (zjob_manager_complete (manager, ids [0], "w", s_outputs, sizeof (s_outputs), &err), 0);
    s_assert_batch (manager, "b1", "running", 3, 1, 0, 0);
    s_take_id (manager, "w", ids [1]);
    cr_assert_eq (zjob_manager_fail (manager, ids [1], "w", "boom", "it broke", &err), 0);
    s_assert_batch (manager, "b1", "running", 3, 1, 1, 0);
    //  A re-run moves it back to pending
    cr_assert_eq (zjob_manager_retry (manager, ids [1], false, &err), 0, "%s", err.text);
    s_assert_batch (manager, "b1", "running", 3, 1, 0, 0);
    cr_assert_eq (zjob_manager_pause (manager, ids [2], &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_cancel (manager, ids [2], &err), 0, "%s", err.text);
    s_assert_batch (manager, "b1", "running", 3, 1, 0, 1);
    s_sync (manager);
    cr_assert_eq (s_count_of (manager, "after", NULL), 0, "no callback while one is pending");
    s_take_id (manager, "w", ids [1]);
    cr_assert_eq (zjob_manager_complete (manager, ids [1], "w", NULL, 0, &err), 0);
    //  Finished: failed (one was cancelled); the callback comes with the sync
    s_assert_batch (manager, "b1", "failed", 3, 2, 0, 1);
    cr_assert_eq (s_finished_heard, 1);
    cr_assert (zjob_batches_dirty (zjob_manager_batches (manager)));
    s_sync (manager);
    cr_assert_not (zjob_batches_dirty (zjob_manager_batches (manager)));
    zjob_job_t *cb = NULL;
    cr_assert_eq (s_count_of (manager, "after", &cb), 1);
    cr_assert_null (zjob_job_batch (cb), "the callback is no member");
    cr_assert_eq (cb->status, ZJOB_QUEUED);
    cr_assert_eq (cb->priority, ZJOB_PRIORITY_HIGH);
    zjob_batch_info_t info = s_info (manager, "b1");
    cr_assert_str_eq (info.callback_job, cb->id);
    cr_assert_str_eq (info.callback_workflow, "after");
    size_t size = 0;
    const uint8_t *inputs = zjob_job_inputs (cb, &size);
    char *json = zjob_msgpack_to_json (inputs, size, ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (json, "%s", err.text);
    cr_assert_not_null (strstr (json, "\"to\":\"ops\""), "%s", json);
    cr_assert_not_null (strstr (json, "\"batch\":{"), "%s", json);
    cr_assert_not_null (strstr (json, "\"id\":\"b1\""), "%s", json);
    cr_assert_not_null (strstr (json, "\"state\":\"failed\""), "%s", json);
    cr_assert_not_null (strstr (json, "\"total\":3"), "%s", json);
    cr_assert_not_null (strstr (json, "\"completed\":2"), "%s", json);
    cr_assert_not_null (strstr (json, "\"cancelled\":1"), "%s", json);
    free (json);
    zjob_job_destroy (&cb);

    //  The cancelled one re-run: running again; completed: no second callback
    cr_assert_eq (zjob_manager_retry (manager, ids [2], false, &err), 0, "%s", err.text);
    s_assert_batch (manager, "b1", "running", 3, 2, 0, 0);
    cr_assert_eq (s_info (manager, "b1").finished_at, 0);
    s_take_id (manager, "w", ids [2]);
    cr_assert_eq (zjob_manager_complete (manager, ids [2], "w", NULL, 0, &err), 0);
    s_assert_batch (manager, "b1", "completed", 3, 3, 0, 0);
    cr_assert_eq (s_finished_heard, 2);
    s_sync (manager);
    cr_assert_eq (s_count_of (manager, "after", NULL), 1, "the callback runs once");
    zjob_manager_destroy (&manager);
}

Test (batches, retried_attempts_stay_pending)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_batch_opts_t opts = { .id = "r" };
    char ids [1][ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit (manager, "w", 1, 2, &opts, ids, &err), 1, "%s", err.text);
    //  A failed attempt with attempts left is retried: still pending
    s_take_id (manager, "w", ids [0]);
    cr_assert_eq (zjob_manager_finish (manager, ids [0], "w", NULL, 0, false, NULL, 0, "boom",
                                       NULL, &err),
                  1, "%s", err.text);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_QUEUED, "retried");
    s_assert_batch (manager, "r", "running", 1, 0, 0, 0);
    s_take_id (manager, "w", ids [0]);
    cr_assert_eq (zjob_manager_finish (manager, ids [0], "w", NULL, 0, false, NULL, 0, "boom",
                                       NULL, &err),
                  1, "%s", err.text);
    s_assert_batch (manager, "r", "failed", 1, 0, 1, 0);
    zjob_manager_destroy (&manager);
}

Test (batches, open_batch_takes_members_until_closed)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t callback = s_spec ("after", ZJOB_PRIORITY_UNSET);
    zjob_batch_opts_t opts = { .id = "big", .open = true, .callback = &callback };
    char ids [4][ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit (manager, "w", 2, 0, &opts, ids, &err), 2, "%s", err.text);
    s_assert_batch (manager, "big", "open", 2, 0, 0, 0);
    //  A later SUBMIT with a callback is refused: the callback is the creator's
    opts.callback = NULL;
    zjob_batch_opts_t again = { .id = "big", .open = true, .callback = &callback };
    cr_assert_eq (s_submit (manager, "w", 1, 0, &again, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_eq (s_submit (manager, "w", 1, 0, &opts, ids + 2, &err), 1, "%s", err.text);
    s_assert_batch (manager, "big", "open", 3, 0, 0, 0);
    //  Every member done while open: no finish, no callback
    for (int index = 0; index < 3; index++) {
        s_take_id (manager, "w", ids [index]);
        cr_assert_eq (zjob_manager_complete (manager, ids [index], "w", NULL, 0, &err), 0);
    }
    s_assert_batch (manager, "big", "open", 3, 3, 0, 0);
    s_sync (manager);
    cr_assert_eq (s_count_of (manager, "after", NULL), 0);
    //  Closed by BATCH close: finished, the callback at the sync
    cr_assert_eq (zjob_batches_close (zjob_manager_batches (manager), "big", &err), 0);
    s_assert_batch (manager, "big", "completed", 3, 3, 0, 0);
    s_sync (manager);
    cr_assert_eq (s_count_of (manager, "after", NULL), 1);
    //  Closed: no more members, nothing created
    size_t before = zjob_manager_stored (manager);
    cr_assert_eq (s_submit (manager, "w", 2, 0, &opts, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_not_null (strstr (err.text, "closed"), "%s", err.text);
    cr_assert_eq (zjob_manager_stored (manager), before);
    cr_assert_eq (zjob_batches_close (zjob_manager_batches (manager), "nope", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    zjob_manager_destroy (&manager);
}

Test (batches, a_submit_without_open_closes_the_batch)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_batch_opts_t opts = { .id = "two", .open = true };
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit (manager, "w", 2, 0, &opts, NULL, &err), 2, "%s", err.text);
    opts.open = false;
    cr_assert_eq (s_submit (manager, "w", 2, 0, &opts, NULL, &err), 2, "%s", err.text);
    s_assert_batch (manager, "two", "running", 4, 0, 0, 0);
    cr_assert_eq (s_submit (manager, "w", 1, 0, &opts, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    zjob_manager_destroy (&manager);
}

Test (batches, spec_batch_id_rules)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    zjob_spec_t specs [2] = { s_spec ("w", ZJOB_PRIORITY_UNSET), s_spec ("w", ZJOB_PRIORITY_UNSET) };
    zjob_job_t *jobs [2];
    uint64_t existing [2];
    size_t existing_count;
    //  A spec's own batch_id must be the SUBMIT's
    specs [1].batch_id = "other";
    zjob_batch_opts_t opts = { .id = "mine" };
    cr_assert_eq (zjob_manager_submit_with (manager, specs, 2, true, &opts, jobs, existing,
                                            &existing_count, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "jobs[1]"), "%s", err.text);
    cr_assert_eq (zjob_manager_stored (manager), 0);
    cr_assert_eq (zjob_batches_size (zjob_manager_batches (manager)), 0);
    //  With no batch map, the specs' batch_id makes the batch (closed)
    specs [0].batch_id = "other";
    cr_assert_eq (zjob_manager_submit_with (manager, specs, 2, true, NULL, jobs, existing,
                                            &existing_count, &err),
                  2, "%s", err.text);
    zjob_job_destroy (&jobs [0]);
    zjob_job_destroy (&jobs [1]);
    s_assert_batch (manager, "other", "running", 2, 0, 0, 0);
    //  A bad callback is refused before anything is made
    zjob_spec_t bad = s_spec ("not a name", ZJOB_PRIORITY_UNSET);
    zjob_batch_opts_t with_bad = { .id = "cb", .callback = &bad };
    cr_assert_eq (s_submit (manager, "w", 1, 0, &with_bad, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);
    cr_assert_eq (zjob_manager_stored (manager), 2);
    zjob_manager_destroy (&manager);
}

Test (batches, idempotent_specs_add_no_member)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    spec.idempotency_key = "k1";
    zjob_job_t *job = NULL;
    uint64_t existing [1];
    size_t existing_count;
    zjob_batch_opts_t opts = { .id = "idem", .open = true };
    cr_assert_eq (zjob_manager_submit_with (manager, &spec, 1, true, &opts, &job, existing,
                                            &existing_count, &err),
                  1, "%s", err.text);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_submit_with (manager, &spec, 1, true, &opts, &job, existing,
                                            &existing_count, &err),
                  0, "%s", err.text);
    cr_assert_eq (existing_count, 1);
    zjob_job_destroy (&job);
    s_assert_batch (manager, "idem", "open", 1, 0, 0, 0);
    zjob_manager_destroy (&manager);
}

Test (batches, a_member_deleted_unfinished_counts_as_cancelled)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_batch_opts_t opts = { .id = "del" };
    char ids [3][ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    zjob_spec_t specs [3];
    zjob_job_t *jobs [3];
    uint64_t existing [3];
    size_t existing_count;
    for (int index = 0; index < 3; index++)
        specs [index] = s_spec ("w", ZJOB_PRIORITY_UNSET);
    //  Created, not started: pending all the same
    cr_assert_eq (zjob_manager_submit_with (manager, specs, 3, false, &opts, jobs, existing,
                                            &existing_count, &err),
                  3, "%s", err.text);
    for (int index = 0; index < 3; index++) {
        strcpy (ids [index], jobs [index]->id);
        zjob_job_destroy (&jobs [index]);
    }
    s_assert_batch (manager, "del", "running", 3, 0, 0, 0);
    cr_assert_eq (zjob_manager_delete (manager, ids [0], &err), 0);
    s_assert_batch (manager, "del", "running", 3, 0, 0, 1);
    cr_assert_eq (zjob_manager_start (manager, ids [1], &err), 0);
    cr_assert_eq (zjob_manager_delete (manager, ids [1], &err), 0, "%s", err.text);
    s_assert_batch (manager, "del", "running", 3, 0, 0, 2);
    //  A finished member deleted keeps its count
    cr_assert_eq (zjob_manager_start (manager, ids [2], &err), 0);
    s_take_id (manager, "w", ids [2]);
    cr_assert_eq (zjob_manager_complete (manager, ids [2], "w", NULL, 0, &err), 0);
    cr_assert_eq (zjob_manager_delete (manager, ids [2], &err), 0);
    s_assert_batch (manager, "del", "failed", 3, 1, 0, 2);
    zjob_manager_destroy (&manager);
}

Test (batches, list_in_id_order_and_paged)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    const char *names [] = { "c", "a", "b", "d" };
    for (int index = 0; index < 4; index++) {
        zjob_batch_opts_t opts = { .id = names [index] };
        cr_assert_eq (s_submit (manager, "w", 1, 0, &opts, NULL, &err), 1, "%s", err.text);
    }
    zjob_batch_info_t *infos = NULL;
    size_t count = 0, total = 0;
    cr_assert_eq (zjob_batches_list (zjob_manager_batches (manager), 1, 2, &infos, &count,
                                     &total, &err),
                  0);
    cr_assert_eq (total, 4);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (infos [0].id, "b");
    cr_assert_str_eq (infos [1].id, "c");
    free (infos);
    cr_assert_eq (zjob_batches_list (zjob_manager_batches (manager), 9, 0, &infos, &count,
                                     &total, &err),
                  0);
    cr_assert_eq (count, 0);
    cr_assert_null (infos);
    zjob_manager_destroy (&manager);
}

Test (batches, cleanup_removes_finished_batches_past_retention)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    zjob_batch_opts_t done = { .id = "done" }, busy = { .id = "busy" };
    char ids [1][ZJOB_ID_LEN + 1];
    cr_assert_eq (s_submit (manager, "w", 1, 0, &done, ids, &err), 1);
    cr_assert_eq (s_submit (manager, "x", 1, 0, &busy, NULL, &err), 1);
    s_take_id (manager, "w", ids [0]);
    cr_assert_eq (zjob_manager_complete (manager, ids [0], "w", NULL, 0, &err), 0);
    s_sync (manager);
    zjob_store_t *store = zjob_manager_store (manager);
    size_t size = 0;
    cr_assert_not_null (zjob_store_record_get (store, ZJOB_BATCH_RECORD, "done", &size));
    //  Not past the retention yet: kept
    cr_assert_eq (zjob_manager_cleanup (manager, zjob_clock_ms (), &err), 0);
    cr_assert_eq (zjob_batches_size (zjob_manager_batches (manager)), 2);
    //  Past it: the finished batch goes (with its job), the running one stays
    int64_t later = zjob_clock_ms () + ZJOB_RETENTION_DEFAULT_MS + 1000;
    cr_assert_eq (zjob_manager_cleanup (manager, later, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_batches_size (zjob_manager_batches (manager)), 1);
    cr_assert_null (zjob_store_record_get (store, ZJOB_BATCH_RECORD, "done", &size));
    cr_assert_not_null (zjob_store_record_get (store, ZJOB_BATCH_RECORD, "busy", &size));
    zjob_batch_info_t info;
    cr_assert_eq (zjob_batches_info (zjob_manager_batches (manager), "done", &info, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Over the file store: the records, and recovery

Test (batches, counts_survive_a_restart, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    zjob_error_t err = { 0, "" };
    zjob_spec_t callback = s_spec ("after", ZJOB_PRIORITY_UNSET);
    zjob_batch_opts_t opts = { .id = "kept", .open = true, .callback = &callback };
    char ids [3][ZJOB_ID_LEN + 1];
    cr_assert_eq (s_submit (manager, "w", 3, 1, &opts, ids, &err), 3, "%s", err.text);
    s_take_id (manager, "w", ids [0]);
    cr_assert_eq (zjob_manager_complete (manager, ids [0], "w", NULL, 0, &err), 0);
    s_take_id (manager, "w", ids [1]);
    cr_assert_eq (zjob_manager_fail (manager, ids [1], "w", "boom", NULL, &err), 0);
    s_sync (manager);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    s_assert_batch (manager, "kept", "open", 3, 1, 1, 0);
    zjob_batch_info_t info = s_info (manager, "kept");
    cr_assert_str_eq (info.callback_workflow, "after");
    cr_assert_gt (info.created_at, 0);
    //  Closed after the restart; the last member completes: the callback
    cr_assert_eq (zjob_batches_close (zjob_manager_batches (manager), "kept", &err), 0);
    s_take_id (manager, "w", ids [2]);
    cr_assert_eq (zjob_manager_complete (manager, ids [2], "w", NULL, 0, &err), 0);
    s_assert_batch (manager, "kept", "failed", 3, 2, 1, 0);
    s_sync (manager);
    cr_assert_eq (s_count_of (manager, "after", NULL), 1);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    s_assert_batch (manager, "kept", "failed", 3, 2, 1, 0);
    cr_assert_neq (s_info (manager, "kept").finished_at, 0);
    cr_assert_eq (s_count_of (manager, "after", NULL), 1, "no second callback at a restart");
    zjob_manager_destroy (&manager);
}

//  A batch record as a crash leaves it: finished, with a callback, and
//  no callback job (the sync that would have made it durable never came)
static void
s_put_finished_record (zjob_store_t *store, const char *name)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 9);
    msgpack_pack_str_with_body (&pk, "tot", 3);
    msgpack_pack_uint64 (&pk, 2);
    msgpack_pack_str_with_body (&pk, "ok", 2);
    msgpack_pack_uint64 (&pk, 2);
    msgpack_pack_str_with_body (&pk, "fail", 4);
    msgpack_pack_uint64 (&pk, 0);
    msgpack_pack_str_with_body (&pk, "can", 3);
    msgpack_pack_uint64 (&pk, 0);
    msgpack_pack_str_with_body (&pk, "open", 4);
    msgpack_pack_false (&pk);
    msgpack_pack_str_with_body (&pk, "cat", 3);
    msgpack_pack_int64 (&pk, zjob_clock_ms () - 1000);
    msgpack_pack_str_with_body (&pk, "fat", 3);
    msgpack_pack_int64 (&pk, zjob_clock_ms ());
    msgpack_pack_str_with_body (&pk, "cb", 2);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "wf", 2);
    msgpack_pack_str_with_body (&pk, "after", 5);
    //  A key from a later version: skipped
    msgpack_pack_str_with_body (&pk, "zzz", 3);
    msgpack_pack_uint64 (&pk, 7);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_put (store, ZJOB_BATCH_RECORD, name,
                                         (const uint8_t *) buffer.data, buffer.size, &err),
                  0, "%s", err.text);
    msgpack_sbuffer_destroy (&buffer);
}

Test (batches, recovery_fires_a_missing_callback_once, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_store_t *store = s_file_store (s_dir);
    s_put_finished_record (store, "crashed");
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0);
    zjob_store_destroy (&store);

    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    zjob_job_t *cb = NULL;
    cr_assert_eq (s_count_of (manager, "after", &cb), 1, "recovery fires the callback");
    zjob_batch_info_t info = s_info (manager, "crashed");
    cr_assert_str_eq (info.state, "completed");
    cr_assert_str_eq (info.callback_job, cb->id);
    zjob_job_destroy (&cb);
    zjob_manager_destroy (&manager);

    //  And never twice
    for (int round = 0; round < 2; round++) {
        manager = s_manager_over (s_file_store (s_dir), 0);
        cr_assert_eq (s_count_of (manager, "after", NULL), 1, "round %d", round);
        zjob_manager_destroy (&manager);
    }
}

Test (batches, a_record_that_does_not_decode_is_skipped, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_store_t *store = s_file_store (s_dir);
    zjob_error_t err = { 0, "" };
    const uint8_t junk [] = { 0x93, 0x01 };  //  A truncated array
    cr_assert_eq (zjob_store_record_put (store, ZJOB_BATCH_RECORD, "junk", junk, sizeof (junk), &err), 0);
    //  A map that claims 4 billion pairs in 5 bytes: scanned before
    //  msgpack-c would allocate for them (64 GB: ASan aborts on it)
    const uint8_t huge [] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    cr_assert_eq (zjob_store_record_put (store, ZJOB_BATCH_RECORD, "huge", huge, sizeof (huge), &err), 0);
    s_put_finished_record (store, "fine");
    zjob_store_destroy (&store);
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    cr_assert_eq (zjob_batches_size (zjob_manager_batches (manager)), 1);
    zjob_batch_info_t info;
    cr_assert_eq (zjob_batches_info (zjob_manager_batches (manager), "junk", &info, &err), -1);
    zjob_manager_destroy (&manager);
}
