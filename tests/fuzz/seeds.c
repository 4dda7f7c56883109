/*  =========================================================================
    seeds - writes the seed corpora of the fuzz harnesses (make fuzz-seeds)

    Usage: zjob_fuzz_seeds CORPUS_DIR (tests/fuzz/corpus). Each harness's
    seeds are real inputs, made by the code that makes them in use: wire
    messages by the protocol's builder with the fields the client, the
    worker and the broker send (every one checked to decode on its route),
    journals by the file store itself (jobs put, changed, removed, named
    records of each kind), job maps by the job codec from jobs in every
    state, JSON documents and their msgpack, ZPL configs, cron lines with
    and without a zone. The corpus is committed; this program is what
    regenerates it after the formats change.
    ========================================================================= */

#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "zjob_store.h"
#include "zjob_json.h"
#include <czmq.h>

static const char *s_root;  //  CORPUS_DIR

static void
s_write (const char *harness, const char *name, const void *data, size_t size)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/%s", s_root, harness);
    zsys_dir_create ("%s", path);
    snprintf (path, sizeof (path), "%s/%s/%s", s_root, harness, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size) {
        fprintf (stderr, "seeds: cannot write %s\n", path);
        exit (1);
    }
    fclose (file);
}

//  Finish the builder's message, check it decodes on route, write it
static void
s_msg (zjob_msg_builder_t *builder, const char *name, zjob_route_t route)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    if (!frame) {
        fprintf (stderr, "seeds: %s: %s\n", name, err.text);
        exit (1);
    }
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame), route, &err);
    if (!msg)
        fprintf (stderr, "seeds: %s does not decode: %s\n", name, err.text);
    zjob_msg_destroy (&msg);
    s_write ("msg", name, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
}

static uint8_t s_inputs [] = { 0x82, 0xa3, 'u', 'r', 'l', 0xa5, 'h', 't', 't', 'p', ':',
                               0xa4, 's', 'i', 'z', 'e', 0xcd, 0x04, 0x00 };
static uint8_t s_outputs [] = { 0x81, 0xa2, 'o', 'k', 0xc3 };

//  A spec with most of SUBMIT's keys
static void
s_spec (zjob_spec_t *spec, bool full)
{
    static const char *tags [] = { "night", "big" };
    static const char *no_retry [] = { "bad_input" };
    memset (spec, 0, sizeof (*spec));
    spec->workflow_id = "resize";
    spec->inputs = s_inputs;
    spec->inputs_size = sizeof (s_inputs);
    spec->priority = ZJOB_PRIORITY_UNSET;
    if (!full)
        return;
    spec->priority = ZJOB_PRIORITY_HIGH;
    spec->user_id = "alice";
    spec->tags = tags;
    spec->tag_count = 2;
    spec->idempotency_key = "order-42";
    spec->max_attempts = 5;
    spec->backoff = ZJOB_BACKOFF_EXPONENTIAL;
    spec->backoff_base_ms = 500;
    spec->backoff_factor = 2.5;
    spec->backoff_max_ms = 60000;
    spec->no_retry = no_retry;
    spec->no_retry_count = 1;
    spec->timeout_ms = 30000;
    spec->heartbeat_timeout_ms = 5000;
    spec->batch_id = "nightly";
    spec->unique_key = "img-7";
}

//  Jobs in several states, for the job, msg and journal corpora
#define S_JOBS 4
static zjob_job_t *s_jobs [S_JOBS];

static void
s_make_jobs (void)
{
    zjob_error_t err;
    zjob_spec_t spec;
    for (int index = 0; index < S_JOBS; index++) {
        s_spec (&spec, index % 2 == 1);
        if (index == 3) {
            const char *parents [] = { zjob_job_id (s_jobs [0]) };
            spec.depends_on = parents;
            spec.depends_on_count = 1;
            s_jobs [index] = zjob_job_new (&spec, &err);
        }
        else
            s_jobs [index] = zjob_job_new (&spec, &err);
        if (!s_jobs [index]) {
            fprintf (stderr, "seeds: job %d: %s\n", index, err.text);
            exit (1);
        }
    }
    //  1: running with progress; 2: failed after an attempt; 0: completed
    zjob_job_t *job = s_jobs [1];
    job->status = ZJOB_RUNNING;
    job->attempts = 1;
    job->started_at = job->created_at + 10;
    zjob_job_set_worker (job, "w-1");
    zjob_job_set_progress (job, 0.5f, "half way", &err);
    job = s_jobs [2];
    job->status = ZJOB_FAILED;
    job->attempts = 2;
    zjob_history_t *replaced = NULL;
    zjob_job_add_error (job, 1, "timeout", "took too long", "w-2", job->created_at + 100,
                        &replaced);
    zjob_job_history_settle (job, replaced);
    zjob_job_set_error (job, "crash", "segfault in resize");
    job->completed_at = job->created_at + 200;
    job = s_jobs [0];
    job->status = ZJOB_COMPLETED;
    job->attempts = 1;
    zjob_job_set_outputs (job, s_outputs, sizeof (s_outputs), &err);
    job->completed_at = job->created_at + 50;
    job->execution_ms = 40;
}

static void
s_job_seeds (void)
{
    for (int index = 0; index < S_JOBS; index++) {
        uint8_t *data = NULL;
        size_t size = 0;
        if (zjob_job_encode (s_jobs [index], &data, &size))
            exit (1);
        char name [32];
        snprintf (name, sizeof (name), "job-%d", index);
        s_write ("job", name, data, size);
        free (data);
    }
}

//  Client requests, as libzjob sends them
static void
s_client_requests (zjob_msg_builder_t *b)
{
    const zjob_route_t route = ZJOB_ROUTE_CLIENT_BROKER;
    zjob_spec_t specs [2];
    s_spec (&specs [0], true);
    s_spec (&specs [1], false);
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", specs, 2);
    zjob_msg_add_bool (b, "auto_start", false);
    s_msg (b, "submit", route);
    zjob_batch_opts_t opts = { .id = "nightly", .open = true, .callback = &specs [1] };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 2);
    zjob_msg_add_specs (b, "jobs", specs + 1, 1);
    zjob_msg_add_batch_opts (b, "batch", &opts);
    s_msg (b, "submit-batch", route);
    zjob_msg_begin (b, ZJOB_CMD_GET, 3);
    zjob_msg_add_str (b, "id", zjob_job_id (s_jobs [0]));
    s_msg (b, "get", route);
    zjob_msg_begin (b, ZJOB_CMD_STATUS, 4);
    zjob_msg_add_str (b, "id", zjob_job_id (s_jobs [1]));
    s_msg (b, "status", route);
    const char *statuses [] = { "queued", "running" };
    (void) statuses;
    zjob_filter_t filter;
    memset (&filter, 0, sizeof (filter));
    filter.workflow_id = "resize";
    filter.user_id = "alice";
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter = filter;
    query.limit = 50;
    query.offset = 10;
    zjob_msg_begin (b, ZJOB_CMD_LIST, 5);
    zjob_msg_add_query (b, &query);
    s_msg (b, "list", route);
    const char *ids [] = { zjob_job_id (s_jobs [0]), zjob_job_id (s_jobs [2]) };
    zjob_target_t target = { .ids = ids, .id_count = 2 };
    zjob_msg_begin (b, ZJOB_CMD_DELETE, 6);
    zjob_msg_add_target (b, &target);
    s_msg (b, "delete-ids", route);
    zjob_target_t by_filter = { .filter = &filter };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 7);
    zjob_msg_add_target (b, &by_filter);
    s_msg (b, "cancel-filter", route);
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 8);
    zjob_msg_add_target (b, &target);
    zjob_msg_add_bool (b, "dry_run", true);
    zjob_msg_add_bool (b, "reset_attempts", true);
    s_msg (b, "retry", route);
    zjob_msg_begin (b, ZJOB_CMD_CLEANUP, 9);
    zjob_msg_add_uint (b, "retention_ms", 86400000);
    s_msg (b, "cleanup", route);
    zjob_msg_begin (b, ZJOB_CMD_TEMPLATE, 10);
    zjob_msg_add_str (b, "op", "set");
    zjob_msg_add_str (b, "name", "thumb");
    zjob_msg_add_spec (b, "template", &specs [0]);
    s_msg (b, "template-set", route);
    zjob_msg_begin (b, ZJOB_CMD_SCHEDULE, 11);
    zjob_msg_add_str (b, "op", "add");
    zjob_msg_add_str (b, "name", "nightly");
    zjob_msg_add_str (b, "cron", "0 30 2 * * mon-fri");
    zjob_msg_add_str (b, "timezone", "Europe/Berlin");
    zjob_msg_add_str (b, "workflow_id", "resize");
    zjob_msg_add_bin (b, "inputs", s_inputs, sizeof (s_inputs));
    zjob_msg_add_bool (b, "catch_up", true);
    s_msg (b, "schedule-add", route);
    zjob_msg_begin (b, ZJOB_CMD_BATCH, 12);
    zjob_msg_add_str (b, "op", "show");
    zjob_msg_add_str (b, "id", "nightly");
    s_msg (b, "batch-show", route);
    zjob_msg_begin (b, ZJOB_CMD_QUEUE, 13);
    zjob_msg_add_str (b, "op", "limit");
    zjob_msg_add_str (b, "workflow_id", "resize");
    zjob_msg_add_uint (b, "concurrency", 4);
    zjob_msg_add_float (b, "rate", 2.5);
    s_msg (b, "queue-limit", route);
    zjob_msg_begin (b, ZJOB_CMD_STATS, 14);
    s_msg (b, "stats", route);
    zjob_msg_begin (b, ZJOB_CMD_PING, 15);
    s_msg (b, "ping", route);
}

//  A worker's messages, and the broker's to it
static void
s_worker_messages (zjob_msg_builder_t *b)
{
    const zjob_route_t route = ZJOB_ROUTE_WORKER_BROKER;
    const char *workflows [] = { "resize", "thumb" };
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w-1");
    zjob_msg_add_str (b, "name", "host-a");
    zjob_msg_add_strs (b, "workflows", workflows, 2);
    zjob_msg_add_uint (b, "slots", 4);
    s_msg (b, "ready", route);
    zjob_msg_begin (b, ZJOB_CMD_PROGRESS, 0);
    zjob_msg_add_str (b, "id", zjob_job_id (s_jobs [1]));
    zjob_msg_add_float (b, "progress", 0.25);
    zjob_msg_add_str (b, "message", "a quarter");
    s_msg (b, "progress", route);
    zjob_result_t results [2] = {
        { .id = zjob_job_id (s_jobs [0]), .completed = true, .outputs = s_outputs, .outputs_size = sizeof (s_outputs), .attempt = 1 },
        { .id = zjob_job_id (s_jobs [2]), .error_kind = "crash", .error_message = "boom", .attempt = 2, .permanent = true },
    };
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 2);
    zjob_msg_add_str (b, "id", results [0].id);
    zjob_msg_add_str (b, "status", "completed");
    zjob_msg_add_bin (b, "outputs", s_outputs, sizeof (s_outputs));
    zjob_msg_add_uint (b, "attempt", 1);
    s_msg (b, "result", route);
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_results (b, "results", results, 2);
    zjob_msg_add_uint (b, "credit", 2);
    s_msg (b, "results", route);
    zjob_msg_begin (b, ZJOB_CMD_CREDIT, 0);
    zjob_msg_add_uint (b, "credit", 3);
    s_msg (b, "credit", route);
    zjob_msg_begin (b, ZJOB_CMD_HEARTBEAT, 0);
    s_msg (b, "heartbeat", route);
    zjob_msg_begin (b, ZJOB_CMD_DISCONNECT, 0);
    zjob_msg_add_str (b, "reason", "shutting down");
    s_msg (b, "disconnect", route);

    const zjob_route_t down = ZJOB_ROUTE_BROKER_WORKER;
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (b, "job", s_jobs [1]);
    s_msg (b, "job", down);
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    zjob_msg_add_jobs (b, "jobs", s_jobs, S_JOBS);
    s_msg (b, "jobs", down);
    zjob_msg_build_cancel (b, 0, zjob_job_id (s_jobs [1]), "timeout", 1);
    s_msg (b, "cancel-worker", down);
    zjob_msg_begin (b, ZJOB_CMD_OK, 1);
    zjob_msg_add_uint (b, "version", ZJOB_PROTO_VERSION);
    zjob_msg_add_uint (b, "time", 1774744200000ULL);
    zjob_msg_add_uint (b, "heartbeat_ms", 1000);
    zjob_msg_add_uint (b, "liveness", 3);
    zjob_msg_add_uint (b, "credit", 4);
    s_msg (b, "ready-ok", down);
    const char *errors_ids [] = { zjob_job_id (s_jobs [2]) };
    zjob_error_t errors [1];
    zjob_error_set (&errors [0], ZJOB_CONFLICT, "job is failed, not running");
    zjob_msg_begin (b, ZJOB_CMD_OK, 3);
    zjob_msg_add_result_errors (b, errors_ids, errors, 1);
    s_msg (b, "results-ok", down);
}

//  The broker's replies to a client, its events
static void
s_replies (zjob_msg_builder_t *b)
{
    const zjob_route_t route = ZJOB_ROUTE_BROKER_CLIENT;
    const char *ids [] = { zjob_job_id (s_jobs [0]), zjob_job_id (s_jobs [1]) };
    zjob_msg_begin (b, ZJOB_CMD_OK, 1);
    zjob_msg_add_strs (b, "ids", ids, 2);
    s_msg (b, "submit-ok", route);
    zjob_msg_begin (b, ZJOB_CMD_OK, 3);
    zjob_msg_add_job (b, "job", s_jobs [2]);
    zjob_msg_add_strs (b, "children", ids + 1, 1);
    s_msg (b, "get-ok", route);
    zjob_msg_begin (b, ZJOB_CMD_OK, 5);
    zjob_msg_add_jobs (b, "jobs", s_jobs, S_JOBS);
    zjob_msg_add_uint (b, "total", 4);
    s_msg (b, "list-ok", route);
    zjob_error_t errors [1];
    zjob_error_set (&errors [0], ZJOB_NOT_FOUND, "no job %s", ids [1]);
    zjob_msg_begin (b, ZJOB_CMD_OK, 6);
    zjob_msg_add_bulk (b, 1, 1, ids + 1, errors, 1);
    s_msg (b, "bulk-ok", route);
    zjob_stats_t stats;
    memset (&stats, 0, sizeof (stats));
    stats.by_status [ZJOB_QUEUED] = 3;
    const char *workflows [] = { "resize" };
    const size_t counts [1][ZJOB_STATUS_COUNT] = { { 0, 3 } };
    stats.workflow_ids = workflows;
    stats.workflow_counts = counts;
    stats.workflow_count = 1;
    stats.queued = 3;
    stats.store_name = "file";
    const char *keys [] = { "journal_bytes" }, *values [] = { "4096" };
    stats.store_keys = keys;
    stats.store_values = values;
    stats.store_count = 1;
    zjob_msg_begin (b, ZJOB_CMD_OK, 14);
    zjob_msg_add_stats (b, &stats);
    s_msg (b, "stats-ok", route);
    zjob_worker_info_t worker = { .worker_id = "w-1", .name = "host-a", .workflows = workflows, .workflow_count = 1, .slots = 4, .busy = 1, .credit = 3, .jobs = ids, .job_count = 1, .connected_at = 1, .last_seen = 2 };
    zjob_msg_begin (b, ZJOB_CMD_OK, 15);
    zjob_msg_add_workers (b, &worker, 1);
    s_msg (b, "workers-ok", route);
    zjob_spec_t spec;
    s_spec (&spec, true);
    zjob_template_info_t template = { .name = "thumb", .spec = &spec, .created_at = 1, .updated_at = 2 };
    zjob_msg_begin (b, ZJOB_CMD_OK, 10);
    zjob_msg_add_template (b, "template", &template);
    s_msg (b, "template-ok", route);
    zjob_batch_info_t batch = { .id = "nightly", .state = "running", .total = 3, .completed = 1, .pending = 2, .created_at = 5 };
    zjob_msg_begin (b, ZJOB_CMD_OK, 12);
    zjob_msg_add_batch (b, "batch", &batch);
    s_msg (b, "batch-ok", route);
    zjob_msg_begin (b, ZJOB_CMD_OK, 12);
    zjob_msg_add_batches (b, "batches", &batch, 1);
    zjob_msg_add_uint (b, "total", 1);
    s_msg (b, "batches-ok", route);
    zjob_queue_info_t queue = { .workflow_id = "resize", .concurrency = 4, .rate = 2.5, .burst = 5, .queued = 7, .running = 4, .held_by = "concurrency" };
    zjob_msg_begin (b, ZJOB_CMD_OK, 13);
    zjob_msg_add_queues (b, &queue, 1);
    s_msg (b, "queue-ok", route);
    zjob_schedule_info_t schedule = { .name = "nightly", .cron = "0 30 2 * * *", .timezone = "Europe/Berlin", .workflow_id = "resize", .inputs = s_inputs, .inputs_size = sizeof (s_inputs), .priority = ZJOB_PRIORITY_UNSET, .next = 9, .created = 1 };
    zjob_msg_begin (b, ZJOB_CMD_OK, 11);
    zjob_msg_add_schedule (b, "schedule", &schedule, true);
    s_msg (b, "schedule-ok", route);
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_VERSION_MISMATCH, "version 2 is not supported");
    zframe_t *frame = zjob_msg_error_new (9, &err);
    s_write ("msg", "error-505", zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zjob_msg_begin (b, ZJOB_CMD_EVENT, 0);
    zjob_msg_add_job_event (b, "failed", s_jobs [2], ZJOB_RUNNING);
    s_msg (b, "event", ZJOB_ROUTE_EVENTS);
}

//  Journals written by the file store itself
static void
s_journal (const char *name, int variant)
{
    char dir [] = "/tmp/zjob-seeds-XXXXXX";
    if (!mkdtemp (dir))
        exit (1);
    char spec [64];
    snprintf (spec, sizeof (spec), "file:%s?fsync=never", dir);
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    if (!store) {
        fprintf (stderr, "seeds: %s\n", err.text);
        exit (1);
    }
    for (int index = 0; index < S_JOBS; index++)
        zjob_store_put (store, s_jobs [index], &err);
    if (variant >= 1) {
        static const uint8_t record [] = { 0x81, 0xa4, 'c', 'r', 'o', 'n', 0xa9, '@', 'h', 'o',
                                           'u', 'r', 'l', 'y', 0x00 };
        zjob_store_record_put (store, "template", "thumb", s_inputs, sizeof (s_inputs), &err);
        zjob_store_record_put (store, "schedule", "nightly", record, sizeof (record) - 1, &err);
        zjob_store_record_put (store, "batch", "nightly", s_outputs, sizeof (s_outputs), &err);
        zjob_store_record_put (store, "queue", "resize", s_outputs, sizeof (s_outputs), &err);
        zjob_store_sync (store, &err);
        zjob_store_remove (store, zjob_job_id (s_jobs [2]), &err);
        zjob_store_record_remove (store, "batch", "nightly", &err);
    }
    zjob_store_destroy (&store);
    char path [128];
    snprintf (path, sizeof (path), "%s/journal", dir);
    zchunk_t *chunk = zchunk_slurp (path, 0);
    if (!chunk)
        exit (1);
    size_t size = zchunk_size (chunk);
    if (variant == 2)
        size -= 3;  //  A torn last record, as a crash leaves it
    s_write ("journal", name, zchunk_data (chunk), size);
    //  The same records in fuzz_journal's framed form: each payload
    //  after a 2-byte length, without the magic and the CRCs
    const uint8_t *data = zchunk_data (chunk);
    uint8_t framed [65536];
    size_t framed_size = 0;
    for (size_t offset = 8; offset + 12 <= size;) {
        size_t length = data [offset] | (size_t) data [offset + 1] << 8;
        if (offset + 12 + length > size || framed_size + 2 + length > sizeof (framed))
            break;
        framed [framed_size++] = (uint8_t) length;
        framed [framed_size++] = (uint8_t) (length >> 8);
        memcpy (framed + framed_size, data + offset + 12, length);
        framed_size += length;
        offset += 12 + length;
    }
    char framed_name [64];
    snprintf (framed_name, sizeof (framed_name), "%s-framed", name);
    s_write ("journal", framed_name, framed, framed_size);
    zchunk_destroy (&chunk);
    unlink (path);
    snprintf (path, sizeof (path), "%s/lock", dir);
    unlink (path);
    rmdir (dir);
}

static void
s_text (const char *harness, const char *name, const char *text)
{
    s_write (harness, name, text, strlen (text));
}

static void
s_json_seeds (void)
{
    static const char *docs [] = {
        "{\"url\": \"http://example.com/a.png\", \"size\": [640, 480], \"q\": 0.85}",
        "{\"nested\": {\"a\": [1, -2, 3.5e10, null, true, false], \"b\": \"\\u00e9\\u0000x\"}}",
        "[1, 18446744073709551615, -9223372036854775808, 1.0, \"\"]",
        "\"just a string\"",
        "{\"deep\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"k\": 1, \"k2\": {\"\": [], \"x\": {}}}",
    };
    for (size_t index = 0; index < sizeof (docs) / sizeof (docs [0]); index++) {
        char name [32];
        snprintf (name, sizeof (name), "doc-%zu", index);
        s_text ("json", name, docs [index]);
    }
    //  msgpack the broker carries (inputs, outputs, metadata, a job)
    s_write ("json", "inputs.msgpack", s_inputs, sizeof (s_inputs));
    uint8_t *data = NULL;
    size_t size = 0;
    zjob_job_encode (s_jobs [2], &data, &size);
    s_write ("json", "job.msgpack", data, size);
    free (data);
    static const uint8_t odd [] = { 0x84, 0x01, 0xc4, 0x02, 0xff, 0xfe, 0xcb, 0x7f, 0xf8,
                                    0, 0, 0, 0, 0, 0, 0x92, 0xc2, 0xc0, 0xd4, 0x05, 0x07,
                                    0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    s_write ("json", "odd-keys.msgpack", odd, sizeof (odd));
}

static void
s_config_seeds (void)
{
    s_text ("config", "full.cfg",
            "#   zjobd's config\n"
            "broker\n"
            "    clients = \"tcp://127.0.0.1:5570\"\n"
            "    workers = \"tcp://127.0.0.1:5571\"\n"
            "    events = \"tcp://127.0.0.1:5572\"\n"
            "    store = \"file:/var/lib/zjob?fsync=interval:50ms&compact=64m\"\n"
            "    max-concurrent = 100\n"
            "    heartbeat = 1s\n"
            "    liveness = 3\n"
            "    log-level = warning\n"
            "    max-message = 1048576\n"
            "    retention = 7d\n"
            "    max-attempts = 5\n"
            "    backoff = exponential\n"
            "    backoff-base = 500ms\n"
            "    backoff-factor = 2.0\n"
            "    backoff-max = 10m\n"
            "    backoff-jitter = full\n"
            "    no-retry = \"bad_input,forbidden\"\n"
            "    job-timeout = 30s\n"
            "    heartbeat-timeout = 10s\n"
            "workflow\n"
            "    resize\n"
            "        max-attempts = 10\n"
            "        job-timeout = 2m\n"
            "        concurrency = 4\n"
            "        rate = 2.5\n"
            "        burst = 5\n"
            "    thumb\n"
            "        backoff = fixed\n");
    s_text ("config", "top.cfg", "data-dir = /tmp/zjob\nbatch = 64\n");
    s_text ("config", "bad.cfg", "broker\n    liveness = many\n");
}

static void
s_cron_seeds (void)
{
    static const char *lines [] = {
        "*/5 * * * *",
        "0 30 2 * * mon-fri",
        "0 0 29 2 *",
        "15,45 8-18/2 1,15 * *",
        "@hourly",
        "@every 1m30s",
        "0 0 * * sun",
        "0 0 L * *",
        "@yearly",
    };
    for (size_t index = 0; index < sizeof (lines) / sizeof (lines [0]); index++) {
        char name [32];
        snprintf (name, sizeof (name), "line-%zu", index);
        s_text ("cron", name, lines [index]);
    }
    //  With a zone, after a NUL (fuzz_cron.c)
    static const char zoned [] = "30 2 * * *\0Europe/Berlin";
    s_write ("cron", "zoned-berlin", zoned, sizeof (zoned) - 1);
    static const char zoned2 [] = "0 1 * 3,10 sun\0America/New_York";
    s_write ("cron", "zoned-newyork", zoned2, sizeof (zoned2) - 1);
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: zjob_fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    s_root = argv [1];
    zsys_init ();
    s_make_jobs ();
    s_job_seeds ();
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    s_client_requests (builder);
    s_worker_messages (builder);
    s_replies (builder);
    zjob_msg_builder_destroy (&builder);
    s_journal ("jobs", 0);
    s_journal ("jobs-records", 1);
    s_journal ("torn", 2);
    s_json_seeds ();
    s_config_seeds ();
    s_cron_seeds ();
    for (int index = 0; index < S_JOBS; index++)
        zjob_job_destroy (&s_jobs [index]);
    return 0;
}
