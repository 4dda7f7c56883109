/*  =========================================================================
    zjob_http - the broker's HTTP side: Prometheus metrics, health probes,
    a JSON API and the embedded web dashboard

    zjobd --http HOST:PORT starts it after the broker serves. It runs on
    libmicrohttpd's threads (one per connection, at most 64) and never
    touches broker state: each API request is one protocol request sent,
    as any client would, over a DEALER to the broker's clients socket
    (with CURVE, with the broker's internal admin key), and /api/events is
    a SUB on its events socket. Every rule (roles, limits, deep LIST in
    steps, 503 while the store cannot write) is thus the broker's own, and
    the broker loop is never blocked or shared. The routes, their JSON and
    their errors are docs/ARCHITECTURE.md's "zjob_http" and the design of
    issue #13; PROTOCOL.md is the wire.

        zjob_broker_access_t access;
        zjob_broker_access (broker, &access);
        zjob_http_t *http = zjob_http_new (&config, &access, &err);
        printf ("http=%d\n", zjob_http_port (http));
        ...
        zjob_http_destroy (&http);      //  before the broker
    ========================================================================= */

#ifndef ZJOB_HTTP_H_INCLUDED
#define ZJOB_HTTP_H_INCLUDED

#include "zjob_broker.h"
#include "zjob_config.h"
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_HTTP_CONNECTIONS_MAX 64  //  HTTP connections open at once
#define ZJOB_HTTP_STREAMS_MAX 32      //  /api/events streams at once (503 beyond)
#define ZJOB_HTTP_TIMEOUT_S 60        //  secs an idle connection is kept
#define ZJOB_HTTP_BODY_MAX 65536      //  bytes of a request body (413 beyond)
#define ZJOB_HTTP_REPLY_MS 10000      //  msecs a request waits for the broker (504)
#define ZJOB_HTTP_SLICE_MS 100        //  msecs between two looks at the stop flag
#define ZJOB_HTTP_PROBE_MS 2000       //  msecs /healthz and /readyz wait
#define ZJOB_HTTP_KEEPALIVE_MS 15000  //  msecs between two SSE keepalive comments
#define ZJOB_HTTP_TOKEN_MIN 16        //  characters of an http token at least

typedef struct _zjob_http_t zjob_http_t;

//  Start serving HTTP on config->http ("HOST:PORT": an IPv4 address, a
//  bracketed IPv6 address or a name; port 0 picks a free port), reaching
//  the broker through access. With config->http_token, every route but
//  /healthz and /readyz needs that token (the file's first line). Returns
//  the server, or NULL with err filled: ZJOB_BAD_REQUEST for a bad
//  address or token file, ZJOB_UNAVAILABLE when it cannot bind.
zjob_http_t *
zjob_http_new (const zjob_broker_config_t *config, const zjob_broker_access_t *access,
               zjob_error_t *err);

//  The port it listens on (the bound one when config asked for 0)
int
zjob_http_port (zjob_http_t *self);

//  Stop serving: open requests and event streams end within about
//  ZJOB_HTTP_SLICE_MS. Accepts NULL; sets *self_p to NULL.
void
zjob_http_destroy (zjob_http_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
