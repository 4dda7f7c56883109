/*  =========================================================================
    helper_zjob_http - a minimal HTTP/1.1 client for the tests of zjob_http

    One request per connection (Connection: close), answered whole within
    a deadline; and an open stream read bit by bit (server-sent events).
    Enough for zjob_http's responses, which carry a Content-Length or end
    with the connection; no libcurl, no child process.
    ========================================================================= */

#ifndef HELPER_ZJOB_HTTP_H_INCLUDED
#define HELPER_ZJOB_HTTP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int status;  //  The status code, 0 if no answer came
    char *head;  //  The status line and the headers
    char *body;  //  The body (NUL-terminated)
    size_t body_size;
} zjob_http_test_t;

//  Send method path (with headers "Name: value\r\n..." and body, either
//  NULL) to 127.0.0.1:port and read the answer into resp within
//  timeout_ms. Returns the status (0 on a timeout or a refused connection).
int
zjob_http_test_request (int port, const char *method, const char *path, const char *headers,
                        const char *body, size_t body_size, zjob_http_test_t *resp,
                        int timeout_ms);

//  GET path with headers (NULL): zjob_http_test_request
int
zjob_http_test_get (int port, const char *path, const char *headers, zjob_http_test_t *resp);

//  The value of header name in resp (a fresh string), or NULL
char *
zjob_http_test_header (const zjob_http_test_t *resp, const char *name);

//  Free what resp holds; it can be used again
void
zjob_http_test_free (zjob_http_test_t *resp);

//  Open a stream: send GET path with headers and leave the connection
//  open. Returns the socket, or -1.
int
zjob_http_test_open (int port, const char *path, const char *headers);

//  Read from the stream fd into *text_p (grown; a fresh string the first
//  time, the caller frees it) until it holds needle, at most timeout_ms.
//  True if it does; false at the deadline or when the stream ends.
bool
zjob_http_test_wait (int fd, char **text_p, const char *needle, int timeout_ms);

#endif
