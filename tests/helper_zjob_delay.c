/*  =========================================================================
    helper_zjob_delay - a TCP proxy that delays every byte, for tests

    See helper_zjob_delay.h. Each direction of each connection pair is a
    FIFO of chunks, each with the time it is due; the poll loop reads what
    comes (stamping it), writes what is due, and sleeps until the next due
    chunk or a descriptor is ready.
    ========================================================================= */

#include "helper_zjob_delay.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_PAIRS 16
#define S_CHUNK 65536

typedef struct s_chunk_t {
    struct s_chunk_t *next;
    int64_t due;  //  mono usecs
    size_t size, sent;
    char data [];
} s_chunk_t;

typedef struct {
    int fd [2];           //  Client, target; -1 when closed
    s_chunk_t *head [2];  //  Chunks to write to fd [i], oldest first
    s_chunk_t *tail [2];
} s_pair_t;

struct _zjob_test_delay_t {
    int listener;
    int target_port;
    int64_t delay_us;
    int wake [2];  //  A pipe: stop
    pthread_t thread;
    s_pair_t pairs [S_PAIRS];
};

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_pair_close (s_pair_t *pair)
{
    for (int side = 0; side < 2; side++) {
        if (pair->fd [side] >= 0)
            close (pair->fd [side]);
        pair->fd [side] = -1;
        while (pair->head [side]) {
            s_chunk_t *next = pair->head [side]->next;
            free (pair->head [side]);
            pair->head [side] = next;
        }
        pair->tail [side] = NULL;
    }
}

static void
s_accept (zjob_test_delay_t *self)
{
    int client = accept (self->listener, NULL, NULL);
    if (client < 0)
        return;
    int target = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (self->target_port) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    s_pair_t *pair = NULL;
    for (int index = 0; index < S_PAIRS && !pair; index++)
        if (self->pairs [index].fd [0] < 0)
            pair = &self->pairs [index];
    if (target < 0 || !pair || connect (target, (struct sockaddr *) &addr, sizeof addr)) {
        close (client);
        if (target >= 0)
            close (target);
        return;
    }
    int one = 1;
    setsockopt (client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt (target, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl (client, F_SETFL, O_NONBLOCK);
    fcntl (target, F_SETFL, O_NONBLOCK);
    pair->fd [0] = client;
    pair->fd [1] = target;
}

//  Read what side has into a chunk for the other side; false if it closed
static bool
s_read (zjob_test_delay_t *self, s_pair_t *pair, int side)
{
    s_chunk_t *chunk = (s_chunk_t *) malloc (sizeof (s_chunk_t) + S_CHUNK);
    if (!chunk)
        return false;
    ssize_t got = read (pair->fd [side], chunk->data, S_CHUNK);
    if (got <= 0) {
        free (chunk);
        return got < 0 && (errno == EAGAIN || errno == EINTR);
    }
    chunk->next = NULL;
    chunk->due = s_now_us () + self->delay_us;
    chunk->size = (size_t) got;
    chunk->sent = 0;
    int other = 1 - side;
    if (pair->tail [other])
        pair->tail [other]->next = chunk;
    else
        pair->head [other] = chunk;
    pair->tail [other] = chunk;
    return true;
}

//  Write what is due to side; false if it failed
static bool
s_write (s_pair_t *pair, int side, int64_t now)
{
    s_chunk_t *chunk;
    while ((chunk = pair->head [side]) && chunk->due <= now) {
        ssize_t put = write (pair->fd [side], chunk->data + chunk->sent, chunk->size - chunk->sent);
        if (put < 0)
            return errno == EAGAIN || errno == EINTR;
        chunk->sent += (size_t) put;
        if (chunk->sent < chunk->size)
            return true;  //  Full: the rest later
        pair->head [side] = chunk->next;
        if (!pair->head [side])
            pair->tail [side] = NULL;
        free (chunk);
    }
    return true;
}

static void *
s_run (void *arg)
{
    zjob_test_delay_t *self = (zjob_test_delay_t *) arg;
    while (true) {
        struct pollfd items [2 + S_PAIRS * 2];
        int count = 0;
        items [count++] = (struct pollfd){ self->wake [0], POLLIN, 0 };
        items [count++] = (struct pollfd){ self->listener, POLLIN, 0 };
        int64_t now = s_now_us ();
        int64_t next = now + 100000;
        for (int index = 0; index < S_PAIRS; index++) {
            s_pair_t *pair = &self->pairs [index];
            for (int side = 0; side < 2; side++) {
                short events = 0;
                if (pair->fd [side] >= 0) {
                    events = POLLIN;
                    if (pair->head [side] && pair->head [side]->due <= now)
                        events |= POLLOUT;
                    else if (pair->head [side] && pair->head [side]->due < next)
                        next = pair->head [side]->due;
                }
                items [count++] = (struct pollfd){ pair->fd [side], events, 0 };
            }
        }
        int wait = (int) ((next - now + 999) / 1000);
        if (poll (items, (nfds_t) count, wait < 0 ? 0 : wait) < 0 && errno != EINTR)
            break;
        if (items [0].revents)
            break;
        if (items [1].revents & POLLIN)
            s_accept (self);
        now = s_now_us ();
        for (int index = 0; index < S_PAIRS; index++) {
            s_pair_t *pair = &self->pairs [index];
            bool ok = true;
            for (int side = 0; side < 2 && ok; side++) {
                short revents = items [2 + index * 2 + side].revents;
                if (pair->fd [side] < 0)
                    continue;
                if (revents & (POLLIN | POLLHUP | POLLERR))
                    ok = s_read (self, pair, side);
                if (ok)
                    ok = s_write (pair, side, now);
            }
            if (!ok)
                s_pair_close (pair);
        }
    }
    return NULL;
}

zjob_test_delay_t *
zjob_test_delay_new (int target_port, int delay_ms, char *endpoint)
{
    zjob_test_delay_t *self = (zjob_test_delay_t *) calloc (1, sizeof (zjob_test_delay_t));
    if (!self)
        return NULL;
    for (int index = 0; index < S_PAIRS; index++)
        self->pairs [index].fd [0] = self->pairs [index].fd [1] = -1;
    self->target_port = target_port;
    self->delay_us = (int64_t) delay_ms * 1000;
    self->listener = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (self->listener < 0 || bind (self->listener, (struct sockaddr *) &addr, sizeof addr)
        || listen (self->listener, 16)
        || getsockname (self->listener, (struct sockaddr *) &addr, &size) || pipe (self->wake)) {
        if (self->listener >= 0)
            close (self->listener);
        free (self);
        return NULL;
    }
    snprintf (endpoint, 64, "tcp://127.0.0.1:%d", ntohs (addr.sin_port));
    if (pthread_create (&self->thread, NULL, s_run, self)) {
        close (self->listener);
        close (self->wake [0]);
        close (self->wake [1]);
        free (self);
        return NULL;
    }
    return self;
}

void
zjob_test_delay_destroy (zjob_test_delay_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zjob_test_delay_t *self = *self_p;
    if (write (self->wake [1], "x", 1) < 0)
        perror ("zjob_test_delay");
    pthread_join (self->thread, NULL);
    for (int index = 0; index < S_PAIRS; index++)
        s_pair_close (&self->pairs [index]);
    close (self->listener);
    close (self->wake [0]);
    close (self->wake [1]);
    free (self);
    *self_p = NULL;
}
