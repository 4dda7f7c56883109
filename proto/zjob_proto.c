/*  =========================================================================
    zjob_proto - the wire protocol: commands, routes, sockets, decoding

    Decoding is layered so that nothing is trusted before it is checked,
    and nothing is allocated before the bytes are known to be sane:

      1. size: an empty frame, or one over ZJOB_MSG_MAX, stops here.
      2. structure: s_scan walks the msgpack bytes without allocating.
         msgpack-c allocates a container's item array from the count in
         its header before reading the items, so a five-byte "array of 4
         billion" would ask for ~100 GB; the walk refuses any header whose
         count exceeds the bytes left, nesting over ZJOB_MSG_DEPTH_MAX and
         more than ZJOB_MSG_OBJECTS_MAX values. What msgpack-c then
         allocates is at most 24 bytes per value.
      3. envelope: [version, command, request_id, body], read straight from
         the bytes (s_peek), version first, so that a peer of another
         version gets 505 and not a confusing 400.
      4. msgpack-c unpacks the frame into one zone; strings and bins point
         into the frame, so nothing is copied.
      5. the body is checked against the command's field table (s_table_t, in
         zjob_proto_schema.c):
         every field a command defines has a type and bounds, required
         fields must be there, unknown keys are skipped (a later minor
         revision may add optional fields), nil is the same as absent, a
         key given twice is an error. SUBMIT's specs, LIST's query and a
         bulk operation's target are built into the zone as they are
         checked, so the broker gets C structs, not msgpack.

    The field tables are the protocol: PROTOCOL.md's tables are written
    from them, and the test suite round-trips every one. An error names the
    command and the path of the field ("SUBMIT: jobs[3].priority: ...").

    The message struct itself is allocated in the zone, so a decoded
    message costs msgpack-c's zone (two mallocs) and nothing else.

    The codec is split by responsibility: this file has the commands and
    routes, the socket helpers, the bounded byte walk, the envelope and
    decode (steps 1 to 4); zjob_proto_fields.c has the field tables,
    zjob_proto_schema.c step 5; zjob_proto_read.c the typed readers of a decoded message;
    zjob_proto_build.c the builder. zjob_proto_impl.h is what they share.
    ========================================================================= */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto_impl.h"

//  --------------------------------------------------------------------------
//  Commands

typedef struct {
    const char *name;   //  Wire name
    unsigned routes;    //  Bit (1 << route) per route it may take
    unsigned requests;  //  Bit per route where it expects a reply
} s_cmd_info_t;

#define R_CB (1u << ZJOB_ROUTE_CLIENT_BROKER)
#define R_BC (1u << ZJOB_ROUTE_BROKER_CLIENT)
#define R_WB (1u << ZJOB_ROUTE_WORKER_BROKER)
#define R_BW (1u << ZJOB_ROUTE_BROKER_WORKER)
#define R_EV (1u << ZJOB_ROUTE_EVENTS)

static const s_cmd_info_t s_cmds [ZJOB_CMD_COUNT] = {
    [ZJOB_CMD_UNKNOWN] = { "UNKNOWN", 0, 0 },
    [ZJOB_CMD_SUBMIT] = { "SUBMIT", R_CB, R_CB },
    [ZJOB_CMD_GET] = { "GET", R_CB, R_CB },
    [ZJOB_CMD_LIST] = { "LIST", R_CB, R_CB },
    [ZJOB_CMD_DELETE] = { "DELETE", R_CB, R_CB },
    [ZJOB_CMD_START] = { "START", R_CB, R_CB },
    [ZJOB_CMD_PAUSE] = { "PAUSE", R_CB | R_BW, R_CB | R_BW },
    [ZJOB_CMD_RESUME] = { "RESUME", R_CB | R_BW, R_CB | R_BW },
    [ZJOB_CMD_CANCEL] = { "CANCEL", R_CB | R_BW, R_CB | R_BW },
    [ZJOB_CMD_STATUS] = { "STATUS", R_CB, R_CB },
    [ZJOB_CMD_RESULTS] = { "RESULTS", R_CB, R_CB },
    [ZJOB_CMD_CLEANUP] = { "CLEANUP", R_CB, R_CB },
    [ZJOB_CMD_STATS] = { "STATS", R_CB, R_CB },
    [ZJOB_CMD_WORKERS] = { "WORKERS", R_CB, R_CB },
    [ZJOB_CMD_PING] = { "PING", R_CB, R_CB },
    [ZJOB_CMD_OK] = { "OK", R_BC | R_WB | R_BW, 0 },
    [ZJOB_CMD_ERROR] = { "ERROR", R_BC | R_WB | R_BW, 0 },
    [ZJOB_CMD_READY] = { "READY", R_WB, R_WB },
    [ZJOB_CMD_JOB] = { "JOB", R_BW, 0 },
    [ZJOB_CMD_PROGRESS] = { "PROGRESS", R_WB, 0 },
    [ZJOB_CMD_RESULT] = { "RESULT", R_WB, R_WB },
    [ZJOB_CMD_CREDIT] = { "CREDIT", R_WB, 0 },
    [ZJOB_CMD_HEARTBEAT] = { "HEARTBEAT", R_WB | R_BW, 0 },
    [ZJOB_CMD_RECONNECT] = { "RECONNECT", R_BW, 0 },
    [ZJOB_CMD_DISCONNECT] = { "DISCONNECT", R_WB | R_BW, 0 },
    [ZJOB_CMD_EVENT] = { "EVENT", R_EV, 0 },
    [ZJOB_CMD_RETRY] = { "RETRY", R_CB, R_CB },
    [ZJOB_CMD_RUN_NOW] = { "RUN_NOW", R_CB, R_CB },
    //  Named, on no route yet: each owner opens its command's route
    //  (R_CB, R_CB) with its schema, reply table and handler
    [ZJOB_CMD_BATCH] = { "BATCH", R_CB, R_CB },  //  zjob_clients_batch.c
    [ZJOB_CMD_TEMPLATE] = { "TEMPLATE", R_CB, R_CB },
    [ZJOB_CMD_SCHEDULE] = { "SCHEDULE", R_CB, R_CB },
    [ZJOB_CMD_QUEUE] = { "QUEUE", R_CB, R_CB },
    [ZJOB_CMD_METRICS] = { "METRICS", R_CB, R_CB },
};

static const char *s_route_names [ZJOB_ROUTE_COUNT] = {
    "client->broker", "broker->client", "worker->broker", "broker->worker", "events"
};

const char *
zjob_cmd_name (zjob_cmd_t cmd)
{
    return (unsigned) cmd < ZJOB_CMD_COUNT ? s_cmds [cmd].name : "UNKNOWN";
}

//  The command whose name is the len bytes at name, or ZJOB_CMD_UNKNOWN
static zjob_cmd_t
s_cmd_lookup (const char *name, size_t len)
{
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        if (strlen (s_cmds [cmd].name) == len && memcmp (s_cmds [cmd].name, name, len) == 0)
            return (zjob_cmd_t) cmd;
    return ZJOB_CMD_UNKNOWN;
}

zjob_cmd_t
zjob_cmd_parse (const char *name)
{
    return name ? s_cmd_lookup (name, strlen (name)) : ZJOB_CMD_UNKNOWN;
}

bool
zjob_cmd_allowed (zjob_cmd_t cmd, zjob_route_t route)
{
    return (unsigned) cmd < ZJOB_CMD_COUNT && (unsigned) route < ZJOB_ROUTE_COUNT
        && (s_cmds [cmd].routes & (1u << route));
}

bool
zjob_cmd_is_request (zjob_cmd_t cmd, zjob_route_t route)
{
    return (unsigned) cmd < ZJOB_CMD_COUNT && (unsigned) route < ZJOB_ROUTE_COUNT
        && (s_cmds [cmd].requests & (1u << route));
}

const char *
zjob_route_name (zjob_route_t route)
{
    return (unsigned) route < ZJOB_ROUTE_COUNT ? s_route_names [route] : "unknown";
}

void
zjob_proto_socket_setup (zsock_t *sock)
{
    if (!sock)
        return;
    zsock_set_maxmsgsize (sock, ZJOB_MSG_MAX);
    zsock_set_sndhwm (sock, ZJOB_HWM);
    zsock_set_rcvhwm (sock, ZJOB_HWM);
}

//  A frame was received into frame: 1 if it is a whole message; else the
//  rest of its message is read and dropped, frame closed, -1
static int
s_single_frame (void *handle, zmq_msg_t *frame)
{
    if (!zmq_msg_more (frame))
        return 1;
    while (zmq_msg_more (frame) && zmq_msg_recv (frame, handle, 0) != -1)
        ;
    zmq_msg_close (frame);
    return -1;
}

int
zjob_proto_recv_frame (zsock_t *sock, zmq_msg_t *frame)
{
    void *handle = zsock_resolve (sock);
    zmq_msg_init (frame);
    if (zmq_msg_recv (frame, handle, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close (frame);
        return 0;
    }
    return s_single_frame (handle, frame);
}

int
zjob_proto_recv_frame_wait (zsock_t *sock, zmq_msg_t *frame, int timeout_ms)
{
    if (timeout_ms == 0)
        return zjob_proto_recv_frame (sock, frame);
    void *handle = zsock_resolve (sock);
    int timeout = timeout_ms < 0 ? -1 : timeout_ms;
    zmq_setsockopt (handle, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    zmq_msg_init (frame);
    int rc = zmq_msg_recv (frame, handle, 0);
    int error = rc == -1 ? zmq_errno () : 0;
    timeout = -1;
    zmq_setsockopt (handle, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    if (rc == -1) {
        zmq_msg_close (frame);
        if (error == ETERM || (error == EINTR && zsys_interrupted))
            return -2;
        return 0;
    }
    return s_single_frame (handle, frame);
}

int
zjob_proto_wait_input (zsock_t *sock, int timeout_ms)
{
    int fd;
    size_t size = sizeof (fd);
    if (zmq_getsockopt (zsock_resolve (sock), ZMQ_FD, &fd, &size))
        return -1;
    struct pollfd item = { fd, POLLIN, 0 };
    int rc = poll (&item, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR && !zsys_interrupted ? 0 : -1;
    return rc > 0 ? 1 : 0;
}


//  --------------------------------------------------------------------------
//  msgpack byte walking: bounds-checked, no allocation

//  Walk the one msgpack value at data within the wire's limits (see
//  zjob_msgpack.h); on ZJOB_SCAN_OK *end_p is its length
static zjob_scan_t
s_scan (const uint8_t *data, size_t size, size_t *end_p)
{
    return zjob_msgpack_scan (data, size, ZJOB_MSG_DEPTH_MAX, ZJOB_MSG_OBJECTS_MAX, end_p);
}

//  Read an unsigned integer (any integer format, non-negative) at *pos_p.
//  Returns true and advances *pos_p if there is one there.
static bool
s_read_uint (const uint8_t *data, size_t size, size_t *pos_p, uint64_t *value)
{
    size_t pos = *pos_p;
    if (pos >= size)
        return false;
    uint8_t byte = data [pos++];
    int width = 0;
    bool is_signed = false;
    if (byte <= 0x7f) {
        *value = byte;
        *pos_p = pos;
        return true;
    }
    switch (byte) {
        case 0xcc: width = 1; break;
        case 0xcd: width = 2; break;
        case 0xce: width = 4; break;
        case 0xcf: width = 8; break;
        case 0xd0:
            width = 1;
            is_signed = true;
            break;
        case 0xd1:
            width = 2;
            is_signed = true;
            break;
        case 0xd2:
            width = 4;
            is_signed = true;
            break;
        case 0xd3:
            width = 8;
            is_signed = true;
            break;
        default: return false;
    }
    if ((size_t) width > size - pos)
        return false;
    uint64_t raw = zjob_msgpack_read_be (data + pos, width);
    if (is_signed && (raw >> (width * 8 - 1)) & 1)
        return false;  //  Negative
    *value = raw;
    *pos_p = pos + width;
    return true;
}

//  Read a str header at *pos_p: its bytes' offset and length
static bool
s_read_str (const uint8_t *data, size_t size, size_t *pos_p, size_t *at_p, size_t *len_p)
{
    size_t pos = *pos_p;
    if (pos >= size)
        return false;
    uint8_t byte = data [pos++];
    uint64_t len;
    int width = 0;
    if (byte >= 0xa0 && byte <= 0xbf)
        len = byte & 0x1f;
    else if (byte == 0xd9 || byte == 0xda || byte == 0xdb) {
        width = byte == 0xd9 ? 1 : byte == 0xda ? 2
                                                : 4;
        if ((size_t) width > size - pos)
            return false;
        len = zjob_msgpack_read_be (data + pos, width);
        pos += width;
    }
    else
        return false;
    if (len > size - pos)
        return false;
    *at_p = pos;
    *len_p = (size_t) len;
    *pos_p = pos + (size_t) len;
    return true;
}

//  What the envelope's first bytes say, read without trusting the rest
typedef struct {
    bool is_array;     //  Starts with an array header
    uint64_t items;    //  Its item count
    bool has_version;  //  Item 1 is an unsigned integer
    uint64_t version;
    bool has_command;     //  Item 2 is a str
    const char *command;  //  Its bytes (not NUL-terminated)
    size_t command_len;
    bool has_request_id;  //  Item 3 is an unsigned integer
    uint64_t request_id;
} s_head_t;

static void
s_peek (const uint8_t *data, size_t size, s_head_t *head)
{
    memset (head, 0, sizeof (*head));
    if (!data || size == 0)
        return;
    size_t pos = 1;
    uint8_t byte = data [0];
    if (byte >= 0x90 && byte <= 0x9f)
        head->items = byte & 0x0f;
    else if ((byte == 0xdc && size >= 3) || (byte == 0xdd && size >= 5)) {
        int width = byte == 0xdc ? 2 : 4;
        head->items = zjob_msgpack_read_be (data + 1, width);
        pos += width;
    }
    else
        return;
    head->is_array = true;
    if (head->items < 1)
        return;
    size_t end;
    if (s_read_uint (data, size, &pos, &head->version))
        head->has_version = true;
    else if (s_scan (data + pos, size - pos, &end) == ZJOB_SCAN_OK)
        pos += end;
    else
        return;
    if (head->items < 2)
        return;
    size_t at, len;
    if (s_read_str (data, size, &pos, &at, &len)) {
        head->has_command = true;
        head->command = (const char *) data + at;
        head->command_len = len;
    }
    else if (s_scan (data + pos, size - pos, &end) == ZJOB_SCAN_OK)
        pos += end;
    else
        return;
    if (head->items < 3)
        return;
    if (s_read_uint (data, size, &pos, &head->request_id))
        head->has_request_id = true;
}

//  Copy up to size - 1 bytes of text into buf for a message, with anything
//  not printable shown as '?'
void
zjob_proto_printable (char *buf, size_t size, const char *text, size_t len)
{
    size_t i;
    for (i = 0; i < len && i + 1 < size; i++)
        buf [i] = (text [i] >= 0x20 && text [i] < 0x7f) ? text [i] : '?';
    buf [i] = 0;
}


//  --------------------------------------------------------------------------
//  Decoding

//  The zones messages are decoded into. Each thread keeps the zone of the
//  last message it destroyed, cleared, for its next decode: a zone is an
//  8 KB malloc, and a broker, client or worker decodes one per message,
//  typically destroying each before the next arrives. The spare is freed
//  when its thread ends (the key's destructor); the main thread's, at
//  exit, stays reachable from its thread data.
static pthread_key_t s_zone_key;
static pthread_once_t s_zone_once = PTHREAD_ONCE_INIT;
static bool s_zone_keyed;  //  The key was made

static void
s_zone_release (void *zone)
{
    msgpack_zone_free ((msgpack_zone *) zone);
}

static void
s_zone_key_make (void)
{
    s_zone_keyed = pthread_key_create (&s_zone_key, s_zone_release) == 0;
}

static msgpack_zone *
s_zone_take (void)
{
    pthread_once (&s_zone_once, s_zone_key_make);
    msgpack_zone *zone = s_zone_keyed ? (msgpack_zone *) pthread_getspecific (s_zone_key) : NULL;
    if (zone) {
        pthread_setspecific (s_zone_key, NULL);
        return zone;
    }
    return msgpack_zone_new (MSGPACK_ZONE_CHUNK_SIZE);
}

//  Give back a zone taken by s_zone_take (NULL does nothing): it becomes
//  the thread's spare, cleared to its first chunk, or is freed if the
//  thread has one already
static void
s_zone_give (msgpack_zone *zone)
{
    if (!zone)
        return;
    if (s_zone_keyed && !pthread_getspecific (s_zone_key)) {
        msgpack_zone_clear (zone);
        if (pthread_setspecific (s_zone_key, zone) == 0)
            return;
    }
    msgpack_zone_free (zone);
}

//  Steps 1 and 2: the frame's size, and its msgpack structure walked
//  without allocating. Returns 0 if it holds exactly one value within the
//  wire's limits, else -1 with err set.
static int
s_check_frame (const uint8_t *bytes, size_t size, zjob_error_t *err)
{
    if (!bytes || size == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "empty message: expected [version, command, request_id, body]");
        return -1;
    }
    if (size > ZJOB_MSG_MAX) {
        zjob_error_set (err, ZJOB_TOO_LARGE, "message of %zu bytes is over the limit of %d bytes",
                        size, ZJOB_MSG_MAX);
        return -1;
    }
    size_t end = 0;
    switch (s_scan (bytes, size, &end)) {
        case ZJOB_SCAN_OK:
            break;
        case ZJOB_SCAN_TRUNCATED:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "not msgpack: the message is truncated");
            return -1;
        case ZJOB_SCAN_INVALID:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "not msgpack: invalid byte 0xc1");
            return -1;
        case ZJOB_SCAN_TOO_DEEP:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "nested deeper than %d levels",
                            ZJOB_MSG_DEPTH_MAX);
            return -1;
        case ZJOB_SCAN_TOO_MANY:
            zjob_error_set (err, ZJOB_TOO_LARGE, "more than %d values in one message",
                            ZJOB_MSG_OBJECTS_MAX);
            return -1;
    }
    if (end != size) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "%zu bytes after the message: a frame holds exactly one array",
                        size - end);
        return -1;
    }
    return 0;
}

zjob_msg_t *
zjob_msg_decode (const void *data, size_t size, zjob_route_t route, zjob_error_t *err)
{
    zjob_error_t local;
    if (!err)
        err = &local;
    const uint8_t *bytes = (const uint8_t *) data;
    if ((unsigned) route >= ZJOB_ROUTE_COUNT) {
        zjob_error_set (err, ZJOB_INTERNAL, "decode: unknown route %d", (int) route);
        return NULL;
    }
    if (s_check_frame (bytes, size, err))
        return NULL;
    //  The envelope, read from the bytes (they are known to be whole)
    s_head_t head;
    s_peek (bytes, size, &head);
    if (!head.is_array || head.items != 4) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "not an array [version, command, request_id, body]");
        return NULL;
    }
    if (!head.has_version) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "version: expected an unsigned integer");
        return NULL;
    }
    if (head.version != ZJOB_PROTO_VERSION) {
        zjob_error_set (err, ZJOB_VERSION_MISMATCH,
                        "protocol version %" PRIu64 " is not supported; supported version: %d",
                        head.version, ZJOB_PROTO_VERSION);
        return NULL;
    }
    if (!head.has_command) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "command: expected a string");
        return NULL;
    }
    zjob_cmd_t cmd = s_cmd_lookup (head.command, head.command_len);
    if (cmd == ZJOB_CMD_UNKNOWN) {
        char shown [40];
        zjob_proto_printable (shown, sizeof (shown), head.command, head.command_len);
        zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown command \"%s\"", shown);
        return NULL;
    }
    if (!zjob_cmd_allowed (cmd, route)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "command %s is not valid on the %s route",
                        zjob_cmd_name (cmd), zjob_route_name (route));
        return NULL;
    }
    if (!head.has_request_id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: request_id: expected an unsigned integer",
                        zjob_cmd_name (cmd));
        return NULL;
    }
    //  Unpack into a zone (the thread's spare one if it has it); the walk
    //  above bounds what msgpack-c allocates. msgpack_unpack is the call
    //  that takes a zone; msgpack_unpack_next would make a new one.
    msgpack_zone *zone = s_zone_take ();
    msgpack_object top;
    size_t offset = 0;
    msgpack_unpack_return rc = zone ? msgpack_unpack ((const char *) bytes, size, &offset, zone,
                                                      &top)
                                    : MSGPACK_UNPACK_NOMEM_ERROR;
    if (rc != MSGPACK_UNPACK_SUCCESS || top.type != MSGPACK_OBJECT_ARRAY
        || top.via.array.size != 4) {
        s_zone_give (zone);
        zjob_error_set (err, rc == MSGPACK_UNPACK_NOMEM_ERROR ? ZJOB_INTERNAL : ZJOB_BAD_REQUEST,
                        "%s: msgpack could not unpack the message", zjob_cmd_name (cmd));
        return NULL;
    }
    zjob_msg_t *self = (zjob_msg_t *) msgpack_zone_malloc (zone, sizeof (zjob_msg_t));
    if (!self) {
        s_zone_give (zone);
        zjob_error_set (err, ZJOB_INTERNAL, "%s: out of memory decoding", zjob_cmd_name (cmd));
        return NULL;
    }
    memset (self, 0, sizeof (*self));
    self->zone = zone;
    self->version = (uint32_t) head.version;
    self->command = cmd;
    self->route = route;
    self->request_id = head.request_id;
    self->body = &top.via.array.ptr [3];
    zjob_proto_ctx_t ctx = { self, zjob_cmd_name (cmd), err };
    if (zjob_proto_check_body (&ctx)) {
        s_zone_give (zone);
        return NULL;
    }
    return self;
}

bool
zjob_msg_peek (const void *data, size_t size, uint64_t *request_id_p, zjob_cmd_t *command_p)
{
    s_head_t head;
    s_peek ((const uint8_t *) data, size, &head);
    if (command_p)
        *command_p = head.has_command ? s_cmd_lookup (head.command, head.command_len)
                                      : ZJOB_CMD_UNKNOWN;
    if (request_id_p)
        *request_id_p = head.has_request_id ? head.request_id : 0;
    return head.has_request_id;
}

zframe_t *
zjob_msg_error_for (const void *data, size_t size, const zjob_error_t *err)
{
    uint64_t request_id;
    zjob_cmd_t cmd;
    if (!zjob_msg_peek (data, size, &request_id, &cmd))
        return NULL;
    //  Never answer an answer: two peers would bounce errors for ever
    if (cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR || cmd == ZJOB_CMD_RECONNECT
        || cmd == ZJOB_CMD_EVENT)
        return NULL;
    zjob_error_t fallback;
    if (!err || err->code < 100 || err->code > 599) {
        zjob_error_set (&fallback, ZJOB_BAD_REQUEST, "malformed message");
        err = &fallback;
    }
    return zjob_msg_error_new (request_id, err);
}

void
zjob_msg_adopt (zjob_msg_t *self, zframe_t **frame_p)
{
    if (!self || !frame_p)
        return;
    if (self->frame != *frame_p)
        zframe_destroy (&self->frame);
    self->frame = *frame_p;
    *frame_p = NULL;
}

void
zjob_msg_destroy (zjob_msg_t **self_p)
{
    if (self_p && *self_p) {
        zjob_msg_t *self = *self_p;
        zframe_destroy (&self->frame);
        s_zone_give (self->zone);  //  self lives in the zone
        *self_p = NULL;
    }
}

//  The route a request travelled on, given the route of its reply
static int
s_request_route (zjob_route_t reply_route)
{
    switch (reply_route) {
        case ZJOB_ROUTE_BROKER_CLIENT: return ZJOB_ROUTE_CLIENT_BROKER;
        case ZJOB_ROUTE_BROKER_WORKER: return ZJOB_ROUTE_WORKER_BROKER;
        case ZJOB_ROUTE_WORKER_BROKER: return ZJOB_ROUTE_BROKER_WORKER;
        default: return -1;
    }
}

int
zjob_msg_check_reply (zjob_msg_t *self, zjob_cmd_t request, zjob_error_t *err)
{
    if (!self)
        return zjob_error_set (err, ZJOB_INTERNAL, "no message");
    if (self->command != ZJOB_CMD_OK)
        return 0;
    int route = s_request_route (self->route);
    if (route < 0 || !zjob_cmd_is_request (request, (zjob_route_t) route))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "OK: %s is not answered on this socket",
                               zjob_cmd_name (request));
    char what [40];
    snprintf (what, sizeof (what), "OK to %s", zjob_cmd_name (request));
    zjob_error_t local;
    zjob_proto_ctx_t ctx = { NULL, what, err ? err : &local };
    return zjob_proto_check_reply (&ctx, self->body, request, (zjob_route_t) route);
}
