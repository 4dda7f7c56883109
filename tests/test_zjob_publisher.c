/*  =========================================================================
    test_zjob_publisher - events: subscriptions seen on the XPUB, topics,
    nothing encoded when nobody listens

    A real XPUB and SUB over inproc: the publisher reads what the SUB
    subscribes to, and the SUB receives what the publisher flushes. Every
    wait has a deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "zjob_publisher.h"
#include "zjob_proto.h"

#define S_WAIT 2000  //  msecs a message may take

static zsock_t *s_xpub = NULL;
static zsock_t *s_sub = NULL;
static zjob_publisher_t *s_publisher = NULL;

static void
s_setup (void)
{
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://publisher-%d", getpid ());
    s_xpub = zsock_new_xpub (endpoint);
    s_sub = zsock_new_sub (endpoint, NULL);
    cr_assert (s_xpub && s_sub);
    zsock_set_rcvtimeo (s_sub, S_WAIT);
    s_publisher = zjob_publisher_new (zsock_resolve (s_xpub));
    cr_assert_not_null (s_publisher);
}

static void
s_teardown (void)
{
    zjob_publisher_destroy (&s_publisher);
    zsock_destroy (&s_sub);
    zsock_destroy (&s_xpub);
}

//  Read subscriptions until count prefixes are known, or the deadline
static void
s_wait_subscriptions (size_t count)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zjob_publisher_subscriptions (s_publisher) != count && zclock_mono () < deadline) {
        zpoller_t *poller = zpoller_new (s_xpub, NULL);
        zpoller_wait (poller, 50);
        zpoller_destroy (&poller);
        zjob_publisher_read (s_publisher, 16);
    }
    cr_assert_eq (zjob_publisher_subscriptions (s_publisher), count);
}

static zjob_job_t *
s_job (const char *workflow)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

Test (publisher, nobody_listens_nothing_is_sent, .init = s_setup, .fini = s_teardown)
{
    zjob_job_t *job = s_job ("wf");
    zjob_publisher_job (s_publisher, "queued", job, -1);
    zjob_publisher_worker (s_publisher, "worker_joined", "w1", NULL, NULL, 0, 1, NULL);
    cr_assert_eq (zjob_publisher_seq (s_publisher), 2, "counted all the same");
    cr_assert_eq (zjob_publisher_flush (s_publisher, NULL), 0);
    zjob_job_destroy (&job);
}

Test (publisher, topics_and_bodies, .init = s_setup, .fini = s_teardown)
{
    char prefix [ZJOB_TOPIC_MAX];
    cr_assert_eq (zjob_event_prefix (prefix, sizeof (prefix), NULL, "wf", NULL), 0);
    zsock_set_subscribe (s_sub, prefix);
    s_wait_subscriptions (1);
    cr_assert (zjob_publisher_wanted (s_publisher, "wf/wf/queued/x"));
    cr_assert_not (zjob_publisher_wanted (s_publisher, "wf/other/queued/x"));

    zjob_job_t *mine = s_job ("wf");
    zjob_job_t *other = s_job ("other");
    zjob_publisher_job (s_publisher, "queued", other, -1);  //  Not wanted
    zjob_publisher_job (s_publisher, "queued", mine, ZJOB_CREATED);
    //  Encoded now, sent at the flush: one topic of the three is wanted
    size_t dropped = 99;
    cr_assert_eq (zjob_publisher_flush (s_publisher, &dropped), 1);
    cr_assert_eq (dropped, 0);
    zmsg_t *received = zmsg_recv (s_sub);
    cr_assert_not_null (received);
    cr_assert_eq (zmsg_size (received), 2);
    char *topic = zmsg_popstr (received);
    cr_assert (strncmp (topic, prefix, strlen (prefix)) == 0, "%s", topic);
    cr_assert (strstr (topic, mine->id), "%s", topic);
    zframe_t *body = zmsg_pop (received);
    zjob_error_t err;
    zjob_msg_t *event = zjob_msg_decode (zframe_data (body), zframe_size (body),
                                         ZJOB_ROUTE_EVENTS, &err);
    cr_assert_not_null (event, "%s", err.text);
    cr_assert_eq (zjob_msg_request_id (event), 2, "the sequence counts the unheard one");
    cr_assert_str_eq (zjob_msg_str (event, "id"), mine->id);
    cr_assert_str_eq (zjob_msg_str (event, "old_status"), "created");
    zjob_msg_destroy (&event);
    zframe_destroy (&body);
    zstr_free (&topic);
    zmsg_destroy (&received);
    //  Flushed: nothing left
    cr_assert_eq (zjob_publisher_flush (s_publisher, NULL), 0);

    //  Unsubscribing is seen too
    zsock_set_unsubscribe (s_sub, prefix);
    s_wait_subscriptions (0);
    zjob_job_destroy (&mine);
    zjob_job_destroy (&other);
}

Test (publisher, worker_events_and_everything, .init = s_setup, .fini = s_teardown)
{
    zsock_set_subscribe (s_sub, "");
    s_wait_subscriptions (1);
    cr_assert (zjob_publisher_wanted (s_publisher, "anything"));
    const char *workflows [] = { "wf" };
    zjob_publisher_worker (s_publisher, "worker_left", "w1", "one", workflows, 1, 4,
                           "expired");
    cr_assert_eq (zjob_publisher_flush (s_publisher, NULL), 1);
    zmsg_t *received = zmsg_recv (s_sub);
    cr_assert_not_null (received);
    char *topic = zmsg_popstr (received);
    cr_assert_str_eq (topic, "ev/worker_left/w1");
    zframe_t *body = zmsg_pop (received);
    zjob_error_t err;
    zjob_msg_t *event = zjob_msg_decode (zframe_data (body), zframe_size (body),
                                         ZJOB_ROUTE_EVENTS, &err);
    cr_assert_not_null (event, "%s", err.text);
    cr_assert_str_eq (zjob_msg_str (event, "reason"), "expired");
    cr_assert_eq (zjob_msg_uint (event, "slots", 0), 4);
    zjob_msg_destroy (&event);
    zframe_destroy (&body);
    zstr_free (&topic);
    zmsg_destroy (&received);
}
