/*  =========================================================================
    zjob_http_impl - what the files of zjob_http share: the server, one
    request, the broker call and the responses (private to zjob_http*.c)

    zjob_http.c starts libmicrohttpd and routes each request; the JSON API
    is zjob_http_api.c, the event stream zjob_http_sse.c. Every request
    runs on its connection's own thread, so a wait for the broker blocks
    that thread only; each wait looks at the stop flag every
    ZJOB_HTTP_SLICE_MS, so zjob_http_destroy never waits long.
    ========================================================================= */

#ifndef ZJOB_HTTP_IMPL_H_INCLUDED
#define ZJOB_HTTP_IMPL_H_INCLUDED

#include "zjob_http.h"
#include "zjob_json.h"
#include "zjob_log.h"
#include "zjob_proto.h"
#include "zjob_util.h"
#include <czmq.h>
#include <microhttpd.h>
#include <stdatomic.h>

#define ZJOB_HTTP_GATEWAY_TIMEOUT 504  //  The broker did not answer in time
#define ZJOB_HTTP_PEER_MAX 64          //  bytes of "ADDRESS:PORT" with the NUL
#define ZJOB_HTTP_TOKEN_MAX 256        //  bytes of a token with the NUL

struct _zjob_http_t {
    struct MHD_Daemon *daemon;         //  libmicrohttpd, its threads
    int port;                          //  The bound port
    zjob_broker_access_t access;       //  How to reach the broker
    char token [ZJOB_HTTP_TOKEN_MAX];  //  The http token, "" = none
    size_t token_size;                 //  Its length
    int log_level;                     //  zjob_log_level_t
    atomic_bool stopping;              //  zjob_http_destroy has begun
    atomic_uint_fast64_t requests;     //  Broker requests made (routing ids)
    atomic_int streams;                //  /api/events streams open
};

//  One HTTP request, from its first call to its completion
typedef struct {
    zjob_http_t *http;                  //  The server
    struct MHD_Connection *connection;  //  Its connection (MHD's)
    char method [16];                   //  "GET", "POST"...
    char *path;                         //  The path, unescaped, without the query
    char peer [ZJOB_HTTP_PEER_MAX];     //  Who asked: "127.0.0.1:40404"
    int64_t started;                    //  Mono msecs of its first call
    char *body;                         //  The request body so far (NUL-ended)
    size_t body_size;                   //  Its bytes
    bool body_too_large;                //  Over ZJOB_HTTP_BODY_MAX: 413
    bool no_store;                      //  Answer with Cache-Control: no-store
    int status;                         //  The status answered, 0 = not yet
} zjob_http_request_t;

//  --------------------------------------------------------------------------
//  Responses (zjob_http.c). Each adds the security headers, queues the
//  response and records its status in req; returns what MHD said.

//  Answer data (size bytes, copied) with content_type
enum MHD_Result
zjob_http_respond (zjob_http_request_t *req, int status, const char *content_type,
                   const void *data, size_t size);

//  Answer value as JSON (the reference is taken)
enum MHD_Result
zjob_http_json (zjob_http_request_t *req, int status, json_t *value);

//  Answer {"error": {"code": status, "message": ...}}
enum MHD_Result
zjob_http_error (zjob_http_request_t *req, int status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Answer a broker error (or a timeout) with its HTTP status: the zjob
//  code when it is one of 400 401 403 404 409 413 429 503, 504 for a
//  timeout, else 500
enum MHD_Result
zjob_http_broker_error (zjob_http_request_t *req, const zjob_error_t *err);

//  An empty answer (204...) with the security headers and extra header
//  name: value when name is set
enum MHD_Result
zjob_http_empty (zjob_http_request_t *req, int status, const char *name, const char *value);

//  Queue response as req's answer with status, after adding the
//  security headers; the response is destroyed
enum MHD_Result
zjob_http_queue (zjob_http_request_t *req, int status, struct MHD_Response *response);

//  --------------------------------------------------------------------------
//  The broker (zjob_http_api.c)

//  A new socket of type (ZMQ_DEALER or ZMQ_SUB) connected to endpoint as
//  the broker's HTTP side: the protocol's options, CURVE with the
//  internal keys when they are set, for a DEALER the routing id
//  "http PEER #N". NULL if it cannot be made.
zsock_t *
zjob_http_socket (zjob_http_request_t *req, int type, const char *endpoint);

//  Send the message begun in builder with request id 1 (command cmd) and
//  wait up to timeout_ms for the reply. Returns the OK reply (decoded,
//  checked; the caller destroys it), or NULL with err filled: the
//  broker's ERROR, ZJOB_HTTP_GATEWAY_TIMEOUT when it did not answer,
//  ZJOB_UNAVAILABLE when the server stops.
zjob_msg_t *
zjob_http_call (zjob_http_request_t *req, zjob_msg_builder_t *builder, zjob_cmd_t cmd,
                int timeout_ms, zjob_error_t *err);

//  GET /api/... and POST /api/...: the JSON API
enum MHD_Result
zjob_http_api (zjob_http_request_t *req);

//  /metrics, /healthz (ready false) and /readyz (ready true)
enum MHD_Result
zjob_http_metrics (zjob_http_request_t *req);
enum MHD_Result
zjob_http_probe (zjob_http_request_t *req, bool ready);

//  --------------------------------------------------------------------------
//  Events (zjob_http_sse.c)

//  GET /api/events: a text/event-stream of the broker's events
enum MHD_Result
zjob_http_events (zjob_http_request_t *req);

#endif
