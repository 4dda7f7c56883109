/*  =========================================================================
    zjob_publisher - the broker's events: topics, subscriptions, publishing

    Encoded events wait in one arena reused pass after pass, as records
    (topic size, topic, body size, body), one per wanted topic: a job
    event has three topics (by type, by workflow, by job), and each that
    someone wants is sent as its own two-frame message. The subscription
    prefixes are a hash; matching walks it, so past ZJOB_PUBLISHER_SUBS_MAX
    prefixes the publisher stops matching and encodes every event (the
    XPUB still filters what each subscriber receives).
    ========================================================================= */

#include "zjob_publisher.h"
#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "zjob_util.h"
#include <stdlib.h>
#include <string.h>

struct _zjob_publisher_t {
    void *xpub;                   //  The XPUB (libzmq handle), borrowed
    zjob_msg_builder_t *builder;  //  Encodes the events
    zhashx_t *subscriptions;      //  Topic prefixes subscribers asked for
    bool all;                     //  Some subscription is "" (everything)
    uint8_t *arena;               //  Encoded events of this pass
    size_t arena_size;
    size_t arena_max;
    size_t count;  //  Records in the arena
    uint64_t seq;  //  Sequence number of the last event
};

zjob_publisher_t *
zjob_publisher_new (void *xpub)
{
    zjob_publisher_t *self = (zjob_publisher_t *) calloc (1, sizeof (zjob_publisher_t));
    if (!self)
        return NULL;
    self->xpub = xpub;
    self->builder = zjob_msg_builder_new ();
    self->subscriptions = zjob_hashx_new ();
    if (!self->builder || !self->subscriptions)
        zjob_publisher_destroy (&self);
    return self;
}

void
zjob_publisher_destroy (zjob_publisher_t **self_p)
{
    assert (self_p);
    zjob_publisher_t *self = *self_p;
    if (self) {
        zjob_msg_builder_destroy (&self->builder);
        zhashx_destroy (&self->subscriptions);
        free (self->arena);
        free (self);
        *self_p = NULL;
    }
}

size_t
zjob_publisher_read (zjob_publisher_t *self, size_t max)
{
    assert (self);
    size_t count = 0;
    for (; count < max; count++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, self->xpub, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&msg);
            break;
        }
        const uint8_t *data = (const uint8_t *) zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        if (size >= 1 && size <= ZJOB_TOPIC_MAX && (data [0] == 0 || data [0] == 1)) {
            char prefix [ZJOB_TOPIC_MAX + 1];
            memcpy (prefix, data + 1, size - 1);
            prefix [size - 1] = 0;
            if (data [0] == 1)
                zhashx_update (self->subscriptions, prefix, (void *) "");
            else
                zhashx_delete (self->subscriptions, prefix);
            self->all = zhashx_lookup (self->subscriptions, "") != NULL;
        }
        zmq_msg_close (&msg);
    }
    return count;
}

size_t
zjob_publisher_subscriptions (zjob_publisher_t *self)
{
    assert (self);
    return zhashx_size (self->subscriptions);
}

bool
zjob_publisher_wanted (zjob_publisher_t *self, const char *topic)
{
    assert (self);
    if (self->all || zhashx_size (self->subscriptions) > ZJOB_PUBLISHER_SUBS_MAX)
        return true;
    //  The prefixes are the keys (the items are all ""): match the cursor
    const void *item = zhashx_first (self->subscriptions);
    for (; item; item = zhashx_next (self->subscriptions)) {
        const char *prefix = (const char *) zhashx_cursor (self->subscriptions);
        if (strncmp (topic, prefix, strlen (prefix)) == 0)
            return true;
    }
    return false;
}

//  Append size bytes to the arena; 0 or -1
static int
s_append (zjob_publisher_t *self, const void *data, size_t size)
{
    uint8_t *grown = (uint8_t *) zjob_grow (self->arena, &self->arena_max,
                                            self->arena_size + size, 1, 65536);
    if (!grown)
        return -1;
    self->arena = grown;
    memcpy (self->arena + self->arena_size, data, size);
    self->arena_size += size;
    return 0;
}

//  Store the builder's message under the wanted ones of count topics
static void
s_store (zjob_publisher_t *self, char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX],
         size_t count, const bool *wanted)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self->builder, &size, &err);
    if (!data) {
        zsys_warning ("zjob_publisher: cannot encode an event: %s", err.text);
        return;
    }
    for (size_t index = 0; index < count; index++) {
        if (!wanted [index])
            continue;
        //  Each record: topic size (uint32), topic, body size (uint32), body
        uint32_t topic_size = (uint32_t) strlen (topics [index]);
        uint32_t body_size = (uint32_t) size;
        size_t mark = self->arena_size;
        if (s_append (self, &topic_size, sizeof (topic_size))
            || s_append (self, topics [index], topic_size)
            || s_append (self, &body_size, sizeof (body_size))
            || s_append (self, data, size)) {
            self->arena_size = mark;  //  No half record
            zsys_error ("zjob_publisher: out of memory queueing an event");
            return;
        }
        self->count++;
    }
}

void
zjob_publisher_job (zjob_publisher_t *self, const char *type, const zjob_job_t *job,
                    int old_status)
{
    zjob_publisher_job_reason (self, type, job, old_status, NULL);
}

void
zjob_publisher_job_reason (zjob_publisher_t *self, const char *type, const zjob_job_t *job,
                           int old_status, const char *reason)
{
    assert (self && type && job);
    self->seq++;  //  Counted even when nobody listens
    if (zhashx_size (self->subscriptions) == 0)
        return;  //  Nobody listens: costs nothing
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    size_t count = zjob_event_topics (type, job->workflow_id, job->id, topics);
    bool wanted [ZJOB_EVENT_TOPICS] = { false };
    bool any = false;
    for (size_t index = 0; index < count; index++)
        any |= wanted [index] = zjob_publisher_wanted (self, topics [index]);
    if (!any)
        return;
    zjob_msg_begin (self->builder, ZJOB_CMD_EVENT, self->seq);
    zjob_msg_add_job_event (self->builder, type, job, old_status);
    zjob_msg_add_str (self->builder, "reason", reason);
    s_store (self, topics, count, wanted);
}

//  Begin an event published under one topic, topics [0] =
//  ev/<type>/<subject> (a worker, a batch, a queue), into the builder: its
//  sequence number, type and time. False (and nothing begun) when nobody
//  wants that topic. s_store (self, topics, 1, s_first) ends it.
static bool
s_begin_single (zjob_publisher_t *self, const char *type, const char *subject,
                char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX])
{
    self->seq++;
    if (zhashx_size (self->subscriptions) == 0
        || zjob_event_topics (type, NULL, subject, topics) == 0
        || !zjob_publisher_wanted (self, topics [0]))
        return false;
    zjob_msg_begin (self->builder, ZJOB_CMD_EVENT, self->seq);
    zjob_msg_add_str (self->builder, "type", type);
    zjob_msg_add_uint (self->builder, "time", (uint64_t) zjob_clock_ms ());
    return true;
}
static const bool s_first [ZJOB_EVENT_TOPICS] = { true };

void
zjob_publisher_worker (zjob_publisher_t *self, const char *type, const char *worker_id,
                       const char *name, const char *const *workflows,
                       size_t workflow_count, size_t slots, const char *reason)
{
    assert (self && type && worker_id);
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    if (!s_begin_single (self, type, worker_id, topics))
        return;
    zjob_msg_add_str (self->builder, "worker_id", worker_id);
    zjob_msg_add_str (self->builder, "name", name);
    zjob_msg_add_strs (self->builder, "workflows", workflows, workflow_count);
    zjob_msg_add_uint (self->builder, "slots", slots);
    zjob_msg_add_str (self->builder, "reason", reason);
    s_store (self, topics, 1, s_first);
}

void
zjob_publisher_batch (zjob_publisher_t *self, const char *type, const zjob_batch_info_t *info)
{
    assert (self && type && info);
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    if (!s_begin_single (self, type, info->id, topics))
        return;
    zjob_msg_add_batch (self->builder, "batch", info);
    s_store (self, topics, 1, s_first);
}

void
zjob_publisher_queue (zjob_publisher_t *self, const char *type, const char *workflow_id)
{
    assert (self && type && workflow_id);
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    if (!s_begin_single (self, type, workflow_id, topics))
        return;
    zjob_msg_add_str (self->builder, "workflow_id", workflow_id);
    s_store (self, topics, 1, s_first);
}

size_t
zjob_publisher_flush (zjob_publisher_t *self, size_t *dropped_p)
{
    assert (self);
    size_t dropped = 0;
    const uint8_t *cursor = self->arena;
    for (size_t index = 0; index < self->count; index++) {
        uint32_t topic_size, body_size;
        memcpy (&topic_size, cursor, sizeof (topic_size));
        const uint8_t *topic = cursor + sizeof (topic_size);
        memcpy (&body_size, topic + topic_size, sizeof (body_size));
        const uint8_t *body = topic + topic_size + sizeof (body_size);
        cursor = body + body_size;
        if (zmq_send (self->xpub, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1
            || zmq_send (self->xpub, body, body_size, ZMQ_DONTWAIT) == -1)
            dropped++;
    }
    size_t sent = self->count;
    self->count = 0;
    self->arena_size = 0;
    if (dropped_p)
        *dropped_p = dropped;
    return sent;
}

uint64_t
zjob_publisher_seq (zjob_publisher_t *self)
{
    assert (self);
    return self->seq;
}
