/*  =========================================================================
    test_zjob_bulk - the operations on many jobs, in bounded steps

    The stepped walk (zjob_manager_bulk_new/_step) against the one-call
    form over the same jobs, for each operation, by filter and by ids; a
    dry run changes nothing; a step examines at most its max; jobs added,
    changed and deleted between steps; a delete of every job by filter
    across many steps, on the memory and the file store.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_bulk.h"

#define S_JOBS 60  //  jobs of the mixed set

//  A mixed set of S_JOBS jobs of workflow "w" (and a few of "x"): created,
//  queued, delayed (run_at ahead), paused, cancelled, deleted. ids gets
//  each one's id in creation order.
static void
s_mixed (zjob_manager_t *manager, char ids [S_JOBS][ZJOB_ID_LEN + 1])
{
    zjob_error_t err = { 0, "" };
    for (size_t index = 0; index < S_JOBS; index++) {
        zjob_spec_t spec = s_spec (index % 7 == 6 ? "x" : "w", ZJOB_PRIORITY_MEDIUM);
        if (index % 5 == 2)
            spec.run_at = zjob_clock_ms () + 3600 * 1000;
        zjob_job_t *job = zjob_manager_create (manager, &spec, index % 4 != 0, &err);
        cr_assert_not_null (job, "create: %s", err.text);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
        if (index % 4 == 1)
            cr_assert_eq (zjob_manager_pause (manager, ids [index], &err), 0, "%s", err.text);
        else if (index % 4 == 3)
            cr_assert_eq (zjob_manager_cancel (manager, ids [index], &err), 0, "%s", err.text);
    }
}

//  The index of id in ids, or -1
static int
s_index_of (char ids [S_JOBS][ZJOB_ID_LEN + 1], const char *id)
{
    for (int index = 0; index < S_JOBS; index++)
        if (streq (ids [index], id))
            return index;
    return -1;
}

//  RETRY's veto in these tests: every third job of the set is refused
typedef struct {
    char (*ids) [ZJOB_ID_LEN + 1];
} s_veto_t;

static int
s_veto (zjob_apply_t what, const zjob_job_t *job, void *arg, zjob_error_t *err)
{
    (void) what;
    s_veto_t *veto = (s_veto_t *) arg;
    int index = s_index_of (veto->ids, job->id);
    if (index >= 0 && index % 3 == 0)
        return zjob_error_set (err, ZJOB_CONFLICT, "vetoed %s", job->id);
    return 0;
}

//  Run what over a fresh mixed set, in one call or in steps of step jobs;
//  outcome and done (dry run ids, as indices into the set) and statuses
//  (each job's, -1 if gone) are filled
static void
s_run (zjob_apply_t what, bool by_ids, bool dry, size_t step, zjob_bulk_t *outcome,
       int *done_index, int *statuses)
{
    zjob_manager_t *manager = s_manager (0);
    char ids [S_JOBS][ZJOB_ID_LEN + 1];
    s_mixed (manager, ids);
    s_veto_t veto = { ids };
    char done [S_JOBS][ZJOB_ID_LEN + 1];
    zjob_apply_opts_t opts = {
        .dry_run = dry, .veto = s_veto, .veto_arg = &veto, .done_ids = done, .done_max = S_JOBS
    };
    zjob_filter_t filter = { .workflow_id = "w" };
    const char *list [S_JOBS];
    for (size_t index = 0; index < S_JOBS; index++)
        list [index] = ids [index];
    zjob_error_t err = { 0, "" };
    if (step == 0)
        cr_assert_eq (zjob_manager_apply_bulk_with (manager, what, by_ids ? list : NULL,
                                                    by_ids ? S_JOBS : 0, by_ids ? NULL : &filter,
                                                    &opts, outcome, &err),
                      0, "%s", err.text);
    else {
        zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, what, by_ids ? list : NULL,
                                                        by_ids ? S_JOBS : 0,
                                                        by_ids ? NULL : &filter, &opts, &err);
        cr_assert_not_null (walk, "%s", err.text);
        size_t steps = 0;
        int rc;
        while ((rc = zjob_manager_bulk_step (manager, walk, step, &err)) == 0) {
            cr_assert_leq (zjob_bulk_walk_examined (walk), step);
            steps++;
        }
        cr_assert_eq (rc, 1, "%s", err.text);
        cr_assert_geq (steps, S_JOBS / step - 1, "%zu steps of %zu", steps, step);
        *outcome = *zjob_bulk_walk_outcome (walk);
        zjob_bulk_walk_destroy (&walk);
        cr_assert_null (walk);
    }
    for (size_t index = 0; index < outcome->done && index < S_JOBS; index++)
        done_index [index] = s_index_of (ids, done [index]);
    //  The failed jobs by their index in the set: the ids differ per run
    for (size_t index = 0; index < outcome->error_count; index++)
        snprintf (outcome->ids [index], sizeof (outcome->ids [index]), "%d",
                  s_index_of (ids, outcome->ids [index]));
    for (size_t index = 0; index < S_JOBS; index++)
        statuses [index] = zjob_manager_status (manager, ids [index], NULL);
    zjob_manager_destroy (&manager);
}

//  Stepped and one-call give the same counts, errors, ids and end state
static void
s_compare (zjob_apply_t what, bool by_ids, bool dry)
{
    zjob_bulk_t *one = (zjob_bulk_t *) malloc (sizeof (zjob_bulk_t));
    zjob_bulk_t *stepped = (zjob_bulk_t *) malloc (sizeof (zjob_bulk_t));
    cr_assert (one && stepped);
    int one_done [S_JOBS], stepped_done [S_JOBS], one_status [S_JOBS], stepped_status [S_JOBS];
    s_run (what, by_ids, dry, 0, one, one_done, one_status);
    s_run (what, by_ids, dry, 7, stepped, stepped_done, stepped_status);
    cr_assert_eq (one->done, stepped->done, "op %d: done %zu, stepped %zu", what, one->done,
                  stepped->done);
    cr_assert_eq (one->failed, stepped->failed, "op %d", what);
    cr_assert_eq (one->error_count, stepped->error_count, "op %d", what);
    for (size_t index = 0; index < one->error_count; index++) {
        cr_assert_eq (one->errors [index].code, stepped->errors [index].code);
        cr_assert_str_eq (one->ids [index], stepped->ids [index]);
    }
    for (size_t index = 0; index < one->done; index++)
        cr_assert_eq (one_done [index], stepped_done [index], "op %d: done [%zu]", what, index);
    for (size_t index = 0; index < S_JOBS; index++)
        cr_assert_eq (one_status [index], stepped_status [index], "op %d: job %zu", what, index);
    //  Something happened, and (a filter) never to a job it does not match
    if (what != ZJOB_APPLY_RUN_NOW || !by_ids)
        cr_assert_gt (one->done, 0, "op %d does nothing in the set", what);
    free (one);
    free (stepped);
}

Test (bulk, stepped_equals_one_call_by_filter)
{
    for (zjob_apply_t what = ZJOB_APPLY_DELETE; what <= ZJOB_APPLY_RUN_NOW; what++)
        s_compare (what, false, false);
}

Test (bulk, stepped_equals_one_call_by_ids)
{
    for (zjob_apply_t what = ZJOB_APPLY_DELETE; what <= ZJOB_APPLY_RUN_NOW; what++)
        s_compare (what, true, false);
}

Test (bulk, stepped_equals_one_call_dry_runs)
{
    s_compare (ZJOB_APPLY_RETRY, false, true);
    s_compare (ZJOB_APPLY_RUN_NOW, false, true);
    s_compare (ZJOB_APPLY_RETRY, true, true);
}

Test (bulk, dry_run_changes_nothing)
{
    zjob_manager_t *manager = s_manager (0);
    char ids [S_JOBS][ZJOB_ID_LEN + 1];
    s_mixed (manager, ids);
    int before [S_JOBS];
    for (size_t index = 0; index < S_JOBS; index++)
        before [index] = zjob_manager_status (manager, ids [index], NULL);
    char done [S_JOBS][ZJOB_ID_LEN + 1];
    zjob_apply_opts_t opts = { .dry_run = true, .done_ids = done, .done_max = S_JOBS };
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_CANCELLED };
    zjob_error_t err = { 0, "" };
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, ZJOB_APPLY_RETRY, NULL, 0, &filter,
                                                    &opts, &err);
    cr_assert_not_null (walk);
    cr_assert (zjob_bulk_walk_dry (walk));
    while (zjob_manager_bulk_step (manager, walk, 4, &err) == 0)
        ;
    const zjob_bulk_t *outcome = zjob_bulk_walk_outcome (walk);
    //  Every cancelled job, in creation order
    size_t expected = 0;
    for (size_t index = 0; index < S_JOBS; index++)
        if (before [index] == ZJOB_CANCELLED) {
            cr_assert_lt (expected, outcome->done);
            cr_assert_str_eq (done [expected++], ids [index]);
        }
    cr_assert_eq (outcome->done, expected);
    cr_assert_gt (expected, 0);
    for (size_t index = 0; index < S_JOBS; index++)
        cr_assert_eq (zjob_manager_status (manager, ids [index], NULL), before [index]);
    zjob_bulk_walk_destroy (&walk);
    zjob_bulk_walk_destroy (&walk);  //  Safe twice
    zjob_manager_destroy (&manager);
}

Test (bulk, a_step_examines_at_most_its_max)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < 100; index++)
        s_create (manager, index % 2 ? "w" : "x", ZJOB_PRIORITY_MEDIUM, true, id);
    zjob_filter_t filter = { .workflow_id = "w" };
    zjob_error_t err = { 0, "" };
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, ZJOB_APPLY_CANCEL, NULL, 0, &filter,
                                                    NULL, &err);
    cr_assert_not_null (walk);
    size_t steps = 0, examined = 0, done_before = 0;
    int rc = 0;
    while (rc == 0) {
        rc = zjob_manager_bulk_step (manager, walk, 10, &err);
        cr_assert_geq (rc, 0);
        cr_assert_leq (zjob_bulk_walk_examined (walk), 10);
        examined += zjob_bulk_walk_examined (walk);
        //  Half of each step's jobs match: done grows by at most 5
        size_t done = zjob_bulk_walk_outcome (walk)->done;
        cr_assert_leq (done - done_before, 5);
        done_before = done;
        steps++;
    }
    cr_assert_eq (examined, 100);
    cr_assert_geq (steps, 10);
    cr_assert_leq (steps, 11);
    cr_assert_eq (zjob_bulk_walk_outcome (walk)->done, 50);
    //  Done: another step does nothing
    cr_assert_eq (zjob_manager_bulk_step (manager, walk, 10, &err), 1);
    cr_assert_eq (zjob_bulk_walk_examined (walk), 0);
    zjob_bulk_walk_destroy (&walk);
    //  Neither ids nor a filter
    cr_assert_null (zjob_manager_bulk_new (manager, ZJOB_APPLY_CANCEL, NULL, 0, NULL, NULL, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_manager_destroy (&manager);
}

//  Between steps, the world changes: a job not visited yet deleted or
//  made not to match is not done, a job already passed is not visited
//  again, a job created since is visited (its id is after the cursor)
Test (bulk, jobs_change_between_steps)
{
    zjob_manager_t *manager = s_manager (0);
    char ids [20][ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < 20; index++)
        s_create (manager, "w", ZJOB_PRIORITY_MEDIUM, true, ids [index]);
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_error_t err = { 0, "" };
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, ZJOB_APPLY_CANCEL, NULL, 0, &filter,
                                                    NULL, &err);
    cr_assert_not_null (walk);
    cr_assert_eq (zjob_manager_bulk_step (manager, walk, 5, &err), 0);
    cr_assert_eq (zjob_bulk_walk_outcome (walk)->done, 5);
    for (size_t index = 0; index < 5; index++)
        cr_assert_eq (s_status (manager, ids [index]), ZJOB_CANCELLED);
    cr_assert_eq (s_status (manager, ids [5]), ZJOB_QUEUED);
    //  Job 1, passed, is queued again (RETRY): not cancelled twice
    cr_assert_eq (zjob_manager_retry (manager, ids [1], false, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_delete (manager, ids [10], &err), 0);
    cr_assert_eq (zjob_manager_pause (manager, ids [12], &err), 0);
    char late [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_MEDIUM, true, late);
    int rc;
    while ((rc = zjob_manager_bulk_step (manager, walk, 5, &err)) == 0)
        ;
    cr_assert_eq (rc, 1);
    const zjob_bulk_t *outcome = zjob_bulk_walk_outcome (walk);
    cr_assert_eq (outcome->done, 5 + 15 - 2 + 1, "done %zu", outcome->done);
    cr_assert_eq (outcome->failed, 0);
    cr_assert_eq (s_status (manager, ids [1]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [12]), ZJOB_PAUSED);
    cr_assert_eq (s_status (manager, late), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_status (manager, ids [10], NULL), -1);
    for (size_t index = 13; index < 20; index++)
        cr_assert_eq (s_status (manager, ids [index]), ZJOB_CANCELLED);
    zjob_bulk_walk_destroy (&walk);
    zjob_manager_destroy (&manager);
}

//  DELETE by filter removes the jobs the walk has just passed: the cursor
//  survives the removals, every job is deleted once
static void
s_delete_all (zjob_manager_t *manager, size_t jobs, size_t step)
{
    char id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < jobs; index++)
        s_create (manager, "w", ZJOB_PRIORITY_MEDIUM, index % 3 != 0, id);
    zjob_filter_t filter = { .workflow_id = "w" };
    zjob_error_t err = { 0, "" };
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, ZJOB_APPLY_DELETE, NULL, 0, &filter,
                                                    NULL, &err);
    cr_assert_not_null (walk);
    size_t steps = 0;
    int rc;
    while ((rc = zjob_manager_bulk_step (manager, walk, step, &err)) == 0)
        steps++;
    cr_assert_eq (rc, 1, "%s", err.text);
    cr_assert_geq (steps, jobs / step - 1);
    cr_assert_eq (zjob_bulk_walk_outcome (walk)->done, jobs);
    cr_assert_eq (zjob_bulk_walk_outcome (walk)->failed, 0);
    cr_assert_eq (zjob_manager_stored (manager), 0);
    zjob_bulk_walk_destroy (&walk);
    //  And the store still works: a new job is found by a new walk
    s_create (manager, "w", ZJOB_PRIORITY_MEDIUM, true, id);
    zjob_bulk_t bulk;
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_DELETE, NULL, 0, &filter, &bulk,
                                           &err),
                  0);
    cr_assert_eq (bulk.done, 1);
}

Test (bulk, delete_everything_by_filter_in_steps_memory)
{
    zjob_manager_t *manager = s_manager (0);
    s_delete_all (manager, 3000, 7);
    zjob_manager_destroy (&manager);
}

Test (bulk, delete_everything_by_filter_in_steps_file, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    s_delete_all (manager, 2000, 13);
    zjob_manager_destroy (&manager);
}
