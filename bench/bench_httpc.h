/*  =========================================================================
    bench_httpc - a minimal HTTP/1.1 client for the benchmarks

    bench_http times zjobd's HTTP side and bench_e2e asks a Prometheus
    server what it scraped: both only need GET over a loopback TCP socket,
    so this is one, in a header of static functions (each benchmark is a
    program of its own; no new library). It keeps the connection alive
    between requests, reads bodies framed by Content-Length, chunked, or
    by the end of the connection, and gives up at a deadline. It is for
    trusted local servers in a benchmark: no TLS, no redirects, headers
    of at most BENCH_HTTPC_HEAD_MAX bytes.
    ========================================================================= */

#ifndef BENCH_HTTPC_H_INCLUDED
#define BENCH_HTTPC_H_INCLUDED

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_HTTPC_HEAD_MAX 16384  //  bytes of a response's status line and headers

typedef struct {
    int fd;          //  -1 when not connected
    char host [64];  //  numeric IPv4
    int port;
    char buf [65536];  //  bytes read and not yet consumed
    size_t have, at;   //  buf [at..have) is unread
} bench_httpc_t;

typedef struct {
    int status;     //  HTTP status, 0 if none
    char *body;     //  malloc'd, NUL-terminated; the caller frees it
    size_t length;  //  bytes of body
} bench_httpc_reply_t;

static inline int64_t
bench_httpc_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Set up self for HOST:PORT (numeric IPv4). 0, or -1 for a bad address.
static inline int
bench_httpc_init (bench_httpc_t *self, const char *hostport)
{
    memset (self, 0, sizeof *self);
    self->fd = -1;
    const char *colon = strrchr (hostport, ':');
    if (!colon || (size_t) (colon - hostport) >= sizeof self->host)
        return -1;
    memcpy (self->host, hostport, (size_t) (colon - hostport));
    self->port = atoi (colon + 1);
    return self->port > 0 && self->port < 65536 ? 0 : -1;
}

static inline void
bench_httpc_close (bench_httpc_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    self->have = self->at = 0;
}

static inline int
s_httpc_connect (bench_httpc_t *self)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) self->port) };
    if (inet_pton (AF_INET, self->host, &addr.sin_addr) != 1)
        return -1;
    self->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (self->fd < 0)
        return -1;
    int one = 1;
    setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect (self->fd, (struct sockaddr *) &addr, sizeof addr)) {
        bench_httpc_close (self);
        return -1;
    }
    return 0;
}

//  Read more bytes into buf (moving the unread ones to its start first),
//  waiting at most until deadline. Returns the bytes read, 0 at EOF, -1
//  on error or at the deadline.
static inline ssize_t
s_httpc_fill (bench_httpc_t *self, int64_t deadline)
{
    if (self->at > 0) {
        memmove (self->buf, self->buf + self->at, self->have - self->at);
        self->have -= self->at;
        self->at = 0;
    }
    if (self->have == sizeof self->buf)
        return -1;
    int64_t left = (deadline - bench_httpc_now_ns ()) / 1000000;
    struct pollfd item = { self->fd, POLLIN, 0 };
    if (left <= 0 || poll (&item, 1, (int) left) != 1)
        return -1;
    ssize_t got = recv (self->fd, self->buf + self->have, sizeof self->buf - self->have, 0);
    if (got > 0)
        self->have += (size_t) got;
    return got < 0 ? -1 : got;
}

//  Append the next n bytes of the stream to reply's body. 0 or -1.
static inline int
s_httpc_take (bench_httpc_t *self, bench_httpc_reply_t *reply, size_t n, int64_t deadline)
{
    char *body = (char *) realloc (reply->body, reply->length + n + 1);
    if (!body)
        return -1;
    reply->body = body;
    while (n > 0) {
        if (self->at == self->have && s_httpc_fill (self, deadline) <= 0)
            return -1;
        size_t chunk = self->have - self->at < n ? self->have - self->at : n;
        memcpy (reply->body + reply->length, self->buf + self->at, chunk);
        reply->length += chunk;
        self->at += chunk;
        n -= chunk;
    }
    reply->body [reply->length] = 0;
    return 0;
}

//  The next line (up to CRLF) of the stream, into line. 0 or -1.
static inline int
s_httpc_line (bench_httpc_t *self, char *line, size_t size, int64_t deadline)
{
    while (true) {
        char *end = (char *) memchr (self->buf + self->at, '\n', self->have - self->at);
        if (end) {
            size_t length = (size_t) (end - (self->buf + self->at));
            if (length >= size)
                return -1;
            memcpy (line, self->buf + self->at, length);
            line [length > 0 && line [length - 1] == '\r' ? length - 1 : length] = 0;
            self->at += length + 1;
            return 0;
        }
        if (s_httpc_fill (self, deadline) <= 0)
            return -1;
    }
}

//  A chunked body, into reply. 0 or -1.
static inline int
s_httpc_chunked (bench_httpc_t *self, bench_httpc_reply_t *reply, int64_t deadline)
{
    char line [256];
    while (true) {
        if (s_httpc_line (self, line, sizeof line, deadline))
            return -1;
        size_t size = (size_t) strtoul (line, NULL, 16);
        if (size == 0)
            break;
        if (s_httpc_take (self, reply, size, deadline)
            || s_httpc_line (self, line, sizeof line, deadline))
            return -1;
    }
    //  Trailers, up to the empty line
    do {
        if (s_httpc_line (self, line, sizeof line, deadline))
            return -1;
    } while (*line);
    return 0;
}

//  The status line and headers; fills reply->status, *length_p (-1: not
//  given), *chunked_p, *close_p. 0 or -1.
static inline int
s_httpc_head (bench_httpc_t *self, bench_httpc_reply_t *reply, long long *length_p,
              bool *chunked_p, bool *close_p, int64_t deadline)
{
    char line [BENCH_HTTPC_HEAD_MAX];
    if (s_httpc_line (self, line, sizeof line, deadline) || strncmp (line, "HTTP/1.", 7))
        return -1;
    reply->status = atoi (line + 9);
    *length_p = -1;
    *chunked_p = false;
    *close_p = line [7] == '0';
    while (true) {
        if (s_httpc_line (self, line, sizeof line, deadline))
            return -1;
        if (!*line)
            return 0;
        if (strncasecmp (line, "Content-Length:", 15) == 0)
            *length_p = atoll (line + 15);
        else if (strncasecmp (line, "Transfer-Encoding:", 18) == 0 && strcasestr (line, "chunked"))
            *chunked_p = true;
        else if (strncasecmp (line, "Connection:", 11) == 0 && strcasestr (line, "close"))
            *close_p = true;
    }
}

//  GET path (already URL-encoded) on self's server, keeping the
//  connection for the next request when the server allows it; reconnects
//  once if a kept connection was closed by the server. The reply's body
//  is malloc'd (free it). Returns 0, or -1 (no or no complete reply by
//  timeout_ms).
static inline int
bench_httpc_get (bench_httpc_t *self, const char *path, int timeout_ms, bench_httpc_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    int64_t deadline = bench_httpc_now_ns () + (int64_t) timeout_ms * 1000000;
    char request [2048];
    int size = snprintf (request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: */*\r\n\r\n", path, self->host,
                         self->port);
    if (size <= 0 || size >= (int) sizeof request)
        return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = self->fd < 0;
        if (fresh && s_httpc_connect (self))
            return -1;
        if (send (self->fd, request, (size_t) size, MSG_NOSIGNAL) != size) {
            bench_httpc_close (self);
            if (fresh)
                return -1;
            continue;
        }
        long long length;
        bool chunked, closing;
        if (s_httpc_head (self, reply, &length, &chunked, &closing, deadline)) {
            bench_httpc_close (self);
            if (fresh || reply->status)
                return -1;
            continue;  //  A kept connection the server had closed
        }
        int rc = 0;
        if (chunked)
            rc = s_httpc_chunked (self, reply, deadline);
        else if (length >= 0)
            rc = s_httpc_take (self, reply, (size_t) length, deadline);
        else {
            closing = true;
            while ((rc = s_httpc_take (self, reply, self->have - self->at, deadline)) == 0) {
                ssize_t got = s_httpc_fill (self, deadline);
                if (got <= 0) {
                    rc = got == 0 ? 0 : -1;
                    break;
                }
            }
        }
        if (!reply->body && s_httpc_take (self, reply, 0, deadline))
            rc = -1;
        if (rc || closing)
            bench_httpc_close (self);
        return rc;
    }
    return -1;
}

//  text URL-encoded (for a query string's value), into buf
static inline const char *
bench_httpc_encode (const char *text, char *buf, size_t size)
{
    size_t at = 0;
    for (; *text && at + 4 < size; text++) {
        unsigned char c = (unsigned char) *text;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || strchr ("-_.~", c))
            buf [at++] = (char) c;
        else
            at += (size_t) snprintf (buf + at, size - at, "%%%02X", c);
    }
    buf [at] = 0;
    return buf;
}

#endif
