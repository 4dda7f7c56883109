/*  =========================================================================
    zjob_proto - the wire protocol: commands, limits, message codec

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
      5. the body is checked against the command's field table (s_table_t):
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
    ========================================================================= */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto.h"

//  --------------------------------------------------------------------------
//  Commands

typedef struct {
    const char *name;                   //  Wire name
    unsigned routes;                    //  Bit (1 << route) per route it may take
    unsigned requests;                  //  Bit per route where it expects a reply
} s_cmd_info_t;

#define R_CB (1u << ZJOB_ROUTE_CLIENT_BROKER)
#define R_BC (1u << ZJOB_ROUTE_BROKER_CLIENT)
#define R_WB (1u << ZJOB_ROUTE_WORKER_BROKER)
#define R_BW (1u << ZJOB_ROUTE_BROKER_WORKER)
#define R_EV (1u << ZJOB_ROUTE_EVENTS)

static const s_cmd_info_t s_cmds [ZJOB_CMD_COUNT] = {
    [ZJOB_CMD_UNKNOWN]    = { "UNKNOWN",    0,                   0 },
    [ZJOB_CMD_SUBMIT]     = { "SUBMIT",     R_CB,                R_CB },
    [ZJOB_CMD_GET]        = { "GET",        R_CB,                R_CB },
    [ZJOB_CMD_LIST]       = { "LIST",       R_CB,                R_CB },
    [ZJOB_CMD_DELETE]     = { "DELETE",     R_CB,                R_CB },
    [ZJOB_CMD_START]      = { "START",      R_CB,                R_CB },
    [ZJOB_CMD_PAUSE]      = { "PAUSE",      R_CB | R_BW,         R_CB | R_BW },
    [ZJOB_CMD_RESUME]     = { "RESUME",     R_CB | R_BW,         R_CB | R_BW },
    [ZJOB_CMD_CANCEL]     = { "CANCEL",     R_CB | R_BW,         R_CB | R_BW },
    [ZJOB_CMD_STATUS]     = { "STATUS",     R_CB,                R_CB },
    [ZJOB_CMD_RESULTS]    = { "RESULTS",    R_CB,                R_CB },
    [ZJOB_CMD_CLEANUP]    = { "CLEANUP",    R_CB,                R_CB },
    [ZJOB_CMD_STATS]      = { "STATS",      R_CB,                R_CB },
    [ZJOB_CMD_WORKERS]    = { "WORKERS",    R_CB,                R_CB },
    [ZJOB_CMD_PING]       = { "PING",       R_CB,                R_CB },
    [ZJOB_CMD_OK]         = { "OK",         R_BC | R_WB | R_BW,  0 },
    [ZJOB_CMD_ERROR]      = { "ERROR",      R_BC | R_WB | R_BW,  0 },
    [ZJOB_CMD_READY]      = { "READY",      R_WB,                R_WB },
    [ZJOB_CMD_JOB]        = { "JOB",        R_BW,                0 },
    [ZJOB_CMD_PROGRESS]   = { "PROGRESS",   R_WB,                0 },
    [ZJOB_CMD_RESULT]     = { "RESULT",     R_WB,                R_WB },
    [ZJOB_CMD_CREDIT]     = { "CREDIT",     R_WB,                0 },
    [ZJOB_CMD_HEARTBEAT]  = { "HEARTBEAT",  R_WB | R_BW,         0 },
    [ZJOB_CMD_RECONNECT]  = { "RECONNECT",  R_BW,                0 },
    [ZJOB_CMD_DISCONNECT] = { "DISCONNECT", R_WB | R_BW,         0 },
    [ZJOB_CMD_EVENT]      = { "EVENT",      R_EV,                0 },
};

static const char *s_route_names [ZJOB_ROUTE_COUNT] = {
    "client->broker", "broker->client", "worker->broker", "broker->worker", "events"
};

const char *
zjob_cmd_name (zjob_cmd_t cmd)
{
    return (unsigned) cmd < ZJOB_CMD_COUNT? s_cmds [cmd].name: "UNKNOWN";
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
    return name? s_cmd_lookup (name, strlen (name)): ZJOB_CMD_UNKNOWN;
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
    return (unsigned) route < ZJOB_ROUTE_COUNT? s_route_names [route]: "unknown";
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

int
zjob_proto_recv_frame (zsock_t *sock, zmq_msg_t *frame)
{
    void *handle = zsock_resolve (sock);
    zmq_msg_init (frame);
    if (zmq_msg_recv (frame, handle, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close (frame);
        return 0;
    }
    if (zmq_msg_more (frame)) {
        while (zmq_msg_more (frame) && zmq_msg_recv (frame, handle, 0) != -1)
            ;
        zmq_msg_close (frame);
        return -1;
    }
    return 1;
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
        return errno == EINTR && !zsys_interrupted? 0: -1;
    return rc > 0? 1: 0;
}


//  --------------------------------------------------------------------------
//  Field tables

typedef enum {
    F_STR,                              //  str of min..max bytes
    F_NAME,                             //  str that is a name (zjob_name_valid)
    F_ID,                               //  str that is a job id
    F_STATUS,                           //  str, a status name
    F_PRIORITY,                         //  str, a priority name
    F_SORT,                             //  str, a sort name
    F_ORDER,                            //  str, "asc" or "desc"
    F_UINT,                             //  unsigned integer in min..max
    F_PROGRESS,                         //  number (float or integer) in 0..1
    F_BOOL,                             //  boolean
    F_BIN,                              //  bin of at most max bytes
    F_MAP,                              //  any map
    F_MAPS,                             //  array of at most max maps
    F_NAMES,                            //  array of min..max names
    F_IDS,                              //  array of min..max job ids
    F_UINTS,                            //  array of at most max unsigned integers
    F_STATUSES,                         //  array of status names
    F_FILTER,                           //  filter map (s_filter_fields)
    F_SPECS,                            //  array of min..max spec maps (s_spec_fields)
    F_ITEMS                             //  array of min..max maps, each checked against
                                        //  the field's items table
} s_type_t;

struct _s_table_t;

typedef struct {
    const char *key;                    //  Wire key
    s_type_t type;
    bool required;                      //  Must be present and not nil
    uint64_t min;                       //  F_STR length, F_UINT value, array count
    uint64_t max;                       //  Same; 0 = no bound for arrays, F_STR, F_BIN
    const struct _s_table_t *items;     //  F_ITEMS: the table of each item, else NULL
} s_field_t;

typedef struct _s_table_t {
    const s_field_t *fields;
    size_t count;
} s_table_t;

#define TABLE(fields) { fields, sizeof (fields) / sizeof (fields [0]) }
#define NO_TABLE { NULL, 0 }
#define FIELDS_MAX 32                   //  Fields in the largest table
#define REQ true
#define OPT false
#define TEXT_MAX ZJOB_MESSAGE_MAX
#define TIME_MAX ((uint64_t) INT64_MAX)

//  A job spec in SUBMIT; indexes are used to build zjob_spec_t
enum { SP_WORKFLOW, SP_INPUTS, SP_PRIORITY, SP_USER, SP_TAGS, SP_METADATA, SP_IDEM,
       SP_MAXA, SP_RUNAT };
static const s_field_t s_spec_fields [] = {
    [SP_WORKFLOW] = { "workflow_id",     F_NAME,     REQ, 0, 0, NULL },
    [SP_INPUTS]   = { "inputs",          F_BIN,      OPT, 0, ZJOB_DATA_MAX, NULL },
    [SP_PRIORITY] = { "priority",        F_PRIORITY, OPT, 0, 0, NULL },
    [SP_USER]     = { "user_id",         F_NAME,     OPT, 0, 0, NULL },
    [SP_TAGS]     = { "tags",            F_NAMES,    OPT, 0, ZJOB_TAGS_MAX, NULL },
    [SP_METADATA] = { "metadata",        F_BIN,      OPT, 0, ZJOB_DATA_MAX, NULL },
    [SP_IDEM]     = { "idempotency_key", F_NAME,     OPT, 0, 0, NULL },
    [SP_MAXA]     = { "max_attempts",    F_UINT,     OPT, 0, UINT32_MAX, NULL },
    [SP_RUNAT]    = { "run_at",          F_UINT,     OPT, 0, TIME_MAX, NULL },
};
static const s_table_t s_spec_table = TABLE (s_spec_fields);

//  A filter, in LIST and in bulk operations
enum { FI_STATUS, FI_WORKFLOW, FI_USER, FI_TAGS, FI_AFTER, FI_BEFORE, FI_SCHEDULED };
static const s_field_t s_filter_fields [] = {
    [FI_STATUS]   = { "status",          F_STATUSES, OPT, 0, ZJOB_STATUS_COUNT, NULL },
    [FI_WORKFLOW] = { "workflow_id",     F_NAME,     OPT, 0, 0, NULL },
    [FI_USER]     = { "user_id",         F_NAME,     OPT, 0, 0, NULL },
    [FI_TAGS]     = { "tags",            F_NAMES,    OPT, 0, ZJOB_TAGS_MAX, NULL },
    [FI_AFTER]    = { "created_after",   F_UINT,     OPT, 0, TIME_MAX, NULL },
    [FI_BEFORE]   = { "created_before",  F_UINT,     OPT, 0, TIME_MAX, NULL },
    [FI_SCHEDULED] = { "scheduled",      F_BOOL,     OPT, 0, 0, NULL },
};
static const s_table_t s_filter_table = TABLE (s_filter_fields);

//  Request and notification bodies
enum { SU_JOBS, SU_AUTO };
static const s_field_t s_submit [] = {
    [SU_JOBS]     = { "jobs",            F_SPECS,    REQ, 1, ZJOB_BATCH_MAX, NULL },
    [SU_AUTO]     = { "auto_start",      F_BOOL,     OPT, 0, 0, NULL },
};
static const s_field_t s_id_only [] = {
    { "id",              F_ID,       REQ, 0, 0, NULL },
};
enum { LI_FILTER, LI_SORT, LI_ORDER, LI_LIMIT, LI_OFFSET };
static const s_field_t s_list [] = {
    [LI_FILTER]   = { "filter",          F_FILTER,   OPT, 0, 0, NULL },
    [LI_SORT]     = { "sort_by",         F_SORT,     OPT, 0, 0, NULL },
    [LI_ORDER]    = { "order",           F_ORDER,    OPT, 0, 0, NULL },
    [LI_LIMIT]    = { "limit",           F_UINT,     OPT, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    [LI_OFFSET]   = { "offset",          F_UINT,     OPT, 0, UINT64_MAX, NULL },
};
enum { TA_ID, TA_IDS, TA_FILTER };
static const s_field_t s_target [] = {
    [TA_ID]       = { "id",              F_ID,       OPT, 0, 0, NULL },
    [TA_IDS]      = { "ids",             F_IDS,      OPT, 1, ZJOB_BATCH_MAX, NULL },
    [TA_FILTER]   = { "filter",          F_FILTER,   OPT, 0, 0, NULL },
};
static const s_field_t s_cleanup [] = {
    { "retention_ms",    F_UINT,     OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_ready [] = {
    { "worker_id",       F_NAME,     REQ, 0, 0, NULL },
    { "name",            F_NAME,     OPT, 0, 0, NULL },
    { "workflows",       F_NAMES,    REQ, 1, ZJOB_WORKFLOWS_MAX, NULL },
    { "slots",           F_UINT,     REQ, 1, ZJOB_SLOTS_MAX, NULL },
    { "jobs",            F_IDS,      OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "batch",           F_UINT,     OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
enum { JO_JOB, JO_JOBS };
static const s_field_t s_job [] = {
    [JO_JOB]      = { "job",             F_MAP,      OPT, 0, 0, NULL },
    [JO_JOBS]     = { "jobs",            F_MAPS,     OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_progress [] = {
    { "id",              F_ID,       REQ, 0, 0, NULL },
    { "progress",        F_PROGRESS, REQ, 0, 0, NULL },
    { "message",         F_STR,      OPT, 0, TEXT_MAX, NULL },
};
//  One result: the body of a single RESULT, and each item of "results"
//  (the item table is the first five fields)
enum { RE_ID, RE_STATUS, RE_OUTPUTS, RE_KIND, RE_MESSAGE, RE_CREDIT, RE_RESULTS };
static const s_table_t s_result_item_table;
static const s_field_t s_result [] = {
    [RE_ID]       = { "id",              F_ID,       OPT, 0, 0, NULL },
    [RE_STATUS]   = { "status",          F_STATUS,   OPT, 0, 0, NULL },
    [RE_OUTPUTS]  = { "outputs",         F_BIN,      OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND]     = { "error_kind",      F_STR,      OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE]  = { "error_message",   F_STR,      OPT, 0, TEXT_MAX, NULL },
    [RE_CREDIT]   = { "credit",          F_UINT,     OPT, 0, ZJOB_SLOTS_MAX, NULL },
    [RE_RESULTS]  = { "results",         F_ITEMS,    OPT, 1, ZJOB_SLOTS_MAX,
                      &s_result_item_table },
};
static const s_field_t s_result_item [] = {
    [RE_ID]       = { "id",              F_ID,       REQ, 0, 0, NULL },
    [RE_STATUS]   = { "status",          F_STATUS,   REQ, 0, 0, NULL },
    [RE_OUTPUTS]  = { "outputs",         F_BIN,      OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND]     = { "error_kind",      F_STR,      OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE]  = { "error_message",   F_STR,      OPT, 0, TEXT_MAX, NULL },
};
static const s_table_t s_result_item_table = TABLE (s_result_item);
static const s_field_t s_credit [] = {
    { "credit",          F_UINT,     REQ, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_reason [] = {
    { "reason",          F_STR,      OPT, 0, TEXT_MAX, NULL },
};
static const s_field_t s_error [] = {
    { "code",            F_UINT,     REQ, 100, 599, NULL },
    { "message",         F_STR,      REQ, 0, TEXT_MAX, NULL },
    { "supported",       F_UINTS,    OPT, 0, 64, NULL },
};
static const s_field_t s_event [] = {
    { "type",            F_NAME,     REQ, 0, 0, NULL },
    { "time",            F_UINT,     REQ, 0, TIME_MAX, NULL },
    { "id",              F_ID,       OPT, 0, 0, NULL },
    { "workflow_id",     F_NAME,     OPT, 0, 0, NULL },
    { "user_id",         F_NAME,     OPT, 0, 0, NULL },
    { "status",          F_STATUS,   OPT, 0, 0, NULL },
    { "old_status",      F_STATUS,   OPT, 0, 0, NULL },
    { "attempts",        F_UINT,     OPT, 0, UINT32_MAX, NULL },
    { "progress",        F_PROGRESS, OPT, 0, 0, NULL },
    { "progress_message", F_STR,     OPT, 0, TEXT_MAX, NULL },
    { "error_kind",      F_STR,      OPT, 0, ZJOB_NAME_MAX, NULL },
    { "error_message",   F_STR,      OPT, 0, TEXT_MAX, NULL },
    { "worker_id",       F_NAME,     OPT, 0, 0, NULL },
    { "name",            F_NAME,     OPT, 0, 0, NULL },
    { "workflows",       F_NAMES,    OPT, 0, ZJOB_WORKFLOWS_MAX, NULL },
    { "slots",           F_UINT,     OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "reason",          F_STR,      OPT, 0, TEXT_MAX, NULL },
};

//  OK reply bodies
static const s_field_t s_submit_ok [] = {
    { "ids",             F_IDS,      REQ, 1, ZJOB_BATCH_MAX, NULL },
    { "existing",        F_UINTS,    OPT, 0, ZJOB_BATCH_MAX, NULL },
};
static const s_field_t s_get_ok [] = {
    { "job",             F_MAP,      REQ, 0, 0, NULL },
};
static const s_field_t s_list_ok [] = {
    { "jobs",            F_MAPS,     REQ, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    { "total",           F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "offset",          F_UINT,     OPT, 0, UINT64_MAX, NULL },
};
static const s_field_t s_target_ok [] = {
    { "id",              F_ID,       OPT, 0, 0, NULL },
    { "status",          F_STATUS,   OPT, 0, 0, NULL },
    { "done",            F_UINT,     OPT, 0, UINT64_MAX, NULL },
    { "failed",          F_UINT,     OPT, 0, UINT64_MAX, NULL },
    { "errors",          F_MAPS,     OPT, 0, ZJOB_BULK_ERRORS_MAX, NULL },
};
static const s_field_t s_status_ok [] = {
    { "id",              F_ID,       REQ, 0, 0, NULL },
    { "status",          F_STATUS,   REQ, 0, 0, NULL },
    { "progress",        F_PROGRESS, OPT, 0, 0, NULL },
    { "progress_message", F_STR,     OPT, 0, TEXT_MAX, NULL },
    { "updated_at",      F_UINT,     OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_results_ok [] = {
    { "id",              F_ID,       REQ, 0, 0, NULL },
    { "status",          F_STATUS,   REQ, 0, 0, NULL },
    { "outputs",         F_BIN,      OPT, 0, ZJOB_DATA_MAX, NULL },
    { "error_kind",      F_STR,      OPT, 0, ZJOB_NAME_MAX, NULL },
    { "error_message",   F_STR,      OPT, 0, TEXT_MAX, NULL },
    { "completed_at",    F_UINT,     OPT, 0, TIME_MAX, NULL },
    { "execution_ms",    F_UINT,     OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_cleanup_ok [] = {
    { "deleted",         F_UINT,     REQ, 0, UINT64_MAX, NULL },
};
static const s_field_t s_stats_ok [] = {
    { "jobs",            F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "by_status",       F_MAP,      REQ, 0, 0, NULL },
    { "by_workflow",     F_MAP,      REQ, 0, 0, NULL },
    { "queued",          F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "active",          F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "workers",         F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "slots",           F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "busy",            F_UINT,     REQ, 0, UINT64_MAX, NULL },
    { "max_concurrent",  F_UINT,     OPT, 0, UINT64_MAX, NULL },
    { "scheduled",       F_UINT,     OPT, 0, UINT64_MAX, NULL },
    { "held_by_limit",   F_BOOL,     OPT, 0, 0, NULL },
    { "rates",           F_MAP,      REQ, 0, 0, NULL },
    { "rate_window_ms",  F_UINT,     REQ, 0, TIME_MAX, NULL },
    { "uptime_ms",       F_UINT,     REQ, 0, TIME_MAX, NULL },
    { "store",           F_MAP,      OPT, 0, 0, NULL },
    { "subscriptions",   F_UINT,     OPT, 0, UINT64_MAX, NULL },
};
static const s_field_t s_workers_ok [] = {
    { "workers",         F_MAPS,     REQ, 0, 0, NULL },
};
static const s_field_t s_ping_ok [] = {
    { "version",         F_UINT,     REQ, 0, UINT32_MAX, NULL },
    { "time",            F_UINT,     REQ, 0, TIME_MAX, NULL },
};
static const s_field_t s_ready_ok [] = {
    { "heartbeat_ms",    F_UINT,     REQ, 1, TIME_MAX, NULL },
    { "liveness",        F_UINT,     REQ, 1, 1000, NULL },
    { "credit",          F_UINT,     REQ, 0, ZJOB_SLOTS_MAX, NULL },
    { "drop",            F_IDS,      OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "max_message",     F_UINT,     OPT, 0, UINT64_MAX, NULL },
    { "batch",           F_UINT,     OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_id_ok [] = {
    { "id",              F_ID,       OPT, 0, 0, NULL },
};
//  A result a multi-result RESULT's OK refuses
enum { RX_ID, RX_CODE, RX_MESSAGE };
static const s_field_t s_result_error [] = {
    [RX_ID]       = { "id",              F_ID,       REQ, 0, 0, NULL },
    [RX_CODE]     = { "code",            F_UINT,     REQ, 100, 599, NULL },
    [RX_MESSAGE]  = { "message",         F_STR,      REQ, 0, TEXT_MAX, NULL },
};
static const s_table_t s_result_error_table = TABLE (s_result_error);
static const s_field_t s_result_ok [] = {
    { "id",              F_ID,       OPT, 0, 0, NULL },
    { "errors",          F_ITEMS,    OPT, 0, ZJOB_SLOTS_MAX, &s_result_error_table },
};

typedef struct _s_ctx_t s_ctx_t;
typedef int (s_post_fn) (s_ctx_t *ctx, const msgpack_object **values);

static s_post_fn s_post_submit, s_post_list, s_post_target, s_post_worker_target,
                 s_post_result, s_post_job;

//  One command on one route: its body, its OK reply's body, and the
//  function that builds structures from a checked body
typedef struct {
    zjob_cmd_t cmd;
    zjob_route_t route;
    s_table_t body;
    s_table_t reply;
    s_post_fn *post;
} s_schema_t;

static const s_schema_t s_schemas [] = {
    { ZJOB_CMD_SUBMIT,     ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_submit),   TABLE (s_submit_ok),  s_post_submit },
    { ZJOB_CMD_GET,        ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only),  TABLE (s_get_ok),     NULL },
    { ZJOB_CMD_LIST,       ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_list),     TABLE (s_list_ok),    s_post_list },
    { ZJOB_CMD_DELETE,     ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target),   TABLE (s_target_ok),  s_post_target },
    { ZJOB_CMD_START,      ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target),   TABLE (s_target_ok),  s_post_target },
    { ZJOB_CMD_PAUSE,      ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target),   TABLE (s_target_ok),  s_post_target },
    { ZJOB_CMD_RESUME,     ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target),   TABLE (s_target_ok),  s_post_target },
    { ZJOB_CMD_CANCEL,     ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target),   TABLE (s_target_ok),  s_post_target },
    { ZJOB_CMD_STATUS,     ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only),  TABLE (s_status_ok),  NULL },
    { ZJOB_CMD_RESULTS,    ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only),  TABLE (s_results_ok), NULL },
    { ZJOB_CMD_CLEANUP,    ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_cleanup),  TABLE (s_cleanup_ok), NULL },
    { ZJOB_CMD_STATS,      ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE,           TABLE (s_stats_ok),   NULL },
    { ZJOB_CMD_WORKERS,    ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE,           TABLE (s_workers_ok), NULL },
    { ZJOB_CMD_PING,       ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE,           TABLE (s_ping_ok),    NULL },
    { ZJOB_CMD_READY,      ZJOB_ROUTE_WORKER_BROKER, TABLE (s_ready),    TABLE (s_ready_ok),   NULL },
    { ZJOB_CMD_PROGRESS,   ZJOB_ROUTE_WORKER_BROKER, TABLE (s_progress), NO_TABLE,             NULL },
    { ZJOB_CMD_RESULT,     ZJOB_ROUTE_WORKER_BROKER, TABLE (s_result),   TABLE (s_result_ok),  s_post_result },
    { ZJOB_CMD_CREDIT,     ZJOB_ROUTE_WORKER_BROKER, TABLE (s_credit),   NO_TABLE,             NULL },
    { ZJOB_CMD_HEARTBEAT,  ZJOB_ROUTE_WORKER_BROKER, NO_TABLE,           NO_TABLE,             NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_reason),   NO_TABLE,             NULL },
    { ZJOB_CMD_JOB,        ZJOB_ROUTE_BROKER_WORKER, TABLE (s_job),      NO_TABLE,             s_post_job },
    { ZJOB_CMD_PAUSE,      ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only),  TABLE (s_id_ok),      s_post_worker_target },
    { ZJOB_CMD_RESUME,     ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only),  TABLE (s_id_ok),      s_post_worker_target },
    { ZJOB_CMD_CANCEL,     ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only),  TABLE (s_id_ok),      s_post_worker_target },
    { ZJOB_CMD_HEARTBEAT,  ZJOB_ROUTE_BROKER_WORKER, NO_TABLE,           NO_TABLE,             NULL },
    { ZJOB_CMD_RECONNECT,  ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason),   NO_TABLE,             NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason),   NO_TABLE,             NULL },
    { ZJOB_CMD_ERROR,      ZJOB_ROUTE_BROKER_CLIENT, TABLE (s_error),    NO_TABLE,             NULL },
    { ZJOB_CMD_ERROR,      ZJOB_ROUTE_WORKER_BROKER, TABLE (s_error),    NO_TABLE,             NULL },
    { ZJOB_CMD_ERROR,      ZJOB_ROUTE_BROKER_WORKER, TABLE (s_error),    NO_TABLE,             NULL },
    { ZJOB_CMD_EVENT,      ZJOB_ROUTE_EVENTS,        TABLE (s_event),    NO_TABLE,             NULL },
};
#define SCHEMA_COUNT (sizeof (s_schemas) / sizeof (s_schemas [0]))

//  The schema of cmd on route; NULL for OK (its body depends on the request)
static const s_schema_t *
s_schema_find (zjob_cmd_t cmd, zjob_route_t route)
{
    for (size_t i = 0; i < SCHEMA_COUNT; i++)
        if (s_schemas [i].cmd == cmd && s_schemas [i].route == route)
            return &s_schemas [i];
    return NULL;
}


//  --------------------------------------------------------------------------
//  The decoded message

struct _zjob_msg_t {
    msgpack_zone *zone;                 //  Holds the object tree, copies and this struct
    zframe_t *frame;                    //  Adopted frame holding the bytes, or NULL
    uint32_t version;                   //  Envelope: protocol version
    zjob_cmd_t command;                 //  Envelope: command
    zjob_route_t route;                 //  Route it was decoded for
    uint64_t request_id;                //  Envelope: request id
    const msgpack_object *body;         //  The body map, in the zone
    zjob_spec_t *specs;                 //  SUBMIT: spec_count specs, in the zone
    size_t spec_count;
    bool auto_start;                    //  SUBMIT: auto_start (default true)
    zjob_filter_t filter;               //  LIST or target: the filter, if given
    bool has_filter;                    //  A filter field was present
    zjob_query_t query;                 //  LIST: the query
    bool has_query;
    zjob_target_t target;               //  DELETE..CANCEL: which jobs
    bool has_target;
    zjob_result_t *results;             //  RESULT: result_count results, in the zone
    size_t result_count;
};

//  How a field was reached, for error messages: a chain from the field up
//  to the body, walked only when an error is reported
typedef struct _s_path_t {
    const struct _s_path_t *parent;     //  NULL at the body
    const char *key;                    //  Field key, or NULL for an array index
    size_t index;                       //  Array index when key is NULL
} s_path_t;

struct _s_ctx_t {
    zjob_msg_t *msg;                    //  Message being built; NULL to check only
    const char *what;                   //  Command name for messages ("SUBMIT")
    zjob_error_t *err;
};


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
        case 0xd0: width = 1; is_signed = true; break;
        case 0xd1: width = 2; is_signed = true; break;
        case 0xd2: width = 4; is_signed = true; break;
        case 0xd3: width = 8; is_signed = true; break;
        default: return false;
    }
    if ((size_t) width > size - pos)
        return false;
    uint64_t raw = zjob_msgpack_read_be (data + pos, width);
    if (is_signed && (raw >> (width * 8 - 1)) & 1)
        return false;                   //  Negative
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
    else
    if (byte == 0xd9 || byte == 0xda || byte == 0xdb) {
        width = byte == 0xd9? 1: byte == 0xda? 2: 4;
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
    bool is_array;                      //  Starts with an array header
    uint64_t items;                     //  Its item count
    bool has_version;                   //  Item 1 is an unsigned integer
    uint64_t version;
    bool has_command;                   //  Item 2 is a str
    const char *command;                //  Its bytes (not NUL-terminated)
    size_t command_len;
    bool has_request_id;                //  Item 3 is an unsigned integer
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
    else
    if ((byte == 0xdc && size >= 3) || (byte == 0xdd && size >= 5)) {
        int width = byte == 0xdc? 2: 4;
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
    else
    if (s_scan (data + pos, size - pos, &end) == ZJOB_SCAN_OK)
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
    else
    if (s_scan (data + pos, size - pos, &end) == ZJOB_SCAN_OK)
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
static void
s_printable (char *buf, size_t size, const char *text, size_t len)
{
    size_t i;
    for (i = 0; i < len && i + 1 < size; i++)
        buf [i] = (text [i] >= 0x20 && text [i] < 0x7f)? text [i]: '?';
    buf [i] = 0;
}


//  --------------------------------------------------------------------------
//  Field checking

static const char *
s_object_type_name (const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL:                return "nil";
        case MSGPACK_OBJECT_BOOLEAN:            return "a boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:   return "an unsigned integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:   return "a negative integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:            return "a float";
        case MSGPACK_OBJECT_STR:                return "a string";
        case MSGPACK_OBJECT_ARRAY:              return "an array";
        case MSGPACK_OBJECT_MAP:                return "a map";
        case MSGPACK_OBJECT_BIN:                return "a bin";
        case MSGPACK_OBJECT_EXT:                return "an ext";
        default:                                return "an unknown type";
    }
}

//  Write "jobs[3].tags[1]" for path into buf
static void
s_path_format (const s_path_t *path, char *buf, size_t size)
{
    const s_path_t *chain [ZJOB_MSG_DEPTH_MAX * 2];
    int depth = 0;
    for (const s_path_t *node = path; node && depth < ZJOB_MSG_DEPTH_MAX * 2; node = node->parent)
        chain [depth++] = node;
    size_t used = 0;
    buf [0] = 0;
    if (depth == 0) {
        snprintf (buf, size, "body");
        return;
    }
    while (depth-- > 0 && used < size) {
        const s_path_t *node = chain [depth];
        int rc;
        if (node->key)
            rc = snprintf (buf + used, size - used, "%s%s", used? ".": "", node->key);
        else
            rc = snprintf (buf + used, size - used, "[%zu]", node->index);
        if (rc < 0)
            break;
        used += (size_t) rc;
    }
}

//  Fill err with "<what>: <path>: <problem>"; returns -1
static int
s_fail (s_ctx_t *ctx, const s_path_t *path, int code, const char *problem)
{
    char where [128];
    s_path_format (path, where, sizeof (where));
    return zjob_error_set (ctx->err, code, "%s: %s: %s", ctx->what, where, problem);
}

static int
s_fail_type (s_ctx_t *ctx, const s_path_t *path, const char *expected, const msgpack_object *obj)
{
    char problem [160];
    snprintf (problem, sizeof (problem), "expected %s, got %s", expected,
              s_object_type_name (obj));
    return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
}

static int
s_fail_memory (s_ctx_t *ctx)
{
    return zjob_error_set (ctx->err, ZJOB_INTERNAL, "%s: out of memory decoding", ctx->what);
}

//  Index of the name equal to the len bytes at text among count names from
//  name_of, or -1
static int
s_name_index (const char *text, size_t len, const char *(*name_of) (int), int count)
{
    for (int i = 0; i < count; i++) {
        const char *name = name_of (i);
        if (strlen (name) == len && memcmp (name, text, len) == 0)
            return i;
    }
    return -1;
}

static const char *s_status_of (int i)   { return zjob_status_name ((zjob_status_t) i); }
static const char *s_priority_of (int i) { return zjob_priority_name ((zjob_priority_t) i); }
static const char *s_sort_of (int i)     { return zjob_sort_name ((zjob_sort_t) i); }
static const char *s_order_of (int i)    { return i == 0? "asc": "desc"; }
#define SORT_COUNT 4

static int s_check_map (s_ctx_t *ctx, const msgpack_object *map, const s_table_t *table,
                        const msgpack_object **values, const s_path_t *path);

//  Check a str value of a typed kind (F_STR .. F_ORDER)
static int
s_check_str (s_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
             const s_path_t *path)
{
    static const char *expected [] = {
        [F_STR] = "a string", [F_NAME] = "a name (string)", [F_ID] = "a job id (string)",
        [F_STATUS] = "a status name (string)", [F_PRIORITY] = "a priority name (string)",
        [F_SORT] = "a sort name (string)", [F_ORDER] = "\"asc\" or \"desc\""
    };
    if (value->type != MSGPACK_OBJECT_STR)
        return s_fail_type (ctx, path, expected [field->type], value);
    const char *text = value->via.str.ptr;
    size_t len = value->via.str.size;
    char problem [200];
    if (len && memchr (text, 0, len))
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, "contains a NUL byte");
    switch (field->type) {
        case F_STR:
            if (len < field->min)
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "empty");
            if (field->max && len > field->max) {
                snprintf (problem, sizeof (problem), "%zu bytes, over the limit of %" PRIu64,
                          len, field->max);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            return 0;
        case F_NAME: {
            if (len == 0)
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "empty name");
            if (len > ZJOB_NAME_MAX) {
                snprintf (problem, sizeof (problem), "name of %zu bytes, over the limit of %d",
                          len, ZJOB_NAME_MAX);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            char name [ZJOB_NAME_MAX + 1];
            memcpy (name, text, len);
            name [len] = 0;
            if (!zjob_name_valid (name))
                return s_fail (ctx, path, ZJOB_BAD_REQUEST,
                               "not a name (printable ASCII without spaces)");
            return 0;
        }
        case F_ID: {
            char id [ZJOB_ID_LEN + 1] = "";
            if (len == ZJOB_ID_LEN)
                memcpy (id, text, len);
            if (!zjob_id_valid (id)) {
                char shown [ZJOB_ID_LEN + 8];
                s_printable (shown, sizeof (shown), text, len);
                snprintf (problem, sizeof (problem), "\"%s\" is not a job id", shown);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        case F_STATUS:
        case F_PRIORITY:
        case F_SORT:
        case F_ORDER: {
            int found = field->type == F_STATUS? s_name_index (text, len, s_status_of, ZJOB_STATUS_COUNT)
                      : field->type == F_PRIORITY? s_name_index (text, len, s_priority_of, ZJOB_PRIORITY_COUNT)
                      : field->type == F_SORT? s_name_index (text, len, s_sort_of, SORT_COUNT)
                      : s_name_index (text, len, s_order_of, 2);
            if (found < 0) {
                char shown [40];
                s_printable (shown, sizeof (shown), text, len);
                const char *kind = field->type == F_STATUS? "status"
                                 : field->type == F_PRIORITY? "priority"
                                 : field->type == F_SORT? "sort" : "order";
                const char *known = field->type == F_STATUS
                    ? "created, queued, running, paused, completed, failed, cancelled"
                    : field->type == F_PRIORITY? "low, medium, high, critical"
                    : field->type == F_SORT? "created, updated, priority, status" : "asc, desc";
                snprintf (problem, sizeof (problem), "unknown %s \"%s\" (%s)", kind, shown, known);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        default:
            return s_fail (ctx, path, ZJOB_INTERNAL, "not a string type");
    }
}

//  A NUL-terminated copy of a str object, in the message's zone
static const char *
s_zone_str (msgpack_zone *zone, const msgpack_object *obj)
{
    char *copy = (char *) msgpack_zone_malloc_no_align (zone, obj->via.str.size + 1);
    if (copy) {
        if (obj->via.str.size)
            memcpy (copy, obj->via.str.ptr, obj->via.str.size);
        copy [obj->via.str.size] = 0;
    }
    return copy;
}

//  An array of NUL-terminated copies of an array of str, in the zone;
//  NULL for an empty array or no memory (*ok false then)
static const char *const *
s_zone_strs (msgpack_zone *zone, const msgpack_object *array, bool *ok)
{
    *ok = true;
    uint32_t count = array->via.array.size;
    if (count == 0)
        return NULL;
    const char **strs = (const char **) msgpack_zone_malloc (zone, count * sizeof (char *));
    if (!strs) {
        *ok = false;
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        strs [i] = s_zone_str (zone, &array->via.array.ptr [i]);
        if (!strs [i]) {
            *ok = false;
            return NULL;
        }
    }
    return strs;
}

//  The index of the name at obj (a checked str) in a name table
static int
s_enum_value (const msgpack_object *obj, const char *(*name_of) (int), int count)
{
    return s_name_index (obj->via.str.ptr, obj->via.str.size, name_of, count);
}

//  Build the message's filter from a checked filter map's values
static int
s_build_filter (s_ctx_t *ctx, const msgpack_object **v, zjob_filter_t *filter)
{
    memset (filter, 0, sizeof (*filter));
    msgpack_zone *zone = ctx->msg->zone;
    if (v [FI_STATUS])
        for (uint32_t i = 0; i < v [FI_STATUS]->via.array.size; i++)
            filter->status_mask |= 1u << s_enum_value (&v [FI_STATUS]->via.array.ptr [i],
                                                       s_status_of, ZJOB_STATUS_COUNT);
    if (v [FI_WORKFLOW] && !(filter->workflow_id = s_zone_str (zone, v [FI_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [FI_USER] && !(filter->user_id = s_zone_str (zone, v [FI_USER])))
        return s_fail_memory (ctx);
    if (v [FI_TAGS]) {
        bool ok;
        filter->tags = s_zone_strs (zone, v [FI_TAGS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        filter->tag_count = v [FI_TAGS]->via.array.size;
    }
    if (v [FI_AFTER])
        filter->created_after = (int64_t) v [FI_AFTER]->via.u64;
    if (v [FI_BEFORE])
        filter->created_before = (int64_t) v [FI_BEFORE]->via.u64;
    //  now stays 0: the broker's clock decides when it matches
    if (v [FI_SCHEDULED])
        filter->scheduled = v [FI_SCHEDULED]->via.boolean? ZJOB_SCHEDULED_YES: ZJOB_SCHEDULED_NO;
    return 0;
}

//  Build one spec from a checked spec map's values
static int
s_build_spec (s_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    memset (spec, 0, sizeof (*spec));
    msgpack_zone *zone = ctx->msg->zone;
    if (!(spec->workflow_id = s_zone_str (zone, v [SP_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [SP_INPUTS] && v [SP_INPUTS]->via.bin.size) {
        spec->inputs = (const uint8_t *) v [SP_INPUTS]->via.bin.ptr;
        spec->inputs_size = v [SP_INPUTS]->via.bin.size;
    }
    spec->priority = v [SP_PRIORITY]
                   ? (zjob_priority_t) s_enum_value (v [SP_PRIORITY], s_priority_of,
                                                     ZJOB_PRIORITY_COUNT)
                   : ZJOB_PRIORITY_DEFAULT;
    if (v [SP_USER] && !(spec->user_id = s_zone_str (zone, v [SP_USER])))
        return s_fail_memory (ctx);
    if (v [SP_TAGS]) {
        bool ok;
        spec->tags = s_zone_strs (zone, v [SP_TAGS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        spec->tag_count = v [SP_TAGS]->via.array.size;
    }
    if (v [SP_METADATA] && v [SP_METADATA]->via.bin.size) {
        spec->metadata = (const uint8_t *) v [SP_METADATA]->via.bin.ptr;
        spec->metadata_size = v [SP_METADATA]->via.bin.size;
    }
    if (v [SP_IDEM] && !(spec->idempotency_key = s_zone_str (zone, v [SP_IDEM])))
        return s_fail_memory (ctx);
    if (v [SP_MAXA])
        spec->max_attempts = (uint32_t) v [SP_MAXA]->via.u64;
    if (v [SP_RUNAT])
        spec->run_at = (int64_t) v [SP_RUNAT]->via.u64;
    return 0;
}

//  Check an array's type and item count
static int
s_check_array (s_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
               const s_path_t *path, const char *expected)
{
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return s_fail_type (ctx, path, expected, value);
    char problem [120];
    uint32_t count = value->via.array.size;
    if (count < field->min) {
        snprintf (problem, sizeof (problem), "%" PRIu32 " items, at least %" PRIu64 " needed",
                  count, field->min);
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
    }
    if (field->max && count > field->max) {
        snprintf (problem, sizeof (problem), "%" PRIu32 " items, over the limit of %" PRIu64,
                  count, field->max);
        return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
    }
    return 0;
}

//  Check one field's value against its definition
static int
s_check_value (s_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
               const s_path_t *path)
{
    char problem [160];
    switch (field->type) {
        case F_STR:
        case F_NAME:
        case F_ID:
        case F_STATUS:
        case F_PRIORITY:
        case F_SORT:
        case F_ORDER:
            return s_check_str (ctx, value, field, path);

        case F_UINT:
            if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return s_fail_type (ctx, path, "an unsigned integer", value);
            if (value->via.u64 < field->min || value->via.u64 > field->max) {
                snprintf (problem, sizeof (problem), "%" PRIu64 " is out of range %" PRIu64
                          "..%" PRIu64, value->via.u64, field->min, field->max);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;

        case F_PROGRESS: {
            double number;
            if (value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64)
                number = value->via.f64;
            else
            if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                number = (double) value->via.u64;
            else
                return s_fail_type (ctx, path, "a number", value);
            if (!(number >= 0.0 && number <= 1.0))
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "not a number in 0..1");
            return 0;
        }
        case F_BOOL:
            if (value->type != MSGPACK_OBJECT_BOOLEAN)
                return s_fail_type (ctx, path, "a boolean", value);
            return 0;

        case F_BIN:
            if (value->type != MSGPACK_OBJECT_BIN)
                return s_fail_type (ctx, path, "a bin (an encoded msgpack map)", value);
            if (field->max && value->via.bin.size > field->max) {
                snprintf (problem, sizeof (problem), "%" PRIu32 " bytes, over the limit of %"
                          PRIu64, value->via.bin.size, field->max);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            return 0;

        case F_MAP:
            if (value->type != MSGPACK_OBJECT_MAP)
                return s_fail_type (ctx, path, "a map", value);
            return 0;

        case F_MAPS:
        case F_NAMES:
        case F_IDS:
        case F_UINTS:
        case F_STATUSES: {
            static const char *expected [] = {
                [F_MAPS] = "an array of maps", [F_NAMES] = "an array of names",
                [F_IDS] = "an array of job ids", [F_UINTS] = "an array of unsigned integers",
                [F_STATUSES] = "an array of status names"
            };
            static const s_field_t items [] = {
                [F_MAPS] = { NULL, F_MAP, OPT, 0, 0, NULL }, [F_NAMES] = { NULL, F_NAME, OPT, 0, 0, NULL },
                [F_IDS] = { NULL, F_ID, OPT, 0, 0, NULL }, [F_UINTS] = { NULL, F_UINT, OPT, 0, UINT64_MAX, NULL },
                [F_STATUSES] = { NULL, F_STATUS, OPT, 0, 0, NULL }
            };
            if (s_check_array (ctx, value, field, path, expected [field->type]))
                return -1;
            for (uint32_t i = 0; i < value->via.array.size; i++) {
                s_path_t item = { path, NULL, i };
                if (s_check_value (ctx, &value->via.array.ptr [i], &items [field->type], &item))
                    return -1;
            }
            return 0;
        }
        case F_FILTER: {
            if (value->type != MSGPACK_OBJECT_MAP)
                return s_fail_type (ctx, path, "a filter map", value);
            const msgpack_object *values [sizeof (s_filter_fields) / sizeof (s_filter_fields [0])];
            if (s_check_map (ctx, value, &s_filter_table, values, path))
                return -1;
            if (ctx->msg) {
                if (s_build_filter (ctx, values, &ctx->msg->filter))
                    return -1;
                ctx->msg->has_filter = true;
            }
            return 0;
        }
        case F_SPECS: {
            if (s_check_array (ctx, value, field, path, "an array of job specs"))
                return -1;
            uint32_t count = value->via.array.size;
            zjob_spec_t *specs = NULL;
            if (ctx->msg) {
                specs = (zjob_spec_t *) msgpack_zone_malloc (ctx->msg->zone,
                                                             count * sizeof (zjob_spec_t));
                if (!specs)
                    return s_fail_memory (ctx);
            }
            for (uint32_t i = 0; i < count; i++) {
                s_path_t item = { path, NULL, i };
                const msgpack_object *spec = &value->via.array.ptr [i];
                if (spec->type != MSGPACK_OBJECT_MAP)
                    return s_fail_type (ctx, &item, "a job spec map", spec);
                const msgpack_object *values [sizeof (s_spec_fields) / sizeof (s_spec_fields [0])];
                if (s_check_map (ctx, spec, &s_spec_table, values, &item))
                    return -1;
                if (specs && s_build_spec (ctx, values, &specs [i]))
                    return -1;
            }
            if (ctx->msg) {
                ctx->msg->specs = specs;
                ctx->msg->spec_count = count;
            }
            return 0;
        }
        case F_ITEMS: {
            if (s_check_array (ctx, value, field, path, "an array of maps"))
                return -1;
            for (uint32_t i = 0; i < value->via.array.size; i++) {
                s_path_t item = { path, NULL, i };
                const msgpack_object *map = &value->via.array.ptr [i];
                if (map->type != MSGPACK_OBJECT_MAP)
                    return s_fail_type (ctx, &item, "a map", map);
                const msgpack_object *values [FIELDS_MAX];
                if (s_check_map (ctx, map, field->items, values, &item))
                    return -1;
            }
            return 0;
        }
    }
    return s_fail (ctx, path, ZJOB_INTERNAL, "unknown field type");
}

//  Check a map against a table: values[i] becomes the value of field i
//  (NULL if absent or nil). Unknown keys are skipped.
static int
s_check_map (s_ctx_t *ctx, const msgpack_object *map, const s_table_t *table,
             const msgpack_object **values, const s_path_t *path)
{
    for (size_t i = 0; i < table->count; i++)
        values [i] = NULL;
    uint64_t seen = 0;                  //  Bit per field: its key was read
    uint32_t unknown = 0;               //  Keys not in the table
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return s_fail (ctx, path, ZJOB_BAD_REQUEST, "a key is not a string");
        //  The first byte turns most fields down before a strlen
        uint32_t size = kv->key.via.str.size;
        const char *name = kv->key.via.str.ptr;
        size_t f;
        for (f = 0; f < table->count; f++) {
            const char *key = table->fields [f].key;
            if (size && key [0] == name [0] && strlen (key) == size
            &&  memcmp (key, name, size) == 0) {
                s_path_t field = { path, key, 0 };
                if (seen & (1ull << f))
                    return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "key given twice");
                seen |= 1ull << f;
                if (kv->val.type != MSGPACK_OBJECT_NIL)
                    values [f] = &kv->val;
                break;
            }
        }
        unknown += f == table->count;
    }
    //  An unknown key can only repeat another unknown key, so the usual
    //  body, with at most one, pays nothing for this
    uint32_t repeat;
    int repeated = unknown > 1? zjob_msgpack_map_repeated (map, &repeat): 0;
    if (repeated < 0)
        return s_fail_memory (ctx);
    if (repeated) {
        const msgpack_object_str *key = &map->via.map.ptr [repeat].key.via.str;
        char name [64], problem [120];
        s_printable (name, sizeof (name), key->ptr, key->size);
        snprintf (problem, sizeof (problem), "key \"%s\" given twice", name);
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
    }
    //  What was sent is checked before what is missing: a field of the
    //  wrong type is the more useful thing to hear about
    for (size_t f = 0; f < table->count; f++) {
        s_path_t field = { path, table->fields [f].key, 0 };
        if (values [f] && s_check_value (ctx, values [f], &table->fields [f], &field))
            return -1;
    }
    for (size_t f = 0; f < table->count; f++) {
        s_path_t field = { path, table->fields [f].key, 0 };
        if (!values [f] && table->fields [f].required)
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "missing");
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Building structures from checked bodies

static int
s_post_submit (s_ctx_t *ctx, const msgpack_object **values)
{
    ctx->msg->auto_start = values [SU_AUTO]? values [SU_AUTO]->via.boolean: true;
    return 0;
}

static int
s_post_list (s_ctx_t *ctx, const msgpack_object **values)
{
    zjob_query_t *query = &ctx->msg->query;
    memset (query, 0, sizeof (*query));
    if (ctx->msg->has_filter)
        query->filter = ctx->msg->filter;
    if (values [LI_SORT])
        query->sort_by = (zjob_sort_t) s_enum_value (values [LI_SORT], s_sort_of, SORT_COUNT);
    if (values [LI_ORDER])
        query->descending = s_enum_value (values [LI_ORDER], s_order_of, 2) == 1;
    if (values [LI_LIMIT])
        query->limit = (size_t) values [LI_LIMIT]->via.u64;
    if (values [LI_OFFSET])
        //  Any uint64: past the total it is an empty page (SIZE_MAX is
        //  past any total a 32-bit broker can hold)
        query->offset = values [LI_OFFSET]->via.u64 > SIZE_MAX
                      ? SIZE_MAX: (size_t) values [LI_OFFSET]->via.u64;
    ctx->msg->has_query = true;
    return 0;
}

static bool
s_filter_empty (const zjob_filter_t *filter)
{
    return !filter->status_mask && !filter->workflow_id && !filter->user_id
        && !filter->tag_count && !filter->created_after && !filter->created_before
        && filter->scheduled == ZJOB_SCHEDULED_ANY;
}

static int
s_post_target (s_ctx_t *ctx, const msgpack_object **values)
{
    int given = !!values [TA_ID] + !!values [TA_IDS] + !!values [TA_FILTER];
    if (given != 1)
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       given? "give only one of id, ids and filter"
                            : "give one of id, ids and filter");
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    msgpack_zone *zone = ctx->msg->zone;
    if (values [TA_ID] && !(target->id = s_zone_str (zone, values [TA_ID])))
        return s_fail_memory (ctx);
    if (values [TA_IDS]) {
        bool ok;
        target->ids = s_zone_strs (zone, values [TA_IDS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        target->id_count = values [TA_IDS]->via.array.size;
    }
    if (values [TA_FILTER]) {
        if (s_filter_empty (&ctx->msg->filter)) {
            s_path_t field = { NULL, "filter", 0 };
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST,
                           "no criterion: it would match every job");
        }
        target->filter = &ctx->msg->filter;
    }
    ctx->msg->has_target = true;
    return 0;
}

static int
s_post_worker_target (s_ctx_t *ctx, const msgpack_object **values)
{
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    if (!(target->id = s_zone_str (ctx->msg->zone, values [0])))
        return s_fail_memory (ctx);
    ctx->msg->has_target = true;
    return 0;
}

//  Build one result from a checked result map's values (RE_ID..RE_MESSAGE)
static int
s_build_result (s_ctx_t *ctx, const msgpack_object **v, const s_path_t *path,
                zjob_result_t *result)
{
    int status = s_enum_value (v [RE_STATUS], s_status_of, ZJOB_STATUS_COUNT);
    if (status != ZJOB_COMPLETED && status != ZJOB_FAILED) {
        s_path_t field = { path, "status", 0 };
        return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "must be completed or failed");
    }
    memset (result, 0, sizeof (*result));
    msgpack_zone *zone = ctx->msg->zone;
    result->completed = status == ZJOB_COMPLETED;
    if (!(result->id = s_zone_str (zone, v [RE_ID])))
        return s_fail_memory (ctx);
    if (v [RE_OUTPUTS] && v [RE_OUTPUTS]->via.bin.size) {
        result->outputs = (const uint8_t *) v [RE_OUTPUTS]->via.bin.ptr;
        result->outputs_size = v [RE_OUTPUTS]->via.bin.size;
    }
    if (v [RE_KIND] && !(result->error_kind = s_zone_str (zone, v [RE_KIND])))
        return s_fail_memory (ctx);
    if (v [RE_MESSAGE] && !(result->error_message = s_zone_str (zone, v [RE_MESSAGE])))
        return s_fail_memory (ctx);
    return 0;
}

//  RESULT: one result (id, status...) or several (results), not both
static int
s_post_result (s_ctx_t *ctx, const msgpack_object **values)
{
    const msgpack_object *list = values [RE_RESULTS];
    if (list && (values [RE_ID] || values [RE_STATUS] || values [RE_OUTPUTS]
              || values [RE_KIND] || values [RE_MESSAGE]))
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       "give either one result (id, status...) or results, not both");
    if (!list) {
        s_path_t field = { NULL, values [RE_ID]? "status": "id", 0 };
        if (!values [RE_ID] || !values [RE_STATUS])
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "missing");
    }
    size_t count = list? list->via.array.size: 1;
    zjob_result_t *results = (zjob_result_t *) msgpack_zone_malloc (ctx->msg->zone,
                                                                     count * sizeof (zjob_result_t));
    if (!results)
        return s_fail_memory (ctx);
    if (!list && s_build_result (ctx, values, NULL, &results [0]))
        return -1;
    for (size_t i = 0; list && i < count; i++) {
        s_path_t field = { NULL, "results", 0 };
        s_path_t item = { &field, NULL, i };
        const msgpack_object *v [FIELDS_MAX];
        if (s_check_map (ctx, &list->via.array.ptr [i], &s_result_item_table, v, &item)
        ||  s_build_result (ctx, v, &item, &results [i]))
            return -1;
    }
    ctx->msg->results = results;
    ctx->msg->result_count = count;
    return 0;
}

//  JOB: one job (job) or several (jobs), exactly one of the two
static int
s_post_job (s_ctx_t *ctx, const msgpack_object **values)
{
    if (!values [JO_JOB] == !values [JO_JOBS])
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       values [JO_JOB]? "give either job or jobs, not both"
                                      : "give one of job and jobs");
    return 0;
}


//  --------------------------------------------------------------------------
//  Decoding

_Static_assert (sizeof (s_event) / sizeof (s_event [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
_Static_assert (sizeof (s_stats_ok) / sizeof (s_stats_ok [0]) <= FIELDS_MAX, "FIELDS_MAX too small");

//  The zones messages are decoded into. Each thread keeps the zone of the
//  last message it destroyed, cleared, for its next decode: a zone is an
//  8 KB malloc, and a broker, client or worker decodes one per message,
//  typically destroying each before the next arrives. The spare is freed
//  when its thread ends (the key's destructor); the main thread's, at
//  exit, stays reachable from its thread data.
static pthread_key_t s_zone_key;
static pthread_once_t s_zone_once = PTHREAD_ONCE_INIT;
static bool s_zone_keyed;               //  The key was made

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
    msgpack_zone *zone = s_zone_keyed? (msgpack_zone *) pthread_getspecific (s_zone_key): NULL;
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
    if (!bytes || size == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "empty message: expected [version, command, request_id, body]");
        return NULL;
    }
    if (size > ZJOB_MSG_MAX) {
        zjob_error_set (err, ZJOB_TOO_LARGE, "message of %zu bytes is over the limit of %d bytes",
                        size, ZJOB_MSG_MAX);
        return NULL;
    }
    size_t end = 0;
    switch (s_scan (bytes, size, &end)) {
        case ZJOB_SCAN_OK:
            break;
        case ZJOB_SCAN_TRUNCATED:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "not msgpack: the message is truncated");
            return NULL;
        case ZJOB_SCAN_INVALID:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "not msgpack: invalid byte 0xc1");
            return NULL;
        case ZJOB_SCAN_TOO_DEEP:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "nested deeper than %d levels",
                            ZJOB_MSG_DEPTH_MAX);
            return NULL;
        case ZJOB_SCAN_TOO_MANY:
            zjob_error_set (err, ZJOB_TOO_LARGE, "more than %d values in one message",
                            ZJOB_MSG_OBJECTS_MAX);
            return NULL;
    }
    if (end != size) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "%zu bytes after the message: a frame holds exactly one array",
                        size - end);
        return NULL;
    }
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
        s_printable (shown, sizeof (shown), head.command, head.command_len);
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
    msgpack_unpack_return rc = zone? msgpack_unpack ((const char *) bytes, size, &offset, zone,
                                                     &top)
                                   : MSGPACK_UNPACK_NOMEM_ERROR;
    if (rc != MSGPACK_UNPACK_SUCCESS || top.type != MSGPACK_OBJECT_ARRAY
    ||  top.via.array.size != 4) {
        s_zone_give (zone);
        zjob_error_set (err, rc == MSGPACK_UNPACK_NOMEM_ERROR? ZJOB_INTERNAL: ZJOB_BAD_REQUEST,
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
    s_ctx_t ctx = { self, zjob_cmd_name (cmd), err };
    if (self->body->type != MSGPACK_OBJECT_MAP) {
        s_fail_type (&ctx, NULL, "a map", self->body);
        s_zone_give (zone);
        return NULL;
    }
    const s_schema_t *schema = s_schema_find (cmd, route);
    if (schema) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_map (&ctx, self->body, &schema->body, values, NULL)
        || (schema->post && schema->post (&ctx, values))) {
            s_zone_give (zone);
            return NULL;
        }
    }
    return self;
}

bool
zjob_msg_peek (const void *data, size_t size, uint64_t *request_id_p, zjob_cmd_t *command_p)
{
    s_head_t head;
    s_peek ((const uint8_t *) data, size, &head);
    if (command_p)
        *command_p = head.has_command? s_cmd_lookup (head.command, head.command_len)
                                     : ZJOB_CMD_UNKNOWN;
    if (request_id_p)
        *request_id_p = head.has_request_id? head.request_id: 0;
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
    ||  cmd == ZJOB_CMD_EVENT)
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
        s_zone_give (self->zone);           //  self lives in the zone
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
    const s_schema_t *schema = s_schema_find (request, (zjob_route_t) route);
    if (!schema)
        return 0;
    char what [40];
    snprintf (what, sizeof (what), "OK to %s", zjob_cmd_name (request));
    zjob_error_t local;
    s_ctx_t ctx = { NULL, what, err? err: &local };
    const msgpack_object *values [FIELDS_MAX];
    return s_check_map (&ctx, self->body, &schema->reply, values, NULL);
}

uint32_t
zjob_msg_version (zjob_msg_t *self)
{
    return self? self->version: 0;
}

zjob_cmd_t
zjob_msg_command (zjob_msg_t *self)
{
    return self? self->command: ZJOB_CMD_UNKNOWN;
}

const char *
zjob_msg_command_name (zjob_msg_t *self)
{
    return zjob_cmd_name (zjob_msg_command (self));
}

uint64_t
zjob_msg_request_id (zjob_msg_t *self)
{
    return self? self->request_id: 0;
}

zjob_route_t
zjob_msg_route (zjob_msg_t *self)
{
    return self? self->route: ZJOB_ROUTE_CLIENT_BROKER;
}

const msgpack_object *
zjob_msg_body (zjob_msg_t *self)
{
    return self? self->body: NULL;
}

const msgpack_object *
zjob_msg_field (zjob_msg_t *self, const char *key)
{
    if (!self || !key)
        return NULL;
    size_t len = strlen (key);
    const msgpack_object_map *map = &self->body->via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
        &&  memcmp (k->via.str.ptr, key, len) == 0)
            return map->ptr [i].val.type == MSGPACK_OBJECT_NIL? NULL: &map->ptr [i].val;
    }
    return NULL;
}

bool
zjob_msg_has (zjob_msg_t *self, const char *key)
{
    return zjob_msg_field (self, key) != NULL;
}

const char *
zjob_msg_str (zjob_msg_t *self, const char *key)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_STR)
        return NULL;
    return s_zone_str (self->zone, value);
}

uint64_t
zjob_msg_uint (zjob_msg_t *self, const char *key, uint64_t dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER? value->via.u64: dflt;
}

int64_t
zjob_msg_int (zjob_msg_t *self, const char *key, int64_t dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return value->via.i64;
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER && value->via.u64 <= INT64_MAX)
        return (int64_t) value->via.u64;
    return dflt;
}

double
zjob_msg_float (zjob_msg_t *self, const char *key, double dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value)
        return dflt;
    switch (value->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:            return value->via.f64;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:   return (double) value->via.u64;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:   return (double) value->via.i64;
        default:                                return dflt;
    }
}

bool
zjob_msg_bool (zjob_msg_t *self, const char *key, bool dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    return value && value->type == MSGPACK_OBJECT_BOOLEAN? value->via.boolean: dflt;
}

const uint8_t *
zjob_msg_bin (zjob_msg_t *self, const char *key, size_t *size_p)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    bool is_bin = value && value->type == MSGPACK_OBJECT_BIN;
    if (size_p)
        *size_p = is_bin? value->via.bin.size: 0;
    return is_bin? (const uint8_t *) value->via.bin.ptr: NULL;
}

const char *const *
zjob_msg_strs (zjob_msg_t *self, const char *key, size_t *count_p)
{
    if (count_p)
        *count_p = 0;
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_ARRAY)
        return NULL;
    for (uint32_t i = 0; i < value->via.array.size; i++)
        if (value->via.array.ptr [i].type != MSGPACK_OBJECT_STR)
            return NULL;
    bool ok;
    const char *const *strs = s_zone_strs (self->zone, value, &ok);
    if (strs && count_p)
        *count_p = value->via.array.size;
    return strs;
}

const zjob_spec_t *
zjob_msg_specs (zjob_msg_t *self, size_t *count_p)
{
    if (count_p)
        *count_p = self? self->spec_count: 0;
    return self? self->specs: NULL;
}

bool
zjob_msg_auto_start (zjob_msg_t *self)
{
    return self && self->command == ZJOB_CMD_SUBMIT? self->auto_start: false;
}

const zjob_query_t *
zjob_msg_query (zjob_msg_t *self)
{
    return self && self->has_query? &self->query: NULL;
}

const zjob_target_t *
zjob_msg_target (zjob_msg_t *self)
{
    return self && self->has_target? &self->target: NULL;
}

const zjob_result_t *
zjob_msg_results (zjob_msg_t *self, size_t *count_p)
{
    *count_p = self && self->results? self->result_count: 0;
    return self && self->results? self->results: NULL;
}

size_t
zjob_msg_result_errors (zjob_msg_t *self)
{
    const msgpack_object *errors = zjob_msg_field (self, "errors");
    return errors && errors->type == MSGPACK_OBJECT_ARRAY? errors->via.array.size: 0;
}

const char *
zjob_msg_result_error (zjob_msg_t *self, size_t index, zjob_error_t *err)
{
    zjob_error_t local;
    if (!err)
        err = &local;
    zjob_error_clear (err);
    const msgpack_object *errors = zjob_msg_field (self, "errors");
    if (!errors || errors->type != MSGPACK_OBJECT_ARRAY || index >= errors->via.array.size
    ||  errors->via.array.ptr [index].type != MSGPACK_OBJECT_MAP)
        return NULL;
    //  Checked by zjob_msg_check_reply: read it with the same table
    s_ctx_t ctx = { NULL, "OK to RESULT", err };
    const msgpack_object *v [FIELDS_MAX];
    if (s_check_map (&ctx, &errors->via.array.ptr [index], &s_result_error_table, v, NULL))
        return NULL;
    char message [ZJOB_MESSAGE_MAX + 1];
    size_t len = v [RX_MESSAGE]->via.str.size < ZJOB_MESSAGE_MAX
               ? v [RX_MESSAGE]->via.str.size: ZJOB_MESSAGE_MAX;
    memcpy (message, v [RX_MESSAGE]->via.str.ptr, len);
    message [len] = 0;
    zjob_error_set (err, (int) v [RX_CODE]->via.u64, "%s", message);
    return s_zone_str (self->zone, v [RX_ID]);
}

zjob_job_t *
zjob_msg_job (zjob_msg_t *self, const char *key, zjob_error_t *err)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s: missing", zjob_msg_command_name (self),
                        key? key: "(null)");
        return NULL;
    }
    return zjob_job_from_object (value, err);
}

int
zjob_msg_jobs (zjob_msg_t *self, const char *key, zjob_job_t ***jobs_p, size_t *count_p,
               zjob_error_t *err)
{
    *jobs_p = NULL;
    *count_p = 0;
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_ARRAY)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s: expected an array of jobs",
                               zjob_msg_command_name (self), key? key: "(null)");
    uint32_t count = value->via.array.size;
    zjob_job_t **jobs = (zjob_job_t **) calloc (count? count: 1, sizeof (zjob_job_t *));
    if (!jobs)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        jobs [i] = zjob_job_from_object (&value->via.array.ptr [i], err);
        if (!jobs [i]) {
            while (i > 0)
                zjob_job_destroy (&jobs [--i]);
            free (jobs);
            return -1;
        }
    }
    *jobs_p = jobs;
    *count_p = count;
    return 0;
}

int
zjob_msg_error (zjob_msg_t *self, zjob_error_t *err)
{
    if (!self || self->command != ZJOB_CMD_ERROR) {
        zjob_error_clear (err);
        return ZJOB_OK;
    }
    int code = (int) zjob_msg_uint (self, "code", ZJOB_INTERNAL);
    const msgpack_object *message = zjob_msg_field (self, "message");
    if (message && message->type == MSGPACK_OBJECT_STR)
        zjob_error_set (err, code, "%.*s", (int) message->via.str.size, message->via.str.ptr);
    else
        zjob_error_set (err, code, "%s", zjob_error_name (code));
    return code;
}


//  --------------------------------------------------------------------------
//  Encoding

struct _zjob_msg_builder_t {
    msgpack_sbuffer buffer;             //  The message being written
    msgpack_packer pk;                  //  Writes into buffer
    size_t body_at;                     //  Offset of the body's map32 header
    uint32_t keys;                      //  Keys in the body so far
    bool failed;                        //  A write ran out of memory
};

//  Room kept free when packing a page of jobs, for the fields after it
#define JOBS_MARGIN (64 * 1024)

zjob_msg_builder_t *
zjob_msg_builder_new (void)
{
    zjob_msg_builder_t *self = (zjob_msg_builder_t *) calloc (1, sizeof (zjob_msg_builder_t));
    if (self) {
        msgpack_sbuffer_init (&self->buffer);
        msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
    }
    return self;
}

void
zjob_msg_builder_destroy (zjob_msg_builder_t **self_p)
{
    if (self_p && *self_p) {
        msgpack_sbuffer_destroy (&(*self_p)->buffer);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Write a 32-bit count placeholder with its header byte; returns its offset
static size_t
s_placeholder (zjob_msg_builder_t *self, uint8_t header)
{
    size_t at = self->buffer.size;
    const char bytes [5] = { (char) header, 0, 0, 0, 0 };
    self->failed |= msgpack_sbuffer_write (&self->buffer, bytes, sizeof (bytes)) != 0;
    return at;
}

static void
s_patch_count (zjob_msg_builder_t *self, size_t at, uint32_t count)
{
    if (self->failed || at + 5 > self->buffer.size)
        return;
    uint8_t *p = (uint8_t *) self->buffer.data + at + 1;
    p [0] = (uint8_t) (count >> 24);
    p [1] = (uint8_t) (count >> 16);
    p [2] = (uint8_t) (count >> 8);
    p [3] = (uint8_t) count;
}

static void
s_pack_cstr (zjob_msg_builder_t *self, const char *text)
{
    self->failed |= msgpack_pack_str_with_body (&self->pk, text, strlen (text)) != 0;
}

void
zjob_msg_begin (zjob_msg_builder_t *self, zjob_cmd_t cmd, uint64_t request_id)
{
    if (!self)
        return;
    self->buffer.size = 0;
    self->failed = false;
    self->keys = 0;
    self->failed |= msgpack_pack_array (&self->pk, 4) != 0;
    self->failed |= msgpack_pack_uint32 (&self->pk, ZJOB_PROTO_VERSION) != 0;
    s_pack_cstr (self, zjob_cmd_name (cmd));
    self->failed |= msgpack_pack_uint64 (&self->pk, request_id) != 0;
    self->body_at = s_placeholder (self, 0xdf);         //  map32
}

msgpack_packer *
zjob_msg_add_key (zjob_msg_builder_t *self, const char *key)
{
    s_pack_cstr (self, key);
    self->keys++;
    return &self->pk;
}

void
zjob_msg_add_str (zjob_msg_builder_t *self, const char *key, const char *value)
{
    if (value) {
        zjob_msg_add_key (self, key);
        s_pack_cstr (self, value);
    }
}

void
zjob_msg_add_uint (zjob_msg_builder_t *self, const char *key, uint64_t value)
{
    self->failed |= msgpack_pack_uint64 (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_int (zjob_msg_builder_t *self, const char *key, int64_t value)
{
    self->failed |= msgpack_pack_int64 (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_float (zjob_msg_builder_t *self, const char *key, double value)
{
    self->failed |= msgpack_pack_double (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_bool (zjob_msg_builder_t *self, const char *key, bool value)
{
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    self->failed |= (value? msgpack_pack_true (pk): msgpack_pack_false (pk)) != 0;
}

void
zjob_msg_add_bin (zjob_msg_builder_t *self, const char *key, const void *data, size_t size)
{
    if (data)
        self->failed |= msgpack_pack_bin_with_body (zjob_msg_add_key (self, key), data, size) != 0;
}

static void
s_pack_strs (zjob_msg_builder_t *self, const char *const *values, size_t count)
{
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_cstr (self, values [i]? values [i]: "");
}

void
zjob_msg_add_strs (zjob_msg_builder_t *self, const char *key, const char *const *values,
                   size_t count)
{
    zjob_msg_add_key (self, key);
    s_pack_strs (self, values, values? count: 0);
}

void
zjob_msg_add_uints (zjob_msg_builder_t *self, const char *key, const uint64_t *values,
                    size_t count)
{
    zjob_msg_add_key (self, key);
    if (!values)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        self->failed |= msgpack_pack_uint64 (&self->pk, values [i]) != 0;
}

//  Pack one spec map
static void
s_pack_spec (zjob_msg_builder_t *self, const zjob_spec_t *spec)
{
    bool inputs = spec->inputs && spec->inputs_size;
    bool metadata = spec->metadata && spec->metadata_size;
    bool tags = spec->tags && spec->tag_count;
    bool priority = spec->priority != ZJOB_PRIORITY_UNSET;
    size_t count = 1 + inputs + priority + (spec->user_id != NULL) + tags
                 + metadata + (spec->idempotency_key != NULL) + (spec->max_attempts != 0)
                 + (spec->run_at > 0);
    msgpack_packer *pk = &self->pk;
    self->failed |= msgpack_pack_map (pk, count) != 0;
    s_pack_cstr (self, "workflow_id");
    s_pack_cstr (self, spec->workflow_id? spec->workflow_id: "");
    if (inputs) {
        s_pack_cstr (self, "inputs");
        self->failed |= msgpack_pack_bin_with_body (pk, spec->inputs, spec->inputs_size) != 0;
    }
    if (priority) {
        s_pack_cstr (self, "priority");
        s_pack_cstr (self, zjob_priority_name (spec->priority));
    }
    if (spec->user_id) {
        s_pack_cstr (self, "user_id");
        s_pack_cstr (self, spec->user_id);
    }
    if (tags) {
        s_pack_cstr (self, "tags");
        s_pack_strs (self, spec->tags, spec->tag_count);
    }
    if (metadata) {
        s_pack_cstr (self, "metadata");
        self->failed |= msgpack_pack_bin_with_body (pk, spec->metadata, spec->metadata_size) != 0;
    }
    if (spec->idempotency_key) {
        s_pack_cstr (self, "idempotency_key");
        s_pack_cstr (self, spec->idempotency_key);
    }
    if (spec->max_attempts) {
        s_pack_cstr (self, "max_attempts");
        self->failed |= msgpack_pack_uint32 (pk, spec->max_attempts) != 0;
    }
    if (spec->run_at > 0) {
        s_pack_cstr (self, "run_at");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) spec->run_at) != 0;
    }
}

void
zjob_msg_add_specs (zjob_msg_builder_t *self, const char *key, const zjob_spec_t *specs,
                    size_t count)
{
    zjob_msg_add_key (self, key);
    if (!specs)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_spec (self, &specs [i]);
}

void
zjob_msg_add_filter (zjob_msg_builder_t *self, const char *key, const zjob_filter_t *filter)
{
    zjob_filter_t none;
    if (!filter) {
        memset (&none, 0, sizeof (none));
        filter = &none;
    }
    bool tags = filter->tags && filter->tag_count;
    size_t statuses = 0;
    for (int s = 0; s < ZJOB_STATUS_COUNT; s++)
        statuses += (filter->status_mask >> s) & 1;
    size_t count = (statuses > 0) + (filter->workflow_id != NULL) + (filter->user_id != NULL)
                 + tags + (filter->created_after > 0) + (filter->created_before > 0)
                 + (filter->scheduled != ZJOB_SCHEDULED_ANY);
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    self->failed |= msgpack_pack_map (pk, count) != 0;
    if (statuses) {
        s_pack_cstr (self, "status");
        self->failed |= msgpack_pack_array (pk, statuses) != 0;
        for (int s = 0; s < ZJOB_STATUS_COUNT; s++)
            if ((filter->status_mask >> s) & 1)
                s_pack_cstr (self, zjob_status_name ((zjob_status_t) s));
    }
    if (filter->workflow_id) {
        s_pack_cstr (self, "workflow_id");
        s_pack_cstr (self, filter->workflow_id);
    }
    if (filter->user_id) {
        s_pack_cstr (self, "user_id");
        s_pack_cstr (self, filter->user_id);
    }
    if (tags) {
        s_pack_cstr (self, "tags");
        s_pack_strs (self, filter->tags, filter->tag_count);
    }
    if (filter->created_after > 0) {
        s_pack_cstr (self, "created_after");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) filter->created_after) != 0;
    }
    if (filter->created_before > 0) {
        s_pack_cstr (self, "created_before");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) filter->created_before) != 0;
    }
    //  filter->now is not sent: the broker matches by its own clock
    if (filter->scheduled != ZJOB_SCHEDULED_ANY) {
        s_pack_cstr (self, "scheduled");
        self->failed |= (filter->scheduled == ZJOB_SCHEDULED_YES
                         ? msgpack_pack_true (pk): msgpack_pack_false (pk)) != 0;
    }
}

void
zjob_msg_add_query (zjob_msg_builder_t *self, const zjob_query_t *query)
{
    if (!query)
        return;
    if (!s_filter_empty (&query->filter))
        zjob_msg_add_filter (self, "filter", &query->filter);
    zjob_msg_add_str (self, "sort_by", zjob_sort_name (query->sort_by));
    zjob_msg_add_str (self, "order", query->descending? "desc": "asc");
    if (query->limit)
        zjob_msg_add_uint (self, "limit", query->limit);
    if (query->offset)
        zjob_msg_add_uint (self, "offset", query->offset);
}

void
zjob_msg_add_target (zjob_msg_builder_t *self, const zjob_target_t *target)
{
    if (!target)
        return;
    if (target->id)
        zjob_msg_add_str (self, "id", target->id);
    else
    if (target->ids)
        zjob_msg_add_strs (self, "ids", target->ids, target->id_count);
    else
    if (target->filter)
        zjob_msg_add_filter (self, "filter", target->filter);
}

void
zjob_msg_add_job (zjob_msg_builder_t *self, const char *key, const zjob_job_t *job)
{
    if (job)
        self->failed |= zjob_job_pack (job, zjob_msg_add_key (self, key)) != 0;
}

size_t
zjob_msg_add_jobs (zjob_msg_builder_t *self, const char *key, zjob_job_t *const *jobs,
                   size_t count)
{
    zjob_msg_add_key (self, key);
    size_t at = s_placeholder (self, 0xdd);             //  array32
    size_t added = 0;
    for (size_t i = 0; jobs && i < count && !self->failed; i++) {
        size_t before = self->buffer.size;
        self->failed |= zjob_job_pack (jobs [i], &self->pk) != 0;
        if (self->buffer.size > ZJOB_MSG_MAX - JOBS_MARGIN) {
            self->buffer.size = before;                 //  Next page's
            break;
        }
        added++;
    }
    s_patch_count (self, at, (uint32_t) added);
    return added;
}

//  Pack one result map (the fields of a single RESULT but credit)
static void
s_pack_result (zjob_msg_builder_t *self, const zjob_result_t *result)
{
    bool failed = !result->completed;
    bool outputs = !failed && result->outputs;
    uint32_t fields = 2 + (outputs? 1: 0) + (failed && result->error_kind? 1: 0)
                    + (failed && result->error_message? 1: 0);
    self->failed |= msgpack_pack_map (&self->pk, fields) != 0;
    s_pack_cstr (self, "id");
    s_pack_cstr (self, result->id? result->id: "");
    s_pack_cstr (self, "status");
    s_pack_cstr (self, failed? "failed": "completed");
    if (outputs) {
        s_pack_cstr (self, "outputs");
        self->failed |= msgpack_pack_bin_with_body (&self->pk, result->outputs,
                                                    result->outputs_size) != 0;
    }
    if (failed && result->error_kind) {
        s_pack_cstr (self, "error_kind");
        s_pack_cstr (self, result->error_kind);
    }
    if (failed && result->error_message) {
        s_pack_cstr (self, "error_message");
        s_pack_cstr (self, result->error_message);
    }
}

void
zjob_msg_add_results (zjob_msg_builder_t *self, const char *key, const zjob_result_t *results,
                      size_t count)
{
    zjob_msg_add_key (self, key);
    if (!results)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_result (self, &results [i]);
}

void
zjob_msg_add_result_errors (zjob_msg_builder_t *self, const char *const *ids,
                            const zjob_error_t *errors, size_t count)
{
    zjob_msg_add_key (self, "errors");
    if (!ids || !errors)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++) {
        self->failed |= msgpack_pack_map (&self->pk, 3) != 0;
        s_pack_cstr (self, "id");
        s_pack_cstr (self, ids [i]? ids [i]: "");
        s_pack_cstr (self, "code");
        self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) errors [i].code) != 0;
        s_pack_cstr (self, "message");
        s_pack_cstr (self, errors [i].text);
    }
}

void
zjob_msg_add_bulk (zjob_msg_builder_t *self, uint64_t done, uint64_t failed,
                   const char *const *ids, const zjob_error_t *errors, size_t count)
{
    zjob_msg_add_uint (self, "done", done);
    zjob_msg_add_uint (self, "failed", failed);
    if (count && ids && errors)
        zjob_msg_add_result_errors (self, ids, errors, count);
}

//  A map of status name -> count: every status, or (sparse) those > 0
static void
s_pack_status_counts (zjob_msg_builder_t *self, const size_t counts [ZJOB_STATUS_COUNT],
                      bool sparse)
{
    uint32_t present = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        present += !sparse || counts [status] > 0;
    self->failed |= msgpack_pack_map (&self->pk, present) != 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        if (!sparse || counts [status]) {
            s_pack_cstr (self, zjob_status_name ((zjob_status_t) status));
            self->failed |= msgpack_pack_uint64 (&self->pk, counts [status]) != 0;
        }
}

void
zjob_msg_add_stats (zjob_msg_builder_t *self, const zjob_stats_t *stats)
{
    uint64_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        total += stats->by_status [status];
    zjob_msg_add_uint (self, "jobs", total);
    zjob_msg_add_key (self, "by_status");
    s_pack_status_counts (self, stats->by_status, false);
    zjob_msg_add_key (self, "by_workflow");
    size_t workflows = stats->workflow_ids && stats->workflow_counts? stats->workflow_count: 0;
    self->failed |= msgpack_pack_map (&self->pk, (uint32_t) workflows) != 0;
    for (size_t index = 0; index < workflows; index++) {
        s_pack_cstr (self, stats->workflow_ids [index]? stats->workflow_ids [index]: "");
        s_pack_status_counts (self, stats->workflow_counts [index], true);
    }
    zjob_msg_add_uint (self, "queued", stats->queued);
    zjob_msg_add_uint (self, "active", stats->active);
    zjob_msg_add_uint (self, "workers", stats->workers);
    zjob_msg_add_uint (self, "slots", stats->slots);
    zjob_msg_add_uint (self, "busy", stats->busy);
    zjob_msg_add_uint (self, "max_concurrent", stats->max_concurrent);
    zjob_msg_add_uint (self, "scheduled", stats->scheduled);
    zjob_msg_add_bool (self, "held_by_limit", stats->held_by_limit);
    zjob_msg_add_key (self, "rates");
    self->failed |= msgpack_pack_map (&self->pk, 3) != 0;
    s_pack_cstr (self, "submitted");
    self->failed |= msgpack_pack_double (&self->pk, stats->submitted_rate) != 0;
    s_pack_cstr (self, "completed");
    self->failed |= msgpack_pack_double (&self->pk, stats->completed_rate) != 0;
    s_pack_cstr (self, "failed");
    self->failed |= msgpack_pack_double (&self->pk, stats->failed_rate) != 0;
    zjob_msg_add_uint (self, "rate_window_ms", stats->rate_window_ms);
    zjob_msg_add_uint (self, "uptime_ms", stats->uptime_ms);
    zjob_msg_add_uint (self, "subscriptions", stats->subscriptions);
    if (stats->store_name) {
        size_t figures = stats->store_keys && stats->store_values? stats->store_count: 0;
        zjob_msg_add_key (self, "store");
        self->failed |= msgpack_pack_map (&self->pk, (uint32_t) figures + 1) != 0;
        s_pack_cstr (self, "name");
        s_pack_cstr (self, stats->store_name);
        for (size_t index = 0; index < figures; index++) {
            s_pack_cstr (self, stats->store_keys [index]? stats->store_keys [index]: "");
            s_pack_cstr (self, stats->store_values [index]? stats->store_values [index]: "");
        }
    }
}

void
zjob_msg_add_workers (zjob_msg_builder_t *self, const zjob_worker_info_t *workers,
                      size_t count)
{
    zjob_msg_add_key (self, "workers");
    if (!workers)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, (uint32_t) count) != 0;
    for (size_t index = 0; index < count; index++) {
        const zjob_worker_info_t *worker = &workers [index];
        const char *worker_id = worker->worker_id? worker->worker_id: "";
        self->failed |= msgpack_pack_map (&self->pk, 9) != 0;
        s_pack_cstr (self, "worker_id");
        s_pack_cstr (self, worker_id);
        s_pack_cstr (self, "name");
        s_pack_cstr (self, worker->name? worker->name: worker_id);
        s_pack_cstr (self, "workflows");
        s_pack_strs (self, worker->workflows, worker->workflows? worker->workflow_count: 0);
        s_pack_cstr (self, "slots");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->slots) != 0;
        s_pack_cstr (self, "busy");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->busy) != 0;
        s_pack_cstr (self, "credit");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->credit) != 0;
        s_pack_cstr (self, "jobs");
        s_pack_strs (self, worker->jobs, worker->jobs? worker->job_count: 0);
        s_pack_cstr (self, "connected_at");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->connected_at) != 0;
        s_pack_cstr (self, "last_seen");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->last_seen) != 0;
    }
}

void
zjob_msg_add_job_event (zjob_msg_builder_t *self, const char *type, const zjob_job_t *job,
                        int old_status)
{
    zjob_msg_add_str (self, "type", type);
    zjob_msg_add_uint (self, "time", (uint64_t) zjob_clock_ms ());
    if (!job)
        return;
    zjob_msg_add_str (self, "id", job->id);
    zjob_msg_add_str (self, "workflow_id", job->workflow_id);
    zjob_msg_add_str (self, "user_id", job->user_id);
    zjob_msg_add_str (self, "status", zjob_status_name ((zjob_status_t) job->status));
    if (old_status >= 0 && old_status < ZJOB_STATUS_COUNT)
        zjob_msg_add_str (self, "old_status", zjob_status_name ((zjob_status_t) old_status));
    if (job->attempts)
        zjob_msg_add_uint (self, "attempts", job->attempts);
    if (job->progress > 0 || job->progress_message) {
        float progress = job->progress;
        zjob_msg_add_float (self, "progress", progress >= 0 && progress <= 1? progress: 0);
        zjob_msg_add_str (self, "progress_message", job->progress_message);
    }
    zjob_msg_add_str (self, "error_kind", job->error_kind);
    zjob_msg_add_str (self, "error_message", job->error_message);
    zjob_msg_add_str (self, "worker_id", job->worker_id);
}

size_t
zjob_msg_builder_size (zjob_msg_builder_t *self)
{
    return self? self->buffer.size: 0;
}

const uint8_t *
zjob_msg_end_data (zjob_msg_builder_t *self, size_t *size_p, zjob_error_t *err)
{
    *size_p = 0;
    if (!self || self->failed || !self->buffer.data) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory encoding a message");
        return NULL;
    }
    s_patch_count (self, self->body_at, self->keys);
    if (self->buffer.size > ZJOB_MSG_MAX) {
        zjob_error_set (err, ZJOB_TOO_LARGE, "message of %zu bytes is over the limit of %d bytes",
                        self->buffer.size, ZJOB_MSG_MAX);
        return NULL;
    }
    *size_p = self->buffer.size;
    return (const uint8_t *) self->buffer.data;
}

zframe_t *
zjob_msg_end (zjob_msg_builder_t *self, zjob_error_t *err)
{
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self, &size, err);
    if (!data)
        return NULL;
    zframe_t *frame = zframe_new (data, size);
    if (!frame)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory encoding a message");
    return frame;
}

zframe_t *
zjob_msg_error_new (uint64_t request_id, const zjob_error_t *err)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    int code = err? err->code: ZJOB_INTERNAL;
    zjob_msg_begin (builder, ZJOB_CMD_ERROR, request_id);
    zjob_msg_add_uint (builder, "code", code >= 100 && code <= 599? (uint64_t) code: ZJOB_INTERNAL);
    zjob_msg_add_str (builder, "message", err? err->text: "");
    if (code == ZJOB_VERSION_MISMATCH) {
        uint64_t supported [] = { ZJOB_PROTO_VERSION };
        zjob_msg_add_uints (builder, "supported", supported, 1);
    }
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    return frame;
}

zframe_t *
zjob_msg_empty_new (zjob_cmd_t cmd, uint64_t request_id)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    zjob_msg_begin (builder, cmd, request_id);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    return frame;
}


//  --------------------------------------------------------------------------
//  Event topics

size_t
zjob_event_topics (const char *type, const char *workflow_id, const char *id,
                   char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX])
{
    if (!type || !id)
        return 0;
    int rc;
    if (!workflow_id) {
        rc = snprintf (topics [0], ZJOB_TOPIC_MAX, "ev/%s/%s", type, id);
        return rc > 0 && rc < ZJOB_TOPIC_MAX? 1: 0;
    }
    rc = snprintf (topics [0], ZJOB_TOPIC_MAX, "ev/%s/%s/%s", type, workflow_id, id);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    rc = snprintf (topics [1], ZJOB_TOPIC_MAX, "wf/%s/%s/%s", workflow_id, type, id);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    rc = snprintf (topics [2], ZJOB_TOPIC_MAX, "job/%s/%s", id, type);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    return 3;
}

int
zjob_event_prefix (char *buf, size_t size, const char *type, const char *workflow_id,
                   const char *id)
{
    if (!buf || size == 0)
        return -1;
    int rc;
    if (id)
        rc = type? snprintf (buf, size, "job/%s/%s", id, type)
                 : snprintf (buf, size, "job/%s/", id);
    else
    if (workflow_id)
        rc = type? snprintf (buf, size, "wf/%s/%s/", workflow_id, type)
                 : snprintf (buf, size, "wf/%s/", workflow_id);
    else
        rc = type? snprintf (buf, size, "ev/%s/", type)
                 : snprintf (buf, size, "ev/");
    return rc > 0 && (size_t) rc < size? 0: -1;
}
