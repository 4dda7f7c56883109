/*  =========================================================================
    zjob_broker_metrics - what feeds the broker's metrics

    The broker's own files call here so that zjob_broker.c stays the loop:
    the manager's listener hands each job change to zjob_metrics (and logs
    it at debug), and the three sockets' monitors count connections. Each
    socket has a zmonitor (an actor of CZMQ's: libzmq reports a socket's
    events on an inproc socket only) listening for ACCEPTED and
    DISCONNECTED; their pipes are in the loop's poll like any socket, and
    read in the pass at most `batch` events each. The workers socket's
    monitor was there already for the registry, which hears of each
    closed worker connection.

    The debug line of a job change costs one comparison when debug is off
    (ZJOB_LOG_IF tests the level before any formatting).
    ========================================================================= */

#include "zjob_broker_impl.h"
#include <time.h>

double
zjob_broker_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

//  A zmonitor on sock for connections, started; NULL if it cannot start
static zactor_t *
s_monitor_new (zsock_t *sock)
{
    zactor_t *monitor = zactor_new (zmonitor, sock);
    if (monitor) {
        zstr_sendx (monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
        zstr_sendx (monitor, "START", NULL);
        zsock_wait (monitor);
    }
    return monitor;
}

int
zjob_broker_metrics_start (s_broker_t *self)
{
    self->metrics = zjob_metrics_new ();
    if (!self->metrics)
        return zjob_error_set (&self->start_error, ZJOB_INTERNAL, "out of memory");
    self->clients_monitor = s_monitor_new (self->clients);
    self->events_monitor = s_monitor_new (self->events);
    if (!self->clients_monitor || !self->events_monitor)
        return zjob_error_set (&self->start_error, ZJOB_INTERNAL,
                               "cannot start the socket monitors");
    return 0;
}

void
zjob_broker_metrics_destroy (s_broker_t *self)
{
    zactor_destroy (&self->clients_monitor);
    zactor_destroy (&self->events_monitor);
    zjob_metrics_destroy (&self->metrics);
}

//  One event of a monitor: [name][value][endpoint]
static void
s_monitor_event (s_broker_t *self, zactor_t *monitor, zjob_metrics_socket_t socket)
{
    zmsg_t *event = zmsg_recv (monitor);
    if (!event)
        return;
    char *name = zmsg_popstr (event);
    char *value = zmsg_popstr (event);
    if (name && value && streq (name, "ACCEPTED"))
        zjob_metrics_connection (self->metrics, socket, 1);
    else if (name && value && streq (name, "DISCONNECTED")) {
        zjob_metrics_connection (self->metrics, socket, -1);
        if (socket == ZJOB_METRICS_WORKERS) {
            //  The registry checks the workers on that descriptor
            int fd = atoi (value);
            s_log_debug (self, "zjob_broker: connection %d closed", fd);
            zjob_registry_disconnected (self->registry, fd, zjob_mono_ms ());
        }
    }
    zstr_free (&name);
    zstr_free (&value);
    zmsg_destroy (&event);
}

bool
zjob_broker_monitor_read (s_broker_t *self, s_poll_t which)
{
    if (!self->unsettled [which])
        return false;
    zactor_t *monitor = which == S_POLL_MONITOR ? self->monitor
        : which == S_POLL_CLIENTS_MONITOR       ? self->clients_monitor
                                                : self->events_monitor;
    zjob_metrics_socket_t socket = which == S_POLL_MONITOR ? ZJOB_METRICS_WORKERS
        : which == S_POLL_CLIENTS_MONITOR                  ? ZJOB_METRICS_CLIENTS
                                                           : ZJOB_METRICS_EVENTS;
    void *handle = zsock_resolve (monitor);
    size_t count = 0;
    while (count < self->config.batch) {
        //  ZMQ_EVENTS processes the pipe's mailbox: no POLLIN, it is settled
        int events = 0;
        size_t size = sizeof (events);
        if (zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size) == 0 && !(events & ZMQ_POLLIN))
            break;
        s_monitor_event (self, monitor, socket);
        count++;
    }
    self->unsettled [which] = count == self->config.batch;
    return count > 0;
}

void
zjob_broker_job_changed (s_broker_t *self, zjob_event_t event, const zjob_job_t *job,
                         zjob_status_t old_status)
{
    if (event != ZJOB_EVENT_STATUS && event != ZJOB_EVENT_RETRYING)
        return;
    bool created = event == ZJOB_EVENT_STATUS && old_status == ZJOB_CREATED
        && zjob_manager_creating (self->manager);
    zjob_metrics_job (self->metrics, event, job, old_status, created);
    s_log_debug (self, "job %s: %s -> %s (workflow %s, worker %s, attempt %u)", job->id,
                 zjob_status_name (old_status), zjob_status_name ((zjob_status_t) job->status),
                 job->workflow_id, job->worker_id ? job->worker_id : "-",
                 (unsigned) job->attempts);
}
