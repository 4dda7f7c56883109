/*  =========================================================================
    zjob_http_sse - GET /api/events: the broker's events as server-sent
    events

    Each stream has its own SUB on the broker's events socket, subscribed
    to the narrowest topic prefix the query allows (zjob_event_prefix:
    job/ID/, wf/WORKFLOW/[TYPE/], ev/TYPE/ or ev/), so the broker's XPUB
    sends it little it does not want; what the prefix cannot rule out (a
    name holding '/', a second criterion) is filtered here on the decoded
    message, which is the truth (PROTOCOL.md 11.1). Each EVENT goes out as

        id: SEQ
        event: TYPE
        data: {the EVENT body as JSON}

    and a ": keepalive" comment after ZJOB_HTTP_KEEPALIVE_MS of silence,
    so that proxies and the connection timeout leave the stream open.

    libmicrohttpd calls the content reader on the connection's own thread
    (one per connection), where blocking is allowed: the reader waits for
    an event in ZJOB_HTTP_SLICE_MS slices, looking at the stop flag and at
    the client's socket (a peek that reads 0 bytes: the client left, and
    the stream's slot is freed without waiting for a write to fail).
    ========================================================================= */

#include "zjob_http_impl.h"
#include <sys/socket.h>

#define S_EVENTS_PER_READ 100  //  events read from the SUB per reader call at most

typedef struct {
    zjob_http_t *http;
    zsock_t *sub;                //  On the broker's events socket
    int client_fd;               //  The client's socket, -1: not watched
    char type [ZJOB_TOPIC_MAX];  //  Filters: "" = any
    char workflow [ZJOB_TOPIC_MAX];
    char job [ZJOB_TOPIC_MAX];
    char *pending;        //  Text not yet handed to MHD
    size_t pending_size;  //  Its bytes
    size_t pending_at;    //  Bytes of it handed already
    int64_t last_write;   //  Mono msecs of the last text handed out
} s_stream_t;

static void
s_stream_free (void *cls)
{
    s_stream_t *stream = (s_stream_t *) cls;
    zsock_destroy (&stream->sub);
    atomic_fetch_sub (&stream->http->streams, 1);
    free (stream->pending);
    free (stream);
}

//  Append text to the pending output; false if out of memory
static bool
s_append (s_stream_t *stream, const char *text, size_t size)
{
    char *pending = (char *) realloc (stream->pending, stream->pending_size + size);
    if (!pending)
        return false;
    memcpy (pending + stream->pending_size, text, size);
    stream->pending = pending;
    stream->pending_size += size;
    return true;
}

//  True if field of msg is filter (or filter is "")
static bool
s_matches (zjob_msg_t *msg, const char *key, const char *filter)
{
    if (!*filter)
        return true;
    const char *value = zjob_msg_str (msg, key);
    return value && streq (value, filter);
}

//  One [topic][message] from the SUB into the pending output, if it
//  passes the filters
static void
s_take_event (s_stream_t *stream, zmsg_t *zmsg)
{
    zframe_t *topic = zmsg_first (zmsg);
    zframe_t *frame = topic ? zmsg_next (zmsg) : NULL;
    if (!frame)
        return;
    zjob_error_t err;
    zjob_msg_t *msg
        = zjob_msg_decode (zframe_data (frame), zframe_size (frame), ZJOB_ROUTE_EVENTS, &err);
    if (!msg)
        return;
    const char *type = zjob_msg_str (msg, "type");
    if (zjob_msg_command (msg) == ZJOB_CMD_EVENT && type && !strpbrk (type, "\r\n")
        && s_matches (msg, "type", stream->type) && s_matches (msg, "workflow_id", stream->workflow)
        && s_matches (msg, "id", stream->job)) {
        json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (msg));
        char *data = body ? zjob_json_dumps (body, ZJOB_JSON_COMPACT) : NULL;
        json_decref (body);
        char *text = NULL;
        int size = data ? asprintf (&text, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n",
                                    zjob_msg_request_id (msg), type, data)
                        : -1;
        if (size > 0)
            s_append (stream, text, (size_t) size);
        free (text);
        free (data);
    }
    zjob_msg_destroy (&msg);
}

//  True if the client closed its end (a peek reads 0 bytes)
static bool
s_client_gone (s_stream_t *stream)
{
    char byte;
    ssize_t got = recv (stream->client_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got > 0)
        stream->client_fd = -1;  //  It sent something: stop watching, never spin
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

//  Wait one slice for events; -1 if the client left
static int
s_wait (s_stream_t *stream)
{
    zmq_pollitem_t items [] = { { zsock_resolve (stream->sub), 0, ZMQ_POLLIN, 0 },
                                { NULL, stream->client_fd, ZMQ_POLLIN, 0 } };
    int rc = zmq_poll (items, stream->client_fd >= 0 ? 2 : 1, ZJOB_HTTP_SLICE_MS);
    if (rc <= 0)
        return 0;
    if (stream->client_fd >= 0 && (items [1].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
        && s_client_gone (stream))
        return -1;
    for (int count = 0; count < S_EVENTS_PER_READ && (zsock_events (stream->sub) & ZMQ_POLLIN);
         count++) {
        zmsg_t *zmsg = zmsg_recv (stream->sub);
        if (!zmsg)
            break;
        s_take_event (stream, zmsg);
        zmsg_destroy (&zmsg);
    }
    return 0;
}

static ssize_t
s_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    s_stream_t *stream = (s_stream_t *) cls;
    while (stream->pending_at == stream->pending_size) {
        free (stream->pending);
        stream->pending = NULL;
        stream->pending_size = stream->pending_at = 0;
        if (atomic_load (&stream->http->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (zjob_mono_ms () - stream->last_write >= ZJOB_HTTP_KEEPALIVE_MS)
            s_append (stream, ": keepalive\n\n", strlen (": keepalive\n\n"));
        else if (s_wait (stream) < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t size = stream->pending_size - stream->pending_at;
    if (size > max)
        size = max;
    memcpy (buf, stream->pending + stream->pending_at, size);
    stream->pending_at += size;
    stream->last_write = zjob_mono_ms ();
    return (ssize_t) size;
}

//  The query into the stream's filters; false with error filled
static bool
s_query (zjob_http_request_t *req, s_stream_t *stream, char *error, size_t size)
{
    static const char *keys [] = { "type", "workflow", "job" };
    char *fields [] = { stream->type, stream->workflow, stream->job };
    for (size_t index = 0; index < 3; index++) {
        const char *value
            = MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND, keys [index]);
        if (value && (!*value || strlen (value) > ZJOB_NAME_MAX || strpbrk (value, "\r\n"))) {
            snprintf (error, size, "bad value for parameter '%s'", keys [index]);
            return false;
        }
        snprintf (fields [index], ZJOB_TOPIC_MAX, "%s", value ? value : "");
    }
    return true;
}

//  Make the stream: its filters and its subscribed SUB; NULL with the
//  HTTP status in *status_p and error filled
static s_stream_t *
s_stream_new (zjob_http_request_t *req, int *status_p, char *error, size_t size)
{
    *status_p = MHD_HTTP_INTERNAL_SERVER_ERROR;
    s_stream_t *stream = (s_stream_t *) zmalloc (sizeof (s_stream_t));
    if (!stream) {
        snprintf (error, size, "out of memory");
        return NULL;
    }
    stream->http = req->http;
    stream->client_fd = -1;
    char prefix [ZJOB_TOPIC_MAX];
    if (!s_query (req, stream, error, size)
        || zjob_event_prefix (prefix, sizeof prefix, *stream->type ? stream->type : NULL,
                              *stream->workflow ? stream->workflow : NULL,
                              *stream->job ? stream->job : NULL)) {
        *status_p = MHD_HTTP_BAD_REQUEST;
        if (!*error)
            snprintf (error, size, "the query is too long");
        free (stream);
        return NULL;
    }
    stream->sub = zjob_http_socket (req, ZMQ_SUB, req->http->access.events);
    if (!stream->sub) {
        snprintf (error, size, "cannot connect to the broker's events at %.160s",
                  req->http->access.events);
        free (stream);
        return NULL;
    }
    zsock_set_subscribe (stream->sub, prefix);
    const union MHD_ConnectionInfo *info
        = MHD_get_connection_info (req->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info)
        stream->client_fd = info->connect_fd;
    //  The first text opens the stream at once (the client sees the
    //  headers); the subscription reaches the broker soon after
    s_append (stream, ": zjob events\n\n", strlen (": zjob events\n\n"));
    stream->last_write = zjob_mono_ms ();
    return stream;
}

enum MHD_Result
zjob_http_events (zjob_http_request_t *req)
{
    zjob_http_t *http = req->http;
    if (atomic_fetch_add (&http->streams, 1) >= ZJOB_HTTP_STREAMS_MAX) {
        atomic_fetch_sub (&http->streams, 1);
        return zjob_http_error (req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "too many event streams (%d at most)", ZJOB_HTTP_STREAMS_MAX);
    }
    char error [ZJOB_ERROR_TEXT_MAX] = "";
    int status;
    s_stream_t *stream = s_stream_new (req, &status, error, sizeof error);
    if (!stream) {
        atomic_fetch_sub (&http->streams, 1);
        return zjob_http_error (req, status, "%s", error);
    }
    struct MHD_Response *response
        = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16384, s_read, stream, s_stream_free);
    if (!response) {
        s_stream_free (stream);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header (response, "X-Accel-Buffering", "no");
    return zjob_http_queue (req, MHD_HTTP_OK, response);
}
