/*  =========================================================================
    peers_proxy - bench_peers: a delaying TCP proxy (the remote scenario)

    Workers in another zone see the broker a round trip away. netem would
    need root and the sch_netem module; this proxy needs neither: one
    process, one epoll loop, that accepts on a loopback port, connects
    each accepted connection to the upstream port, and holds every chunk
    it reads for the delay before writing it on, in both directions. So a
    byte takes delay ms each way, in order, and the bandwidth is not
    limited: a chunk is read as soon as it arrives, whatever is still
    held. The loop sleeps until the earliest chunk is due (epoll_wait's
    timeout, rounded up to the ms), so a chunk leaves at most a ms late.
    What is held is not bounded: at the rates of the bench (tens of
    thousands of jobs/s, a few hundred bytes each, 20 ms) it is a few MB.
    ========================================================================= */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "peers.h"

#define S_CHUNK_MAX 65536  //  bytes read at once
#define S_PAIRS_MAX 256    //  connections at once
#define S_EVENTS 64        //  epoll events per wait

//  A chunk held until due
typedef struct s_chunk_t {
    struct s_chunk_t *next;
    int64_t due;  //  CLOCK_MONOTONIC ns it may be written
    size_t size;  //  bytes in data
    size_t sent;  //  of which written
    char data [];
} s_chunk_t;

struct s_pair_t;

//  One side of a connection: its socket, and what goes out on it
typedef struct {
    struct s_pair_t *pair;
    int fd;
    s_chunk_t *head, *tail;  //  held for this socket, oldest first
    bool blocked;            //  waiting for EPOLLOUT
} s_end_t;

//  An accepted connection and its upstream one
typedef struct s_pair_t {
    s_end_t ends [2];  //  0: accepted, 1: upstream
    bool used;
} s_pair_t;

static s_pair_t s_pairs [S_PAIRS_MAX];
static int s_epoll = -1;

//  Close both sides and drop what they held. The ends keep their pair,
//  which events of the same wait still point to (they see it unused).
static void
s_pair_close (s_pair_t *pair)
{
    for (int i = 0; i < 2; i++) {
        s_end_t *end = &pair->ends [i];
        close (end->fd);  //  Also leaves the epoll set
        end->fd = -1;
        end->blocked = false;
        while (end->head) {
            s_chunk_t *next = end->head->next;
            free (end->head);
            end->head = next;
        }
        end->tail = NULL;
    }
    pair->used = false;
}

static int
s_watch (s_end_t *end, uint32_t events, int op)
{
    struct epoll_event event = { .events = events, .data.ptr = end };
    return epoll_ctl (s_epoll, op, end->fd, &event);
}

//  Accept one connection and connect it upstream
static void
s_accept (e2e_role_t *role, int listener)
{
    int fd = accept4 (listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int upstream = peers_connect ((int) role->index);
    s_pair_t *pair = NULL;
    for (size_t i = 0; i < S_PAIRS_MAX && !pair; i++)
        pair = s_pairs [i].used ? NULL : &s_pairs [i];
    if (upstream < 0 || !pair) {
        close (fd);
        if (upstream >= 0)
            close (upstream);
        return;
    }
    fcntl (upstream, F_SETFL, fcntl (upstream, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pair->used = true;
    pair->ends [0] = (s_end_t){ .pair = pair, .fd = fd };
    pair->ends [1] = (s_end_t){ .pair = pair, .fd = upstream };
    if (s_watch (&pair->ends [0], EPOLLIN, EPOLL_CTL_ADD)
        || s_watch (&pair->ends [1], EPOLLIN, EPOLL_CTL_ADD))
        e2e_fail (role, "epoll_ctl", strerror (errno));
}

//  Read what end has and hold it for the other end. -1 at EOF or error.
static int
s_read (s_end_t *end, int64_t delay_ns)
{
    s_end_t *other = &end->pair->ends [end == &end->pair->ends [0] ? 1 : 0];
    while (true) {
        s_chunk_t *chunk = (s_chunk_t *) malloc (sizeof (s_chunk_t) + S_CHUNK_MAX);
        if (!chunk)
            return -1;
        ssize_t rc = read (end->fd, chunk->data, S_CHUNK_MAX);
        if (rc <= 0) {
            free (chunk);
            return rc < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        }
        chunk->next = NULL;
        chunk->due = e2e_now_ns () + delay_ns;
        chunk->size = (size_t) rc;
        chunk->sent = 0;
        if (other->tail)
            other->tail->next = chunk;
        else
            other->head = chunk;
        other->tail = chunk;
        if (rc < S_CHUNK_MAX)
            return 0;
    }
}

//  Write what is due on end, until it would block. -1 on an error.
static int
s_flush (s_end_t *end, int64_t now)
{
    while (end->head && end->head->due <= now) {
        s_chunk_t *chunk = end->head;
        ssize_t rc = write (end->fd, chunk->data + chunk->sent, chunk->size - chunk->sent);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 && errno == EAGAIN) {
            if (!end->blocked && s_watch (end, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD) == 0)
                end->blocked = true;
            return 0;
        }
        if (rc <= 0)
            return -1;
        chunk->sent += (size_t) rc;
        if (chunk->sent < chunk->size)
            continue;
        end->head = chunk->next;
        if (!end->head)
            end->tail = NULL;
        free (chunk);
    }
    if (end->blocked && s_watch (end, EPOLLIN, EPOLL_CTL_MOD) == 0)
        end->blocked = false;
    return 0;
}

//  Write what is due everywhere; the msecs until the next chunk is due
//  (-1: none held)
static int
s_flush_all (void)
{
    int64_t now = e2e_now_ns (), next = INT64_MAX;
    for (size_t i = 0; i < S_PAIRS_MAX; i++) {
        s_pair_t *pair = &s_pairs [i];
        for (int side = 0; pair->used && side < 2; side++) {
            s_end_t *end = &pair->ends [side];
            if (!end->blocked && s_flush (end, now)) {
                s_pair_close (pair);
                break;
            }
            if (end->head && !end->blocked && end->head->due < next)
                next = end->head->due;
        }
    }
    if (next == INT64_MAX)
        return -1;
    int64_t wait = (next - e2e_now_ns () + 999999) / 1000000;
    return wait < 0 ? 0 : (int) wait;
}

//  Listen on a free loopback port; the socket, its port into *port_p
static int
s_listen (e2e_role_t *role, int *port_p)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0 };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || bind (fd, (struct sockaddr *) &address, sizeof address)
        || listen (fd, 64) || getsockname (fd, (struct sockaddr *) &address, &length))
        e2e_fail (role, "listen", strerror (errno));
    *port_p = ntohs (address.sin_port);
    return fd;
}

void
peers_proxy (e2e_role_t *role)
{
    int64_t delay_ns = (int64_t) peers_setup->delay_ms * 1000000;
    int port;
    int listener = s_listen (role, &port);
    s_epoll = epoll_create1 (EPOLL_CLOEXEC);
    //  The listener and the control pipe are told apart by their data
    //  (NULL, and the address of role); every other event is an end
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };
    if (s_epoll < 0 || epoll_ctl (s_epoll, EPOLL_CTL_ADD, listener, &event))
        e2e_fail (role, "epoll", strerror (errno));
    event.data.ptr = role;
    if (epoll_ctl (s_epoll, EPOLL_CTL_ADD, role->control, &event))
        e2e_fail (role, "epoll", strerror (errno));
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, endpoint);
    struct epoll_event events [S_EVENTS];
    int timeout = -1;
    while (true) {
        int count = epoll_wait (s_epoll, events, S_EVENTS, timeout);
        if (count < 0 && errno != EINTR)
            e2e_fail (role, "epoll_wait", strerror (errno));
        for (int i = 0; i < count; i++) {
            if (events [i].data.ptr == NULL)
                s_accept (role, listener);
            else if (events [i].data.ptr == role) {
                if (e2e_command (role, NULL) == 0)
                    return;  //  EOF: the run is over
            }
            else {
                s_end_t *end = (s_end_t *) events [i].data.ptr;
                if (!end->pair->used)
                    continue;  //  Closed by an earlier event of this wait
                if ((events [i].events & EPOLLOUT) && s_flush (end, e2e_now_ns ()))
                    s_pair_close (end->pair);
                else if ((events [i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                         && s_read (end, delay_ns))
                    s_pair_close (end->pair);
            }
        }
        timeout = s_flush_all ();
    }
}
