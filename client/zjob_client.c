/*  =========================================================================
    zjob_client - the client API of libzjob: job operations and events

    One path carries every request. A request is built with the proto
    builder, registered in `inflight` under its request id (the value is
    the command, so the reply can be checked against that command's reply
    table), and sent without blocking. Replies are read, decoded and
    matched by request id; a reply for an id that is not in flight (a late
    answer to a call that timed out, or a duplicate answer to a request
    sent twice) is dropped. The window is inflight's size, bounded by
    ZJOB_INFLIGHT_MAX.

    A synchronous call is the same path plus a wait for its own id. While
    it waits, replies to the caller's asynchronous requests go to `backlog`
    in arrival order, and zjob_client_recv serves the backlog before the
    socket, so the two APIs can be mixed on one client.

    Resending. A message can be lost only when the connection under it
    breaks (the broker restarted): ZeroMQ reconnects by itself, but what
    was in flight on the old connection is gone. A synchronous call whose
    request is safe to repeat therefore sends the same frame (same request
    id, so either answer will do) again every third of the timeout. For
    SUBMIT, safe means the idempotency key: every spec gets one, made up
    here from a random per-client prefix and a counter when the caller
    gave none, and the broker answers a repeated key with the job it made
    the first time. State-changing operations on existing jobs (DELETE,
    START, PAUSE, RESUME, CANCEL, RETRY, RUN_NOW, CLEANUP) are sent once: a
    second copy would turn a success into a spurious 404 or 409 (a dry run
    of RETRY or RUN_NOW changes nothing, and is resent as a read is).
    ========================================================================= */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "zjob_client.h"
#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "zjob_client_impl.h"
#include "zjob_handshake.h"

#define KEY_PREFIX_LEN 32  //  hex characters of the random key prefix
#define KEY_MAX 64         //  bytes in a made-up idempotency key, with the NUL

struct _zjob_client_t {
    zsock_t *sock;                         //  DEALER, connected to the broker
    char *endpoint;                        //  The endpoint, as given
    int timeout;                           //  msecs a synchronous call waits
    uint64_t next_id;                      //  Request id of the next request (from 1)
    zhashx_t *inflight;                    //  request id -> zjob_cmd_t, awaiting a reply
    zlistx_t *backlog;                     //  zjob_reply_t kept aside by synchronous calls
    zjob_msg_builder_t *builder;           //  Reused for every request
    char key_prefix [KEY_PREFIX_LEN + 1];  //  Random, unique to this client
    uint64_t key_seq;                      //  Counter of made-up keys
    int timeouts;                          //  Synchronous calls timed out in a row
    zjob_handshake_t *handshake;           //  With a certificate: the handshakes, else NULL
    int64_t handshake_retry;               //  mono ms when a failed handshake may be retried
};

struct _zjob_reply_t {
    uint64_t request_id;  //  The request it answers
    zjob_cmd_t request;   //  That request's command
    zjob_error_t error;   //  ZJOB_OK, or the error
    zjob_msg_t *msg;      //  The decoded reply; NULL if it did not decode
};

//  --------------------------------------------------------------------------
//  Request ids are the hash keys themselves (cast to pointers), never 0

static size_t
s_id_hash (const void *key)
{
    uint64_t id = (uint64_t) (uintptr_t) key;
    return (size_t) (id * 0x9E3779B97F4A7C15ULL >> 16);
}

static int
s_id_compare (const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

#define ID_KEY(id) ((const void *) (uintptr_t) (id))

static void
s_reply_free (void **item_p)
{
    zjob_reply_destroy ((zjob_reply_t **) item_p);
}

static int
s_remaining (int64_t deadline)
{
    int64_t left = deadline - zjob_mono_ms ();
    return left > 0 ? (int) left : 0;
}

//  --------------------------------------------------------------------------
//  Connecting

zjob_client_t *
zjob_client_new (const char *endpoint, int timeout_ms, zjob_error_t *err)
{
    return zjob_client_new_with (endpoint, timeout_ms, NULL, err);
}

zjob_client_t *
zjob_client_new_with (const char *endpoint, int timeout_ms, const zjob_connect_opts_t *opts,
                      zjob_error_t *err)
{
    if (zjob_connect_check (endpoint, NULL, err))
        return NULL;
    //  CZMQ set up once, whatever other threads do now (zjob_util.h)
    if (zjob_czmq_init ()) {
        zjob_error_set (err, ZJOB_INTERNAL, "CZMQ cannot start (zsys_init failed)");
        return NULL;
    }
    zjob_client_t *self = (zjob_client_t *) zmalloc (sizeof (zjob_client_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->timeout = timeout_ms > 0 ? timeout_ms : ZJOB_CLIENT_TIMEOUT_DEFAULT;
    self->next_id = 1;
    self->endpoint = strdup (endpoint);
    self->sock = zsock_new (ZMQ_DEALER);
    self->inflight = zhashx_new ();
    self->backlog = zlistx_new ();
    self->builder = zjob_msg_builder_new ();
    zuuid_t *uuid = zuuid_new ();
    if (!self->endpoint || !self->sock || !self->inflight || !self->backlog || !self->builder
        || !uuid) {
        zuuid_destroy (&uuid);
        zjob_client_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf (self->key_prefix, sizeof (self->key_prefix), "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    zhashx_set_key_hasher (self->inflight, s_id_hash);
    zhashx_set_key_comparator (self->inflight, s_id_compare);
    zhashx_set_key_duplicator (self->inflight, NULL);
    zhashx_set_key_destructor (self->inflight, NULL);
    zlistx_set_destructor (self->backlog, s_reply_free);

    zjob_proto_socket_setup (self->sock);
    zsock_set_linger (self->sock, 0);
    //  Only a CURVE client watches its handshakes (a plain one costs nothing more)
    if (zjob_connect_secure (opts)
        && (zjob_connect_apply (self->sock, opts, err)
            || !(self->handshake = zjob_handshake_new (self->sock, err)))) {
        zjob_client_destroy (&self);
        return NULL;
    }
    if (zjob_connect_endpoints (self->sock, endpoint, err)) {
        zjob_client_destroy (&self);
        return NULL;
    }
    zjob_error_t local;
    if (zjob_client_ping (self, &local) != 0) {
        if (local.code == ZJOB_UNAVAILABLE)
            zjob_error_set (err, ZJOB_UNAVAILABLE, "broker at %s did not answer within %d ms",
                            endpoint, self->timeout);
        else if (err)
            *err = local;
        zjob_client_destroy (&self);
        return NULL;
    }
    return self;
}

void
zjob_client_destroy (zjob_client_t **self_p)
{
    if (self_p && *self_p) {
        zjob_client_t *self = *self_p;
        zjob_handshake_destroy (&self->handshake);
        zsock_destroy (&self->sock);
        zhashx_destroy (&self->inflight);
        zlistx_destroy (&self->backlog);
        zjob_msg_builder_destroy (&self->builder);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
zjob_client_set_timeout (zjob_client_t *self, int timeout_ms)
{
    if (timeout_ms > 0)
        self->timeout = timeout_ms;
}

zsock_t *
zjob_client_sock (zjob_client_t *self)
{
    return self->sock;
}

const char *
zjob_client_endpoint (zjob_client_t *self)
{
    return self->endpoint;
}

size_t
zjob_client_inflight (zjob_client_t *self)
{
    return zhashx_size (self->inflight);
}

void
zjob_client_forget (zjob_client_t *self, uint64_t request_id)
{
    if (request_id)
        zhashx_delete (self->inflight, ID_KEY (request_id));
    else
        zhashx_purge (self->inflight);
}

//  --------------------------------------------------------------------------
//  Sending and receiving

//  New connections to every endpoint (checked when the client was made)
static void
s_connect_again (zjob_client_t *self)
{
    zjob_connect_disconnect (self->sock, self->endpoint);
    zjob_connect_endpoints (self->sock, self->endpoint, NULL);
}

//  With CURVE, true if the last handshake failed, with err filled: the
//  request fails at once. libzmq does not try again after a refusal, so
//  at most once every ZJOB_CLIENT_HANDSHAKE_RETRY_MS the client connects
//  again instead and lets the request go (a broker that reloaded its keys
//  may take it now; if not, the new refusal fails it within milliseconds).
static bool
s_handshake_failed (zjob_client_t *self, zjob_error_t *err)
{
    if (!zjob_handshake_failed (self->handshake, err))
        return false;
    int64_t now = zjob_mono_ms ();
    if (now < self->handshake_retry)
        return true;
    self->handshake_retry = now + ZJOB_CLIENT_HANDSHAKE_RETRY_MS;
    zjob_handshake_reset (self->handshake);
    s_connect_again (self);
    return false;
}

//  Start a request: a new request id, the builder begun with it. The
//  window is checked here, before anything is built.
static uint64_t
s_begin (zjob_client_t *self, zjob_cmd_t cmd, zjob_error_t *err)
{
    if (self->handshake && s_handshake_failed (self, err))
        return 0;
    if (zhashx_size (self->inflight) >= ZJOB_INFLIGHT_MAX) {
        zjob_error_set (err, ZJOB_TOO_MANY, "%d requests already wait for a reply",
                        ZJOB_INFLIGHT_MAX);
        return 0;
    }
    uint64_t id = self->next_id++;
    zjob_msg_begin (self->builder, cmd, id);
    return id;
}

//  Finish the request begun with id and send it. With frame_p, a copy of
//  the frame is kept there for a resend. Returns id, or 0 with err filled.
static uint64_t
s_send (zjob_client_t *self, zjob_cmd_t cmd, uint64_t id, zframe_t **frame_p, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (self->builder, err);
    if (!frame)
        return 0;
    if (frame_p)
        *frame_p = zframe_dup (frame);
    if (zframe_send (&frame, self->sock, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy (&frame);
        if (frame_p)
            zframe_destroy (frame_p);
        zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot send %s to %s: %s", zjob_cmd_name (cmd),
                        self->endpoint, zmq_strerror (zmq_errno ()));
        return 0;
    }
    zhashx_insert (self->inflight, ID_KEY (id), (void *) (uintptr_t) cmd);
    return id;
}

static zjob_reply_t *
s_reply_new (uint64_t request_id, zjob_cmd_t request)
{
    zjob_reply_t *reply = (zjob_reply_t *) zmalloc (sizeof (zjob_reply_t));
    if (reply) {
        reply->request_id = request_id;
        reply->request = request;
        zjob_error_clear (&reply->error);
    }
    return reply;
}

//  Read one message from the socket, waiting for it at most timeout_ms
//  (0: not at all; -1: forever). Returns 0 if none came, -1 if the wait
//  was interrupted; else 1, with *reply_p the reply to a request in
//  flight (which leaves the window), or NULL for anything else (dropped).
//  A plain client waits in libzmq's blocking receive, which costs two
//  system calls fewer per reply than a receive, a poll and a receive
//  again (zjob_proto.h); a CURVE client also watches its handshakes, so
//  it polls both, and a wake reads nothing here (the caller reads again).
static int
s_read_wait (zjob_client_t *self, int timeout_ms, zjob_reply_t **reply_p)
{
    *reply_p = NULL;
    zmq_msg_t part;
    int got;
    if (self->handshake && timeout_ms != 0) {
        got = zjob_proto_recv_frame (self->sock, &part);
        if (got == 0)
            return zjob_handshake_wait (self->handshake, self->sock, timeout_ms) < 0 ? -1 : 0;
    }
    else
        got = zjob_proto_recv_frame_wait (self->sock, &part, timeout_ms);
    if (got == -2)
        return -1;
    if (got <= 0)
        return got < 0;  //  A message of several frames is dropped
    uint64_t request_id = 0;
    zjob_msg_peek (zmq_msg_data (&part), zmq_msg_size (&part), &request_id, NULL);
    zjob_cmd_t request = request_id ? (zjob_cmd_t) (uintptr_t)
                             zhashx_lookup (self->inflight, ID_KEY (request_id))
                                    : ZJOB_CMD_UNKNOWN;
    if (request == ZJOB_CMD_UNKNOWN) {
        zmq_msg_close (&part);  //  Not in flight: late, or a repeat
        return 1;
    }
    zhashx_delete (self->inflight, ID_KEY (request_id));
    zjob_reply_t *reply = s_reply_new (request_id, request);
    //  The reply keeps its bytes (the decoded message points into them)
    zframe_t *frame = reply ? zframe_new (zmq_msg_data (&part), zmq_msg_size (&part)) : NULL;
    zmq_msg_close (&part);
    if (!frame) {
        zjob_reply_destroy (&reply);
        return 1;
    }
    *reply_p = reply;
    zjob_error_t error;
    reply->msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                  ZJOB_ROUTE_BROKER_CLIENT, &error);
    if (!reply->msg) {
        zframe_destroy (&frame);
        zjob_error_set (&reply->error, ZJOB_BAD_REQUEST, "malformed reply to %s: %s",
                        zjob_cmd_name (request), error.text);
        return 1;
    }
    zjob_msg_adopt (reply->msg, &frame);
    zjob_cmd_t command = zjob_msg_command (reply->msg);
    if (command == ZJOB_CMD_ERROR)
        zjob_msg_error (reply->msg, &reply->error);
    else if (command != ZJOB_CMD_OK)
        zjob_error_set (&reply->error, ZJOB_BAD_REQUEST, "%s is not a reply to %s",
                        zjob_cmd_name (command), zjob_cmd_name (request));
    else if (zjob_msg_check_reply (reply->msg, request, &error) != 0)
        zjob_error_set (&reply->error, ZJOB_BAD_REQUEST, "malformed reply: %s", error.text);
    return 1;
}

zjob_reply_t *
zjob_client_recv (zjob_client_t *self, int timeout_ms, zjob_error_t *err)
{
    zjob_reply_t *reply = (zjob_reply_t *) zlistx_first (self->backlog);
    if (reply) {
        zlistx_detach_cur (self->backlog);
        return reply;
    }
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zjob_mono_ms () + timeout_ms;
    while (true) {
        if (zjob_handshake_failed (self->handshake, err))
            return NULL;  //  What is in flight was lost with the connection
        int wait = timeout_ms < 0 ? -1 : s_remaining (deadline);
        int got = s_read_wait (self, wait, &reply);
        if (got < 0) {
            zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
            return NULL;
        }
        if (reply)
            return reply;
        if (got == 0 && timeout_ms >= 0 && s_remaining (deadline) == 0)
            break;
    }
    zjob_error_set (err, ZJOB_UNAVAILABLE, "no reply from %s within %d ms", self->endpoint,
                    timeout_ms);
    return NULL;
}

//  Wait for the reply to request id, sent as frame (which is destroyed);
//  with resend, send the frame again every third of the timeout. Replies
//  to other requests go to the backlog. Returns the reply if it is OK;
//  NULL with err filled for an ERROR reply or no reply in time.
static void s_reconnect (zjob_client_t *self);

static zjob_reply_t *
s_await (zjob_client_t *self, zjob_cmd_t cmd, uint64_t id, zframe_t *frame, bool resend,
         zjob_error_t *err)
{
    int64_t start = zjob_mono_ms ();
    int64_t deadline = start + self->timeout;
    int interval = self->timeout / 3;
    if (interval < ZJOB_CLIENT_RESEND_MIN_MS)
        interval = ZJOB_CLIENT_RESEND_MIN_MS;
    int64_t resend_at = resend ? start + interval : INT64_MAX;
    zjob_reply_t *reply = NULL;
    while (!reply) {
        if (zjob_handshake_failed (self->handshake, err)) {
            //  Never a silent timeout: the request went with the connection
            zhashx_delete (self->inflight, ID_KEY (id));
            zframe_destroy (&frame);
            return NULL;
        }
        int64_t now = zjob_mono_ms ();
        if (now >= resend_at && now < deadline && frame) {
            zframe_t *copy = zframe_dup (frame);
            if (copy && zframe_send (&copy, self->sock, ZFRAME_DONTWAIT) != 0)
                zframe_destroy (&copy);
            resend_at = now + interval;
        }
        //  Whatever waits is read first (a wait of 0 at the deadline)
        int64_t until = resend_at < deadline ? resend_at : deadline;
        zjob_reply_t *other;
        int got = s_read_wait (self, until > now ? (int) (until - now) : 0, &other);
        if (got < 0) {
            zhashx_delete (self->inflight, ID_KEY (id));
            zframe_destroy (&frame);
            zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
            return NULL;
        }
        if (other && other->request_id == id)
            reply = other;
        else if (other)
            zlistx_add_end (self->backlog, other);
        else if (got == 0 && now >= deadline)
            break;
    }
    zframe_destroy (&frame);
    if (!reply) {
        zhashx_delete (self->inflight, ID_KEY (id));
        zjob_error_set (err, ZJOB_UNAVAILABLE, "broker at %s did not answer %s within %d ms",
                        self->endpoint, zjob_cmd_name (cmd), self->timeout);
        if (++self->timeouts >= ZJOB_CLIENT_RECONNECT_AFTER)
            s_reconnect (self);
        return NULL;
    }
    self->timeouts = 0;
    if (reply->error.code != ZJOB_OK) {
        if (err)
            *err = reply->error;
        zjob_reply_destroy (&reply);
        return NULL;
    }
    return reply;
}

//  A new connection, so that requests queued on the old one are not
//  delivered late; the replies to requests in flight cannot come back
static void
s_reconnect (zjob_client_t *self)
{
    s_connect_again (self);
    zhashx_purge (self->inflight);
    self->timeouts = 0;
}

//  Send the request begun with id and wait for its OK reply. With a list
//  of endpoints (ZMQ_IMMEDIATE) a send fails while no connection is
//  complete, a broker failing over: the call waits up to its timeout for
//  one first (an asynchronous send fails at once instead: zjob_client.h)
static zjob_reply_t *
s_call (zjob_client_t *self, zjob_cmd_t cmd, uint64_t id, bool resend, zjob_error_t *err)
{
    zframe_t *frame = NULL;
    if (zjob_connect_is_list (self->endpoint))
        zjob_connect_writable (self->sock, self->timeout);
    if (!s_send (self, cmd, id, resend ? &frame : NULL, err))
        return NULL;
    return s_await (self, cmd, id, frame, resend, err);
}

//  --------------------------------------------------------------------------
//  Building requests

static bool
s_is_target_cmd (zjob_cmd_t cmd)
{
    return cmd == ZJOB_CMD_DELETE || cmd == ZJOB_CMD_START || cmd == ZJOB_CMD_PAUSE
        || cmd == ZJOB_CMD_RESUME || cmd == ZJOB_CMD_CANCEL || cmd == ZJOB_CMD_RETRY
        || cmd == ZJOB_CMD_RUN_NOW;
}

static bool
s_is_id_cmd (zjob_cmd_t cmd)
{
    return s_is_target_cmd (cmd) || cmd == ZJOB_CMD_GET || cmd == ZJOB_CMD_STATUS
        || cmd == ZJOB_CMD_RESULTS;
}

//  Begin a SUBMIT of count specs, each with an idempotency key
static uint64_t
s_begin_submit (zjob_client_t *self, const zjob_spec_t *specs, size_t count, bool auto_start,
                zjob_error_t *err)
{
    if (!specs || count == 0 || count > ZJOB_BATCH_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "a submit takes 1 to %d jobs, not %zu",
                        ZJOB_BATCH_MAX, specs ? count : 0);
        return 0;
    }
    size_t missing = 0;
    for (size_t i = 0; i < count; i++)
        missing += specs [i].idempotency_key == NULL;
    zjob_spec_t *keyed = NULL;
    char (*keys) [KEY_MAX] = NULL;
    if (missing) {
        keyed = (zjob_spec_t *) malloc (count * sizeof (zjob_spec_t));
        keys = (char (*) [KEY_MAX]) malloc (missing * KEY_MAX);
        if (!keyed || !keys) {
            free (keyed);
            free (keys);
            zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
            return 0;
        }
        memcpy (keyed, specs, count * sizeof (zjob_spec_t));
        size_t k = 0;
        for (size_t i = 0; i < count; i++)
            if (!keyed [i].idempotency_key) {
                snprintf (keys [k], KEY_MAX, "%s-%" PRIu64, self->key_prefix, ++self->key_seq);
                keyed [i].idempotency_key = keys [k++];
            }
        specs = keyed;
    }
    uint64_t id = s_begin (self, ZJOB_CMD_SUBMIT, err);
    if (id) {
        zjob_msg_add_specs (self->builder, "jobs", specs, count);
        if (!auto_start)
            zjob_msg_add_bool (self->builder, "auto_start", false);
    }
    free (keyed);
    free (keys);
    return id;
}

//  Copy the ids of a SUBMIT reply into ids
static int
s_submit_ids (zjob_reply_t *reply, size_t count, char (*ids) [ZJOB_ID_LEN + 1],
              zjob_error_t *err)
{
    size_t got;
    const char *const *answered = zjob_msg_strs (reply->msg, "ids", &got);
    if (!answered || got != count)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "broker answered %zu ids for %zu jobs", got, count);
    for (size_t i = 0; i < count; i++)
        snprintf (ids [i], ZJOB_ID_LEN + 1, "%s", answered [i]);
    return 0;
}

//  --------------------------------------------------------------------------
//  Synchronous job operations

int
zjob_client_submit (zjob_client_t *self, const zjob_spec_t *spec, bool auto_start,
                    char *id, zjob_error_t *err)
{
    return zjob_client_submit_batch (self, spec, 1, auto_start,
                                     (char (*) [ZJOB_ID_LEN + 1]) id, err);
}

int
zjob_client_submit_batch (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                          bool auto_start, char (*ids) [ZJOB_ID_LEN + 1], zjob_error_t *err)
{
    return zjob_client_submit_batch_with (self, specs, count, auto_start, NULL, ids, err);
}

int
zjob_client_submit_batch_with (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                               bool auto_start, const zjob_batch_opts_t *opts,
                               char (*ids) [ZJOB_ID_LEN + 1], zjob_error_t *err)
{
    if (!ids)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no room given for the job ids");
    if (opts && !opts->id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch: no id given");
    uint64_t request = s_begin_submit (self, specs, count, auto_start, err);
    if (!request)
        return -1;
    if (opts)
        zjob_msg_add_batch_opts (self->builder, "batch", opts);
    zjob_reply_t *reply = s_call (self, ZJOB_CMD_SUBMIT, request, true, err);
    if (!reply)
        return -1;
    int rc = s_submit_ids (reply, count, ids, err);
    zjob_reply_destroy (&reply);
    return rc;
}

//  One request about one job, waited for; reads are resent if need be
static zjob_reply_t *
s_call_id (zjob_client_t *self, zjob_cmd_t cmd, const char *id, zjob_error_t *err)
{
    if (!id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: no job id given", zjob_cmd_name (cmd));
        return NULL;
    }
    uint64_t request = s_begin (self, cmd, err);
    if (!request)
        return NULL;
    zjob_msg_add_str (self->builder, "id", id);
    return s_call (self, cmd, request, !s_is_target_cmd (cmd), err);
}

zjob_job_t *
zjob_client_get (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    zjob_reply_t *reply = s_call_id (self, ZJOB_CMD_GET, id, err);
    if (!reply)
        return NULL;
    zjob_job_t *job = zjob_msg_job (reply->msg, "job", err);
    zjob_reply_destroy (&reply);
    return job;
}

zjob_reply_t *
zjob_client_get_reply (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_call_id (self, ZJOB_CMD_GET, id, err);
}

int
zjob_client_list (zjob_client_t *self, const zjob_query_t *query, zjob_job_t ***jobs_p,
                  size_t *count_p, size_t *total_p, zjob_error_t *err)
{
    *jobs_p = NULL;
    *count_p = 0;
    uint64_t request = s_begin (self, ZJOB_CMD_LIST, err);
    if (!request)
        return -1;
    zjob_msg_add_query (self->builder, query);
    zjob_reply_t *reply = s_call (self, ZJOB_CMD_LIST, request, true, err);
    if (!reply)
        return -1;
    int rc = zjob_msg_jobs (reply->msg, "jobs", jobs_p, count_p, err);
    if (rc == 0 && total_p)
        *total_p = (size_t) zjob_msg_uint (reply->msg, "total", *count_p);
    zjob_reply_destroy (&reply);
    return rc;
}

static int
s_operation (zjob_client_t *self, zjob_cmd_t cmd, const char *id, zjob_error_t *err)
{
    zjob_reply_t *reply = s_call_id (self, cmd, id, err);
    int rc = reply ? 0 : -1;
    zjob_reply_destroy (&reply);
    return rc;
}

int
zjob_client_delete (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_DELETE, id, err);
}

int
zjob_client_start (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_START, id, err);
}

int
zjob_client_pause (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_PAUSE, id, err);
}

int
zjob_client_resume (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_RESUME, id, err);
}

int
zjob_client_cancel (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_CANCEL, id, err);
}

int
zjob_client_apply (zjob_client_t *self, zjob_cmd_t command, const zjob_target_t *target,
                   zjob_error_t *err)
{
    uint64_t request = zjob_client_send_target (self, command, target, err);
    if (!request)
        return -1;
    //  Sent once: a repeat of a state change is not harmless
    zjob_reply_t *reply = s_await (self, command, request, NULL, false, err);
    if (!reply)
        return -1;
    int done = (int) zjob_msg_uint (reply->msg, "done", 1);
    zjob_reply_destroy (&reply);
    return done;
}

int
zjob_client_retry (zjob_client_t *self, const char *id, bool reset_attempts,
                   zjob_error_t *err)
{
    zjob_target_t target = { .id = id };
    zjob_apply_options_t options = { .reset_attempts = reset_attempts };
    zjob_reply_t *reply = zjob_client_apply_with (self, ZJOB_CMD_RETRY, &target, &options, err);
    int rc = reply ? 0 : -1;
    zjob_reply_destroy (&reply);
    return rc;
}

int
zjob_client_run_now (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_operation (self, ZJOB_CMD_RUN_NOW, id, err);
}

//  Begin a lifecycle request of target with options (checked). Returns
//  its request id, or 0 with err filled.
static uint64_t
s_begin_target (zjob_client_t *self, zjob_cmd_t command, const zjob_target_t *target,
                const zjob_apply_options_t *options, zjob_error_t *err)
{
    if (!s_is_target_cmd (command) || !target
        || !!target->id + !!target->ids + !!target->filter != 1) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s needs a target of one id, ids or a filter",
                        zjob_cmd_name (command));
        return 0;
    }
    bool rerun = command == ZJOB_CMD_RETRY || command == ZJOB_CMD_RUN_NOW;
    if (options && ((options->dry_run && !rerun) || (options->reset_attempts && command != ZJOB_CMD_RETRY))) {
        //  A broker skips keys it does not know: DELETE with dry_run would
        //  delete for real
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s takes no %s", zjob_cmd_name (command),
                        options->dry_run && !rerun ? "dry_run" : "reset_attempts");
        return 0;
    }
    uint64_t request = s_begin (self, command, err);
    if (!request)
        return 0;
    zjob_msg_add_target (self->builder, target);
    if (options && options->reset_attempts)
        zjob_msg_add_bool (self->builder, "reset_attempts", true);
    if (options && options->dry_run)
        zjob_msg_add_bool (self->builder, "dry_run", true);
    return request;
}

zjob_reply_t *
zjob_client_apply_with (zjob_client_t *self, zjob_cmd_t command, const zjob_target_t *target,
                        const zjob_apply_options_t *options, zjob_error_t *err)
{
    uint64_t request = s_begin_target (self, command, target, options, err);
    if (!request)
        return NULL;
    return s_call (self, command, request, options && options->dry_run, err);
}

int
zjob_client_status (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    zjob_reply_t *reply = s_call_id (self, ZJOB_CMD_STATUS, id, err);
    if (!reply)
        return -1;
    int status = zjob_status_parse (zjob_msg_str (reply->msg, "status"));
    zjob_reply_destroy (&reply);
    if (status < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "STATUS reply without a status");
    return status;
}

zjob_reply_t *
zjob_client_results (zjob_client_t *self, const char *id, zjob_error_t *err)
{
    return s_call_id (self, ZJOB_CMD_RESULTS, id, err);
}

int
zjob_client_cleanup (zjob_client_t *self, int64_t retention_ms, zjob_error_t *err)
{
    uint64_t request = s_begin (self, ZJOB_CMD_CLEANUP, err);
    if (!request)
        return -1;
    if (retention_ms >= 0)
        zjob_msg_add_uint (self->builder, "retention_ms", (uint64_t) retention_ms);
    zjob_reply_t *reply = s_call (self, ZJOB_CMD_CLEANUP, request, false, err);
    if (!reply)
        return -1;
    int deleted = (int) zjob_msg_uint (reply->msg, "deleted", 0);
    zjob_reply_destroy (&reply);
    return deleted;
}

//  For the client's other files (zjob_client_impl.h)
zjob_msg_builder_t *
zjob_client_begin (zjob_client_t *self, zjob_cmd_t cmd, uint64_t *request_p, zjob_error_t *err)
{
    *request_p = s_begin (self, cmd, err);
    return *request_p ? self->builder : NULL;
}

zjob_reply_t *
zjob_client_call (zjob_client_t *self, zjob_cmd_t cmd, uint64_t request, bool resend,
                  zjob_error_t *err)
{
    return s_call (self, cmd, request, resend, err);
}

static zjob_reply_t *
s_call_empty (zjob_client_t *self, zjob_cmd_t cmd, zjob_error_t *err)
{
    uint64_t request = s_begin (self, cmd, err);
    if (!request)
        return NULL;
    return s_call (self, cmd, request, true, err);
}

zjob_reply_t *
zjob_client_stats (zjob_client_t *self, zjob_error_t *err)
{
    return s_call_empty (self, ZJOB_CMD_STATS, err);
}

zjob_reply_t *
zjob_client_workers (zjob_client_t *self, zjob_error_t *err)
{
    return s_call_empty (self, ZJOB_CMD_WORKERS, err);
}

int
zjob_client_ping (zjob_client_t *self, zjob_error_t *err)
{
    zjob_reply_t *reply = s_call_empty (self, ZJOB_CMD_PING, err);
    int rc = reply ? 0 : -1;
    zjob_reply_destroy (&reply);
    return rc;
}

int
zjob_client_wait (zjob_client_t *self, const char *id, int timeout_ms, zjob_error_t *err)
{
    int64_t deadline = zjob_mono_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    int pause = ZJOB_CLIENT_WAIT_MIN_MS;
    while (true) {
        int status = zjob_client_status (self, id, err);
        if (status < 0 || zjob_status_terminal ((zjob_status_t) status))
            return status;
        int left = s_remaining (deadline);
        if (left == 0)
            return zjob_error_set (err, ZJOB_ACCEPTED, "job %s is still %s after %d ms", id,
                                   zjob_status_name ((zjob_status_t) status), timeout_ms);
        zclock_sleep (pause < left ? pause : left);
        if (zsys_interrupted)
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
        pause = pause * 2 > ZJOB_CLIENT_WAIT_MAX_MS ? ZJOB_CLIENT_WAIT_MAX_MS : pause * 2;
    }
}

//  --------------------------------------------------------------------------
//  Asynchronous requests

uint64_t
zjob_client_send_submit (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                         bool auto_start, zjob_error_t *err)
{
    uint64_t request = s_begin_submit (self, specs, count, auto_start, err);
    return request ? s_send (self, ZJOB_CMD_SUBMIT, request, NULL, err) : 0;
}

uint64_t
zjob_client_send_id (zjob_client_t *self, zjob_cmd_t command, const char *id,
                     zjob_error_t *err)
{
    if (!s_is_id_cmd (command) || !id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s of one job needs a job id%s",
                        zjob_cmd_name (command), s_is_id_cmd (command) ? "" : " (not a job command)");
        return 0;
    }
    uint64_t request = s_begin (self, command, err);
    if (!request)
        return 0;
    zjob_msg_add_str (self->builder, "id", id);
    return s_send (self, command, request, NULL, err);
}

uint64_t
zjob_client_send_target (zjob_client_t *self, zjob_cmd_t command,
                         const zjob_target_t *target, zjob_error_t *err)
{
    return zjob_client_send_target_with (self, command, target, NULL, err);
}

uint64_t
zjob_client_send_target_with (zjob_client_t *self, zjob_cmd_t command,
                              const zjob_target_t *target,
                              const zjob_apply_options_t *options, zjob_error_t *err)
{
    uint64_t request = s_begin_target (self, command, target, options, err);
    return request ? s_send (self, command, request, NULL, err) : 0;
}

uint64_t
zjob_client_send_list (zjob_client_t *self, const zjob_query_t *query, zjob_error_t *err)
{
    uint64_t request = s_begin (self, ZJOB_CMD_LIST, err);
    if (!request)
        return 0;
    zjob_msg_add_query (self->builder, query);
    return s_send (self, ZJOB_CMD_LIST, request, NULL, err);
}

uint64_t
zjob_client_send_cmd (zjob_client_t *self, zjob_cmd_t command, zjob_error_t *err)
{
    if (command != ZJOB_CMD_CLEANUP && command != ZJOB_CMD_STATS
        && command != ZJOB_CMD_WORKERS && command != ZJOB_CMD_PING) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s is not sent without arguments",
                        zjob_cmd_name (command));
        return 0;
    }
    uint64_t request = s_begin (self, command, err);
    return request ? s_send (self, command, request, NULL, err) : 0;
}

//  --------------------------------------------------------------------------
//  Replies

void
zjob_reply_destroy (zjob_reply_t **self_p)
{
    if (self_p && *self_p) {
        zjob_msg_destroy (&(*self_p)->msg);
        free (*self_p);
        *self_p = NULL;
    }
}

uint64_t
zjob_reply_request_id (zjob_reply_t *self)
{
    return self->request_id;
}

zjob_cmd_t
zjob_reply_request (zjob_reply_t *self)
{
    return self->request;
}

int
zjob_reply_status (zjob_reply_t *self)
{
    return self->error.code;
}

int
zjob_reply_error (zjob_reply_t *self, zjob_error_t *err)
{
    if (err)
        *err = self->error;
    return self->error.code;
}

zjob_msg_t *
zjob_reply_msg (zjob_reply_t *self)
{
    return self->msg;
}
