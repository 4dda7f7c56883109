/*  =========================================================================
    helper_zjob_http - a minimal HTTP/1.1 client for the tests of zjob_http
    ========================================================================= */

#include "helper_zjob_http.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static bool
s_send_all (int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t sent = send (fd, data, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        data += sent;
        size -= (size_t) sent;
    }
    return true;
}

//  Connect and send the request; the socket, or -1
static int
s_send_request (int port, const char *method, const char *path, const char *headers,
                const char *body, size_t body_size, bool one_shot)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr)) {
        close (fd);
        return -1;
    }
    char head [4096];
    int size = snprintf (head, sizeof head,
                         "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s", method, path, port,
                         one_shot ? "Connection: close\r\n" : "", headers ? headers : "");
    if (body)
        size += snprintf (head + size, sizeof head - (size_t) size, "Content-Length: %zu\r\n",
                          body_size);
    size += snprintf (head + size, sizeof head - (size_t) size, "\r\n");
    if (!s_send_all (fd, head, (size_t) size) || (body && !s_send_all (fd, body, body_size))) {
        close (fd);
        return -1;
    }
    return fd;
}

//  Read what fd has, up to the deadline, appending to *text_p (size in
//  *size_p). 1 if something came, 0 at the end of the stream, -1 at the
//  deadline.
static int
s_read_some (int fd, char **text_p, size_t *size_p, long long deadline)
{
    long long left = deadline - s_now_ms ();
    if (left <= 0)
        return -1;
    struct pollfd item = { fd, POLLIN, 0 };
    int rc = poll (&item, 1, (int) left);
    if (rc <= 0)
        return rc < 0 && errno == EINTR ? 1 : -1;
    char chunk [16384];
    ssize_t got = recv (fd, chunk, sizeof chunk, 0);
    if (got <= 0)
        return got < 0 && errno == EINTR ? 1 : 0;
    char *text = (char *) realloc (*text_p, *size_p + (size_t) got + 1);
    if (!text)
        return 0;
    memcpy (text + *size_p, chunk, (size_t) got);
    *size_p += (size_t) got;
    text [*size_p] = 0;
    *text_p = text;
    return 1;
}

int
zjob_http_test_request (int port, const char *method, const char *path, const char *headers,
                        const char *body, size_t body_size, zjob_http_test_t *resp,
                        int timeout_ms)
{
    memset (resp, 0, sizeof *resp);
    int fd = s_send_request (port, method, path, headers, body, body_size, true);
    if (fd < 0)
        return 0;
    long long deadline = s_now_ms () + timeout_ms;
    char *text = NULL;
    size_t size = 0;
    int rc;
    while ((rc = s_read_some (fd, &text, &size, deadline)) > 0)
        ;
    close (fd);
    char *split = text ? strstr (text, "\r\n\r\n") : NULL;
    if (rc < 0 || !split) {
        free (text);
        return 0;
    }
    *split = 0;
    resp->head = text;
    resp->body_size = size - (size_t) (split + 4 - text);
    resp->body = (char *) malloc (resp->body_size + 1);
    memcpy (resp->body, split + 4, resp->body_size);
    resp->body [resp->body_size] = 0;
    if (sscanf (text, "HTTP/1.%*d %d", &resp->status) != 1)
        resp->status = 0;
    return resp->status;
}

int
zjob_http_test_get (int port, const char *path, const char *headers, zjob_http_test_t *resp)
{
    return zjob_http_test_request (port, "GET", path, headers, NULL, 0, resp, 15000);
}

char *
zjob_http_test_header (const zjob_http_test_t *resp, const char *name)
{
    size_t name_size = strlen (name);
    for (const char *line = resp->head; line; line = strstr (line, "\r\n")) {
        if (line [0] == '\r')
            line += 2;
        if (strncasecmp (line, name, name_size) == 0 && line [name_size] == ':') {
            const char *value = line + name_size + 1;
            while (*value == ' ')
                value++;
            const char *end = strstr (value, "\r\n");
            return strndup (value, end ? (size_t) (end - value) : strlen (value));
        }
    }
    return NULL;
}

void
zjob_http_test_free (zjob_http_test_t *resp)
{
    free (resp->head);
    free (resp->body);
    memset (resp, 0, sizeof *resp);
}

int
zjob_http_test_open (int port, const char *path, const char *headers)
{
    return s_send_request (port, "GET", path, headers, NULL, 0, false);
}

bool
zjob_http_test_wait (int fd, char **text_p, const char *needle, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms;
    size_t size = *text_p ? strlen (*text_p) : 0;
    while (!(*text_p && strstr (*text_p, needle)))
        if (s_read_some (fd, text_p, &size, deadline) <= 0)
            return false;
    return true;
}
