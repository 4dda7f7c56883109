/*  =========================================================================
    zjob_proto_fields - the field tables: the protocol's bodies

    One table per command body and per OK reply, each field with its wire
    key, type, bounds and whether it is required, and the list of schemas
    (command, route, body, reply, post function). PROTOCOL.md's tables are
    written from them, and the test suite round-trips every one. The check
    itself is zjob_proto_schema.c.
    ========================================================================= */

#include "zjob_proto_fields.h"
#include "zjob_cron.h"


static const zjob_field_t s_spec_fields [] = {
    //  Required unless a template is given (zjob_proto_schema.c checks)
    [SP_WORKFLOW] = { "workflow_id", F_NAME, OPT, 0, 0, NULL },
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
    //  Workflows: parents by id or by position in this SUBMIT's jobs
    [SP_DEPENDS] = { "depends_on", F_PARENTS, OPT, 0, ZJOB_PARENTS_MAX, NULL },
    [SP_ONPARENT] = { "on_parent_failure", F_NAME, OPT, 0, 0, NULL },
    [SP_BATCH] = { "batch_id", F_NAME, OPT, 0, 0, NULL },
    [SP_TEMPLATE] = { "template", F_NAME, OPT, 0, 0, NULL },
    [SP_UNIQUE] = { "unique_key", F_NAME, OPT, 0, 0, NULL },
};
const zjob_ftable_t zjob_spec_table = TABLE (s_spec_fields);

static const zjob_field_t s_filter_fields [] = {
    [FI_STATUS] = { "status", F_STATUSES, OPT, 0, ZJOB_STATUS_COUNT, NULL },
    [FI_WORKFLOW] = { "workflow_id", F_NAME, OPT, 0, 0, NULL },
    [FI_USER] = { "user_id", F_NAME, OPT, 0, 0, NULL },
    [FI_TAGS] = { "tags", F_NAMES, OPT, 0, ZJOB_TAGS_MAX, NULL },
    [FI_AFTER] = { "created_after", F_UINT, OPT, 0, TIME_MAX, NULL },
    [FI_BEFORE] = { "created_before", F_UINT, OPT, 0, TIME_MAX, NULL },
    [FI_SCHEDULED] = { "scheduled", F_BOOL, OPT, 0, 0, NULL },
    [FI_BATCH] = { "batch_id", F_NAME, OPT, 0, 0, NULL },
    [FI_WAITING_ON] = { "waiting_on", F_ID, OPT, 0, 0, NULL },
    [FI_SCHEDULE] = { "schedule_id", F_NAME, OPT, 0, 0, NULL },
};
const zjob_ftable_t zjob_filter_table = TABLE (s_filter_fields);

static const zjob_field_t s_submit [] = {
    [SU_JOBS] = { "jobs", F_SPECS, REQ, 1, ZJOB_BATCH_MAX, NULL },
    [SU_AUTO] = { "auto_start", F_BOOL, OPT, 0, 0, NULL },
    [SU_BATCH] = { "batch", F_MAP, OPT, 0, 0, NULL },  //  Read by the broker (batches)
};
static const zjob_field_t s_id_only [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
};
static const zjob_field_t s_list [] = {
    [LI_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
    [LI_SORT] = { "sort_by", F_SORT, OPT, 0, 0, NULL },
    [LI_ORDER] = { "order", F_ORDER, OPT, 0, 0, NULL },
    [LI_LIMIT] = { "limit", F_UINT, OPT, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    [LI_OFFSET] = { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
static const zjob_field_t s_target [] = {
    [TA_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [TA_IDS] = { "ids", F_IDS, OPT, 1, ZJOB_BATCH_MAX, NULL },
    [TA_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
};
static const zjob_field_t s_rerun [] = {
    [TA_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [TA_IDS] = { "ids", F_IDS, OPT, 1, ZJOB_BATCH_MAX, NULL },
    [TA_FILTER] = { "filter", F_FILTER, OPT, 0, 0, NULL },
    [RR_DRY] = { "dry_run", F_BOOL, OPT, 0, 0, NULL },
    [RR_RESET] = { "reset_attempts", F_BOOL, OPT, 0, 0, NULL },
};
static const zjob_field_t s_cleanup [] = {
    { "retention_ms", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const zjob_field_t s_ready [] = {
    { "worker_id", F_NAME, REQ, 0, 0, NULL },
    { "name", F_NAME, OPT, 0, 0, NULL },
    { "workflows", F_NAMES, REQ, 1, ZJOB_WORKFLOWS_MAX, NULL },
    { "slots", F_UINT, REQ, 1, ZJOB_SLOTS_MAX, NULL },
    { "jobs", F_IDS, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "batch", F_UINT, OPT, 1, ZJOB_SLOTS_MAX, NULL },
    { "prefetch", F_UINT, OPT, 0, ZJOB_PREFETCH_MAX, NULL },
    { "release", F_IDS, OPT, 0, ZJOB_PREFETCH_MAX, NULL },
};
static const zjob_field_t s_job [] = {
    [JO_JOB] = { "job", F_MAP, OPT, 0, 0, NULL },
    [JO_JOBS] = { "jobs", F_MAPS, OPT, 1, ZJOB_SLOTS_MAX, NULL },
};
static const zjob_field_t s_progress [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "progress", F_PROGRESS, REQ, 0, 0, NULL },
    { "message", F_STR, OPT, 0, TEXT_MAX, NULL },
};
static const zjob_field_t s_result [] = {
    [RE_ID] = { "id", F_ID, OPT, 0, 0, NULL },
    [RE_STATUS] = { "status", F_STATUS, OPT, 0, 0, NULL },
    [RE_OUTPUTS] = { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND] = { "error_kind", F_STR, OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE] = { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    [RE_ATTEMPT] = { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
    [RE_PERMANENT] = { "permanent", F_BOOL, OPT, 0, 0, NULL },
    [RE_CREDIT] = { "credit", F_UINT, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    [RE_RESULTS] = { "results", F_ITEMS, OPT, 1, ZJOB_SLOTS_MAX,
                     &zjob_result_item_table },
};
static const zjob_field_t s_result_item [] = {
    [RE_ID] = { "id", F_ID, REQ, 0, 0, NULL },
    [RE_STATUS] = { "status", F_STATUS, REQ, 0, 0, NULL },
    [RE_OUTPUTS] = { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    [RE_KIND] = { "error_kind", F_STR, OPT, 1, ZJOB_NAME_MAX, NULL },
    [RE_MESSAGE] = { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    [RE_ATTEMPT] = { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
    [RE_PERMANENT] = { "permanent", F_BOOL, OPT, 0, 0, NULL },
};
const zjob_ftable_t zjob_result_item_table = TABLE (s_result_item);
static const zjob_field_t s_credit [] = {
    { "credit", F_UINT, REQ, 1, ZJOB_SLOTS_MAX, NULL },
};
static const zjob_field_t s_reason [] = {
    { "reason", F_STR, OPT, 0, TEXT_MAX, NULL },
};
//  A worker's DISCONNECT: why, and the jobs it gives back unstarted
static const zjob_field_t s_disconnect [] = {
    { "reason", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "release", F_IDS, OPT, 0, ZJOB_PREFETCH_MAX, NULL },
};
//  CANCEL to a worker: why (absent: a client's cancel), and the attempt
static const zjob_field_t s_cancel_worker [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "reason", F_NAME, OPT, 0, 0, NULL },
    { "attempt", F_UINT, OPT, 0, UINT32_MAX, NULL },
};
static const zjob_field_t s_error [] = {
    { "code", F_UINT, REQ, 100, 599, NULL },
    { "message", F_STR, REQ, 0, TEXT_MAX, NULL },
    { "supported", F_UINTS, OPT, 0, 64, NULL },
};
static const zjob_field_t s_event [] = {
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
    { "batch", F_MAP, OPT, 0, 0, NULL },  //  batch_finished: the batch map
};

//  OK reply bodies
static const zjob_field_t s_submit_ok [] = {
    { "ids", F_IDS, REQ, 1, ZJOB_BATCH_MAX, NULL },
    { "existing", F_UINTS, OPT, 0, ZJOB_BATCH_MAX, NULL },
};
static const zjob_field_t s_get_ok [] = {
    { "job", F_MAP, REQ, 0, 0, NULL },
    { "children", F_IDS, OPT, 0, ZJOB_CHILDREN_MAX, NULL },
};
static const zjob_field_t s_list_ok [] = {
    { "jobs", F_MAPS, REQ, 0, ZJOB_LIST_LIMIT_MAX, NULL },
    { "total", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
static const zjob_field_t s_target_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
    { "status", F_STATUS, OPT, 0, 0, NULL },
    { "done", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "failed", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "errors", F_MAPS, OPT, 0, ZJOB_BULK_ERRORS_MAX, NULL },
    { "ids", F_IDS, OPT, 0, ZJOB_BATCH_MAX, NULL },  //  A bulk dry run's jobs
};
static const zjob_field_t s_status_ok [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "status", F_STATUS, REQ, 0, 0, NULL },
    { "progress", F_PROGRESS, OPT, 0, 0, NULL },
    { "progress_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "updated_at", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const zjob_field_t s_results_ok [] = {
    { "id", F_ID, REQ, 0, 0, NULL },
    { "status", F_STATUS, REQ, 0, 0, NULL },
    { "outputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    { "error_kind", F_STR, OPT, 0, ZJOB_NAME_MAX, NULL },
    { "error_message", F_STR, OPT, 0, TEXT_MAX, NULL },
    { "completed_at", F_UINT, OPT, 0, TIME_MAX, NULL },
    { "execution_ms", F_UINT, OPT, 0, TIME_MAX, NULL },
};
static const zjob_field_t s_cleanup_ok [] = {
    { "deleted", F_UINT, REQ, 0, UINT64_MAX, NULL },
};
static const zjob_field_t s_stats_ok [] = {
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
    { "held", F_MAP, OPT, 0, 0, NULL },  //  workflow -> "paused" | "concurrency" | "rate"
    { "paused_queues", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "rates", F_MAP, REQ, 0, 0, NULL },
    { "rate_window_ms", F_UINT, REQ, 0, TIME_MAX, NULL },
    { "uptime_ms", F_UINT, REQ, 0, TIME_MAX, NULL },
    { "store", F_MAP, OPT, 0, 0, NULL },
    { "subscriptions", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "templates", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "queued_jobs", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "queued_bytes", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "max_queued", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "max_queued_bytes", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "max_pending", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "history", F_MAP, OPT, 0, 0, NULL },  //  minute, submitted, completed, failed
};
static const zjob_field_t s_workers_ok [] = {
    { "workers", F_MAPS, REQ, 0, 0, NULL },
};
static const zjob_field_t s_ping_ok [] = {
    { "version", F_UINT, REQ, 0, UINT32_MAX, NULL },
    { "time", F_UINT, REQ, 0, TIME_MAX, NULL },
};
static const zjob_field_t s_ready_ok [] = {
    { "heartbeat_ms", F_UINT, REQ, 1, TIME_MAX, NULL },
    { "liveness", F_UINT, REQ, 1, 1000, NULL },
    { "credit", F_UINT, REQ, 0, ZJOB_SLOTS_MAX, NULL },
    { "drop", F_IDS, OPT, 0, ZJOB_SLOTS_MAX, NULL },
    { "max_message", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "batch", F_UINT, OPT, 1, ZJOB_SLOTS_MAX, NULL },
    { "prefetch", F_UINT, OPT, 0, ZJOB_PREFETCH_MAX, NULL },
};
static const zjob_field_t s_id_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
};
static const zjob_field_t s_result_error [] = {
    [RX_ID] = { "id", F_ID, REQ, 0, 0, NULL },
    [RX_CODE] = { "code", F_UINT, REQ, 100, 599, NULL },
    [RX_MESSAGE] = { "message", F_STR, REQ, 0, TEXT_MAX, NULL },
};
const zjob_ftable_t zjob_result_error_table = TABLE (s_result_error);
static const zjob_field_t s_result_ok [] = {
    { "id", F_ID, OPT, 0, 0, NULL },
    { "errors", F_ITEMS, OPT, 0, ZJOB_SLOTS_MAX, &zjob_result_error_table },
};
//  BATCH {op: show | close | cancel | list, id, offset, limit}: show and
//  close answer batch; list batches, total, offset; cancel the counts
//  of a CANCEL by filter
static const zjob_field_t s_batch [] = {
    { "op", F_NAME, REQ, 0, 0, NULL },
    { "id", F_NAME, OPT, 0, 0, NULL },
    { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "limit", F_UINT, OPT, 0, ZJOB_BATCH_LIST_MAX, NULL },
};
static const zjob_field_t s_batch_ok [] = {
    { "batch", F_MAP, OPT, 0, 0, NULL },
    { "batches", F_MAPS, OPT, 0, ZJOB_BATCH_LIST_MAX, NULL },
    { "total", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "done", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "failed", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "errors", F_MAPS, OPT, 0, ZJOB_BULK_ERRORS_MAX, NULL },
};
//  TEMPLATE (issue #11): op "set" (name, template: a spec map without a
//  submit's own keys), "get" (name), "list" (offset, limit), "delete"
//  (name); zjob_post_template checks which op takes what
static const zjob_field_t s_template [] = {
    [TP_OP] = { "op", F_NAME, REQ, 0, 0, NULL },
    [TP_NAME] = { "name", F_NAME, OPT, 0, 0, NULL },
    [TP_TEMPLATE] = { "template", F_MAP, OPT, 0, 0, NULL },
    [TP_OFFSET] = { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
    [TP_LIMIT] = { "limit", F_UINT, OPT, 0, ZJOB_TEMPLATE_PAGE_MAX, NULL },
};
//  Its OK: set and delete name the template (set says whether it was
//  new), get carries the template map, list the summaries of a page
static const zjob_field_t s_template_ok [] = {
    { "name", F_NAME, OPT, 0, 0, NULL },
    { "created", F_BOOL, OPT, 0, 0, NULL },
    { "template", F_MAP, OPT, 0, 0, NULL },
    { "templates", F_MAPS, OPT, 0, ZJOB_TEMPLATE_PAGE_MAX, NULL },
    { "total", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "offset", F_UINT, OPT, 0, UINT64_MAX, NULL },
};
//  SCHEDULE: an op and its fields (PROTOCOL.md, SCHEDULE); the handler
//  checks which fields go with which op
static const zjob_field_t s_schedule [] = {
    { "op", F_STR, REQ, 1, 16, NULL },
    { "name", F_NAME, OPT, 0, 0, NULL },
    { "cron", F_STR, OPT, 1, ZJOB_CRON_EXPR_MAX, NULL },
    { "timezone", F_STR, OPT, 1, ZJOB_CRON_TZ_MAX, NULL },
    { "catch_up", F_BOOL, OPT, 0, 0, NULL },
    { "paused", F_BOOL, OPT, 0, 0, NULL },
    { "replace", F_BOOL, OPT, 0, 0, NULL },
    { "template", F_NAME, OPT, 0, 0, NULL },
    { "workflow_id", F_NAME, OPT, 0, 0, NULL },
    { "inputs", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
    { "priority", F_PRIORITY, OPT, 0, 0, NULL },
    { "tags", F_NAMES, OPT, 0, ZJOB_TAGS_MAX, NULL },
    { "metadata", F_BIN, OPT, 0, ZJOB_DATA_MAX, NULL },
};
static const zjob_field_t s_schedule_ok [] = {
    { "schedule", F_MAP, OPT, 0, 0, NULL },
    { "schedules", F_MAPS, OPT, 0, 1000, NULL },  //  The broker keeps 1,000 at most
    { "total", F_UINT, OPT, 0, UINT64_MAX, NULL },
    { "id", F_ID, OPT, 0, 0, NULL },      //  run_now: the job made
    { "name", F_NAME, OPT, 0, 0, NULL },  //  delete: the schedule deleted
};
//  QUEUE (per-workflow queue controls): op pause | resume | limit | list;
//  workflow_id for all but list; limit's values (absent: unchanged, 0:
//  none). The op and the bounds of the values are checked again by the
//  broker (zjob_queues.h), which names what is wrong.
static const zjob_field_t s_queue [] = {
    { "op", F_NAME, REQ, 0, 0, NULL },
    { "workflow_id", F_NAME, OPT, 0, 0, NULL },
    { "concurrency", F_UINT, OPT, 0, 1000000, NULL },
    { "rate", F_NUMBER, OPT, 0, 1000000, NULL },
    { "burst", F_NUMBER, OPT, 0, 1000000, NULL },
};
static const zjob_field_t s_queue_item [] = {
    { "workflow_id", F_NAME, REQ, 0, 0, NULL },
    { "paused", F_BOOL, REQ, 0, 0, NULL },
    { "concurrency", F_UINT, REQ, 0, 1000000, NULL },
    { "rate", F_NUMBER, REQ, 0, 1000000, NULL },
    { "burst", F_NUMBER, REQ, 0, 1000000, NULL },
    { "queued", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "running", F_UINT, REQ, 0, UINT64_MAX, NULL },
    { "held_by", F_NAME, OPT, 0, 0, NULL },
};
static const zjob_ftable_t s_queue_item_table = TABLE (s_queue_item);
static const zjob_field_t s_queue_ok [] = {
    { "queues", F_ITEMS, REQ, 0, 0, &s_queue_item_table },
};

static const zjob_field_t s_metrics_ok [] = {
    { "format", F_STR, REQ, 1, ZJOB_NAME_MAX, NULL },
    { "text", F_STR, REQ, 0, 0, NULL },  //  bounded by the message size alone
};

static const zjob_schema_t s_schemas [] = {
    { ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_submit), TABLE (s_submit_ok), zjob_post_submit },
    { ZJOB_CMD_GET, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_get_ok), NULL },
    { ZJOB_CMD_LIST, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_list), TABLE (s_list_ok), zjob_post_list },
    { ZJOB_CMD_DELETE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_START, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_PAUSE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_RESUME, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_CANCEL, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_target), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_STATUS, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_status_ok), NULL },
    { ZJOB_CMD_RESULTS, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_id_only), TABLE (s_results_ok), NULL },
    { ZJOB_CMD_CLEANUP, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_cleanup), TABLE (s_cleanup_ok), NULL },
    { ZJOB_CMD_STATS, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_stats_ok), NULL },
    { ZJOB_CMD_WORKERS, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_workers_ok), NULL },
    { ZJOB_CMD_PING, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_ping_ok), NULL },
    { ZJOB_CMD_READY, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_ready), TABLE (s_ready_ok), NULL },
    { ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_progress), NO_TABLE, NULL },
    { ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_result), TABLE (s_result_ok), zjob_post_result },
    { ZJOB_CMD_CREDIT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_credit), NO_TABLE, NULL },
    { ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_WORKER_BROKER, NO_TABLE, NO_TABLE, NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_disconnect), NO_TABLE, NULL },
    { ZJOB_CMD_JOB, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_job), NO_TABLE, zjob_post_job },
    { ZJOB_CMD_PAUSE, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only), TABLE (s_id_ok), zjob_post_worker_target },
    { ZJOB_CMD_RESUME, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_id_only), TABLE (s_id_ok), zjob_post_worker_target },
    { ZJOB_CMD_CANCEL, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_cancel_worker), TABLE (s_id_ok), zjob_post_worker_target },
    { ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_BROKER_WORKER, NO_TABLE, NO_TABLE, NULL },
    { ZJOB_CMD_RECONNECT, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason), NO_TABLE, NULL },
    { ZJOB_CMD_DISCONNECT, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_reason), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_BROKER_CLIENT, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_WORKER_BROKER, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_ERROR, ZJOB_ROUTE_BROKER_WORKER, TABLE (s_error), NO_TABLE, NULL },
    { ZJOB_CMD_EVENT, ZJOB_ROUTE_EVENTS, TABLE (s_event), NO_TABLE, NULL },
    { ZJOB_CMD_RETRY, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_rerun), TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_RUN_NOW, ZJOB_ROUTE_CLIENT_BROKER, { s_rerun, RR_RESET }, TABLE (s_target_ok), zjob_post_target },
    { ZJOB_CMD_BATCH, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_batch), TABLE (s_batch_ok), NULL },
    { ZJOB_CMD_TEMPLATE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_template), TABLE (s_template_ok), zjob_post_template },
    { ZJOB_CMD_SCHEDULE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_schedule), TABLE (s_schedule_ok), NULL },
    { ZJOB_CMD_QUEUE, ZJOB_ROUTE_CLIENT_BROKER, TABLE (s_queue), TABLE (s_queue_ok), NULL },
    { ZJOB_CMD_METRICS, ZJOB_ROUTE_CLIENT_BROKER, NO_TABLE, TABLE (s_metrics_ok), NULL },
};
#define SCHEMA_COUNT (sizeof (s_schemas) / sizeof (s_schemas [0]))

//  The schema of cmd on route
const zjob_schema_t *
zjob_schema_find (zjob_cmd_t cmd, zjob_route_t route)
{
    for (size_t i = 0; i < SCHEMA_COUNT; i++)
        if (s_schemas [i].cmd == cmd && s_schemas [i].route == route)
            return &s_schemas [i];
    return NULL;
}

_Static_assert(sizeof (s_event) / sizeof (s_event [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
_Static_assert(sizeof (s_stats_ok) / sizeof (s_stats_ok [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
_Static_assert(sizeof (s_spec_fields) / sizeof (s_spec_fields [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
_Static_assert(sizeof (s_filter_fields) / sizeof (s_filter_fields [0]) <= FIELDS_MAX, "FIELDS_MAX too small");
