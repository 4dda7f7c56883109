/*  =========================================================================
    zjob_publisher - the broker's events: topics, subscriptions, publishing

    Every status change, progress update and deletion of a job, every
    worker joining or leaving, and every pause or resume of a workflow's
    queue, is an EVENT (PROTOCOL.md 11). Each event
    gets the next sequence number whether or not anyone listens, so
    subscribers can tell a gap. But an event is encoded only if a
    subscriber wants one of its topics: the XPUB passes subscriptions up
    (zjob_publisher_read), the publisher keeps the prefixes, and with
    nobody listening an event costs an increment, which matters at 200k
    jobs/s. Events are encoded when they happen and published at the end
    of the loop pass (zjob_publisher_flush), after the sync that made the
    changes they announce durable; when that sync completes later (an
    overlapped sync), the broker takes them at the end of the pass
    (zjob_publisher_flush_with) into its outbox, behind the pass's
    replies, and publishes them when their sync is durable.

    The publisher does not own the XPUB: the broker creates and binds it,
    polls it, and hands its libzmq handle in.

    Per user (CURVE on, zjob_publisher_set_auth). The XPUB is then in
    manual mode: the publisher decides what each subscription becomes for
    the connection that sent it, from the key that connection presented
    (the User-Id of the subscription message). An admin key's
    subscriptions are applied as sent; a client key's, of user U, are
    applied under U's own prefix "u/U/" (one that already starts with it,
    as sent); any other key's are ignored. Each job event of a job with a
    user U is also published under "u/U/" + each of its topics, so a
    client sees its own jobs' events and nothing else: not another user's,
    not the workers', batches' or queues' (those have no user and are
    published only unprefixed). U is written with '%' and '/' as %25 and
    %2F, so no user's prefix is the beginning of another's.
    ========================================================================= */

#ifndef ZJOB_PUBLISHER_H_INCLUDED
#define ZJOB_PUBLISHER_H_INCLUDED

#include <czmq.h>
#include "zjob_job.h"
#include "zjob_msg.h"
#include "zjob_peer.h"

#ifdef __cplusplus
extern "C" {
#endif

//  prefixes matched one by one; past this
//  many, every topic is taken as wanted
#define ZJOB_PUBLISHER_SUBS_MAX 64

typedef struct _zjob_publisher_t zjob_publisher_t;

//  A publisher over xpub, a libzmq XPUB socket handle (borrowed: it must
//  outlive the publisher). NULL if out of memory.
zjob_publisher_t *
zjob_publisher_new (void *xpub);

//  Destroy the publisher and the events not yet published. Accepts NULL;
//  sets *self_p to NULL.
void
zjob_publisher_destroy (zjob_publisher_t **self_p);

//  Read up to max subscription messages from the XPUB (1 + prefix to
//  subscribe, 0 + prefix to unsubscribe; others are ignored) without
//  blocking. Returns how many were read: max means there may be more.
size_t
zjob_publisher_read (zjob_publisher_t *self, size_t max);

//  Filter events per user from now on (PROTOCOL.md 11): lookup (with arg)
//  finds the peer of the key in a subscription message's User-Id. The
//  XPUB must be in manual mode (ZMQ_XPUB_MANUAL, set before it binds) and
//  use CURVE; call this before anyone subscribes. Without it, subscriptions
//  are the XPUB's own, as sent, and events have no user prefix.
void
zjob_publisher_set_auth (zjob_publisher_t *self, zjob_peer_lookup_fn *lookup, void *arg);

//  Log level (zjob_log_level_t) of the subscriptions ignored or refused
//  with set_auth, logged at debug; ZJOB_LOG_INFO (none) by default.
void
zjob_publisher_set_log_level (zjob_publisher_t *self, int log_level);

//  The number of distinct prefixes subscribed now (with set_auth: as
//  applied, by the subscriber connections open now).
size_t
zjob_publisher_subscriptions (zjob_publisher_t *self);

//  True if some subscriber wants topic.
bool
zjob_publisher_wanted (zjob_publisher_t *self, const char *topic);

//  A job event: type (a status name, "progress", "deleted") about job;
//  old_status is the status before (-1: none, for a new job, progress,
//  deletion). Encoded under each of the job's topics someone wants.
void
zjob_publisher_job (zjob_publisher_t *self, const char *type, const zjob_job_t *job,
                    int old_status);

//  The same with a reason (NULL: none): "timed_out" ("timeout",
//  "heartbeat_timeout") and "dead" ("exhausted", "permanent") events.
void
zjob_publisher_job_reason (zjob_publisher_t *self, const char *type, const zjob_job_t *job,
                           int old_status, const char *reason);

//  A batch event ("batch_finished") about the batch info describes, under
//  the one topic ev/<type>/<batch id>, with the batch map at "batch".
void
zjob_publisher_batch (zjob_publisher_t *self, const char *type, const zjob_batch_info_t *info);

//  A queue event ("queue_paused", "queue_resumed") about workflow_id's
//  queue (zjob_queues.h), under topic ev/TYPE/WORKFLOW.
void
zjob_publisher_queue (zjob_publisher_t *self, const char *type, const char *workflow_id);

//  A worker event ("worker_joined", "worker_left") about worker_id, with
//  its name (may be NULL), workflows, slots and reason (may be NULL).
void
zjob_publisher_worker (zjob_publisher_t *self, const char *type, const char *worker_id,
                       const char *name, const char *const *workflows,
                       size_t workflow_count, size_t slots, const char *reason);

//  Publish the events encoded since the last flush, [topic][EVENT] each,
//  without blocking. Returns how many messages were sent; *dropped_p (if
//  not NULL) gets those the XPUB refused.
size_t
zjob_publisher_flush (zjob_publisher_t *self, size_t *dropped_p);

//  Receives one event, [topic][EVENT], all borrowed for the call; returns
//  0, or -1 if it could not take it (counted as dropped).
typedef int (zjob_publisher_send_fn) (const uint8_t *topic, size_t topic_size,
                                      const uint8_t *body, size_t body_size, void *arg);

//  As zjob_publisher_flush, but each event goes to send (the broker queues
//  them behind the replies of their pass, until its sync is durable).
size_t
zjob_publisher_flush_with (zjob_publisher_t *self, zjob_publisher_send_fn *send, void *arg,
                           size_t *dropped_p);

//  Publish one event taken by a zjob_publisher_send_fn, now, without
//  blocking. 0, or -1 if the XPUB refused it.
int
zjob_publisher_send (zjob_publisher_t *self, const uint8_t *topic, size_t topic_size,
                     const uint8_t *body, size_t body_size);

//  The sequence number of the last event (counted even when unheard).
uint64_t
zjob_publisher_seq (zjob_publisher_t *self);

#ifdef __cplusplus
}
#endif

#endif
