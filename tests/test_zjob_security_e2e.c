/*  =========================================================================
    test_zjob_security_e2e - CURVE, roles and isolation as users see them

    Real processes only: keys made by `zjob keygen`, zjobd started with
    --curve-secret and --keys, the zjob CLI, zjob-worker and libzjob
    clients and subscribers holding those keys. Each refusal the issue
    names is tried: an unknown key, a wrong broker key, a client key used
    by a worker, a worker key used by a client, a client reading another
    user's job, a subscriber receiving another user's events, a worker
    serving a workflow its key does not allow, and a key revoked by a
    reload (SIGHUP). Every process started here is stopped in the fini.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS 20000  //  msecs any expected thing may take
#define REFUSED_MS 5000    //  msecs a refused key may take to be told so
#define QUIET_MS 1000      //  msecs in which something must NOT arrive

static zjob_e2e_t s_env;

//  The keys: made with zjob keygen in the test's directory
typedef enum { ADMIN = 0,
               ALICE,
               BOB,
               W1,
               EVE,
               KEYS } s_who_t;
static char s_secret [KEYS][700];   //  Each peer's NAME.key_secret
static char s_broker_public [700];  //  broker.key
static char s_broker_secret [700];  //  broker.key_secret
static char s_keys_dir [450];       //  The broker's --keys DIR
static zjob_connect_opts_t s_opts [KEYS];
static const char *s_broker_args [8];

//  Run the zjob CLI as who (its certificate and the broker's key)
#define s_cli_as(who, ...)                                                           \
    zjob_e2e_cli (&s_env, "--cert", s_secret [who], "--broker-key", s_broker_public, \
                  __VA_ARGS__, NULL)
#define s_cli_out s_env.cli_out

static const char *
s_path (const char *name)
{
    return zjob_e2e_path (&s_env, name);
}

//  zjob keygen name --dir dir [extra...]: writes dir/name.key(_secret)
static void
s_keygen (const char *name, const char *dir, const char *option, const char *value)
{
    int rc = option ? zjob_e2e_cli (&s_env, "keygen", name, "--dir", dir, option, value, NULL)
                    : zjob_e2e_cli (&s_env, "keygen", name, "--dir", dir, NULL);
    cr_assert_eq (rc, 0, "keygen %s: %s", name, s_cli_out);
}

static void
s_setup (void)
{
    //  The broker heartbeats fast, so that a revoked worker is dead soon
    zjob_e2e_prepare (&s_env, NULL, 5000, DEADLINE_MS);
    char dir [400];
    snprintf (dir, sizeof (dir), "%s", s_env.dir);
    snprintf (s_keys_dir, sizeof (s_keys_dir), "%s/keys", dir);
    char role_dir [800];
    s_keygen ("broker", dir, NULL, NULL);
    snprintf (role_dir, sizeof (role_dir), "%s/admin", s_keys_dir);
    s_keygen ("ops", role_dir, NULL, NULL);  //  Made with its parent directory
    snprintf (role_dir, sizeof (role_dir), "%s/client", s_keys_dir);
    s_keygen ("alice", role_dir, "--user", "alice");
    s_keygen ("bob", role_dir, NULL, NULL);  //  user_id: its name
    snprintf (role_dir, sizeof (role_dir), "%s/worker", s_keys_dir);
    s_keygen ("w1", role_dir, "--workflows", "resize");
    s_keygen ("eve", dir, NULL, NULL);  //  Listed nowhere
    snprintf (s_secret [ADMIN], 700, "%s/admin/ops.key_secret", s_keys_dir);
    snprintf (s_secret [ALICE], 700, "%s/client/alice.key_secret", s_keys_dir);
    snprintf (s_secret [BOB], 700, "%s/client/bob.key_secret", s_keys_dir);
    snprintf (s_secret [W1], 700, "%s/worker/w1.key_secret", s_keys_dir);
    snprintf (s_secret [EVE], 700, "%s/eve.key_secret", dir);
    snprintf (s_broker_public, sizeof (s_broker_public), "%s/broker.key", dir);
    snprintf (s_broker_secret, sizeof (s_broker_secret), "%s/broker.key_secret", dir);
    for (int who = 0; who < KEYS; who++)
        s_opts [who] = (zjob_connect_opts_t){ s_secret [who], s_broker_public };
    const char *const args [] = { "--curve-secret", s_broker_secret, "--keys", s_keys_dir,
                                  "--heartbeat", "200ms", NULL };
    memcpy (s_broker_args, args, sizeof (args));
    s_env.broker_args = s_broker_args;
    zjob_e2e_start (&s_env, &s_opts [ADMIN]);
}

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (security_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);

//  A libzjob client holding who's key
static zjob_client_t *
s_client (s_who_t who)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new_with (s_env.clients, 5000, &s_opts [who], &err);
    cr_assert_not_null (client, "%s", err.text);
    return client;
}

//  Submit one job of workflow as client; its id into id
static void
s_submit (zjob_client_t *client, const char *workflow, char *id)
{
    zjob_spec_t spec = { .workflow_id = workflow, .priority = ZJOB_PRIORITY_UNSET };
    char ids [1][ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit_batch (client, &spec, 1, true, ids, &err), 0, "%s",
                  err.text);
    memcpy (id, ids [0], ZJOB_ID_LEN + 1);
}

//  True once the file at path holds text (within the deadline)
static bool
s_file_says (const char *path, const char *text, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline) {
        FILE *file = fopen (path, "r");
        if (file) {
            static char content [1 << 16];
            size_t got = fread (content, 1, sizeof (content) - 1, file);
            fclose (file);
            content [got] = 0;
            if (strstr (content, text))
                return true;
        }
        zclock_sleep (50);  //  Polling a log another process writes
    }
    return false;
}

Test (security_e2e, keys_the_broker_does_not_take_are_refused_at_once_and_logged)
{
    //  A key listed nowhere: the CLI says so, fast, and the broker logs it
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (s_cli_as (EVE, "list"), 10, "%s", s_cli_out);
    cr_assert_lt (zjob_mono_ms () - start, REFUSED_MS, "a refused key took a timeout");
    cr_assert (s_file_says (s_path ("cli.log"), "refused this key", DEADLINE_MS));
    cr_assert (s_file_says (s_path ("zjobd.log"), "not listed", DEADLINE_MS),
               "the broker did not log the refusal");
    //  A worker key on the clients socket cannot submit
    start = zjob_mono_ms ();
    cr_assert_eq (s_cli_as (W1, "submit", "resize"), 10, "%s", s_cli_out);
    cr_assert_lt (zjob_mono_ms () - start, REFUSED_MS);
    //  A wrong broker key (eve's) is told as such
    cr_assert_eq (zjob_e2e_cli (&s_env, "--cert", s_secret [ALICE], "--broker-key",
                                s_path ("eve.key"), "list", NULL),
                  10);
    cr_assert (s_file_says (s_path ("cli.log"), "handshake", DEADLINE_MS));
    //  A client key cannot serve as a worker: zjob-worker says so and
    //  the broker never counts it
    const char *const options [] = { "--cert", s_secret [ALICE], "--broker-key",
                                     s_broker_public, NULL };
    zjob_e2e_worker_start (&s_env, 0, "resize", options, "echo '{}'");
    cr_assert (s_file_says (s_path ("worker0.log"), "refused this key", DEADLINE_MS),
               "zjob-worker did not report its refused key");
    cr_assert_eq (s_cli_as (ADMIN, "workers", "--json"), 0, "%s", s_cli_out);
    cr_assert_null (strstr (s_cli_out, "\"resize\""), "%s", s_cli_out);
    //  The admin's own key works, as the setup's client shows
    zjob_error_t err;
    zjob_reply_t *stats = zjob_client_stats (s_env.client, &err);
    cr_assert_not_null (stats, "%s", err.text);
    zjob_reply_destroy (&stats);
}

Test (security_e2e, a_client_sees_and_touches_only_its_own_jobs)
{
    zjob_client_t *alice = s_client (ALICE);
    char id [ZJOB_ID_LEN + 1];
    s_submit (alice, "resize", id);
    //  Alice's job has her user, whatever she asks for
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (alice, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (zjob_job_user (job), "alice");
    zjob_job_destroy (&job);
    cr_assert_eq (s_cli_as (ALICE, "submit", "resize", "--user", "bob"), 10, "%s", s_cli_out);

    //  Bob: her job is exactly an unknown id
    cr_assert_eq (s_cli_as (BOB, "get", id), 3, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "get", "01JD6ZQ8XKTBV3M9W2N4ABCD"), 3);
    zjob_client_t *bob = s_client (BOB);
    zjob_error_t foreign, unknown;
    cr_assert_null (zjob_client_get (bob, id, &foreign));
    char made_up [ZJOB_ID_LEN + 1];
    memcpy (made_up, id, ZJOB_ID_LEN + 1);
    made_up [ZJOB_ID_LEN - 1] = made_up [ZJOB_ID_LEN - 1] == 'Z' ? 'Y' : 'Z';
    cr_assert_null (zjob_client_get (bob, made_up, &unknown));
    cr_assert_eq (foreign.code, ZJOB_NOT_FOUND);
    cr_assert_eq (unknown.code, ZJOB_NOT_FOUND);
    char expected [ZJOB_ERROR_TEXT_MAX];
    snprintf (expected, sizeof (expected), "%s", unknown.text);
    char *at = strstr (expected, made_up);
    cr_assert_not_null (at, "%s", unknown.text);
    memcpy (at, id, ZJOB_ID_LEN);  //  The same text but for the id
    cr_assert_str_eq (foreign.text, expected);
    cr_assert_eq (s_cli_as (BOB, "cancel", id), 3, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "delete", id), 3, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "list", "--json"), 0, "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "\"total\": 0"), "%s", s_cli_out);
    //  By filter: bob's cancel of everything leaves alice's job alone
    cr_assert_eq (s_cli_as (BOB, "cancel", "--workflow", "resize"), 0, "%s",
                  s_cli_out);
    cr_assert_eq (s_cli_as (ALICE, "status", id), 0, "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "queued"), "%s", s_cli_out);
    //  Admin-only commands
    cr_assert_eq (s_cli_as (BOB, "stats"), 10, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "workers"), 10, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "cleanup"), 10, "%s", s_cli_out);
    cr_assert_eq (s_cli_as (BOB, "metrics"), 10, "%s", s_cli_out);
    char *text = NULL;
    cr_assert_eq (zjob_client_metrics (bob, &text, &err), -1);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN, "%s", err.text);
    cr_assert_null (text);
    zjob_client_t *admin = s_client (ADMIN);
    cr_assert_eq (zjob_client_metrics (admin, &text, &err), 0, "%s", err.text);
    cr_assert_not_null (strstr (text, "\nzjob_jobs{workflow=\"resize\",status=\"queued\"} 1\n"),
                        "%s", text);
    free (text);
    zjob_client_destroy (&admin);
    //  The admin sees and can act on every user's job
    cr_assert_eq (s_cli_as (ADMIN, "list", "--json"), 0, "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "\"total\": 1"), "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "\"alice\""), "%s", s_cli_out);
    cr_assert_eq (s_cli_as (ADMIN, "cancel", id), 0, "%s", s_cli_out);
    zjob_client_destroy (&bob);
    zjob_client_destroy (&alice);
}

//  A subscriber holding who's key, on every event ("ev/")
static zjob_events_t *
s_subscriber (s_who_t who)
{
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new_with (s_env.events, &s_opts [who], &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_eq (zjob_events_subscribe (events, NULL, NULL, NULL, &err), 0, "%s", err.text);
    return events;
}

//  The first event of job id that events receives, within the deadline
static bool
s_event_of (zjob_events_t *events, const char *id, int timeout_ms, zjob_event_info_t *event)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline) {
        zjob_error_t err;
        if (zjob_events_recv (events, event, (int) (deadline - zjob_mono_ms ()), &err) == 0
            && streq (event->id, id))
            return true;
    }
    return false;
}

Test (security_e2e, events_reach_their_users_only)
{
    zjob_events_t *admin = s_subscriber (ADMIN);
    zjob_events_t *alice_events = s_subscriber (ALICE);
    zjob_events_t *bob_events = s_subscriber (BOB);
    //  The three prefixes (ev/, u/alice/ev/, u/bob/ev/) reach the broker
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_error_t err;
        zjob_reply_t *stats = zjob_client_stats (s_env.client, &err);
        cr_assert_not_null (stats, "%s", err.text);
        uint64_t subscribed = zjob_msg_uint (zjob_reply_msg (stats), "subscriptions", 0);
        zjob_reply_destroy (&stats);
        if (subscribed >= 3)
            break;
        cr_assert_lt (zjob_mono_ms (), deadline, "subscriptions: %" PRIu64, subscribed);
        zclock_sleep (20);  //  Polling the broker
    }
    //  Alice's job, run by the worker key allowed for its workflow
    const char *const options [] = { "--cert", s_secret [W1], "--broker-key", s_broker_public,
                                     NULL };
    zjob_e2e_worker_start (&s_env, 0, "resize", options, "cat >/dev/null; echo '{}'");
    zjob_client_t *alice = s_client (ALICE);
    char id [ZJOB_ID_LEN + 1];
    s_submit (alice, "resize", id);
    zjob_error_t err;
    cr_assert_eq (zjob_client_wait (alice, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    zjob_event_info_t event;
    cr_assert (s_event_of (alice_events, id, DEADLINE_MS, &event), "alice saw no event");
    cr_assert_str_eq (event.user_id, "alice");
    cr_assert (s_event_of (admin, id, DEADLINE_MS, &event), "the admin saw no event");
    //  Bob hears nothing of it: a bounded wait for what must not come
    cr_assert_not (s_event_of (bob_events, id, QUIET_MS, &event), "bob saw alice's %s",
                   event.type);
    //  Nor of the worker's joining, which only admins hear
    zjob_events_destroy (&bob_events);
    zjob_events_destroy (&alice_events);
    zjob_events_destroy (&admin);
    zjob_client_destroy (&alice);
}

Test (security_e2e, a_worker_key_serves_its_workflows_until_a_reload_revokes_it)
{
    const char *const options [] = { "--cert", s_secret [W1], "--broker-key", s_broker_public,
                                     NULL };
    //  Not its workflow: READY is refused, and zjob-worker says why
    zjob_e2e_worker_start (&s_env, 0, "encode", options, "echo '{}'");
    cr_assert (s_file_says (s_path ("worker0.log"), "encode", DEADLINE_MS),
               "zjob-worker did not report the refused workflow");
    zjob_e2e_worker_kill (&s_env, 0);
    //  Its workflow: it runs alice's job
    zjob_e2e_worker_start (&s_env, 1, "resize", options, "cat >/dev/null; echo '{}'");
    zjob_client_t *alice = s_client (ALICE);
    char id [ZJOB_ID_LEN + 1];
    s_submit (alice, "resize", id);
    zjob_error_t err;
    cr_assert_eq (zjob_client_wait (alice, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    //  Revoked: its key file goes, the broker rereads its keys on SIGHUP,
    //  and the worker is dead once its heartbeats go unanswered
    char key [900];
    snprintf (key, sizeof (key), "%s/worker/w1.key", s_keys_dir);
    cr_assert_eq (unlink (key), 0);
    cr_assert_eq (kill (s_env.broker, SIGHUP), 0);
    cr_assert (s_file_says (s_path ("zjobd.log"), "keys reloaded", DEADLINE_MS));
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        cr_assert_eq (s_cli_as (ADMIN, "workers", "--json"), 0, "%s", s_cli_out);
        if (!strstr (s_cli_out, "\"resize\""))
            break;
        cr_assert_lt (zjob_mono_ms (), deadline, "the revoked worker is still counted");
        zclock_sleep (100);  //  Polling the broker
    }
    //  A job submitted now is not run by the revoked worker
    s_submit (alice, "resize", id);
    zclock_sleep (QUIET_MS);  //  A bounded wait for what must not happen
    cr_assert_eq (s_cli_as (ALICE, "status", id), 0, "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "queued"), "%s", s_cli_out);
    zjob_client_destroy (&alice);
}
