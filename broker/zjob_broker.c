/*  =========================================================================
    zjob_broker - the broker: a CZMQ actor that serves clients and workers

    One thread, one loop, no locks. The actor owns three sockets (a ROUTER
    for clients, a ROUTER for workers, an XPUB for events) and the objects
    that do the work, each in its own class:

      zjob_manager    the jobs: every job rule, the ready queue, the store
      zjob_clients    answers client requests (and keeps the STATS rates)
      zjob_workers    answers worker messages (READY, RESULT, PROGRESS...)
      zjob_registry   the workers: credit ring, holders, liveness
      zjob_dispatch   the dispatch walk over the credit ring
      zjob_outbox     replies held until the sync that covers them
      zjob_publisher  events, encoded only for topics somebody wants

    This file keeps the actor, the loop and the start and stop;
    zjob_broker_pass.c the pass (routing, replies, dispatch; its banner
    tells the steps); zjob_broker_timers.c the pass's timed work (its
    step 1) and the poll's timeout; zjob_broker_metrics.c what feeds
    zjob_metrics; zjob_broker_impl.h the actor's state they share.

    The wait is poll(2) on the sockets' ZMQ_FDs, not zmq_poll, which asks
    every socket for ZMQ_EVENTS before and after it waits (some 22 system
    calls per wake with five sockets: half the broker thread's time with one
    request in flight per client). A ZMQ_FD is edge-triggered, so the loop
    keeps, per socket, a flag "unsettled": the socket may hold input its fd
    will not signal. It is set when poll reports the fd, and by every send
    on the socket (a send may process, and so swallow, the signal of an
    incoming message); it is cleared only by a read that found nothing. The
    loop blocks only when no socket is unsettled.

    CURVE (zjob_broker_auth.c): the ZAP handler is a sixth socket of the
    loop, answered in the pass like the others; each message's key (its
    User-Id) is looked up in the key lists of the moment and the peer it
    names goes to the handlers, which apply the roles; a key no longer
    listed gets ERROR 401 and nothing is applied.

    Shutdown ($TERM): the loop ends between passes, so no request is
    half-applied; workers are sent DISCONNECT; the store is synced and
    closed. zmq_bind makes "tcp://127.0.0.1:*" a port the kernel picks; both
    ROUTERs set ROUTER_HANDOVER, and the workers ROUTER is ROUTER_MANDATORY,
    so a send to a worker that is gone fails with EHOSTUNREACH: it is dead.
    ========================================================================= */

#include "zjob_broker_impl.h"
#include "zjob_deps.h"
#include "zjob_registry.h"
#include "zjob_dispatch.h"
#include "zjob_outbox.h"
#include "zjob_publisher.h"
#include "zjob_clients.h"
#include "zjob_workers.h"
#include "zjob_proto.h"
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>


//  Whether a socket holds input, per ZMQ_EVENTS (which processes its
//  mailbox: without POLLIN, the socket is settled). An error, such as a
//  terminated context, counts as input, for the read to see it.
static bool
s_has_input (void *handle)
{
    int events = 0;
    size_t size = sizeof (events);
    return zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size) || (events & ZMQ_POLLIN);
}

//  --------------------------------------------------------------------------
//  The actor

//  A command on the actor pipe
//  endpoint as bound, as this process may connect to it: a wildcard host
//  becomes loopback; of a list, the first. Into buffer
//  (ZJOB_BROKER_ENDPOINT_MAX bytes)
static void
s_connectable (const char *endpoint, char *buffer)
{
    static const char *wild [][2] = {
        { "tcp://*:", "tcp://127.0.0.1:" }, { "tcp://0.0.0.0:", "tcp://127.0.0.1:" }, { "tcp://[::]:", "tcp://[::1]:" }
    };
    endpoint = endpoint ? endpoint : "";
    int first = (int) strcspn (endpoint, ",");
    for (size_t index = 0; index < sizeof wild / sizeof wild [0]; index++) {
        int len = (int) strlen (wild [index][0]);
        if (first >= len && strncmp (endpoint, wild [index][0], (size_t) len) == 0) {
            snprintf (buffer, ZJOB_BROKER_ENDPOINT_MAX, "%s%.*s", wild [index][1], first - len,
                      endpoint + len);
            return;
        }
    }
    snprintf (buffer, ZJOB_BROKER_ENDPOINT_MAX, "%.*s", first, endpoint);
}

static void
s_pipe_command (s_broker_t *self)
{
    zmsg_t *request = zmsg_recv (self->pipe);
    if (!request) {
        self->terminated = true;  //  Interrupted
        return;
    }
    char *command = zmsg_popstr (request);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else if (streq (command, "ENDPOINTS"))
        zstr_sendx (self->pipe, self->clients_endpoint ? self->clients_endpoint : "",
                    self->workers_endpoint ? self->workers_endpoint : "",
                    self->events_endpoint ? self->events_endpoint : "", NULL);
    else if (streq (command, "STATUS")) {
        char code [16];
        snprintf (code, sizeof (code), "%d", self->start_error.code);
        zstr_sendx (self->pipe, code, self->start_error.text, NULL);
    }
    else if (streq (command, "SUBSCRIPTIONS"))
        zstr_sendf (self->pipe, "%zu",
                    self->publisher ? zjob_publisher_subscriptions (self->publisher) : 0);
    else if (streq (command, "VERBOSE"))
        self->config.log_level = ZJOB_LOG_DEBUG;
    else if (streq (command, "RELOAD"))
        zjob_broker_auth_reload (self);
    else if (streq (command, "ACCESS")) {
        char clients [ZJOB_BROKER_ENDPOINT_MAX], events [ZJOB_BROKER_ENDPOINT_MAX];
        s_connectable (self->clients_endpoint, clients);
        s_connectable (self->events_endpoint, events);
        zstr_sendx (self->pipe, clients, events,
                    self->cert ? zcert_public_txt (self->cert) : "",
                    self->internal_cert ? zcert_public_txt (self->internal_cert) : "",
                    self->internal_cert ? zcert_secret_txt (self->internal_cert) : "", NULL);
    }
    else
        s_log_warning (self, "zjob_broker: unknown pipe command '%s'", command);
    zstr_free (&command);
    zmsg_destroy (&request);
}

//  Bind sock to endpoints, one endpoint or a comma list of them (say
//  tcp for the workers of other hosts and ipc for the clients of this
//  one: ipc costs about a tenth less CPU per message); returns them as
//  bound, a comma list in the same order (freshly allocated), or NULL
//  with err filled. libzmq's own bind, not CZMQ's: a port of '*' is then
//  the kernel's choice of ephemeral port, not the first free one from
//  49152 up (which tests running side by side would keep handing to each
//  other's leftover peers).
static char *
s_bind (zsock_t *sock, const char *what, const char *endpoints, zjob_error_t *err)
{
    char *bound = strdup ("");
    const char *item = endpoints;
    while (bound && *item) {
        size_t len = strcspn (item, ",");
        char endpoint [ZJOB_BROKER_ENDPOINT_MAX];
        snprintf (endpoint, sizeof endpoint, "%.*s", (int) len, item);
        item += len + (item [len] == ',');
        if (!*endpoint)
            continue;
        if (zmq_bind (zsock_resolve (sock), endpoint) == -1) {
            zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot bind the %s socket to %s: %s",
                            what, endpoint, zmq_strerror (zmq_errno ()));
            zstr_free (&bound);
            return NULL;
        }
        char *last = zsock_last_endpoint (sock);
        char *longer = last ? zsys_sprintf ("%s%s%s", bound, *bound ? "," : "", last) : NULL;
        zstr_free (&last);
        zstr_free (&bound);
        bound = longer;
    }
    if (!bound)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else if (!*bound) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no endpoint to bind the %s socket to", what);
        zstr_free (&bound);
    }
    return bound;
}

static void
s_broker_destroy (s_broker_t **self_p)
{
    s_broker_t *self = *self_p;
    if (!self)
        return;
    if (self->manager) {
        zjob_error_t err;
        if (zjob_manager_sync (self->manager, &err))
            s_log_error (self, "zjob_broker: final sync failed: %s", err.text);
        zjob_manager_set_listener (self->manager, NULL, NULL);
    }
    free (self->flight);
    zjob_registry_destroy (&self->registry);
    zjob_clients_destroy (&self->clients_handler);
    zjob_workers_destroy (&self->workers_handler);
    zjob_publisher_destroy (&self->publisher);
    zjob_manager_destroy (&self->manager);
    zactor_destroy (&self->monitor);
    zjob_broker_metrics_destroy (self);
    zsock_destroy (&self->clients);
    zsock_destroy (&self->workers);
    zsock_destroy (&self->events);
    zjob_broker_auth_destroy (self);  //  The ZAP handler outlives the sockets it serves
    zjob_msg_builder_destroy (&self->builder);
    zjob_msg_builder_destroy (&self->side_builder);
    zstr_free (&self->clients_endpoint);
    zstr_free (&self->workers_endpoint);
    zstr_free (&self->events_endpoint);
    zjob_outbox_destroy (&self->outbox);
    zjob_dispatch_destroy (&self->dispatcher);
    zjob_store_destroy (&self->config.store_handle);  //  Given, but never used
    free (self);
    *self_p = NULL;
}

//  Create the three sockets with their options, watch the workers socket
//  for disconnects and bind them. Returns 0, or -1 with self->start_error
static int
s_broker_sockets (s_broker_t *self)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    self->clients = zsock_new (ZMQ_ROUTER);
    self->workers = zsock_new (ZMQ_ROUTER);
    self->events = zsock_new (ZMQ_XPUB);
    if (!self->clients || !self->workers || !self->events)
        return zjob_error_set (err, ZJOB_INTERNAL, "cannot create sockets");
    zjob_proto_socket_setup (self->clients);
    zjob_proto_socket_setup (self->workers);
    zjob_proto_socket_setup (self->events);
    zsock_set_maxmsgsize (self->clients, config->max_message);
    zsock_set_maxmsgsize (self->workers, config->max_message);
    zsock_set_router_mandatory (self->workers, 1);
    //  A peer that reconnects with the routing id it chose takes it over
    zsock_set_router_handover (self->clients, 1);
    zsock_set_router_handover (self->workers, 1);
    //  ZMTP heartbeats close half-open worker connections (the monitor
    //  then reports them); the application heartbeats decide liveness
    zsock_set_heartbeat_ivl (self->workers, (int) config->heartbeat_ms);
    zsock_set_heartbeat_timeout (self->workers, (int) (config->heartbeat_ms * config->liveness));
    zsock_set_linger (self->clients, 200);
    zsock_set_linger (self->workers, 200);
    zsock_set_linger (self->events, 0);
    //  With CURVE: each a CURVE server of its ZAP domain; the publisher
    //  applies each subscription itself, for the subscriber's user
    zjob_broker_auth_socket (self, self->clients, "clients");
    zjob_broker_auth_socket (self, self->workers, "workers");
    zjob_broker_auth_socket (self, self->events, "events");
    if (self->auth)
        zsock_set_xpub_manual (self->events, 1);

    //  Watch worker disconnects before anyone can connect
    self->monitor = zactor_new (zmonitor, self->workers);
    if (!self->monitor)
        return zjob_error_set (err, ZJOB_INTERNAL, "cannot start the socket monitor");
    zstr_sendx (self->monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
    zstr_sendx (self->monitor, "START", NULL);
    zsock_wait (self->monitor);
    if (zjob_broker_metrics_start (self))
        return -1;

    if (!(self->clients_endpoint = s_bind (self->clients, "clients", config->clients, err))
        || !(self->workers_endpoint = s_bind (self->workers, "workers", config->workers, err))
        || !(self->events_endpoint = s_bind (self->events, "events", config->events, err)))
        return -1;
    return 0;
}

//  Set up sockets and the manager. Returns 0, or -1 with self->start_error
static int
s_broker_start (s_broker_t *self)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    //  The config's own checks, and with CURVE the keys and the ZAP
    //  handler, before anything is opened or bound
    if (zjob_broker_auth_start (self))
        return -1;
    self->registry = zjob_registry_new (config->heartbeat_ms, config->liveness);
    self->builder = zjob_msg_builder_new ();
    self->side_builder = zjob_msg_builder_new ();
    self->outbox = zjob_outbox_new ();
    if (!self->registry || !self->outbox
        || !self->builder || !self->side_builder)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zjob_registry_set_listener (self->registry, zjob_broker_job_lost, zjob_broker_worker_left, self);

    //  The store (given, or opened from the spec) and the manager over it
    char spec [ZJOB_BROKER_PATH_MAX + 8];
    if (zjob_broker_manager_start (self, spec, sizeof spec))
        return -1;
    zjob_dispatch_config_t dispatch_config = {
        .manager = self->manager, .registry = self->registry, .builder = self->builder, .send = zjob_broker_send_job, .send_arg = self, .max_concurrent = (size_t) config->max_concurrent, .log_level = config->log_level
    };
    self->dispatcher = zjob_dispatch_new (&dispatch_config);
    if (!self->dispatcher)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    self->dispatch_needed = true;  //  Recovery may have queued jobs
    self->dirty = true;            //  And rewritten some: commit them first

    //  Jobs that were handed out before the restart are queued again; the
    //  workers that still run them get a moment to reconnect and take
    //  them back (READY "jobs") before anyone else is given them
    size_t handed_out = zjob_manager_reclaimable (self->manager);
    if (handed_out) {
        self->hold_until = zjob_mono_ms () + config->heartbeat_ms * config->liveness;
        s_log_info (self, "zjob_broker: %zu recovered jobs: dispatch starts in %" PRId64 " ms",
                    handed_out, config->heartbeat_ms * config->liveness);
    }

    if (s_broker_sockets (self))
        return -1;
    self->clients_handle = zsock_resolve (self->clients);
    self->workers_handle = zsock_resolve (self->workers);
    self->events_handle = zsock_resolve (self->events);
    self->publisher = zjob_publisher_new (self->events_handle);
    if (self->publisher) {
        zjob_publisher_set_log_level (self->publisher, config->log_level);
        //  With CURVE the XPUB is in manual mode (set before it was bound):
        //  the publisher applies each subscription for its key's user
        if (self->auth)
            zjob_publisher_set_auth (self->publisher, zjob_auth_lookup, self->auth);
    }
    self->clients_handler = self->publisher
        ? zjob_clients_new (self->manager, self->registry, self->publisher,
                            config->retention_ms)
        : NULL;
    zjob_workers_config_t workers_config = {
        config->heartbeat_ms, config->liveness, config->max_message, config->log_level,
        config->max_prefetch
    };
    self->workers_handler = zjob_workers_new (self->manager, self->registry, self->publisher,
                                              &workers_config);
    if (!self->clients_handler || !self->workers_handler)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zjob_clients_set_log_level (self->clients_handler, config->log_level);
    zjob_workers_set_dispatch (self->workers_handler, zjob_broker_credit_back, self);
    zjob_clients_set_metrics (self->clients_handler, self->metrics);
    //  The listener publishes: it starts hearing once the publisher exists
    zjob_manager_set_listener (self->manager, zjob_broker_on_change, self);
    if (zjob_clients_start_schedules (self->clients_handler, zjob_clock_ms (), err))
        return -1;  //  A due time missed while down fires in the first pass
    self->next_tick = zjob_mono_ms () + config->heartbeat_ms;
    char safe [ZJOB_BROKER_PATH_MAX + 8];
    s_log_info (self, "zjob_broker: serving clients=%s workers=%s events=%s store=%s "
                      "(%zu jobs, %zu queued, %zu scheduled)",
                self->clients_endpoint,
                self->workers_endpoint, self->events_endpoint,
                zjob_store_spec_safe (spec, safe, sizeof safe),
                zjob_manager_stored (self->manager),
                zjob_manager_queued (self->manager), zjob_manager_scheduled (self->manager));
    return 0;
}

void
zjob_broker_actor (zsock_t *pipe, void *args)
{
    s_broker_t *self = (s_broker_t *) calloc (1, sizeof (s_broker_t));
    if (!self) {
        zjob_broker_config_t *config = (zjob_broker_config_t *) args;
        if (config)
            zjob_store_destroy (&config->store_handle);  //  Ours, whatever happens
        zsock_signal (pipe, 1);
        return;
    }
    self->pipe = pipe;
    if (args)
        self->config = *(const zjob_broker_config_t *) args;
    else
        zjob_broker_config_init (&self->config);
    zjob_error_clear (&self->start_error);
    int rc = s_broker_start (self);
    zsock_signal (pipe, 0);

    if (rc) {
        //  Not serving: answer STATUS with the reason until told to stop
        s_log_error (self, "zjob_broker: cannot start: %s", self->start_error.text);
        while (!self->terminated)
            s_pipe_command (self);
        s_broker_destroy (&self);
        return;
    }
    void *handles [S_POLL_COUNT] = {
        [S_POLL_CLIENTS] = self->clients_handle,
        [S_POLL_WORKERS] = self->workers_handle,
        [S_POLL_PIPE] = zsock_resolve (pipe),
        [S_POLL_EVENTS] = self->events_handle,
        [S_POLL_MONITOR] = zsock_resolve (self->monitor),
        [S_POLL_ZAP] = self->auth ? zjob_auth_handle (self->auth) : NULL,
        [S_POLL_CLIENTS_MONITOR] = zsock_resolve (self->clients_monitor),
        [S_POLL_EVENTS_MONITOR] = zsock_resolve (self->events_monitor)
    };
    struct pollfd fds [S_POLL_COUNT];
    for (size_t index = 0; index < S_POLL_COUNT; index++) {
        size_t size = sizeof (int);
        fds [index].events = POLLIN;
        if (!handles [index] || zmq_getsockopt (handles [index], ZMQ_FD, &fds [index].fd, &size))
            fds [index].fd = -1;         //  No ZAP socket without CURVE; poll skips it
        self->unsettled [index] = true;  //  Nothing is known of them yet
    }
    //  The store's eventfd, readable while a completed sync is untaken
    //  (level-triggered: the pass that takes it reads it)
    fds [S_POLL_SYNC].fd = zjob_store_sync_fd (zjob_manager_store (self->manager));
    while (!self->terminated) {
        int64_t timeout = zjob_broker_wait_ms (self);
        bool unsettled = false;
        for (size_t index = 0; index < S_POLL_COUNT; index++)
            unsettled |= self->unsettled [index];
        if (!unsettled) {
            //  Every socket settled: block until one signals
            int ready = poll (fds, S_POLL_COUNT, timeout > INT32_MAX ? INT32_MAX : (int) timeout);
            if (ready == -1 && errno != EINTR && errno != ENOMEM) {
                s_log_error (self, "zjob_broker: poll: %s", strerror (errno));
                break;
            }
            for (size_t index = 0; ready > 0 && index < S_POLL_COUNT; index++)
                if (fds [index].revents)
                    self->unsettled [index] = true;
        }
        if (self->unsettled [S_POLL_PIPE]) {
            while (!self->terminated && s_has_input (handles [S_POLL_PIPE]))
                s_pipe_command (self);
            self->unsettled [S_POLL_PIPE] = false;
        }
        if (self->terminated)
            break;
        zjob_broker_pass (self);
    }
    //  What the last passes acknowledge goes out once their sync is done
    zjob_broker_sync_last (self);
    zjob_broker_goodbye (self);
    s_log_info (self, "zjob_broker: stopping after %" PRIu64 " passes, %" PRIu64 " messages dropped", self->passes, self->dropped);
    s_broker_destroy (&self);
}


//  --------------------------------------------------------------------------
//  Starting a broker

zactor_t *
zjob_broker_new (const zjob_broker_config_t *config, zjob_error_t *err)
{
    zactor_t *actor = zactor_new (zjob_broker_actor, (void *) config);
    if (!actor) {
        zjob_store_t *store = config->store_handle;  //  Ours, whatever happens
        zjob_store_destroy (&store);
        zjob_error_set (err, ZJOB_INTERNAL, "cannot start the broker thread");
        return NULL;
    }
    zstr_send (actor, "STATUS");
    char *code = NULL, *text = NULL;
    if (zstr_recvx (actor, &code, &text, NULL) < 2 || atoi (code) != ZJOB_OK) {
        zjob_error_set (err, code ? atoi (code) : ZJOB_INTERNAL, "%s",
                        text && *text ? text : "the broker did not start");
        zactor_destroy (&actor);
    }
    zstr_free (&code);
    zstr_free (&text);
    return actor;
}

int
zjob_broker_endpoints (zactor_t *self, char **clients, char **workers, char **events)
{
    assert (self);
    char *bound [3] = { NULL, NULL, NULL };
    if (zstr_send (self, "ENDPOINTS")
        || zstr_recvx (self, &bound [0], &bound [1], &bound [2], NULL) < 3) {
        for (int index = 0; index < 3; index++)
            zstr_free (&bound [index]);
        return -1;
    }
    char **wanted [3] = { clients, workers, events };
    for (int index = 0; index < 3; index++) {
        if (wanted [index])
            *wanted [index] = bound [index];
        else
            zstr_free (&bound [index]);
    }
    return 0;
}

int
zjob_broker_access (zactor_t *self, zjob_broker_access_t *access)
{
    assert (self);
    assert (access);
    memset (access, 0, sizeof *access);
    if (zstr_send (self, "ACCESS"))
        return -1;
    char *parts [5] = { NULL };
    if (zstr_recvx (self, &parts [0], &parts [1], &parts [2], &parts [3], &parts [4], NULL) < 5) {
        for (size_t index = 0; index < 5; index++)
            zstr_free (&parts [index]);
        return -1;
    }
    snprintf (access->clients, sizeof access->clients, "%s", parts [0]);
    snprintf (access->events, sizeof access->events, "%s", parts [1]);
    snprintf (access->broker_key, sizeof access->broker_key, "%s", parts [2]);
    snprintf (access->public_key, sizeof access->public_key, "%s", parts [3]);
    snprintf (access->secret_key, sizeof access->secret_key, "%s", parts [4]);
    for (size_t index = 0; index < 5; index++)
        zstr_free (&parts [index]);
    return 0;
}
