/*  =========================================================================
    peers_beanstalk - bench_peers: beanstalkd's side of the strict scenario

    beanstalkd (Debian's, in memory: no binlog) on a loopback port of its
    own; its text protocol has no C library in Debian, so this file holds
    the few lines of a client it needs, over a blocking TCP socket with
    TCP_NODELAY: a producer puts a job and waits for INSERTED before the
    next (one job in flight, as a web request that waits for its id); a
    worker reserves a job, and deletes it at once (no-op work). A worker
    waits for RESERVED in poll, with its control pipe, so that it can
    report its count when idle and end when the run is over.
    ========================================================================= */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "peers.h"

#define S_BEANSTALKD "/usr/bin/beanstalkd"
#define S_TTR 60  //  secs a reserved job may run before beanstalkd takes it back

//  A connection with a read buffer
typedef struct {
    int fd;
    char buf [4096];
    size_t start, end;  //  unread bytes are buf [start..end)
} s_conn_t;

static int
s_send (s_conn_t *conn, const char *data, size_t size)
{
    while (size) {
        ssize_t rc = write (conn->fd, data, size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        data += rc;
        size -= (size_t) rc;
    }
    return 0;
}

//  Read what the socket has into the buffer (blocking); -1 at EOF or on
//  an error
static int
s_fill (s_conn_t *conn)
{
    if (conn->start > 0) {
        memmove (conn->buf, conn->buf + conn->start, conn->end - conn->start);
        conn->end -= conn->start;
        conn->start = 0;
    }
    if (conn->end == sizeof conn->buf)
        return -1;  //  A line longer than any reply of ours
    ssize_t rc;
    do
        rc = read (conn->fd, conn->buf + conn->end, sizeof conn->buf - conn->end);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return -1;
    conn->end += (size_t) rc;
    return 0;
}

//  The next line, if the buffer holds a whole one: into line without its
//  CRLF. 1 if taken, 0 if not there yet.
static int
s_take_line (s_conn_t *conn, char *line, size_t size)
{
    char *at = conn->buf + conn->start;
    char *crlf = memmem (at, conn->end - conn->start, "\r\n", 2);
    if (!crlf)
        return 0;
    size_t length = (size_t) (crlf - at);
    snprintf (line, size, "%.*s", (int) length, at);
    conn->start += length + 2;
    return 1;
}

//  Read one line (blocking); 0, or -1 at EOF
static int
s_line (s_conn_t *conn, char *line, size_t size)
{
    while (!s_take_line (conn, line, size))
        if (s_fill (conn))
            return -1;
    return 0;
}

//  Drop size bytes of the stream (a job's body and its CRLF)
static int
s_skip (s_conn_t *conn, size_t size)
{
    while (conn->end - conn->start < size) {
        size -= conn->end - conn->start;
        conn->start = conn->end;
        if (s_fill (conn))
            return -1;
    }
    conn->start += size;
    return 0;
}

static void
s_producer (e2e_role_t *role)
{
    s_conn_t conn = { .fd = peers_connect (atoi (role->endpoint)) };
    if (conn.fd < 0)
        e2e_fail (role, "connect", strerror (errno));
    char put [64 + PEERS_BODY_SIZE];
    int head = snprintf (put, sizeof put, "put 1024 0 %d %d\r\n", S_TTR, PEERS_BODY_SIZE);
    memset (put + head, 'x', PEERS_BODY_SIZE);
    memcpy (put + head + PEERS_BODY_SIZE, "\r\n", 2);
    size_t size = (size_t) head + PEERS_BODY_SIZE + 2;
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    if (e2e_command (role, NULL) != 'G')
        exit (0);
    size_t share = peers_share (role), accepted = 0, refused = 0;
    char line [256], first_error [200] = "";
    int64_t start = e2e_now_ns ();
    for (size_t i = 0; i < share; i++) {
        if (s_send (&conn, put, size) || s_line (&conn, line, sizeof line))
            e2e_fail (role, "put", "connection lost");
        if (strncmp (line, "INSERTED ", 9) == 0)
            accepted++;
        else if (refused++ == 0)
            snprintf (first_error, sizeof first_error, "%.180s", line);
    }
    e2e_report (role, E2E_REC_DONE, (int64_t) accepted, start, e2e_now_ns (), (int64_t) refused,
                first_error);
    while (e2e_command (role, NULL))
        ;  //  Until the run is over
    close (conn.fd);
}

//  Wait for a line from beanstalkd, reporting the count when idle. 1 with
//  the line, 0 when the run is over.
static int
s_await_line (e2e_role_t *role, s_conn_t *conn, char *line, size_t size, int64_t count,
              int64_t *reported, int64_t last)
{
    while (!s_take_line (conn, line, size)) {
        if (!peers_wait (role, conn->fd, count, reported, last))
            return 0;
        if (s_fill (conn))
            e2e_fail (role, "reserve", "connection lost");
    }
    return 1;
}

static void
s_worker (e2e_role_t *role)
{
    s_conn_t conn = { .fd = peers_connect (atoi (role->endpoint)) };
    if (conn.fd < 0)
        e2e_fail (role, "connect", strerror (errno));
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    int64_t count = 0, reported = 0, last = 0;
    char line [256], command [64];
    while (true) {
        if (s_send (&conn, "reserve\r\n", 9))
            e2e_fail (role, "reserve", "connection lost");
        if (!s_await_line (role, &conn, line, sizeof line, count, &reported, last))
            break;
        uint64_t id;
        size_t bytes;
        if (sscanf (line, "RESERVED %" SCNu64 " %zu", &id, &bytes) != 2)
            e2e_fail (role, "reserve", line);
        if (s_skip (&conn, bytes + 2))
            e2e_fail (role, "reserve", "connection lost");
        int length = snprintf (command, sizeof command, "delete %" PRIu64 "\r\n", id);
        if (s_send (&conn, command, (size_t) length) || s_line (&conn, line, sizeof line))
            e2e_fail (role, "delete", "connection lost");
        if (strcmp (line, "DELETED"))
            e2e_fail (role, "delete", line);
        count++;
        last = e2e_now_ns ();
        if (count - reported >= PEERS_REPORT_EVERY)
            peers_progress (role, count, &reported, last);
    }
    close (conn.fd);
}

void
peers_beanstalk_run (const peers_setup_t *setup, const char *dir, peers_result_t *result)
{
    peers_server_t server = { .port = peers_free_port () };
    char port [16], log [E2E_PATH_MAX];
    snprintf (port, sizeof port, "%d", server.port);
    snprintf (log, sizeof log, "%s/beanstalkd.log", dir);
    char *argv [] = { S_BEANSTALKD, "-l", "127.0.0.1", "-p", port, NULL };
    if (server.port < 0 || peers_server_start (&server, argv, log, result->why, sizeof result->why)) {
        if (server.port < 0)
            snprintf (result->why, sizeof result->why, "no free port");
        return;
    }
    //  The children connect to the port: the endpoint is its number
    peers_procs_t procs = { .server = server.pid, .producer_endpoint = port, .worker_endpoint = port };
    peers_run (setup, &procs, s_producer, s_worker, result);
    peers_server_stop (&server);
}
