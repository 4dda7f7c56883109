/*  =========================================================================
    zjob_publisher - the broker's events: topics, subscriptions, publishing

    Encoded events wait in one arena reused pass after pass, as records
    (topic size, topic, body size, body), one per wanted topic: a job
    event has three topics (by type, by workflow, by job), and each that
    someone wants is sent as its own two-frame message. The subscription
    prefixes are a hash; matching walks it, so past ZJOB_PUBLISHER_SUBS_MAX
    prefixes the publisher stops matching and encodes every event (the
    XPUB still filters what each subscriber receives).

    Per user (set_auth). In manual mode libzmq hands up every subscription
    of every connection, each with the metadata of the connection that
    sent it, and applies to that connection (its pipe) what we set right
    after reading it. Its own table then holds the truth per pipe, but it
    cannot be read, so the publisher keeps a copy to know what is wanted:
    per pipe, each subscription as sent and the prefix applied for it, and
    per applied prefix the number of pipes holding it. Pipes have no name
    in the API; a pipe is known here by the file descriptor of its
    connection (the message's ZMQ_SRCFD, from the same metadata) together
    with that socket's device and inode, which no other socket shares
    while it is open. When a pipe closes, libzmq hands up an unsubscription
    for each topic it held, as sent but without metadata: the publisher
    cannot tell whose, so it checks its pipes' descriptors instead (fstat:
    closed, or another socket now) and drops the dead ones whole, at once
    and again every S_SWEEP_EVERY_MS for S_SWEEP_FOR_MS, since the
    descriptor may close just after. Should a libzmq give no descriptor,
    a key stands for its pipes: delivery stays exact (the XPUB's table),
    but a prefix once applied stays wanted (events may be encoded for
    nobody, never missed).
    ========================================================================= */

#include "zjob_publisher.h"
#include "zjob_log.h"
#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "zjob_util.h"
#include "zjob_config.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_SWEEP_FOR_MS 1000  //  msecs to look for closed pipes after a close
#define S_SWEEP_EVERY_MS 50  //  msecs between two looks meanwhile
#define S_PIPE_NAME_MAX 64   //  bytes in a pipe's name, with the NUL
//  bytes in "u/<user>/", the user escaped, with the NUL
#define S_USER_PREFIX_MAX (3 * ZJOB_NAME_MAX + 4)
//  bytes in a topic or a prefix under a user prefix, with the NUL
#define S_USER_TOPIC_MAX (ZJOB_TOPIC_MAX + S_USER_PREFIX_MAX)

//  One subscriber connection of the XPUB (with set_auth)
typedef struct {
    zhashx_t *topics;   //  Subscription as sent -> prefix applied (owned)
    zhashx_t *applied;  //  Prefix applied -> how many topics map to it
    int fd;             //  Its socket's descriptor; -1: known by its key
    dev_t dev;          //  That socket's device and inode
    ino_t ino;
} s_pipe_t;

struct _zjob_publisher_t {
    void *xpub;                   //  The XPUB (libzmq handle), borrowed
    zjob_msg_builder_t *builder;  //  Encodes the events
    zhashx_t *subscriptions;      //  Topic prefixes subscribers asked for
                                  //  (with auth: -> pipes holding it)
    bool all;                     //  Some subscription is "" (everything)
    uint8_t *arena;               //  Encoded events of this pass
    size_t arena_size;
    size_t arena_max;
    size_t count;                 //  Records in the arena
    uint64_t seq;                 //  Sequence number of the last event
    zjob_peer_lookup_fn *lookup;  //  Per user (set_auth), or NULL
    void *lookup_arg;
    zhashx_t *pipes;       //  With auth: pipe name -> s_pipe_t
    size_t user_prefixes;  //  With auth: prefixes that may match "u/..."
    int64_t sweep_until;   //  Look for closed pipes until then (mono ms)
    int64_t sweep_next;    //  Next look
    int log_level;         //  zjob_log_level_t
};

zjob_publisher_t *
zjob_publisher_new (void *xpub)
{
    zjob_publisher_t *self = (zjob_publisher_t *) calloc (1, sizeof (zjob_publisher_t));
    if (!self)
        return NULL;
    self->xpub = xpub;
    self->log_level = ZJOB_LOG_INFO;
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
        zhashx_destroy (&self->pipes);
        free (self->arena);
        free (self);
        *self_p = NULL;
    }
}

static void s_read_auth (zjob_publisher_t *self, zmq_msg_t *msg, bool subscribe,
                         const char *topic);
static void s_sweep_due (zjob_publisher_t *self);

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
            if (self->lookup)
                s_read_auth (self, &msg, data [0] == 1, prefix);
            else if (data [0] == 1)
                zhashx_update (self->subscriptions, prefix, (void *) "");
            else
                zhashx_delete (self->subscriptions, prefix);
            self->all = zhashx_lookup (self->subscriptions, "") != NULL;
        }
        zmq_msg_close (&msg);
    }
    if (self->sweep_until)
        s_sweep_due (self);
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

//  --------------------------------------------------------------------------
//  Per user: the pipes, the prefixes applied for them, closed pipes

static void
s_string_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_pipe_destroy (void **item_p)
{
    s_pipe_t *pipe = (s_pipe_t *) *item_p;
    if (pipe) {
        zhashx_destroy (&pipe->topics);
        zhashx_destroy (&pipe->applied);
        free (pipe);
        *item_p = NULL;
    }
}

static s_pipe_t *
s_pipe_new (int fd, const struct stat *st)
{
    s_pipe_t *pipe = (s_pipe_t *) calloc (1, sizeof (s_pipe_t));
    if (!pipe)
        return NULL;
    pipe->topics = zjob_hashx_new ();
    pipe->applied = zjob_hashx_new ();
    if (!pipe->topics || !pipe->applied) {
        s_pipe_destroy ((void **) &pipe);
        return NULL;
    }
    zhashx_set_destructor (pipe->topics, s_string_destroy);
    pipe->fd = fd;
    pipe->dev = st->st_dev;
    pipe->ino = st->st_ino;
    return pipe;
}

void
zjob_publisher_set_auth (zjob_publisher_t *self, zjob_peer_lookup_fn *lookup, void *arg)
{
    assert (self && lookup);
    if (!self->pipes) {
        self->pipes = zjob_hashx_new ();
        if (!self->pipes) {
            //  Nothing is applied then: subscribers get nothing, not too much
            zjob_log_error ("zjob_publisher: out of memory: no subscription will be applied");
            return;
        }
        zhashx_set_destructor (self->pipes, s_pipe_destroy);
    }
    self->lookup = lookup;
    self->lookup_arg = arg;
}

void
zjob_publisher_set_log_level (zjob_publisher_t *self, int log_level)
{
    assert (self);
    self->log_level = log_level;
}

//  One more (up) or one fewer holder of key in hash (values are counts);
//  returns the count now, the key gone at 0
static uintptr_t
s_count_add (zhashx_t *hash, const char *key, bool up)
{
    uintptr_t count = (uintptr_t) zhashx_lookup (hash, key);
    count = up ? count + 1 : count ? count - 1
                                   : 0;
    if (count)
        zhashx_update (hash, key, (void *) count);
    else
        zhashx_delete (hash, key);
    return count;
}

//  One more or one fewer pipe holding prefix (applied); counts the
//  prefixes a user's topic may match, so that without one a job event
//  costs no more than without set_auth
static void
s_wanted_add (zjob_publisher_t *self, const char *prefix, bool up)
{
    uintptr_t count = s_count_add (self->subscriptions, prefix, up);
    size_t len = strlen (prefix);
    if ((up ? count == 1 : count == 0) && strncmp (prefix, "u/", len < 2 ? len : 2) == 0)
        self->user_prefixes = up ? self->user_prefixes + 1 : self->user_prefixes - 1;
}

//  Write "u/<user>/" into prefix (S_USER_PREFIX_MAX bytes), with '%' and
//  '/' in user escaped (user "a" must not see user "a/b"'s events through
//  a subscription to "b/"); returns its length, 0 for a user too long
static size_t
s_user_prefix (char *prefix, const char *user)
{
    size_t len = strnlen (user, ZJOB_NAME_MAX + 1);
    if (len == 0 || len > ZJOB_NAME_MAX)
        return 0;
    size_t size = 0;
    prefix [size++] = 'u';
    prefix [size++] = '/';
    for (size_t index = 0; index < len; index++) {
        char c = user [index];
        if (c == '/' || c == '%') {
            prefix [size++] = '%';
            prefix [size++] = '2';
            prefix [size++] = c == '/' ? 'F' : '5';
        }
        else
            prefix [size++] = c;
    }
    prefix [size++] = '/';
    prefix [size] = 0;
    return size;
}

//  What a subscription to topic by peer becomes (into buf,
//  S_USER_TOPIC_MAX bytes, or topic itself); NULL: ignored
static const char *
s_applied (const zjob_peer_t *peer, const char *topic, char *buf)
{
    if (!peer)
        return NULL;
    if (peer->role == ZJOB_ROLE_ADMIN)
        return topic;
    if (peer->role != ZJOB_ROLE_CLIENT || !peer->user_id)
        return NULL;
    size_t len = s_user_prefix (buf, peer->user_id);
    if (len == 0)
        return NULL;
    if (strncmp (topic, buf, len) == 0)
        return topic;
    memcpy (buf + len, topic, strlen (topic) + 1);  //  < ZJOB_TOPIC_MAX bytes
    return buf;
}

//  Name the pipe that sent msg into name (S_PIPE_NAME_MAX bytes), its
//  socket's descriptor and stat into *fd_p and st; false when it has none
//  (a closed pipe's unsubscription) or its socket is gone already
static bool
s_pipe_name (zmq_msg_t *msg, char *name, int *fd_p, struct stat *st)
{
    int fd = zmq_msg_get (msg, ZMQ_SRCFD);
    const char *key = zmq_msg_gets (msg, "User-Id");
    memset (st, 0, sizeof (*st));
    if (fd >= 0) {
        if (fstat (fd, st) != 0)
            return false;
        snprintf (name, S_PIPE_NAME_MAX, "%d:%ju:%ju", fd, (uintmax_t) st->st_dev,
                  (uintmax_t) st->st_ino);
    }
    else if (key)
        snprintf (name, S_PIPE_NAME_MAX, "key:%s", key);
    else
        return false;
    *fd_p = fd;
    return true;
}

//  The pipe sent a subscription to topic, to apply as applied
static void
s_pipe_subscribe (zjob_publisher_t *self, s_pipe_t *pipe, const char *topic,
                  const char *applied)
{
    const char *held = (const char *) zhashx_lookup (pipe->topics, topic);
    if (held) {
        //  A repeat: libzmq's table holds a topic once per pipe. Applied
        //  again for a key that stands for several pipes (no descriptor)
        if (pipe->fd < 0)
            zmq_setsockopt (self->xpub, ZMQ_SUBSCRIBE, held, strlen (held));
        return;
    }
    char *copy = strdup (applied);
    if (!copy || zhashx_insert (pipe->topics, topic, copy)) {
        free (copy);
        zjob_log_error ("zjob_publisher: out of memory applying a subscription");
        return;
    }
    if (s_count_add (pipe->applied, applied, true) == 1) {
        zmq_setsockopt (self->xpub, ZMQ_SUBSCRIBE, applied, strlen (applied));
        s_wanted_add (self, applied, true);
    }
}

//  The pipe unsubscribed from topic: undo what it was applied as, unless
//  another of its topics was applied the same
static void
s_pipe_unsubscribe (zjob_publisher_t *self, s_pipe_t *pipe, const char *topic)
{
    const char *applied = (const char *) zhashx_lookup (pipe->topics, topic);
    if (!applied)
        return;  //  Not held: nothing was applied
    if (pipe->fd < 0) {
        //  A key standing for its pipes: another may hold it still. Undone
        //  for this one, kept as wanted (too much is encoded, never too
        //  little)
        if ((uintptr_t) zhashx_lookup (pipe->applied, applied) == 1)
            zmq_setsockopt (self->xpub, ZMQ_UNSUBSCRIBE, applied, strlen (applied));
        return;
    }
    if (s_count_add (pipe->applied, applied, false) == 0) {
        zmq_setsockopt (self->xpub, ZMQ_UNSUBSCRIBE, applied, strlen (applied));
        s_wanted_add (self, applied, false);
    }
    zhashx_delete (pipe->topics, topic);
}

//  Apply one (un)subscription with set_auth, for the pipe that sent msg
static void
s_read_auth (zjob_publisher_t *self, zmq_msg_t *msg, bool subscribe, const char *topic)
{
    if (!self->pipes)
        return;
    char name [S_PIPE_NAME_MAX];
    int fd = -1;
    struct stat st;
    if (!s_pipe_name (msg, name, &fd, &st)) {
        if (!subscribe) {  //  A pipe closed: look for it
            self->sweep_until = zjob_mono_ms () + S_SWEEP_FOR_MS;
            self->sweep_next = 0;
        }
        return;
    }
    s_pipe_t *pipe = (s_pipe_t *) zhashx_lookup (self->pipes, name);
    if (!subscribe) {
        if (pipe)
            s_pipe_unsubscribe (self, pipe, topic);
        if (pipe && zhashx_size (pipe->topics) == 0)
            zhashx_delete (self->pipes, name);
        return;
    }
    const char *key = zmq_msg_gets (msg, "User-Id");
    char buf [S_USER_TOPIC_MAX];
    const char *applied = key ? s_applied (self->lookup (self->lookup_arg, key), topic, buf)
                              : NULL;
    if (!applied) {
        ZJOB_LOG_IF (self->log_level, ZJOB_LOG_DEBUG,
                     "zjob_publisher: subscription \"%s\" of key %s ignored: "
                     "not an admin or a client key",
                     topic, key ? key : "(none)");
        return;
    }
    if (!pipe) {
        pipe = s_pipe_new (fd, &st);
        if (!pipe || zhashx_insert (self->pipes, name, pipe)) {
            s_pipe_destroy ((void **) &pipe);
            zjob_log_error ("zjob_publisher: out of memory applying a subscription");
            return;
        }
    }
    s_pipe_subscribe (self, pipe, topic, applied);
}

//  Drop the pipes whose socket is closed (or is another socket now), and
//  with them the prefixes only they held
static void
s_sweep (zjob_publisher_t *self)
{
    zlistx_t *dead = NULL;  //  Their names: deleting would break the walk
    s_pipe_t *pipe = (s_pipe_t *) zhashx_first (self->pipes);
    for (; pipe; pipe = (s_pipe_t *) zhashx_next (self->pipes)) {
        struct stat st;
        if (pipe->fd < 0
            || (fstat (pipe->fd, &st) == 0 && st.st_dev == pipe->dev && st.st_ino == pipe->ino))
            continue;
        if (!dead && (dead = zlistx_new ()) != NULL) {
            zlistx_set_duplicator (dead, (zlistx_duplicator_fn *) strdup);
            zlistx_set_destructor (dead, s_string_destroy);
        }
        if (dead)  //  Else the next sweep
            zlistx_add_end (dead, (void *) zhashx_cursor (self->pipes));
    }
    const char *name = dead ? (const char *) zlistx_first (dead) : NULL;
    for (; name; name = (const char *) zlistx_next (dead)) {
        pipe = (s_pipe_t *) zhashx_lookup (self->pipes, name);
        const void *count = zhashx_first (pipe->applied);
        for (; count; count = zhashx_next (pipe->applied))
            s_wanted_add (self, (const char *) zhashx_cursor (pipe->applied), false);
        ZJOB_LOG_IF (self->log_level, ZJOB_LOG_DEBUG,
                     "zjob_publisher: a subscriber left, %zu subscriptions with it",
                     zhashx_size (pipe->topics));
        zhashx_delete (self->pipes, name);
    }
    zlistx_destroy (&dead);
    self->all = zhashx_lookup (self->subscriptions, "") != NULL;
}

//  Sweep if one is due (a pipe closed less than S_SWEEP_FOR_MS ago)
static void
s_sweep_due (zjob_publisher_t *self)
{
    int64_t now = zjob_mono_ms ();
    if (now < self->sweep_next)
        return;
    s_sweep (self);
    self->sweep_next = now + S_SWEEP_EVERY_MS;
    if (now >= self->sweep_until)
        self->sweep_until = 0;
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
s_store (zjob_publisher_t *self, const char *const *topics, size_t count, const bool *wanted)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self->builder, &size, &err);
    if (!data) {
        zjob_log_warning ("zjob_publisher: cannot encode an event: %s", err.text);
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
            zjob_log_error ("zjob_publisher: out of memory queueing an event");
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

//  Add to names and wanted the user's forms of the count topics of a job
//  event of user (into user_topics), those wanted flagged; returns how
//  many were added, *any_p set if one is wanted
static size_t
s_user_topics (zjob_publisher_t *self, const char *user,
               char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX], size_t count,
               char user_topics [ZJOB_EVENT_TOPICS][S_USER_TOPIC_MAX], const char **names,
               bool *wanted, bool *any_p)
{
    char prefix [S_USER_PREFIX_MAX];
    size_t len = s_user_prefix (prefix, user);
    if (len == 0)
        return 0;
    for (size_t index = 0; index < count; index++) {
        memcpy (user_topics [index], prefix, len);
        memcpy (user_topics [index] + len, topics [index], strlen (topics [index]) + 1);
        names [index] = user_topics [index];
        *any_p |= wanted [index] = zjob_publisher_wanted (self, names [index]);
    }
    return count;
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
    const char *names [2 * ZJOB_EVENT_TOPICS];
    bool wanted [2 * ZJOB_EVENT_TOPICS] = { false };
    bool any = false;
    for (size_t index = 0; index < count; index++) {
        names [index] = topics [index];
        any |= wanted [index] = zjob_publisher_wanted (self, topics [index]);
    }
    //  Per user: the same under the job's user's prefix, for its own
    //  subscribers, if a subscription may match one
    char user_topics [ZJOB_EVENT_TOPICS][S_USER_TOPIC_MAX];
    if (self->user_prefixes && job->user_id && count)
        count += s_user_topics (self, job->user_id, topics, count, user_topics, names + count,
                                wanted + count, &any);
    if (!any)
        return;
    zjob_msg_begin (self->builder, ZJOB_CMD_EVENT, self->seq);
    zjob_msg_add_job_event (self->builder, type, job, old_status);
    zjob_msg_add_str (self->builder, "reason", reason);
    s_store (self, names, count, wanted);
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
static const bool s_first [1] = { true };

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
    s_store (self, (const char *const []){ topics [0] }, 1, s_first);
}

void
zjob_publisher_batch (zjob_publisher_t *self, const char *type, const zjob_batch_info_t *info)
{
    assert (self && type && info);
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    if (!s_begin_single (self, type, info->id, topics))
        return;
    zjob_msg_add_batch (self->builder, "batch", info);
    s_store (self, (const char *const []){ topics [0] }, 1, s_first);
}

void
zjob_publisher_queue (zjob_publisher_t *self, const char *type, const char *workflow_id)
{
    assert (self && type && workflow_id);
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    if (!s_begin_single (self, type, workflow_id, topics))
        return;
    zjob_msg_add_str (self->builder, "workflow_id", workflow_id);
    s_store (self, (const char *const []){ topics [0] }, 1, s_first);
}

int
zjob_publisher_send (zjob_publisher_t *self, const uint8_t *topic, size_t topic_size,
                     const uint8_t *body, size_t body_size)
{
    assert (self);
    if (zmq_send (self->xpub, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1
        || zmq_send (self->xpub, body, body_size, ZMQ_DONTWAIT) == -1)
        return -1;
    return 0;
}

static int
s_send_now (const uint8_t *topic, size_t topic_size, const uint8_t *body, size_t body_size,
            void *arg)
{
    return zjob_publisher_send ((zjob_publisher_t *) arg, topic, topic_size, body, body_size);
}

size_t
zjob_publisher_flush (zjob_publisher_t *self, size_t *dropped_p)
{
    assert (self);
    return zjob_publisher_flush_with (self, s_send_now, self, dropped_p);
}

size_t
zjob_publisher_flush_with (zjob_publisher_t *self, zjob_publisher_send_fn *send, void *arg,
                           size_t *dropped_p)
{
    assert (self && send);
    if (self->sweep_until)  //  Also when no subscription comes
        s_sweep_due (self);
    size_t dropped = 0;
    const uint8_t *cursor = self->arena;
    for (size_t index = 0; index < self->count; index++) {
        uint32_t topic_size, body_size;
        memcpy (&topic_size, cursor, sizeof (topic_size));
        const uint8_t *topic = cursor + sizeof (topic_size);
        memcpy (&body_size, topic + topic_size, sizeof (body_size));
        const uint8_t *body = topic + topic_size + sizeof (body_size);
        cursor = body + body_size;
        if (send (topic, topic_size, body, body_size, arg))
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
