/*  =========================================================================
    test_zjob_pg_e2e - zjobd on PostgreSQL, as a user sees it

    Real processes only: zjobd --store postgres:..., a zjob-worker, the
    client library, and a PostgreSQL server of the test's own (it is
    stopped and started here, which the fixture's server, shared by the
    tests running meanwhile, must not be; test_zjob_pg.h). The promises:
    jobs are submitted, worked and completed; while the server is down a
    SUBMIT is answered 503, never OK (nothing is acknowledged that was not
    committed); once the server is back zjobd serves again by itself; and
    every job acknowledged is there after a kill -9 of zjobd and a
    restart, loaded from the database.
    ========================================================================= */

#include <criterion/criterion.h>
#include "test_zjob_pg.h"
#include "zjob_client.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS

static zjob_e2e_t s_env;
static zjob_test_pg_private_t s_server;

static const char *const s_broker_args [] = { "--heartbeat", "200ms", "--log-level", "info",
                                              NULL };

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
    zjob_test_pg_private_stop (&s_server);
}

TestSuite (pg_e2e, .fini = s_teardown, .timeout = 180);

//  Submit a job of workflow; 0 and its id, or -1 with err
static int
s_submit (const char *workflow, char *id, zjob_error_t *err)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    return zjob_client_submit (s_env.client, &spec, true, id, err);
}

static void
s_expect_status (const char *id, zjob_status_t status)
{
    zjob_error_t err;
    int64_t deadline = zclock_mono () + DEADLINE_MS;
    while (true) {
        zjob_job_t *job = zjob_client_get (s_env.client, id, &err);
        cr_assert_not_null (job, "get %s: %s", id, err.text);
        zjob_status_t now = zjob_job_status (job);
        zjob_job_destroy (&job);
        if (now == status)
            return;
        cr_assert_lt (zclock_mono (), deadline, "job %s is %s, not %s", id,
                      zjob_status_name (now), zjob_status_name (status));
        zclock_sleep (20);  //  Polling the broker for a change
    }
}

Test (pg_e2e, jobs_survive_a_stopped_server_and_a_killed_broker)
{
    zjob_test_pg_private_start (&s_server);
    zjob_e2e_prepare (&s_env, s_broker_args, 2000, DEADLINE_MS);
    snprintf (s_env.store, sizeof s_env.store, "postgres:%s", s_server.conninfo);
    zjob_e2e_start (&s_env, NULL);
    zjob_e2e_worker_start (&s_env, 0, "echo", NULL, "echo '{}'");

    //  Submit, work, complete
    char done [ZJOB_ID_LEN + 1], queued [ZJOB_ID_LEN + 1], later [ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (s_submit ("echo", done, &err), 0, "%s", err.text);
    s_expect_status (done, ZJOB_COMPLETED);
    cr_assert_eq (s_submit ("nobody", queued, &err), 0, "%s", err.text);
    char *rows = zjob_test_pg_query (s_server.conninfo, "SELECT string_agg (status, ',' ORDER BY"
                                                        " status) FROM zjob_jobs");
    cr_assert_not_null (rows);
    cr_assert_str_eq (rows, "completed,queued");
    free (rows);

    //  The server stops: a SUBMIT is refused with 503, never acknowledged
    zjob_test_pg_ctl (&s_server, "stop");
    char refused [ZJOB_ID_LEN + 1];
    int rc = s_submit ("echo", refused, &err);
    cr_assert_eq (rc, -1, "a SUBMIT was acknowledged with the database down");
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    cr_assert_eq (s_submit ("echo", refused, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    //  Reads are served from the broker's memory meanwhile
    s_expect_status (done, ZJOB_COMPLETED);

    //  It starts again: zjobd reconnects by itself and serves
    zjob_test_pg_ctl (&s_server, "start");
    int64_t deadline = zclock_mono () + DEADLINE_MS;
    while ((rc = s_submit ("echo", later, &err)) == -1 && zclock_mono () < deadline) {
        cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
        zclock_sleep (100);  //  The store's reconnect backoff is what we wait on
    }
    cr_assert_eq (rc, 0, "no SUBMIT served after the server came back: %s", err.text);
    s_expect_status (later, ZJOB_COMPLETED);

    //  kill -9 and a restart: everything acknowledged is loaded again
    zjob_e2e_restart (&s_env);
    s_expect_status (done, ZJOB_COMPLETED);
    s_expect_status (queued, ZJOB_QUEUED);
    s_expect_status (later, ZJOB_COMPLETED);
    char after [ZJOB_ID_LEN + 1];
    cr_assert_eq (s_submit ("echo", after, &err), 0, "%s", err.text);
    s_expect_status (after, ZJOB_COMPLETED);
}
