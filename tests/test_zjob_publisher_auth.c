/*  =========================================================================
    test_zjob_publisher_auth - events per user over CURVE: what each key's
    subscriptions become, and what each subscriber receives

    A real CURVE XPUB in manual mode on 127.0.0.1, as the broker makes it,
    with a ZAP handler in the test (a thread answering 200 and the client's
    public key as user_id, as the broker's does) and a lookup over three
    keys: an admin, and two clients, alice and bob. The subscribers are
    libzjob's (zjob_events_new_with: an XSUB) and raw XSUBs with a
    certificate. The test's thread is the broker: it reads subscriptions
    with zjob_publisher_read and publishes with zjob_publisher_flush.

    What arrives is shown by order, not by time: the XPUB sends to each
    connection in publishing order, so when a subscriber's first event is
    the last one published, none of those before it were sent to it.
    Every wait has a deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_publisher.h"
#include "zjob_proto.h"
#include "zjob_client.h"
#include "helper_zjob_test.h"
#include "helper_zjob_curve.h"

#define S_WAIT 5000  //  msecs a subscription or an event may take

//  The keys: the broker's, and one file per peer (NAME.key, NAME.key_secret)
enum { S_ADMIN,
       S_ALICE,
       S_BOB,
       S_CAROL,
       S_DAVE,
       S_MALLORY,
       S_WORKER,
       S_KEYS };
static const char *s_names [S_KEYS] = { "admin", "alice", "bob", "carol",
                                        "dave", "mallory", "worker" };
static zjob_peer_t s_peers [S_KEYS];
static char s_keys [S_KEYS][41];
static char s_certs [S_KEYS][600];  //  The NAME.key_secret files
static char s_broker_key [41];
static char *s_dir = NULL;

static zactor_t *s_zap = NULL;
static zsock_t *s_xpub = NULL;
static zjob_publisher_t *s_publisher = NULL;
static char s_endpoint [64];

//  The broker's lists: mallory is in none, worker is a worker key, carol
//  and dave are users "a" and "a/b" (one's prefix must not be the other's)
static const zjob_peer_t *
s_lookup (void *arg, const char *key)
{
    (void) arg;
    for (int index = 0; index < S_KEYS; index++)
        if (index != S_MALLORY && strcmp (s_keys [index], key) == 0)
            return &s_peers [index];
    return NULL;
}

//  The ZAP handler: any CURVE key is let in, its user_id its Z85 key
static void
s_zap_actor (zsock_t *pipe, void *arg)
{
    (void) arg;
    zsock_t *handler = zsock_new_rep ("inproc://zeromq.zap.01");
    zsock_signal (pipe, handler ? 0 : 1);
    zpoller_t *poller = zpoller_new (pipe, handler, NULL);
    while (handler && poller) {
        void *which = zpoller_wait (poller, -1);
        if (which != handler)
            break;  //  $TERM, or interrupted
        zjob_test_zap_answer (handler, NULL);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&handler);
}

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    for (int index = 0; index < S_KEYS; index++) {
        zcert_t *cert = zcert_new ();
        cr_assert_not_null (cert);
        char path [560];
        snprintf (path, sizeof (path), "%s/%s.key", s_dir, s_names [index]);
        cr_assert_eq (zcert_save (cert, path), 0);
        snprintf (s_certs [index], sizeof (s_certs [index]), "%s_secret", path);
        memcpy (s_keys [index], zcert_public_txt (cert), 41);
        zcert_destroy (&cert);
        s_peers [index] = (zjob_peer_t){ ZJOB_ROLE_CLIENT, s_names [index], s_names [index],
                                         NULL, s_keys [index], false, NULL };
    }
    s_peers [S_ADMIN].role = ZJOB_ROLE_ADMIN;
    s_peers [S_ADMIN].user_id = NULL;
    s_peers [S_WORKER].role = ZJOB_ROLE_WORKER;
    s_peers [S_WORKER].user_id = NULL;
    s_peers [S_CAROL].user_id = "a";
    s_peers [S_DAVE].user_id = "a/b";

    s_zap = zactor_new (s_zap_actor, NULL);
    cr_assert_not_null (s_zap, "the ZAP handler cannot bind");
    //  The events socket as the broker makes it with CURVE
    zcert_t *server = zcert_new ();
    memcpy (s_broker_key, zcert_public_txt (server), 41);
    s_xpub = zsock_new (ZMQ_XPUB);
    cr_assert_not_null (s_xpub);
    zcert_apply (server, s_xpub);
    zcert_destroy (&server);
    zsock_set_curve_server (s_xpub, 1);
    zsock_set_zap_domain (s_xpub, "events");
    int manual = 1;
    cr_assert_eq (zmq_setsockopt (zsock_resolve (s_xpub), ZMQ_XPUB_MANUAL, &manual,
                                  sizeof (manual)),
                  0);
    int port = zsock_bind (s_xpub, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    snprintf (s_endpoint, sizeof (s_endpoint), "tcp://127.0.0.1:%d", port);
    s_publisher = zjob_publisher_new (zsock_resolve (s_xpub));
    cr_assert_not_null (s_publisher);
    zjob_publisher_set_auth (s_publisher, s_lookup, NULL);
}

static void
s_teardown (void)
{
    zjob_publisher_destroy (&s_publisher);
    zsock_destroy (&s_xpub);
    zactor_destroy (&s_zap);
    zjob_test_tmpdir_done (&s_dir);
}

//  libzjob's subscriber with peer's key
static zjob_events_t *
s_events (int peer)
{
    zjob_connect_opts_t opts = { s_certs [peer], s_broker_key };
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new_with (s_endpoint, &opts, &err);
    cr_assert_not_null (events, "%s", err.text);
    return events;
}

//  A raw XSUB with peer's key, subscribed to prefix as sent
static zsock_t *
s_raw (int peer, const char *prefix)
{
    zsock_t *xsub = zsock_new (ZMQ_XSUB);
    cr_assert_not_null (xsub);
    zjob_connect_opts_t opts = { s_certs [peer], s_broker_key };
    zjob_error_t err;
    cr_assert_eq (zjob_connect_apply (xsub, &opts, &err), 0, "%s", err.text);
    zsock_set_rcvtimeo (xsub, S_WAIT);
    cr_assert_eq (zsock_connect (xsub, "%s", s_endpoint), 0);
    char message [ZJOB_TOPIC_MAX + 1] = { 1 };
    memcpy (message + 1, prefix, strlen (prefix));
    cr_assert_eq (zmq_send (zsock_resolve (xsub), message, strlen (prefix) + 1, 0),
                  (int) strlen (prefix) + 1);
    return xsub;
}

static void
s_subscribe (zjob_events_t *events, const char *type, const char *workflow, const char *id)
{
    zjob_error_t err;
    cr_assert_eq (zjob_events_subscribe (events, type, workflow, id, &err), 0, "%s", err.text);
}

//  Read subscriptions (the broker's loop) until count prefixes are applied
static void
s_wait_subscriptions (size_t count)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    zpoller_t *poller = zpoller_new (s_xpub, NULL);
    while (zjob_publisher_subscriptions (s_publisher) != count && zclock_mono () < deadline) {
        zpoller_wait (poller, 20);
        zjob_publisher_read (s_publisher, 64);
    }
    zpoller_destroy (&poller);
    cr_assert_eq (zjob_publisher_subscriptions (s_publisher), count,
                  "%zu subscriptions, not %zu", zjob_publisher_subscriptions (s_publisher),
                  count);
}

static zjob_job_t *
s_job (const char *user)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.user_id = user;
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

//  The next event on events, which must come
static zjob_event_info_t
s_next (zjob_events_t *events)
{
    zjob_event_info_t event;
    zjob_error_t err;
    cr_assert_eq (zjob_events_recv (events, &event, S_WAIT, &err), 0, "%s", err.text);
    return event;
}

//  The next publication on a raw XSUB: its topic (freshly allocated)
static char *
s_next_topic (zsock_t *xsub)
{
    zmsg_t *msg = zmsg_recv (xsub);
    cr_assert_not_null (msg, "no event within %d ms", S_WAIT);
    cr_assert_eq (zmsg_size (msg), 2);
    char *topic = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    return topic;
}

Test (publisher_auth, a_client_gets_its_own_jobs_whatever_it_subscribes, .init = s_setup,
      .fini = s_teardown)
{
    zjob_job_t *bobs = s_job ("bob");
    zjob_job_t *alices = s_job ("alice");
    zjob_events_t *alice = s_events (S_ALICE);
    s_subscribe (alice, NULL, NULL, NULL);        //  ev/ -> u/alice/ev/
    s_subscribe (alice, NULL, NULL, bobs->id);    //  -> u/alice/job/<bob's>/
    zsock_t *raw = s_raw (S_ALICE, "u/bob/ev/");  //  -> u/alice/u/bob/ev/
    zsock_t *everything = s_raw (S_ALICE, "");    //  -> u/alice/
    zjob_events_t *bob = s_events (S_BOB);
    s_subscribe (bob, NULL, NULL, NULL);  //  -> u/bob/ev/
    s_wait_subscriptions (5);
    cr_assert (zjob_publisher_wanted (s_publisher, "u/alice/ev/queued/wf/x"));
    cr_assert_not (zjob_publisher_wanted (s_publisher, "ev/queued/wf/x"), "nobody is admin");

    zjob_publisher_job (s_publisher, "queued", bobs, ZJOB_CREATED);
    zjob_publisher_job (s_publisher, "completed", bobs, ZJOB_RUNNING);
    zjob_publisher_worker (s_publisher, "worker_joined", "w1", "w", NULL, 0, 1, NULL);
    zjob_publisher_queue (s_publisher, "queue_paused", "wf");
    zjob_publisher_job (s_publisher, "completed", alices, ZJOB_RUNNING);
    cr_assert_gt (zjob_publisher_flush (s_publisher, NULL), 0);

    //  Alice's first event is her own, the last published: none of bob's,
    //  nor the worker's or the queue's, was sent to her
    zjob_event_info_t event = s_next (alice);
    cr_assert_str_eq (event.id, alices->id);
    cr_assert_str_eq (event.user_id, "alice");
    cr_assert_eq (event.seq, 5);
    for (int copy = 0; copy < 3; copy++) {  //  Under her prefix, its three forms
        char *topic = s_next_topic (everything);
        cr_assert (strncmp (topic, "u/alice/", 8) == 0, "%s", topic);
        cr_assert_not_null (strstr (topic, alices->id), "%s", topic);
        zstr_free (&topic);
    }
    //  Bob gets his, under his prefix
    event = s_next (bob);
    cr_assert_str_eq (event.id, bobs->id);
    cr_assert_str_eq (event.type, "queued");
    event = s_next (bob);
    cr_assert_str_eq (event.type, "completed");

    //  raw's "u/bob/ev/" was applied (5 counted) as u/alice/u/bob/ev/,
    //  which no event is published under. A bounded wait, to show that
    //  nothing arrives (bob and alice have had theirs)
    zsock_set_rcvtimeo (raw, 300);
    zmsg_t *nothing = zmsg_recv (raw);
    cr_assert_null (nothing);

    zsock_destroy (&raw);
    zsock_destroy (&everything);
    zjob_events_destroy (&alice);
    zjob_events_destroy (&bob);
    zjob_job_destroy (&alices);
    zjob_job_destroy (&bobs);
}

Test (publisher_auth, the_admin_gets_everything_unprefixed, .init = s_setup,
      .fini = s_teardown)
{
    zjob_job_t *bobs = s_job ("bob");
    zjob_job_t *alices = s_job ("alice");
    zjob_job_t *nobodys = s_job (NULL);
    zjob_events_t *admin = s_events (S_ADMIN);
    s_subscribe (admin, NULL, NULL, NULL);
    zsock_t *raw = s_raw (S_ADMIN, "job/");
    zjob_events_t *alice = s_events (S_ALICE);
    s_subscribe (alice, NULL, NULL, NULL);
    s_wait_subscriptions (3);  //  ev/, job/, u/alice/ev/

    zjob_publisher_job (s_publisher, "queued", bobs, ZJOB_CREATED);
    zjob_publisher_job (s_publisher, "queued", nobodys, ZJOB_CREATED);
    zjob_publisher_worker (s_publisher, "worker_joined", "w1", "w", NULL, 0, 1, NULL);
    zjob_publisher_queue (s_publisher, "queue_paused", "wf");
    zjob_publisher_job (s_publisher, "queued", alices, ZJOB_CREATED);
    zjob_publisher_flush (s_publisher, NULL);

    const char *ids [] = { bobs->id, nobodys->id, "", "", alices->id };
    const char *types [] = { "queued", "queued", "worker_joined", "queue_paused", "queued" };
    for (int index = 0; index < 5; index++) {
        zjob_event_info_t event = s_next (admin);
        cr_assert_str_eq (event.type, types [index]);
        cr_assert_str_eq (event.id, ids [index]);
        cr_assert_eq (event.seq, (uint64_t) index + 1);
    }
    //  The admin's own subscriptions are applied as sent: job/..., no prefix
    for (int index = 0; index < 3; index++) {
        char *topic = s_next_topic (raw);
        const char *id = index == 0 ? bobs->id : index == 1 ? nobodys->id
                                                            : alices->id;
        cr_assert (strncmp (topic, "job/", 4) == 0, "%s", topic);
        cr_assert_not_null (strstr (topic, id), "%s", topic);
        zstr_free (&topic);
    }
    //  Alice: her job only, never the worker or the queue
    zjob_event_info_t event = s_next (alice);
    cr_assert_str_eq (event.id, alices->id);
    cr_assert_eq (event.seq, 5);

    zsock_destroy (&raw);
    zjob_events_destroy (&admin);
    zjob_events_destroy (&alice);
    zjob_job_destroy (&nobodys);
    zjob_job_destroy (&alices);
    zjob_job_destroy (&bobs);
}

Test (publisher_auth, unsubscribing_undoes_what_was_applied, .init = s_setup,
      .fini = s_teardown)
{
    zjob_job_t *first = s_job ("alice");
    zjob_job_t *second = s_job ("alice");
    zjob_events_t *alice = s_events (S_ALICE);
    s_subscribe (alice, NULL, NULL, NULL);
    s_subscribe (alice, NULL, NULL, second->id);
    zjob_events_t *again = s_events (S_ALICE);  //  Another of alice's connections
    s_subscribe (again, NULL, NULL, NULL);
    s_wait_subscriptions (2);  //  u/alice/ev/ (twice), u/alice/job/<second>/

    zjob_error_t err;
    cr_assert_eq (zjob_events_unsubscribe (alice, NULL, NULL, NULL, &err), 0, "%s", err.text);
    //  u/alice/ev/ stays wanted (again holds it): wait until the
    //  unsubscription is read, seen when its job/ one after it is
    cr_assert_eq (zjob_events_unsubscribe (alice, NULL, NULL, second->id, &err), 0, "%s",
                  err.text);
    s_wait_subscriptions (1);
    s_subscribe (alice, NULL, NULL, second->id);
    s_wait_subscriptions (2);

    zjob_publisher_job (s_publisher, "queued", first, ZJOB_CREATED);
    zjob_publisher_job (s_publisher, "queued", second, ZJOB_CREATED);
    zjob_publisher_flush (s_publisher, NULL);
    //  The other connection gets both; the one that unsubscribed from ev/
    //  only the second, through job/<second>/
    cr_assert_str_eq (s_next (again).id, first->id);
    cr_assert_str_eq (s_next (again).id, second->id);
    zjob_event_info_t event = s_next (alice);
    cr_assert_str_eq (event.id, second->id);
    cr_assert_eq (event.seq, 2);

    //  Everything undone: nothing is even encoded
    zjob_events_destroy (&again);
    cr_assert_eq (zjob_events_unsubscribe (alice, NULL, NULL, second->id, &err), 0, "%s",
                  err.text);
    s_wait_subscriptions (0);
    zjob_publisher_job (s_publisher, "running", second, ZJOB_QUEUED);
    cr_assert_eq (zjob_publisher_flush (s_publisher, NULL), 0);

    zjob_events_destroy (&alice);
    zjob_job_destroy (&first);
    zjob_job_destroy (&second);
}

Test (publisher_auth, counts_follow_subscribers_that_go_away, .init = s_setup,
      .fini = s_teardown)
{
    //  All three subscribe to ev/: libzmq hands up the closed connection's
    //  "0ev/" without saying whose; the count must still be right
    zjob_events_t *admin = s_events (S_ADMIN);
    s_subscribe (admin, NULL, NULL, NULL);
    zjob_events_t *alice = s_events (S_ALICE);
    s_subscribe (alice, NULL, NULL, NULL);
    zjob_events_t *again = s_events (S_ALICE);
    s_subscribe (again, NULL, NULL, NULL);
    zjob_events_t *bob = s_events (S_BOB);
    s_subscribe (bob, NULL, NULL, NULL);
    s_subscribe (bob, "completed", NULL, NULL);
    s_wait_subscriptions (4);  //  ev/, u/alice/ev/, u/bob/ev/, u/bob/ev/completed/

    zjob_events_destroy (&bob);
    s_wait_subscriptions (2);
    cr_assert_not (zjob_publisher_wanted (s_publisher, "u/bob/ev/queued/wf/x"));
    cr_assert (zjob_publisher_wanted (s_publisher, "u/alice/ev/queued/wf/x"));
    cr_assert (zjob_publisher_wanted (s_publisher, "ev/queued/wf/x"));

    //  One of alice's two goes: hers stays, and still arrives
    zjob_events_destroy (&alice);
    zjob_job_t *job = s_job ("alice");
    zjob_publisher_job (s_publisher, "queued", job, ZJOB_CREATED);
    zjob_publisher_flush (s_publisher, NULL);
    cr_assert_str_eq (s_next (again).id, job->id);
    cr_assert_str_eq (s_next (admin).id, job->id);
    s_wait_subscriptions (2);

    zjob_events_destroy (&admin);
    s_wait_subscriptions (1);
    cr_assert_not (zjob_publisher_wanted (s_publisher, "ev/queued/wf/x"));
    zjob_events_destroy (&again);
    s_wait_subscriptions (0);
    zjob_job_destroy (&job);
}

Test (publisher_auth, unknown_and_worker_keys_get_nothing, .init = s_setup,
      .fini = s_teardown)
{
    zjob_events_t *mallory = s_events (S_MALLORY);
    s_subscribe (mallory, NULL, NULL, NULL);
    zsock_t *worker = s_raw (S_WORKER, "");
    zjob_events_t *admin = s_events (S_ADMIN);
    s_subscribe (admin, NULL, NULL, NULL);
    s_wait_subscriptions (1);  //  ev/, the admin's

    zjob_job_t *job = s_job ("alice");
    zjob_publisher_job (s_publisher, "queued", job, ZJOB_CREATED);
    zjob_publisher_worker (s_publisher, "worker_joined", "w1", "w", NULL, 0, 1, NULL);
    zjob_publisher_flush (s_publisher, NULL);
    cr_assert_str_eq (s_next (admin).type, "queued");
    cr_assert_str_eq (s_next (admin).type, "worker_joined");
    //  A bounded wait, to show that nothing arrives: the admin has had
    //  both, so anything sent to the others would be on its way too
    zjob_event_info_t event;
    cr_assert_neq (zjob_events_recv (mallory, &event, 300, NULL), 0, "%s", event.type);
    zsock_set_rcvtimeo (worker, 300);
    zmsg_t *nothing = zmsg_recv (worker);
    cr_assert_null (nothing);
    //  Still nothing applied for them, however long they stay
    s_wait_subscriptions (1);

    zsock_destroy (&worker);
    zjob_events_destroy (&mallory);
    zjob_events_destroy (&admin);
    zjob_job_destroy (&job);
}

Test (publisher_auth, one_users_prefix_is_not_the_start_of_anothers, .init = s_setup,
      .fini = s_teardown)
{
    //  carol is user "a", dave user "a/b": carol's "b/ev/" is applied as
    //  u/a/b/ev/, which dave's events must not be published under
    zjob_job_t *daves = s_job ("a/b");
    zjob_job_t *carols = s_job ("a");
    zsock_t *carol = s_raw (S_CAROL, "b/ev/");
    zsock_t *carol_all = s_raw (S_CAROL, "");
    zsock_t *dave = s_raw (S_DAVE, "ev/");
    s_wait_subscriptions (3);  //  u/a/b/ev/, u/a/, u/a%2Fb/ev/

    zjob_publisher_job (s_publisher, "queued", daves, ZJOB_CREATED);
    zjob_publisher_job (s_publisher, "queued", carols, ZJOB_CREATED);
    zjob_publisher_flush (s_publisher, NULL);
    char *topic = s_next_topic (dave);
    cr_assert (strncmp (topic, "u/a%2Fb/ev/queued/", 18) == 0, "%s", topic);
    zstr_free (&topic);
    topic = s_next_topic (carol_all);  //  Carol's own first: none of dave's before
    cr_assert (strncmp (topic, "u/a/", 4) == 0 && strstr (topic, carols->id), "%s", topic);
    zstr_free (&topic);
    //  A bounded wait, to show that nothing arrives on carol's "b/ev/"
    //  (carol_all has had its event, published after dave's)
    zsock_set_rcvtimeo (carol, 300);
    zmsg_t *nothing = zmsg_recv (carol);
    cr_assert_null (nothing);

    zsock_destroy (&carol);
    zsock_destroy (&carol_all);
    zsock_destroy (&dave);
    zjob_job_destroy (&daves);
    zjob_job_destroy (&carols);
}

Test (publisher_auth, a_subscriber_with_a_bad_certificate_is_not_made)
{
    zjob_connect_opts_t opts = { "/nonexistent/alice.key_secret", "x" };
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new_with ("tcp://127.0.0.1:5572", &opts, &err);
    cr_assert_null (events);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "certificate"), "%s", err.text);
    //  No certificate: no CURVE, a SUB as zjob_events_new makes
    opts.cert = NULL;
    events = zjob_events_new_with ("tcp://127.0.0.1:5572", &opts, &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_eq (zsock_type (zjob_events_sock (events)), ZMQ_SUB);
    zjob_events_destroy (&events);
}
