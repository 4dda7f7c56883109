/*  =========================================================================
    zjob_proto_schema - the field tables, and the check of a body against them

    The field tables are the protocol: one table per command body and per
    OK reply, each field with its wire key, type, bounds and whether it is
    required. PROTOCOL.md's tables are written from them, and the test
    suite round-trips every one. A body is checked against its table in
    one pass (unknown keys skipped, nil the same as absent, a key given
    twice an error), and an error names the command and the path of the
    field ("SUBMIT: jobs[3].priority: ..."), a path walked only when an
    error is reported. SUBMIT's specs, LIST's query, a bulk operation's
    target and RESULT's results are built into the message's zone as they
    are checked (the "post" function of a schema), so the broker gets C
    structs, not msgpack. This is step 5 of decoding (zjob_proto.c).
    ========================================================================= */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto_impl.h"

//  --------------------------------------------------------------------------
//  Field tables

typedef enum {
    F_STR,       //  str of min..max bytes
    F_NAME,      //  str that is a name (zjob_name_valid)
    F_ID,        //  str that is a job id
    F_STATUS,    //  str, a status name
    F_PRIORITY,  //  str, a priority name
    F_SORT,      //  str, a sort name
    F_ORDER,     //  str, "asc" or "desc"
    F_UINT,      //  unsigned integer in min..max
    F_PROGRESS,  //  number (float or integer) in 0..1
    F_BOOL,      //  boolean
    F_BIN,       //  bin of at most max bytes
    F_MAP,       //  any map
    F_MAPS,      //  array of at most max maps
    F_NAMES,     //  array of min..max names
    F_IDS,       //  array of min..max job ids
    F_UINTS,     //  array of at most max unsigned integers
    F_STATUSES,  //  array of status names
    F_FILTER,    //  filter map (s_filter_fields)
    F_SPECS,     //  array of min..max spec maps (s_spec_fields)
    F_ITEMS,     //  array of min..max maps, each checked against
                 //  the field's items table
    F_NUMBER     //  number (float or integer) in min..max
} s_type_t;

struct _s_table_t;

typedef struct {
    const char *key;  //  Wire key
    s_type_t type;
    bool required;                   //  Must be present and not nil
    uint64_t min;                    //  F_STR length, F_UINT value, array count
    uint64_t max;                    //  Same; 0 = no bound for arrays, F_STR, F_BIN
    const struct _s_table_t *items;  //  F_ITEMS: the table of each item, else NULL
} s_field_t;

typedef struct _s_table_t {
    const s_field_t *fields;
    size_t count;
} s_table_t;

#define TABLE(fields)                                 \
    {                                                 \
        fields, sizeof (fields) / sizeof (fields [0]) \
    }
#define NO_TABLE \
    {            \
        NULL, 0  \
    }
#define FIELDS_MAX 32  //  Fields in the largest table
#define REQ true
#define OPT false
#define TEXT_MAX ZJOB_MESSAGE_MAX
#define TIME_MAX ((uint64_t) INT64_MAX)

//  A job spec in SUBMIT; indexes are used to build zjob_spec_t
enum { SP_WORKFLOW,
       SP_INPUTS,
       SP_PRIORITY,
       SP_USER,
       SP_TAGS,
       SP_METADATA,
       SP_IDEM,
       SP_MAXA,
       SP_RUNAT,
       SP_BACKOFF,
       SP_BASE,
       SP_FACTOR,
       SP_MAX,
       SP_JITTER,
       SP_NORETRY,
       SP_TIMEOUT,
       SP_HEARTBEAT };
static const s_field_t s_spec_fields [] = {
    [SP_WORKFLOW] = { "workflow_id", F_NAME, REQ, 0, 0, NULL },
    [SP_INPUTS] = { "inputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [SP_PRIORITY] = { "priority", F_PRIORITY, OPT, 0, 0, NULL },
    [SP_USER] = { "user_id", F_NAME, OPT, 0, 0, NULL },
    [SP_TAGS] = { "tags", F_NAMES, OPT, 0, ZJOB_TAGS_MAX, NULL },
    [SP_METADATA] = { "metadata", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [SP_IDEM] = { "idempotency_key", F_NAME, OPT, 0, 0, NULL },
    [SP_MAXA] = { "max_attempts", F_UINT, OPT, 0, UINT32_MAX, NULL },
    [SP_RUNAT] = { "run_at", F_UINT, OPT, 0, TIME_MAX, NULL },
    //  The retry policy: absent = the default; a given 0 is "none" for the
    //  times (UINT32_MAX is the C spec's "none", so not accepted here)
    [SP_BACKOFF] = { "backoff", F_NAME, OPT, 0, 0, NULL },
    [SP_BASE] = { "backoff_base_ms", F_UINT, OPT, 0, UINT32_MAX - 1, NULL },
    [SP_FACTOR] = { "backoff_factor", F_NUMBER, OPT, 1, 100, NULL },
    [SP_MAX] = { "backoff_max_ms", F_UINT, OPT, 0, UINT32_MAX - 1, NULL },
    [SP_JITTER] = { "jitter", F_NAME, OPT, 0, 0, NULL },
    [SP_NORETRY] = { "no_retry", F_NAMES, OPT, 0, ZJOB_NO_RETRY_MAX, NULL },
    [SP_TIMEOUT] = { "timeout_ms", F_UINT, OPT, 0, UINT32_MAX - 1, NULL },
    [SP_HEARTBEAT] = { "heartbeat_timeout_ms", F_UINT, OPT, 0, UINT32_MAX - 1, NULL },
};
static const s_table_t s_spec_table = TABLE (s_spec_fields);

//  A filter, in LIST and in bulk operations
enum { FI_STATUS,
       FI_WORKFLOW,
       FI_USER,
       FI_TAGS,
       FI_AFTER,
       FI_BEFORE,
       FI_SCHEDULED };
static const s_field_t s_filter_fields [] = {
    [FI_STATUS] = { "status", F_STATUSES, OPT, 0, ZJOB_STATUS_COUNT, NULL },
    [FI_WORKFLOW] = { "workflow_id", F_NAME, OPT, 0, 0, NULL },
    [FI_USER] = { "user_id", F_NAME, OPT, 0, 0, NULL },
    [FI_TAGS] = { "tags", F_NAMES, OPT, 0, ZJOB_TAGS_MAX, NULL },
    [FI_AFTER] = { "created_after", F_UINT, OPT, 0, TIME_MAX, NULL },
    [FI_BEFORE] = { "created_before", F_UINT, OPT, 0, TIME_MAX, NULL },
    [FI_SCHEDULED] = { "scheduled", F_BOOL, OPT, 0, 0, NULL },
};
static const s_table_t s_filter_table = TABLE (s_filter_fields);

//  Request and notification bodies
enum { SU_JOBS,
       SU_AUTO };
static const s_field_t s_submit [] = {
    [SU_JOBS] = { "jobs", F_SPECS, REQ, 1, ZJOB_BATCH_MAX, NULL },
    [SU_AUTO] = { "auto_start", F_BOOL, OPT, 0, 0, NULL },
};
static const s_field_t s_id_only [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
};
enum { LI_FILTER,
       LI_SORT,
       LI_ORDER,
       LI_LIMIT,
       LI_OFFSET };
static const s_field_t s_list [] = {
    [LI_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
    [LI_SORT] = { "sort_by", F_SORT, OPT, 0, 0, NULL },
    [LI_ORDER] = { "order", F_ORDER, OPT, 0, 0, NULL },
    [LI_LIMIT] = { "limit", F_UINT, OPT, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    [LI_OFFSET] = { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
enum { TA_ID,
       TA_IDS,
       TA_FILTER };
static const s_field_t s_target [] = {
    [TA_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [TA_IDS] = { "ids", F_IDS, OPT, 1, ZJOB_BATCH_MAX, NULL },
    [TA_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
};
//  RETRY: a target and its options (read with zjob_msg_bool); RUN_NOW's
//  table is the first four (no reset_attempts)
enum { RR_DRY = TA_FILTER + 1,
       RR_RESET };
static const s_field_t s_rerun [] = {
    [TA_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [TA_IDS] = { "ids", F_IDS, OPT, 1, ZJOB_BATCH_MAX, NULL },
    [TA_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
    [RR_DRY] = { "dry_run", F_BOOL, OPT, 0, 0, NULL },
    [RR_RESET] = { "reset_attempts", F_BOOL, OPT, 0, 0, NULL },
};
static const s_field_t s_cleanup [] = {
    { "retention_ms", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_ready [] = {
    { "worker_id", F_NAME, REQ, 0, 0, NULL },
    { "name", F_NAME, OPT, 0, 0, NULL },
    { "workflows", F_NAMES, REQ, 1, ZJOB_WORKFLOWS_MAX, NULL },
    { "slots", F_UINT, REQ, 1, ZJOB_SLOTS_MAX, NULL },
    { "jobs", F_IDS, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "batch", F_UINT, OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
enum { JO_JOB,
       JO_JOBS };
static const s_field_t s_job [] = {
    [JO_JOB] = { "job", F_MAP, OPT, 0, 0, NULL },
    [JO_JOBS] = { "jobs", F_MAPS, OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_progress [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "progress", F_PROGRESS, REQ, 0, 0, NULL },
    { "message", F_STR, OPT, 0, TEXT_MAX, NULL },
};
//  One result: the body of a single RESULT, and each item of "results"
//  (the item table is the first five fields)
enum { RE_ID,
       RE_STATUS,
       RE_OUTPUTS,
       RE_KIND,
       RE_MESSAGE,
       RE_ATTEMPT,
       RE_PERMANENT,
       RE_CREDIT,
       RE_RESULTS };
static const s_table_t s_result_item_table;
static const s_field_t s_result [] = {
    [RE_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [RE_STATUS] = { "status", F_STATUS, OPT, 0, 0, NULL },
    [RE_OUTPUTS] = { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND] = { "error_kind", F_STR, OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE] = { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    [RE_ATTEMPT] = { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
    [RE_PERMANENT] = { "permanent", F_BOOL, OPT, 0, 0, NULL },
    [RE_CREDIT] = { "credit", F_UINT, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    [RE_RESULTS] = { "results", F_ITEMS, OPT, 1, ZJOB_SLOTS_MAX,
                     &s_result_item_table },
};
static const s_field_t s_result_item [] = {
    [RE_ID] = { "id", F_ID, REQ, 0, 0, NULL },
    [RE_STATUS] = { "status", F_STATUS, REQ, 0, 0, NULL },
    [RE_OUTPUTS] = { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND] = { "error_kind", F_STR, OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE] = { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    [RE_ATTEMPT] = { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
    [RE_PERMANENT] = { "permanent", F_BOOL, OPT, 0, 0, NULL },
};
static const s_table_t s_result_item_table = TABLE (s_result_item);
static const s_field_t s_credit [] = {
    { "credit", F_UINT, REQ, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_reason [] = {
    { "reason", F_STR, OPT, 0, TEXT_MAX, NULL },
};
//  CANCEL to a worker: why (absent: a client's cancel), and the attempt
static const s_field_t s_cancel_worker [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "reason", F_NAME, OPT, 0, 0, NULL },
    { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
};
static const s_field_t s_error [] = {
    { "code", F_UINT, REQ, 100, 599, NULL },
    { "message", F_STR, REQ, 0, TEXT_MAX, NULL },
    { "supported", F_UINTS, OPT, 0, 64, NULL },
};
static const s_field_t s_event [] = {
    { "type", F_NAME, REQ, 0, 0, NULL },
    { "time", F_UINT, REQ, 0, TIME_MAX, NULL },
    { "id", F_ID, OPT, 0, 0, NULL },
    { "workflow_id", F_NAME, OPT, 0, 0, NULL },
    { "user_id", F_NAME, OPT, 0, 0, NULL },
    { "status", F_STATUS, OPT, 0, 0, NULL },
    { "old_status", F_STATUS, OPT, 0, 0, NULL },
    { "attempts", F_UINT, OPT, 0, UINT32_MAX, NULL },
    { "progress", F_PROGRESS, OPT, 0, 0, NULL },
    { "progress_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "error_kind", F_STR, OPT, 0, ZJOB_NAME_MAX, NULL },
    { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "worker_id", F_NAME, OPT, 0, 0, NULL },
    { "name", F_NAME, OPT, 0, 0, NULL },
    { "workflows", F_NAMES, OPT, 0, ZJOB_WORKFLOWS_MAX, NULL },
    { "slots", F_UINT, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "reason", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "run_at", F_UINT, OPT, 0, TIME_MAX, NULL },
};

//  OK reply bodies
static const s_field_t s_submit_ok [] = {
    { "ids", F_IDS, REQ, 1, ZJOB_BATCH_MAX, NULL },
    { "existing", F_UINTS, OPT, 0, ZJOB_BATCH_MAX, NULL },
};
static const s_field_t s_get_ok [] = {
    { "job", F_MAP, REQ, 0, 0, NULL },
};
static const s_field_t s_list_ok [] = {
    { "jobs", F_MAPS, REQ, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    { "total", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
static const s_field_t s_target_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
    { "status", F_STATUS, OPT, 0, 0, NULL },
    { "done", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "failed", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "errors", F_MAPS, OPT, 0, ZJOB_BULK_ERRORS_MAX, NULL },
    { "ids", F_IDS, OPT, 0, ZJOB_BATCH_MAX, NULL },  //  A bulk dry run's jobs
};
static const s_field_t s_status_ok [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "status", F_STATUS, REQ, 0, 0, NULL },
    { "progress", F_PROGRESS, OPT, 0, 0, NULL },
    { "progress_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "updated_at", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_results_ok [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "status", F_STATUS, REQ, 0, 0, NULL },
    { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    { "error_kind", F_STR, OPT, 0, ZJOB_NAME_MAX, NULL },
    { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "completed_at", F_UINT, OPT, 0, TIME_MAX, NULL },
    { "execution_ms", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const s_field_t s_cleanup_ok [] = {
    { "deleted", F_UINT, REQ, 0, UINT64_MAX, NULL },
};
static const s_field_t s_stats_ok [] = {
    { "jobs", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "by_status", F_MAP, REQ, 0, 0, NULL },
    { "by_workflow", F_MAP, REQ, 0, 0, NULL },
    { "queued", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "active", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "workers", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "slots", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "busy", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "max_concurrent", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "scheduled", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "retrying", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "dead", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "held_by_limit", F_BOOL, OPT, 0, 0, NULL },
    { "rates", F_MAP, REQ, 0, 0, NULL },
    { "rate_window_ms", F_UINT, REQ, 0, TIME_MAX, NULL },
    { "uptime_ms", F_UINT, REQ, 0, TIME_MAX, NULL },
    { "store", F_MAP, OPT, 0, 0, NULL },
    { "subscriptions", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
static const s_field_t s_workers_ok [] = {
    { "workers", F_MAPS, REQ, 0, 0, NULL },
};
static const s_field_t s_ping_ok [] = {
    { "version", F_UINT, REQ, 0, UINT32_MAX, NULL },
    { "time", F_UINT, REQ, 0, TIME_MAX, NULL },
};
static const s_field_t s_ready_ok [] = {
    { "heartbeat_ms", F_UINT, REQ, 1, TIME_MAX, NULL },
    { "liveness", F_UINT, REQ, 1, 1000, NULL },
    { "credit", F_UINT, REQ, 0, ZJOB_SLOTS_MAX, NULL },
    { "drop", F_IDS, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "max_message", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "batch", F_UINT, OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
static const s_field_t s_id_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
};
//  A result a multi-result RESULT's OK refuses
enum { RX_ID,
       RX_CODE,
       RX_MESSAGE };
static const s_field_t s_result_error [] = {
    [RX_ID] = { "id", F_ID, REQ, 0, 0, NULL },
    [RX_CODE] = { "code", F_UINT, REQ, 100, 599, NULL },
    [RX_MESSAGE] = { "message", F_STR, REQ, 0, TEXT_MAX, NULL },
};
static const s_table_t s_result_error_table = TABLE (s_result_error);
static const s_field_t s_result_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
    { "errors", F_ITEMS, OPT, 0, ZJOB_SLOTS_MAX, &s_result_error_table },
};

typedef int (s_post_fn) (zjob_proto_ctx_t *ctx, const msgpack_object **values);

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
    { ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_submit), TABLE (s_submit_ok), s_post_submit },
    { ZJOB_CMD_GET, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_get_ok), NULL },
    { ZJOB_CMD_LIST, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_list), TABLE (s_list_ok), s_post_list },
    { ZJOB_CMD_DELETE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_START, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_PAUSE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_RESUME, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_CANCEL, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_STATUS, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_status_ok), NULL },
    { ZJOB_CMD_RESULTS, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_results_ok), NULL },
    { ZJOB_CMD_CLEANUP, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_cleanup), TABLE (s_cleanup_ok), NULL },
    { ZJOB_CMD_STATS, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_stats_ok), NULL },
    { ZJOB_CMD_WORKERS, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_workers_ok), NULL },
    { ZJOB_CMD_PING, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_ping_ok), NULL },
    { ZJOB_CMD_READY, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_ready), TABLE (s_ready_ok), NULL },
    { ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_progress), NO_TABLE, NULL },
    { ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_result), TABLE (s_result_ok), s_post_result },
    { ZJOB_CMD_CREDIT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_credit), NO_TABLE, NULL },
    { ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_WORKER_BROKER, NO_TABLE, NO_TABLE, NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_reason), NO_TABLE, NULL },
    { ZJOB_CMD_JOB, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_job), NO_TABLE, s_post_job },
    { ZJOB_CMD_PAUSE, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only), TABLE (s_id_ok), s_post_worker_target },
    { ZJOB_CMD_RESUME, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only), TABLE (s_id_ok), s_post_worker_target },
    { ZJOB_CMD_CANCEL, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_cancel_worker), TABLE (s_id_ok), s_post_worker_target },
    { ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_BROKER_WORKER, NO_TABLE, NO_TABLE, NULL },
    { ZJOB_CMD_RECONNECT, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason), NO_TABLE, NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_BROKER_CLIENT, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_EVENT, ZJOB_ROUTE_EVENTS, TABLE (s_event), NO_TABLE, NULL },
    { ZJOB_CMD_RETRY, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_rerun), TABLE (s_target_ok), s_post_target },
    { ZJOB_CMD_RUN_NOW, ZJOB_ROUTE_CLIENT_BROKER, { s_rerun, RR_RESET }, TABLE (s_target_ok), s_post_target },
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


//  How a field was reached, for error messages: a chain from the field up
//  to the body, walked only when an error is reported
typedef struct _s_path_t {
    const struct _s_path_t *parent;  //  NULL at the body
    const char *key;                 //  Field key, or NULL for an array index
    size_t index;                    //  Array index when key is NULL
} s_path_t;


//  --------------------------------------------------------------------------
//  Field checking

static const char *
s_object_type_name (const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an unsigned integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "a float";
        case MSGPACK_OBJECT_STR: return "a string";
        case MSGPACK_OBJECT_ARRAY: return "an array";
        case MSGPACK_OBJECT_MAP: return "a map";
        case MSGPACK_OBJECT_BIN: return "a bin";
        case MSGPACK_OBJECT_EXT: return "an ext";
        default: return "an unknown type";
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
            rc = snprintf (buf + used, size - used, "%s%s", used ? "." : "", node->key);
        else
            rc = snprintf (buf + used, size - used, "[%zu]", node->index);
        if (rc < 0)
            break;
        used += (size_t) rc;
    }
}

//  Fill err with "<what>: <path>: <problem>"; returns -1
static int
s_fail (zjob_proto_ctx_t *ctx, const s_path_t *path, int code, const char *problem)
{
    char where [128];
    s_path_format (path, where, sizeof (where));
    return zjob_error_set (ctx->err, code, "%s: %s: %s", ctx->what, where, problem);
}

static int
s_fail_type (zjob_proto_ctx_t *ctx, const s_path_t *path, const char *expected, const msgpack_object *obj)
{
    char problem [160];
    snprintf (problem, sizeof (problem), "expected %s, got %s", expected,
              s_object_type_name (obj));
    return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
}

static int
s_fail_memory (zjob_proto_ctx_t *ctx)
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

static const char *
s_status_of (int i)
{
    return zjob_status_name ((zjob_status_t) i);
}
static const char *
s_priority_of (int i)
{
    return zjob_priority_name ((zjob_priority_t) i);
}
static const char *
s_sort_of (int i)
{
    return zjob_sort_name ((zjob_sort_t) i);
}
static const char *
s_order_of (int i)
{
    return i == 0 ? "asc" : "desc";
}
#define SORT_COUNT 4

static int s_check_map (zjob_proto_ctx_t *ctx, const msgpack_object *map, const s_table_t *table,
                        const msgpack_object **values, const s_path_t *path);

//  Check a str value of a typed kind (F_STR .. F_ORDER)
static int
s_check_str (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
             const s_path_t *path)
{
    static const char *expected [] = {
        [F_STR] = "a string", [F_NAME] = "a name (string)", [F_ID] = "a job id (string)", [F_STATUS] = "a status name (string)", [F_PRIORITY] = "a priority name (string)", [F_SORT] = "a sort name (string)", [F_ORDER] = "\"asc\" or \"desc\""
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
                zjob_proto_printable (shown, sizeof (shown), text, len);
                snprintf (problem, sizeof (problem), "\"%s\" is not a job id", shown);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        case F_STATUS:
        case F_PRIORITY:
        case F_SORT:
        case F_ORDER: {
            int found = field->type == F_STATUS ? s_name_index (text, len, s_status_of, ZJOB_STATUS_COUNT)
                : field->type == F_PRIORITY     ? s_name_index (text, len, s_priority_of, ZJOB_PRIORITY_COUNT)
                : field->type == F_SORT         ? s_name_index (text, len, s_sort_of, SORT_COUNT)
                                                : s_name_index (text, len, s_order_of, 2);
            if (found < 0) {
                char shown [40];
                zjob_proto_printable (shown, sizeof (shown), text, len);
                const char *kind = field->type == F_STATUS ? "status"
                    : field->type == F_PRIORITY            ? "priority"
                    : field->type == F_SORT                ? "sort"
                                                           : "order";
                const char *known = field->type == F_STATUS
                    ? "created, queued, running, paused, completed, failed, cancelled"
                    : field->type == F_PRIORITY ? "low, medium, high, critical"
                    : field->type == F_SORT     ? "created, updated, priority, status"
                                                : "asc, desc";
                snprintf (problem, sizeof (problem), "unknown %s \"%s\" (%s)", kind, shown, known);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        default:
            return s_fail (ctx, path, ZJOB_INTERNAL, "not a string type");
    }
}

//  The index of the name at obj (a checked str) in a name table
static int
s_enum_value (const msgpack_object *obj, const char *(*name_of) (int), int count)
{
    return s_name_index (obj->via.str.ptr, obj->via.str.size, name_of, count);
}

//  Build the message's filter from a checked filter map's values
static int
s_build_filter (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_filter_t *filter)
{
    memset (filter, 0, sizeof (*filter));
    msgpack_zone *zone = ctx->msg->zone;
    if (v [FI_STATUS])
        for (uint32_t i = 0; i < v [FI_STATUS]->via.array.size; i++)
            filter->status_mask |= 1u << s_enum_value (&v [FI_STATUS]->via.array.ptr [i],
                                                       s_status_of, ZJOB_STATUS_COUNT);
    if (v [FI_WORKFLOW] && !(filter->workflow_id = zjob_proto_zone_str (zone, v [FI_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [FI_USER] && !(filter->user_id = zjob_proto_zone_str (zone, v [FI_USER])))
        return s_fail_memory (ctx);
    if (v [FI_TAGS]) {
        bool ok;
        filter->tags = zjob_proto_zone_strs (zone, v [FI_TAGS], &ok);
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
        filter->scheduled = v [FI_SCHEDULED]->via.boolean ? ZJOB_SCHEDULED_YES : ZJOB_SCHEDULED_NO;
    return 0;
}

//  The retry policy's fields of a spec (zjob_proto_spec_policy)
static int
s_build_policy (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    const char *bad = zjob_proto_spec_policy (ctx->msg->zone, v + SP_BACKOFF, spec);
    if (bad && !*bad)
        return s_fail_memory (ctx);
    s_path_t field = { NULL, bad, 0 };
    return bad ? s_fail (ctx, &field, ZJOB_BAD_REQUEST,
                         streq (bad, "backoff") ? "fixed or exponential" : "full or none")
               : 0;
}

//  Build one spec from a checked spec map's values
static int
s_build_spec (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    memset (spec, 0, sizeof (*spec));
    msgpack_zone *zone = ctx->msg->zone;
    if (!(spec->workflow_id = zjob_proto_zone_str (zone, v [SP_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [SP_INPUTS] && v [SP_INPUTS]->via.bin.size) {
        spec->inputs = (const uint8_t *) v [SP_INPUTS]->via.bin.ptr;
        spec->inputs_size = v [SP_INPUTS]->via.bin.size;
    }
    spec->priority = v [SP_PRIORITY]
        ? (zjob_priority_t) s_enum_value (v [SP_PRIORITY], s_priority_of,
                                          ZJOB_PRIORITY_COUNT)
        : ZJOB_PRIORITY_DEFAULT;
    if (v [SP_USER] && !(spec->user_id = zjob_proto_zone_str (zone, v [SP_USER])))
        return s_fail_memory (ctx);
    if (v [SP_TAGS]) {
        bool ok;
        spec->tags = zjob_proto_zone_strs (zone, v [SP_TAGS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        spec->tag_count = v [SP_TAGS]->via.array.size;
    }
    if (v [SP_METADATA] && v [SP_METADATA]->via.bin.size) {
        spec->metadata = (const uint8_t *) v [SP_METADATA]->via.bin.ptr;
        spec->metadata_size = v [SP_METADATA]->via.bin.size;
    }
    if (v [SP_IDEM] && !(spec->idempotency_key = zjob_proto_zone_str (zone, v [SP_IDEM])))
        return s_fail_memory (ctx);
    if (v [SP_MAXA])  //  On the wire 0 is "no limit"
        spec->max_attempts = v [SP_MAXA]->via.u64 ? (uint32_t) v [SP_MAXA]->via.u64
                                                  : ZJOB_ATTEMPTS_UNLIMITED;
    if (v [SP_RUNAT])
        spec->run_at = (int64_t) v [SP_RUNAT]->via.u64;
    return s_build_policy (ctx, v, spec);
}

//  Check an array's type and item count
static int
s_check_array (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
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

static int s_check_value (zjob_proto_ctx_t *ctx, const msgpack_object *value,
                          const s_field_t *field, const s_path_t *path);

//  An array of plain values (F_MAPS .. F_STATUSES): each item checked as
//  a field of its own
static int
s_check_list (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
              const s_path_t *path)
{
    static const char *expected [] = {
        [F_MAPS] = "an array of maps", [F_NAMES] = "an array of names", [F_IDS] = "an array of job ids", [F_UINTS] = "an array of unsigned integers", [F_STATUSES] = "an array of status names"
    };
    static const s_field_t items [] = {
        [F_MAPS] = { NULL, F_MAP, OPT, 0, 0, NULL }, [F_NAMES] = { NULL, F_NAME, OPT, 0, 0, NULL }, [F_IDS] = { NULL, F_ID, OPT, 0, 0, NULL }, [F_UINTS] = { NULL, F_UINT, OPT, 0, UINT64_MAX, NULL }, [F_STATUSES] = { NULL, F_STATUS, OPT, 0, 0, NULL }
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

//  A filter map, built into the message when there is one
static int
s_check_filter (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
                const s_path_t *path)
{
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

//  Item i of array (an array at path) must be a map (expected says what
//  kind, for the error) that passes table; values as s_check_map
static int
s_check_item (zjob_proto_ctx_t *ctx, const msgpack_object *array, uint32_t i,
              const s_path_t *path, const s_table_t *table, const char *expected,
              const msgpack_object **values)
{
    s_path_t item = { path, NULL, i };
    const msgpack_object *map = &array->via.array.ptr [i];
    if (map->type != MSGPACK_OBJECT_MAP)
        return s_fail_type (ctx, &item, expected, map);
    return s_check_map (ctx, map, table, values, &item);
}

//  SUBMIT's specs, each checked and built into the message's zone
static int
s_check_specs (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
               const s_path_t *path)
{
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
        const msgpack_object *values [sizeof (s_spec_fields) / sizeof (s_spec_fields [0])];
        if (s_check_item (ctx, value, i, path, &s_spec_table, "a job spec map", values))
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

//  An array of maps, each checked against the field's items table
static int
s_check_items (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
               const s_path_t *path)
{
    if (s_check_array (ctx, value, field, path, "an array of maps"))
        return -1;
    for (uint32_t i = 0; i < value->via.array.size; i++) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_item (ctx, value, i, path, field->items, "a map", values))
            return -1;
    }
    return 0;
}

//  Check one field's value against its definition
//  A float or a non-negative integer as a double; false for other types
static bool
s_number (const msgpack_object *value, double *number)
{
    bool is_float = value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64;
    bool is_uint = value->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    *number = is_float ? value->via.f64 : is_uint ? (double) value->via.u64
                                                  : 0.0;
    return is_float || is_uint;
}

static int
s_check_value (zjob_proto_ctx_t *ctx, const msgpack_object *value, const s_field_t *field,
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
                snprintf (problem, sizeof (problem), "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, value->via.u64, field->min, field->max);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;

        case F_PROGRESS: {
            double number;
            if (!s_number (value, &number))
                return s_fail_type (ctx, path, "a number", value);
            if (!(number >= 0.0 && number <= 1.0))
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "not a number in 0..1");
            return 0;
        }
        case F_NUMBER: {
            double number;
            if (!s_number (value, &number))
                return s_fail_type (ctx, path, "a number", value);
            if (!(number >= (double) field->min && number <= (double) field->max)) {
                snprintf (problem, sizeof (problem), "%.1f to %.1f, not %g", (double) field->min,
                          (double) field->max, number);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
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
                snprintf (problem, sizeof (problem), "%" PRIu32 " bytes, over the limit of %" PRIu64, value->via.bin.size, field->max);
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
        case F_STATUSES:
            return s_check_list (ctx, value, field, path);
        case F_FILTER:
            return s_check_filter (ctx, value, field, path);
        case F_SPECS:
            return s_check_specs (ctx, value, field, path);
        case F_ITEMS:
            return s_check_items (ctx, value, field, path);
    }
    return s_fail (ctx, path, ZJOB_INTERNAL, "unknown field type");
}

//  Check a map against a table: values[i] becomes the value of field i
//  (NULL if absent or nil). Unknown keys are skipped.
static int
s_check_map (zjob_proto_ctx_t *ctx, const msgpack_object *map, const s_table_t *table,
             const msgpack_object **values, const s_path_t *path)
{
    for (size_t i = 0; i < table->count; i++)
        values [i] = NULL;
    uint64_t seen = 0;     //  Bit per field: its key was read
    uint32_t unknown = 0;  //  Keys not in the table
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
                && memcmp (key, name, size) == 0) {
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
    int repeated = unknown > 1 ? zjob_msgpack_map_repeated (map, &repeat) : 0;
    if (repeated < 0)
        return s_fail_memory (ctx);
    if (repeated) {
        const msgpack_object_str *key = &map->via.map.ptr [repeat].key.via.str;
        char name [64], problem [120];
        zjob_proto_printable (name, sizeof (name), key->ptr, key->size);
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
s_post_submit (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    ctx->msg->auto_start = values [SU_AUTO] ? values [SU_AUTO]->via.boolean : true;
    return 0;
}

static int
s_post_list (zjob_proto_ctx_t *ctx, const msgpack_object **values)
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
            ? SIZE_MAX
            : (size_t) values [LI_OFFSET]->via.u64;
    ctx->msg->has_query = true;
    return 0;
}

static int
s_post_target (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    int given = !!values [TA_ID] + !!values [TA_IDS] + !!values [TA_FILTER];
    if (given != 1)
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       given ? "give only one of id, ids and filter"
                             : "give one of id, ids and filter");
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    msgpack_zone *zone = ctx->msg->zone;
    if (values [TA_ID] && !(target->id = zjob_proto_zone_str (zone, values [TA_ID])))
        return s_fail_memory (ctx);
    if (values [TA_IDS]) {
        bool ok;
        target->ids = zjob_proto_zone_strs (zone, values [TA_IDS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        target->id_count = values [TA_IDS]->via.array.size;
    }
    if (values [TA_FILTER]) {
        if (zjob_proto_filter_empty (&ctx->msg->filter)) {
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
s_post_worker_target (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    if (!(target->id = zjob_proto_zone_str (ctx->msg->zone, values [0])))
        return s_fail_memory (ctx);
    ctx->msg->has_target = true;
    return 0;
}

//  Build one result from a checked result map's values (RE_ID..RE_MESSAGE)
static int
s_build_result (zjob_proto_ctx_t *ctx, const msgpack_object **v, const s_path_t *path,
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
    if (!(result->id = zjob_proto_zone_str (zone, v [RE_ID])))
        return s_fail_memory (ctx);
    if (v [RE_OUTPUTS] && v [RE_OUTPUTS]->via.bin.size) {
        result->outputs = (const uint8_t *) v [RE_OUTPUTS]->via.bin.ptr;
        result->outputs_size = v [RE_OUTPUTS]->via.bin.size;
    }
    if (v [RE_KIND] && !(result->error_kind = zjob_proto_zone_str (zone, v [RE_KIND])))
        return s_fail_memory (ctx);
    if (v [RE_MESSAGE] && !(result->error_message = zjob_proto_zone_str (zone, v [RE_MESSAGE])))
        return s_fail_memory (ctx);
    if (v [RE_ATTEMPT])
        result->attempt = (uint32_t) v [RE_ATTEMPT]->via.u64;
    result->permanent = !result->completed && v [RE_PERMANENT] && v [RE_PERMANENT]->via.boolean;
    return 0;
}

//  RESULT: one result (id, status...) or several (results), not both
static int
s_post_result (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    const msgpack_object *list = values [RE_RESULTS];
    if (list
        && (values [RE_ID] || values [RE_STATUS] || values [RE_OUTPUTS] || values [RE_KIND]
            || values [RE_MESSAGE] || values [RE_ATTEMPT] || values [RE_PERMANENT]))
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       "give either one result (id, status...) or results, not both");
    if (!list) {
        s_path_t field = { NULL, values [RE_ID] ? "status" : "id", 0 };
        if (!values [RE_ID] || !values [RE_STATUS])
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "missing");
    }
    size_t count = list ? list->via.array.size : 1;
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
            || s_build_result (ctx, v, &item, &results [i]))
            return -1;
    }
    ctx->msg->results = results;
    ctx->msg->result_count = count;
    return 0;
}

//  JOB: one job (job) or several (jobs), exactly one of the two
static int
s_post_job (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    if (!values [JO_JOB] == !values [JO_JOBS])
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       values [JO_JOB] ? "give either job or jobs, not both"
                                       : "give one of job and jobs");
    return 0;
}


int
zjob_proto_check_result_error (zjob_proto_ctx_t *ctx, const msgpack_object *item,
                               const msgpack_object **id_p, uint64_t *code_p,
                               const msgpack_object **message_p)
{
    const msgpack_object *v [FIELDS_MAX];
    if (s_check_map (ctx, item, &s_result_error_table, v, NULL))
        return -1;
    *id_p = v [RX_ID];
    *code_p = v [RX_CODE]->via.u64;
    *message_p = v [RX_MESSAGE];
    return 0;
}


//  --------------------------------------------------------------------------
//  Bodies checked for zjob_proto.c

_Static_assert(sizeof (s_event) / sizeof (s_event [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
_Static_assert(sizeof (s_stats_ok) / sizeof (s_stats_ok [0]) <= FIELDS_MAX, "FIELDS_MAX too small");

int
zjob_proto_check_body (zjob_proto_ctx_t *ctx)
{
    zjob_msg_t *self = ctx->msg;
    if (self->body->type != MSGPACK_OBJECT_MAP)
        return s_fail_type (ctx, NULL, "a map", self->body);
    const s_schema_t *schema = s_schema_find (self->command, self->route);
    if (schema) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_map (ctx, self->body, &schema->body, values, NULL)
            || (schema->post && schema->post (ctx, values)))
            return -1;
    }
    return 0;
}

int
zjob_proto_check_reply (zjob_proto_ctx_t *ctx, const msgpack_object *body,
                        zjob_cmd_t request, zjob_route_t route)
{
    const s_schema_t *schema = s_schema_find (request, route);
    if (!schema)
        return 0;
    const msgpack_object *values [FIELDS_MAX];
    return s_check_map (ctx, body, &schema->reply, values, NULL);
}
