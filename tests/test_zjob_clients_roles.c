/*  =========================================================================
    test_zjob_clients_roles - what each role may do with the client
    requests (zjob_roles.h), through zjob_clients_handle, without sockets

    The peers are built here, as zjob_auth would hand them over: an admin
    key, the client keys of alice and of bob, a worker key, and NULL (the
    broker without CURVE). Each test is one rule: a refusal (403), or an
    isolation (bob meets alice's jobs and batches as if they did not
    exist: the same 404, word for word, as an id nobody made).
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "helper_zjob_clients.h"
#include "zjob_batches.h"
#include "zjob_proto_batch.h"
#include "zjob_roles.h"

static const zjob_peer_t s_admin = { ZJOB_ROLE_ADMIN, "ops", NULL, NULL, "admin-key", false, NULL };
static const zjob_peer_t s_alice = { ZJOB_ROLE_CLIENT, "alice", "alice", NULL, "alice-key", false, NULL };
static const zjob_peer_t s_bob = { ZJOB_ROLE_CLIENT, "bob", "bob", NULL, "bob-key", false, NULL };
static const zjob_peer_t s_worker = { ZJOB_ROLE_WORKER, "w1", NULL, "wf", "worker-key", false, NULL };

#define S_MADE_UP "06H4E76Q144DM4VV8R9F"  //  An id nobody made

//  A spec of workflow wf for user (NULL: none)
static zjob_spec_t
s_spec (const char *user)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.priority = ZJOB_PRIORITY_UNSET;
    spec.user_id = user;
    return spec;
}

//  SUBMIT spec as peer, which must be accepted; its job's id into id
static void
s_submit_as (const zjob_peer_t *peer, const zjob_spec_t *spec, char *id)
{
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", spec, 1);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (peer, &rc, &err);
    cr_assert_eq (rc, 1, "SUBMIT as %s: %s", peer ? peer->name : "open", err.text);
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    snprintf (id, ZJOB_ID_LEN + 1, "%s", ids [0]);
    zjob_msg_destroy (&reply);
}

//  The user of job id, as stored ("" for none)
static const char *
s_user_of (const char *id, char *user, size_t size)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_get (s_manager, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    snprintf (user, size, "%s", job->user_id ? job->user_id : "");
    zjob_job_destroy (&job);
    return user;
}

//  Send cmd about the one job id as peer; the handler's rc (err on -1)
static int
s_by_id (const zjob_peer_t *peer, zjob_cmd_t cmd, const char *id, zjob_error_t *err)
{
    zjob_msg_begin (s_request, cmd, 7);
    if (cmd == ZJOB_CMD_GET || cmd == ZJOB_CMD_STATUS || cmd == ZJOB_CMD_RESULTS)
        zjob_msg_add_str (s_request, "id", id);
    else {
        zjob_target_t target = { .id = id };
        zjob_msg_add_target (s_request, &target);
    }
    int rc;
    zjob_msg_t *reply = s_handle_as (peer, &rc, err);
    zjob_msg_destroy (&reply);
    return rc;
}

//  Send a request of cmd with op (NULL: none) and nothing else as peer
static int
s_op (const zjob_peer_t *peer, zjob_cmd_t cmd, const char *op, zjob_error_t *err)
{
    zjob_msg_begin (s_request, cmd, 9);
    if (op)
        zjob_msg_add_str (s_request, "op", op);
    if (cmd == ZJOB_CMD_TEMPLATE && op && !streq (op, "list"))
        zjob_msg_add_str (s_request, "name", "t");
    if (cmd == ZJOB_CMD_TEMPLATE && op && streq (op, "set")) {
        zjob_spec_t spec = s_spec (NULL);
        zjob_msg_add_spec (s_request, "template", &spec);
    }
    int rc = s_handle_raw (peer, "pending", err);
    if (rc >= 0 && rc != ZJOB_CLIENTS_PENDING) {
        zjob_msg_t *reply = s_reply_decoded ();
        zjob_msg_destroy (&reply);
    }
    return rc;
}

//  err must be what an unknown id gives: the same code, and the text of
//  unknown (about S_MADE_UP) with id in its place
static void
s_assert_as_unknown (const zjob_error_t *err, const zjob_error_t *unknown, const char *id,
                     const char *what)
{
    char expected [ZJOB_ERROR_TEXT_MAX];
    const char *at = strstr (unknown->text, S_MADE_UP);
    cr_assert_not_null (at, "%s: the unknown id's text names it: %s", what, unknown->text);
    snprintf (expected, sizeof (expected), "%.*s%s%s", (int) (at - unknown->text), unknown->text,
              id, at + strlen (S_MADE_UP));
    cr_assert_eq (err->code, unknown->code, "%s: %d, as for an unknown id %d (%s)", what,
                  err->code, unknown->code, err->text);
    cr_assert_str_eq (err->text, expected, "%s", what);
}

//  LIST with filter (NULL: none) as peer: the total, and the jobs' users
//  must all be user (NULL: not checked)
static uint64_t
s_list_total (const zjob_peer_t *peer, const zjob_filter_t *filter, const char *user)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    if (filter)
        query.filter = *filter;
    zjob_msg_begin (s_request, ZJOB_CMD_LIST, 3);
    zjob_msg_add_query (s_request, &query);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (peer, &rc, &err);
    cr_assert_eq (rc, 0, "LIST: %s", err.text);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_jobs (reply, "jobs", &jobs, &count, &err), 0, "%s", err.text);
    for (size_t index = 0; index < count; index++) {
        if (user)
            cr_assert_str_eq (jobs [index]->user_id ? jobs [index]->user_id : "", user);
        zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    uint64_t total = zjob_msg_uint (reply, "total", 999);
    cr_assert_eq (total, count);
    zjob_msg_destroy (&reply);
    return total;
}


//  --------------------------------------------------------------------------
//  The table

//  Every client command is placed in the table on purpose: what is not
//  in it is admin only
Test (roles, the_table_decides_each_client_command)
{
    const zjob_cmd_t own [] = { ZJOB_CMD_SUBMIT, ZJOB_CMD_GET, ZJOB_CMD_LIST, ZJOB_CMD_DELETE,
                                ZJOB_CMD_START, ZJOB_CMD_PAUSE, ZJOB_CMD_RESUME, ZJOB_CMD_CANCEL,
                                ZJOB_CMD_STATUS, ZJOB_CMD_RESULTS, ZJOB_CMD_RETRY, ZJOB_CMD_RUN_NOW,
                                ZJOB_CMD_BATCH };
    const zjob_cmd_t admin [] = { ZJOB_CMD_CLEANUP, ZJOB_CMD_STATS, ZJOB_CMD_WORKERS,
                                  ZJOB_CMD_QUEUE, ZJOB_CMD_SCHEDULE, ZJOB_CMD_METRICS, ZJOB_CMD_READY,
                                  ZJOB_CMD_RESULT, ZJOB_CMD_UNKNOWN };
    for (size_t index = 0; index < sizeof (own) / sizeof (own [0]); index++)
        cr_assert_eq (zjob_roles_access (own [index], NULL), ZJOB_ACCESS_OWN, "%s",
                      zjob_cmd_name (own [index]));
    for (size_t index = 0; index < sizeof (admin) / sizeof (admin [0]); index++)
        cr_assert_eq (zjob_roles_access (admin [index], NULL), ZJOB_ACCESS_ADMIN, "%s",
                      zjob_cmd_name (admin [index]));
    cr_assert_eq (zjob_roles_access (ZJOB_CMD_PING, NULL), ZJOB_ACCESS_OPEN);
    cr_assert_eq (zjob_roles_access (ZJOB_CMD_TEMPLATE, "get"), ZJOB_ACCESS_OPEN);
    cr_assert_eq (zjob_roles_access (ZJOB_CMD_TEMPLATE, "list"), ZJOB_ACCESS_OPEN);
    cr_assert_eq (zjob_roles_access (ZJOB_CMD_TEMPLATE, "set"), ZJOB_ACCESS_ADMIN);
    cr_assert_eq (zjob_roles_access (ZJOB_CMD_TEMPLATE, "delete"), ZJOB_ACCESS_ADMIN);
    cr_assert_eq (zjob_roles_access ((zjob_cmd_t) ZJOB_CMD_COUNT, NULL), ZJOB_ACCESS_ADMIN);
}


//  --------------------------------------------------------------------------
//  Refusals (403)

//  CLEANUP, STATS, WORKERS, QUEUE, SCHEDULE and TEMPLATE set and delete
//  are 403 for a client key, naming the command; they work for an admin
//  key and for the broker without CURVE; TEMPLATE get and list and PING
//  are open to clients
Test (roles, admin_only_commands_are_forbidden_to_clients, .init = s_setup, .fini = s_teardown)
{
    zjob_error_t err;
    cr_assert_eq (zjob_clients_start_schedules (s_clients, zjob_clock_ms (), &err), 0, "%s",
                  err.text);
    struct {
        zjob_cmd_t cmd;
        const char *op;
        const char *text;
        int admin_rc;  //  What an admin gets
    } forbidden [] = {
        { ZJOB_CMD_CLEANUP, NULL, "CLEANUP: forbidden: admin only", ZJOB_CLIENTS_PENDING },
        { ZJOB_CMD_STATS, NULL, "STATS: forbidden: admin only", 0 },
        { ZJOB_CMD_WORKERS, NULL, "WORKERS: forbidden: admin only", 0 },
        { ZJOB_CMD_QUEUE, "list", "QUEUE: forbidden: admin only", 0 },
        { ZJOB_CMD_SCHEDULE, "list", "SCHEDULE: forbidden: admin only", 0 },
        { ZJOB_CMD_TEMPLATE, "set", "TEMPLATE set: forbidden: admin only", 1 },
        { ZJOB_CMD_TEMPLATE, "delete", "TEMPLATE delete: forbidden: admin only", 1 },
    };
    for (size_t index = 0; index < sizeof (forbidden) / sizeof (forbidden [0]); index++) {
        cr_assert_eq (s_op (&s_alice, forbidden [index].cmd, forbidden [index].op, &err), -1,
                      "%s", forbidden [index].text);
        cr_assert_eq (err.code, ZJOB_FORBIDDEN, "%s: %d", forbidden [index].text, err.code);
        cr_assert_str_eq (err.text, forbidden [index].text);
        //  An admin key and the open peer: as before roles existed (TEMPLATE
        //  set creates "t", then delete removes it, each once per peer)
        cr_assert_eq (s_op (&s_admin, forbidden [index].cmd, forbidden [index].op, &err),
                      forbidden [index].admin_rc, "admin: %s: %s", forbidden [index].text,
                      err.text);
        if (forbidden [index].cmd == ZJOB_CMD_TEMPLATE)
            continue;  //  Done once: the open peer's below
        cr_assert_eq (s_op (NULL, forbidden [index].cmd, forbidden [index].op, &err),
                      forbidden [index].admin_rc, "open: %s: %s", forbidden [index].text,
                      err.text);
    }
    cr_assert_eq (s_op (NULL, ZJOB_CMD_TEMPLATE, "set", &err), 1, "%s", err.text);
    cr_assert_eq (s_op (&s_alice, ZJOB_CMD_TEMPLATE, "get", &err), 0, "%s", err.text);
    cr_assert_eq (s_op (&s_alice, ZJOB_CMD_TEMPLATE, "list", &err), 0, "%s", err.text);
    cr_assert_eq (s_op (&s_alice, ZJOB_CMD_PING, NULL, &err), 0, "%s", err.text);
    cr_assert_eq (s_op (NULL, ZJOB_CMD_TEMPLATE, "delete", &err), 1, "%s", err.text);
    //  A get of no template is the templates' 404, not a 403
    cr_assert_eq (s_op (&s_alice, ZJOB_CMD_TEMPLATE, "get", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND, "%s", err.text);
}

//  A worker key on the clients socket (the handshake refuses it) may
//  send nothing there, not even PING; its SUBMIT creates nothing
Test (roles, worker_keys_get_403_for_every_client_command, .init = s_setup, .fini = s_teardown)
{
    zjob_error_t err;
    const zjob_cmd_t cmds [] = { ZJOB_CMD_PING, ZJOB_CMD_STATS, ZJOB_CMD_WORKERS,
                                 ZJOB_CMD_CLEANUP };
    for (size_t index = 0; index < sizeof (cmds) / sizeof (cmds [0]); index++) {
        cr_assert_eq (s_op (&s_worker, cmds [index], NULL, &err), -1, "%s",
                      zjob_cmd_name (cmds [index]));
        cr_assert_eq (err.code, ZJOB_FORBIDDEN);
        cr_assert (strstr (err.text, "forbidden: a worker key"), "%s", err.text);
    }
    cr_assert_eq (s_op (&s_worker, ZJOB_CMD_TEMPLATE, "list", &err), -1);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    char id [ZJOB_ID_LEN + 1];
    s_submit_as (&s_admin, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    cr_assert_eq (s_by_id (&s_worker, ZJOB_CMD_GET, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    cr_assert_eq (s_list_total (&s_admin, NULL, NULL), 1);
    zjob_spec_t spec = s_spec (NULL);
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    int rc;
    cr_assert_null (s_handle_as (&s_worker, &rc, &err));
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    cr_assert_eq (zjob_manager_stored (s_manager), 1, "the worker's SUBMIT created nothing");
    //  Not even a LIST: it would need a user
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    zjob_msg_begin (s_request, ZJOB_CMD_LIST, 3);
    zjob_msg_add_query (s_request, &query);
    cr_assert_null (s_handle_as (&s_worker, &rc, &err));
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
}

//  A client key without a user (zjob_auth gives each one: defensively)
//  has no jobs of its own: 403 for the commands on own jobs, PING works
Test (roles, a_client_key_without_user_owns_nothing, .init = s_setup, .fini = s_teardown)
{
    const zjob_peer_t nobody = { ZJOB_ROLE_CLIENT, "nobody", NULL, NULL, "nobody-key", false, NULL };
    zjob_error_t err;
    cr_assert_eq (s_op (&nobody, ZJOB_CMD_PING, NULL, &err), 0, "%s", err.text);
    zjob_spec_t spec = s_spec (NULL);
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    int rc;
    cr_assert_null (s_handle_as (&nobody, &rc, &err));
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    cr_assert_str_eq (err.text, "SUBMIT: forbidden: this client key has no user");
    cr_assert_eq (zjob_manager_stored (s_manager), 0);
}


//  --------------------------------------------------------------------------
//  SUBMIT

//  A spec naming another user refuses the whole SUBMIT (403), before
//  anything is created; a spec without a user, or with the key's own,
//  is the key's user's job; an admin may submit for anyone
Test (roles, submit_as_another_user_is_forbidden_and_creates_nothing, .init = s_setup,
      .fini = s_teardown)
{
    zjob_spec_t specs [2] = { s_spec (NULL), s_spec ("alice") };
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", specs, 2);
    int rc;
    zjob_error_t err;
    cr_assert_null (s_handle_as (&s_bob, &rc, &err));
    cr_assert_eq (rc, -1);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN, "%d %s", err.code, err.text);
    cr_assert_str_eq (err.text, "jobs[1]: this key submits as user bob, not alice");
    cr_assert_eq (zjob_manager_stored (s_manager), 0, "nothing created");

    char id [ZJOB_ID_LEN + 1], user [ZJOB_NAME_MAX + 1];
    specs [1].user_id = "bob";
    s_submit_as (&s_bob, &specs [0], id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "bob", "the key's user is forced");
    s_submit_as (&s_bob, &specs [1], id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "bob");
    s_submit_as (&s_admin, &(zjob_spec_t){ .workflow_id = "wf", .user_id = "alice" }, id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "alice", "an admin's is kept");
    s_submit_as (NULL, &specs [0], id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "", "without CURVE: as before");
}

//  The template a client's spec names cannot change its user: the
//  key's user is set before the template is merged, and a spec's wins
Test (roles, a_template_cannot_change_the_forced_user, .init = s_setup, .fini = s_teardown)
{
    zjob_spec_t template_ = s_spec ("alice");
    bool created = false;
    zjob_error_t err;
    cr_assert_eq (zjob_templates_set (zjob_manager_templates (s_manager), "as-alice", &template_,
                                      &created, &err),
                  0, "%s", err.text);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.template_name = "as-alice";
    spec.priority = ZJOB_PRIORITY_UNSET;
    char id [ZJOB_ID_LEN + 1], user [ZJOB_NAME_MAX + 1];
    s_submit_as (&s_bob, &spec, id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "bob");
    s_submit_as (&s_admin, &spec, id);
    cr_assert_str_eq (s_user_of (id, user, sizeof (user)), "alice", "an admin takes the template's");
}

//  A parent of another user is an unknown parent to a client: the same
//  404 text, and nothing is created; its own parents work
Test (roles, depends_on_another_users_job_is_an_unknown_parent, .init = s_setup,
      .fini = s_teardown)
{
    char alices [ZJOB_ID_LEN + 1], bobs [ZJOB_ID_LEN + 1], child [ZJOB_ID_LEN + 1];
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, alices);
    s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, bobs);
    zjob_error_t unknown, hidden;
    int rc;
    const char *made_up [] = { bobs, S_MADE_UP };
    zjob_spec_t spec = s_spec (NULL);
    spec.depends_on = made_up;
    spec.depends_on_count = 2;
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    cr_assert_null (s_handle_as (&s_bob, &rc, &unknown));
    cr_assert_eq (unknown.code, ZJOB_NOT_FOUND, "%s", unknown.text);
    const char *hers [] = { bobs, alices };
    spec.depends_on = hers;
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    cr_assert_null (s_handle_as (&s_bob, &rc, &hidden));
    s_assert_as_unknown (&hidden, &unknown, alices, "depends_on alice's");
    cr_assert_eq (zjob_manager_stored (s_manager), 2, "nothing created");
    //  In the order of the manager's own checks: given twice (400), or a
    //  missing template in an earlier spec (404) come first, as for an
    //  unknown parent
    const char *twice_made_up [] = { S_MADE_UP, S_MADE_UP }, *twice_hers [] = { alices, alices };
    const char *const *twice [] = { twice_made_up, twice_hers };
    zjob_error_t errors [2];
    for (size_t index = 0; index < 2; index++) {
        spec.depends_on = twice [index];
        zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
        zjob_msg_add_specs (s_request, "jobs", &spec, 1);
        cr_assert_null (s_handle_as (&s_bob, &rc, &errors [index]));
    }
    cr_assert_eq (errors [0].code, ZJOB_BAD_REQUEST, "%s", errors [0].text);
    s_assert_as_unknown (&errors [1], &errors [0], alices, "alice's twice");
    zjob_spec_t pair [2] = { s_spec (NULL), s_spec (NULL) };
    pair [0].workflow_id = NULL;
    pair [0].template_name = "missing";
    pair [1].depends_on_count = 1;
    for (size_t index = 0; index < 2; index++) {
        pair [1].depends_on = twice [index];
        zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
        zjob_msg_add_specs (s_request, "jobs", pair, 2);
        cr_assert_null (s_handle_as (&s_bob, &rc, &errors [index]));
    }
    cr_assert_eq (errors [1].code, errors [0].code, "%s", errors [1].text);
    cr_assert_str_eq (errors [1].text, errors [0].text);
    cr_assert_null (strstr (errors [1].text, "depends_on"), "%s", errors [1].text);
    cr_assert_eq (zjob_manager_stored (s_manager), 2, "nothing created");
    //  His own parent, and an admin on alice's
    spec.depends_on = (const char *[]){ bobs };
    spec.depends_on_count = 1;
    s_submit_as (&s_bob, &spec, child);
    spec.depends_on = (const char *[]){ alices };
    s_submit_as (&s_admin, &spec, child);
}

//  An idempotency or unique key that a job of another user holds is not
//  answered with that job (its id would leak, and bob's job would not be
//  made): 409, nothing created; the same key of one's own is the usual
//  answer (the job that has it)
Test (roles, keys_of_another_users_job_are_refused, .init = s_setup, .fini = s_teardown)
{
    char id [ZJOB_ID_LEN + 1], again [ZJOB_ID_LEN + 1];
    zjob_spec_t keyed = s_spec (NULL);
    keyed.idempotency_key = "k1";
    s_submit_as (&s_alice, &keyed, id);
    zjob_spec_t unique = s_spec (NULL);
    unique.unique_key = "u1";
    s_submit_as (&s_alice, &unique, id);
    zjob_error_t err;
    int rc;
    const zjob_spec_t *tries [] = { &keyed, &unique };
    const char *texts [] = { "jobs[0]: idempotency_key k1 is taken by a job of another user; "
                             "choose another key",
                             "jobs[0]: unique_key u1 is held by a job of another user; choose "
                             "another key" };
    for (size_t index = 0; index < 2; index++) {
        zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
        zjob_msg_add_specs (s_request, "jobs", tries [index], 1);
        cr_assert_null (s_handle_as (&s_bob, &rc, &err));
        cr_assert_eq (err.code, ZJOB_CONFLICT, "%s", err.text);
        cr_assert_str_eq (err.text, texts [index]);
    }
    cr_assert_eq (zjob_manager_stored (s_manager), 2);
    s_submit_as (&s_alice, &unique, again);
    cr_assert_str_eq (again, id, "her own unique key answers with her job");
}


//  --------------------------------------------------------------------------
//  By id

//  Every operation by id on alice's job answers bob exactly as for an id
//  nobody made (code and text), and changes nothing; alice and an admin
//  reach it
Test (roles, another_users_job_is_an_unknown_id, .init = s_setup, .fini = s_teardown)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    const zjob_cmd_t cmds [] = { ZJOB_CMD_GET, ZJOB_CMD_STATUS, ZJOB_CMD_RESULTS,
                                 ZJOB_CMD_START, ZJOB_CMD_PAUSE, ZJOB_CMD_RESUME,
                                 ZJOB_CMD_RETRY, ZJOB_CMD_RUN_NOW, ZJOB_CMD_CANCEL,
                                 ZJOB_CMD_DELETE };
    for (size_t index = 0; index < sizeof (cmds) / sizeof (cmds [0]); index++) {
        const char *name = zjob_cmd_name (cmds [index]);
        zjob_error_t unknown, hidden;
        cr_assert_eq (s_by_id (&s_bob, cmds [index], S_MADE_UP, &unknown), -1, "%s", name);
        cr_assert_eq (s_by_id (&s_bob, cmds [index], id, &hidden), -1, "%s of alice's job", name);
        s_assert_as_unknown (&hidden, &unknown, id, name);
    }
    cr_assert_eq (zjob_manager_status (s_manager, id, NULL), ZJOB_QUEUED, "untouched");
    zjob_error_t err;
    cr_assert_eq (s_by_id (&s_alice, ZJOB_CMD_GET, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_by_id (&s_alice, ZJOB_CMD_STATUS, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_by_id (&s_admin, ZJOB_CMD_GET, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_by_id (&s_alice, ZJOB_CMD_CANCEL, id, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_manager_status (s_manager, id, NULL), ZJOB_CANCELLED);
    cr_assert_eq (s_by_id (NULL, ZJOB_CMD_RETRY, id, &err), 1, "%s", err.text);
}

//  GET of one's own job lists only one's own children (an admin may have
//  made a child of another user)
Test (roles, get_lists_only_own_children, .init = s_setup, .fini = s_teardown)
{
    char parent [ZJOB_ID_LEN + 1], hers [ZJOB_ID_LEN + 1], his [ZJOB_ID_LEN + 1];
    s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, parent);
    zjob_spec_t spec = s_spec ("alice");
    spec.depends_on = (const char *[]){ parent };
    spec.depends_on_count = 1;
    s_submit_as (&s_admin, &spec, hers);
    spec.user_id = "bob";
    s_submit_as (&s_admin, &spec, his);
    const zjob_peer_t *peers [] = { &s_bob, &s_admin };
    size_t expected [] = { 1, 2 };
    for (size_t index = 0; index < 2; index++) {
        zjob_msg_begin (s_request, ZJOB_CMD_GET, 2);
        zjob_msg_add_str (s_request, "id", parent);
        int rc;
        zjob_error_t err;
        zjob_msg_t *reply = s_handle_as (peers [index], &rc, &err);
        cr_assert_eq (rc, 0, "%s", err.text);
        size_t count = 0;
        const char *const *children = zjob_msg_strs (reply, "children", &count);
        cr_assert_eq (count, expected [index], "%s sees %zu children", peers [index]->name, count);
        if (index == 0)
            cr_assert_str_eq (children [0], his);
        zjob_msg_destroy (&reply);
    }
}


//  --------------------------------------------------------------------------
//  LIST and by filter

//  bob's LIST holds his jobs only; a filter naming alice matches nothing;
//  an admin and the open peer see every job
Test (roles, list_sees_only_own_jobs, .init = s_setup, .fini = s_teardown)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    s_submit_as (&s_admin, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    cr_assert_eq (s_list_total (&s_bob, NULL, "bob"), 1);
    cr_assert_eq (s_list_total (&s_alice, NULL, "alice"), 2);
    zjob_filter_t hers = { .user_id = "alice" };
    cr_assert_eq (s_list_total (&s_bob, &hers, NULL), 0, "a filter naming alice: nothing");
    zjob_filter_t his = { .user_id = "bob", .workflow_id = "wf" };
    cr_assert_eq (s_list_total (&s_bob, &his, "bob"), 1);
    cr_assert_eq (s_list_total (&s_admin, NULL, NULL), 4);
    cr_assert_eq (s_list_total (NULL, NULL, NULL), 4);
    cr_assert_eq (s_list_total (&s_admin, &hers, "alice"), 2);
}

//  Step the request kept first until it is answered; the reply decoded
static zjob_msg_t *
s_step_until_answered (void)
{
    zjob_error_t err;
    for (int steps = 0; steps < 1000; steps++) {
        const uint8_t *rid;
        size_t rid_size;
        uint64_t request_id;
        int rc = zjob_clients_step (s_clients, s_reply, &rid, &rid_size, &request_id, &err);
        cr_assert_geq (rc, 0, "%s", err.text);
        if (rc > 0)
            return s_reply_decoded ();
    }
    cr_assert_fail ("the request never ends");
    return NULL;
}

//  A LIST and a CANCEL by filter kept across passes keep bob's user (a
//  copy: the peer record is freed before their steps, as a reload of the
//  keys frees it; the sanitizer build sees a use after free)
Test (roles, pending_requests_keep_the_user_not_the_peer, .init = s_setup, .fini = s_teardown)
{
#define S_EACH 12
    char id [ZJOB_ID_LEN + 1];
    for (int index = 0; index < S_EACH; index++) {
        s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, id);
        s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, id);
    }
    zjob_peer_t *peer = (zjob_peer_t *) malloc (sizeof (zjob_peer_t));
    char *user = strdup ("bob");
    cr_assert (peer && user);
    *peer = (zjob_peer_t){ ZJOB_ROLE_CLIENT, "bob", user, NULL, "bob-key", false, NULL };
    zjob_clients_set_list_step (5);
    zjob_clients_set_bulk_step (5);
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    zjob_msg_begin (s_request, ZJOB_CMD_LIST, 1);
    zjob_msg_add_query (s_request, &query);
    zjob_error_t err;
    cr_assert_eq (s_handle_raw (peer, "lister", &err), ZJOB_CLIENTS_PENDING, "%s", err.text);
    zjob_filter_t filter = { .workflow_id = "wf" };
    zjob_target_t target = { .filter = &filter };
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 2);
    zjob_msg_add_target (s_request, &target);
    cr_assert_eq (s_handle_raw (peer, "canceller", &err), ZJOB_CLIENTS_PENDING, "%s", err.text);
    memset (user, 'x', 3);  //  What a reload leaves behind
    free (user);
    free (peer);

    zjob_msg_t *reply = s_step_until_answered ();
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), S_EACH, "bob's jobs only");
    zjob_msg_destroy (&reply);
    reply = s_step_until_answered ();
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), S_EACH, "bob's jobs only");
    cr_assert_eq (zjob_msg_uint (reply, "failed", 9), 0);
    zjob_msg_destroy (&reply);
    zjob_clients_set_list_step (0);
    zjob_clients_set_bulk_step (0);
    zjob_filter_t hers = { .user_id = "alice", .status_mask = 1u << ZJOB_QUEUED };
    cr_assert_eq (s_list_total (&s_admin, &hers, "alice"), S_EACH, "alice's untouched");
#undef S_EACH
}

//  A CANCEL (and a dry RETRY) by filter from bob touches his jobs only,
//  and one naming alice touches nothing
Test (roles, operations_by_filter_touch_only_own_jobs, .init = s_setup, .fini = s_teardown)
{
    char hers [2][ZJOB_ID_LEN + 1], his [ZJOB_ID_LEN + 1];
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, hers [0]);
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, hers [1]);
    s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, his);
    zjob_filter_t filters [] = { { .workflow_id = "wf" }, { .user_id = "alice" } };
    uint64_t done [] = { 1, 0 };
    for (size_t index = 0; index < 2; index++) {
        zjob_target_t target = { .filter = &filters [index] };
        zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 4);
        zjob_msg_add_target (s_request, &target);
        int rc;
        zjob_error_t err;
        zjob_msg_t *reply = s_handle_as (&s_bob, &rc, &err);
        cr_assert_eq (rc, 1, "a write's OK, even if nothing changed: %s", err.text);
        cr_assert_eq (zjob_msg_uint (reply, "done", 9), done [index], "filter %zu", index);
        cr_assert_eq (zjob_msg_uint (reply, "failed", 9), 0);
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (zjob_manager_status (s_manager, his, NULL), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_status (s_manager, hers [0], NULL), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_status (s_manager, hers [1], NULL), ZJOB_QUEUED);
    //  A dry RETRY of every cancelled job: bob would retry his own only
    s_by_id (&s_alice, ZJOB_CMD_CANCEL, hers [0], &(zjob_error_t){ 0 });
    zjob_filter_t cancelled = { .status_mask = 1u << ZJOB_CANCELLED };
    zjob_target_t target = { .filter = &cancelled };
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 5);
    zjob_msg_add_target (s_request, &target);
    zjob_msg_add_bool (s_request, "dry_run", true);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (&s_bob, &rc, &err);
    cr_assert_eq (rc, 0, "%s", err.text);
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (ids [0], his);
    zjob_msg_destroy (&reply);
}

//  By ids, alice's job counts as not found for bob, with the text of an
//  unknown id, and is not touched; his own is done
Test (roles, bulk_by_ids_counts_another_users_jobs_as_not_found, .init = s_setup,
      .fini = s_teardown)
{
    char hers [ZJOB_ID_LEN + 1], his [ZJOB_ID_LEN + 1];
    s_submit_as (&s_alice, &(zjob_spec_t){ .workflow_id = "wf" }, hers);
    s_submit_as (&s_bob, &(zjob_spec_t){ .workflow_id = "wf" }, his);
    const zjob_cmd_t cmds [] = { ZJOB_CMD_CANCEL, ZJOB_CMD_DELETE };
    for (size_t index = 0; index < 2; index++) {
        const char *ids [] = { hers, his, S_MADE_UP };
        zjob_target_t target = { .ids = ids, .id_count = 3 };
        zjob_msg_begin (s_request, cmds [index], 6);
        zjob_msg_add_target (s_request, &target);
        int rc;
        zjob_error_t err;
        zjob_msg_t *reply = s_handle_as (&s_bob, &rc, &err);
        cr_assert_eq (rc, 1, "%s", err.text);
        cr_assert_eq (zjob_msg_uint (reply, "done", 0), 1, "%s", zjob_cmd_name (cmds [index]));
        cr_assert_eq (zjob_msg_uint (reply, "failed", 0), 2);
        const msgpack_object *errors = zjob_msg_field (reply, "errors");
        cr_assert (errors && errors->type == MSGPACK_OBJECT_ARRAY && errors->via.array.size == 2);
        //  In the order of the ids, each {id, code, message}
        zjob_error_t seen [2];
        for (uint32_t at = 0; at < 2; at++) {
            const msgpack_object_map *map = &errors->via.array.ptr [at].via.map;
            for (uint32_t key = 0; key < map->size; key++) {
                const msgpack_object *name = &map->ptr [key].key, *value = &map->ptr [key].val;
                if (name->via.str.size == 4 && memcmp (name->via.str.ptr, "code", 4) == 0)
                    seen [at].code = (int) value->via.u64;
                else if (name->via.str.size == 7 && memcmp (name->via.str.ptr, "message", 7) == 0)
                    snprintf (seen [at].text, sizeof (seen [at].text), "%.*s",
                              (int) value->via.str.size, value->via.str.ptr);
            }
        }
        s_assert_as_unknown (&seen [0], &seen [1], hers, zjob_cmd_name (cmds [index]));
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (zjob_manager_status (s_manager, hers, NULL), ZJOB_QUEUED, "untouched");
    cr_assert_lt (zjob_manager_status (s_manager, his, NULL), 0, "his deleted");
}


//  --------------------------------------------------------------------------
//  Batches

//  SUBMIT count jobs into batch id as peer (callback: workflow, or NULL);
//  the handler's rc
static int
s_batch_submit (const zjob_peer_t *peer, const char *id, const char *callback, zjob_error_t *err)
{
    zjob_spec_t spec = s_spec (NULL);
    zjob_spec_t cb = s_spec (NULL);
    cb.workflow_id = callback;
    zjob_batch_opts_t opts = { .id = id, .open = false, .callback = callback ? &cb : NULL };
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    zjob_msg_add_batch_opts (s_request, "batch", &opts);
    int rc;
    zjob_msg_t *reply = s_handle_as (peer, &rc, err);
    zjob_msg_destroy (&reply);
    return rc;
}

//  BATCH op on id (NULL for list) as peer; the decoded OK or NULL (err)
static zjob_msg_t *
s_batch_op (const zjob_peer_t *peer, const char *op, const char *id, zjob_error_t *err)
{
    zjob_msg_begin (s_request, ZJOB_CMD_BATCH, 8);
    zjob_msg_add_str (s_request, "op", op);
    if (id)
        zjob_msg_add_str (s_request, "id", id);
    int rc;
    return s_handle_as (peer, &rc, err);
}

//  A batch belongs to the user whose SUBMIT created it: another client
//  meets it as an unknown batch (show, close, cancel: 404, the same
//  text) and cannot add to it; list shows one's own; an admin's batch has
//  no owner and is the admins' only; an admin sees all
Test (roles, batches_are_per_owner, .init = s_setup, .fini = s_teardown)
{
    zjob_error_t err;
    cr_assert_eq (s_batch_submit (&s_alice, "hers", NULL, &err), 1, "%s", err.text);
    cr_assert_eq (s_batch_submit (&s_bob, "his", NULL, &err), 1, "%s", err.text);
    cr_assert_eq (s_batch_submit (&s_admin, "ops", NULL, &err), 1, "%s", err.text);
    zjob_batches_t *batches = zjob_manager_batches (s_manager);
    cr_assert_str_eq (zjob_batches_owner (batches, "hers"), "alice");
    cr_assert_str_eq (zjob_batches_owner (batches, "ops"), "");
    const char *ops [] = { "show", "close", "cancel" };
    for (size_t index = 0; index < 3; index++) {
        zjob_error_t unknown, hidden;
        cr_assert_null (s_batch_op (&s_bob, ops [index], "nope", &unknown));
        cr_assert_eq (unknown.code, ZJOB_NOT_FOUND, "%s", unknown.text);
        cr_assert_null (s_batch_op (&s_bob, ops [index], "hers", &hidden), "%s", ops [index]);
        cr_assert_eq (hidden.code, unknown.code);
        cr_assert_str_eq (hidden.text, "no batch hers");
        cr_assert_str_eq (unknown.text, "no batch nope");
        cr_assert_null (s_batch_op (&s_alice, ops [index], "ops", &hidden), "%s", ops [index]);
        cr_assert_eq (hidden.code, ZJOB_NOT_FOUND);
    }
    //  Nothing of hers was cancelled
    zjob_filter_t hers = { .batch_id = "hers", .status_mask = 1u << ZJOB_QUEUED };
    cr_assert_eq (s_list_total (&s_admin, &hers, "alice"), 1);
    //  bob cannot add to her batch, nor to the admin's
    cr_assert_eq (s_batch_submit (&s_bob, "hers", NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%s", err.text);
    cr_assert_str_eq (err.text, "batch hers is another user's; choose another batch id");
    cr_assert_eq (s_batch_submit (&s_bob, "ops", NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%s", err.text);
    //  list: one's own
    const zjob_peer_t *peers [] = { &s_bob, &s_alice, &s_admin, NULL };
    uint64_t totals [] = { 1, 1, 3, 3 };
    for (size_t index = 0; index < 4; index++) {
        zjob_msg_t *reply = s_batch_op (peers [index], "list", NULL, &err);
        cr_assert_not_null (reply, "%s", err.text);
        cr_assert_eq (zjob_msg_uint (reply, "total", 0), totals [index], "peer %zu", index);
        zjob_msg_destroy (&reply);
    }
    //  Her own: show works, cancel cancels her member
    zjob_msg_t *reply = s_batch_op (&s_alice, "show", "hers", &err);
    cr_assert_not_null (reply, "%s", err.text);
    zjob_msg_destroy (&reply);
    reply = s_batch_op (&s_alice, "cancel", "hers", &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 1);
    zjob_msg_destroy (&reply);
}

//  The owner is kept in the batch record (key usr): a batches set loaded
//  again from the store knows it; and the callback job of a client's
//  batch is that client's
Test (roles, a_batch_owner_is_durable_and_owns_the_callback, .init = s_setup,
      .fini = s_teardown)
{
    zjob_error_t err;
    cr_assert_eq (s_batch_submit (&s_alice, "hers", "notify", &err), 1, "%s", err.text);
    cr_assert_eq (s_batch_submit (&s_admin, "ops", NULL, &err), 1, "%s", err.text);
    //  Her batch finishes (its member cancelled): the sync fires the callback
    zjob_msg_t *reply = s_batch_op (&s_alice, "cancel", "hers", &err);
    cr_assert_not_null (reply, "%s", err.text);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_manager_sync (s_manager, &err), 0, "%s", err.text);
    zjob_batch_info_t info;
    cr_assert_eq (zjob_batches_info (zjob_manager_batches (s_manager), "hers", &info, &err), 0);
    cr_assert (info.callback_job [0], "the callback job was made");
    char user [ZJOB_NAME_MAX + 1];
    cr_assert_str_eq (s_user_of (info.callback_job, user, sizeof (user)), "alice");
    cr_assert_eq (s_by_id (&s_alice, ZJOB_CMD_GET, info.callback_job, &err), 0, "%s", err.text);

    zjob_batches_t *loaded = zjob_batches_new (s_manager);
    cr_assert_not_null (loaded);
    cr_assert_eq (zjob_batches_load (loaded, &err), 0, "%s", err.text);
    cr_assert_str_eq (zjob_batches_owner (loaded, "hers"), "alice");
    cr_assert_str_eq (zjob_batches_owner (loaded, "ops"), "", "no owner: no usr key");
    cr_assert_eq (zjob_batches_visible (loaded, "hers", "alice", &err), 0);
    cr_assert_eq (zjob_batches_visible (loaded, "hers", "bob", &err), -1);
    cr_assert_eq (zjob_batches_visible (loaded, "ops", NULL, &err), 0);
    zjob_batches_destroy (&loaded);
}
