/*  =========================================================================
    zjob_http_api - the JSON API, the probes and /metrics: each an ordinary
    protocol request to the broker

    A request opens its own DEALER to the broker's clients socket, named
    "http PEER #N" (the broker's logs and audit lines show who asked),
    sends one message and waits for its reply in ZJOB_HTTP_SLICE_MS slices,
    looking at the stop flag between them. A socket per request costs a
    TCP connect on loopback (and a CURVE handshake), well under a
    millisecond next to a LIST; in exchange nothing is shared between
    connection threads and the routing id says which HTTP peer asked.

    The reply's OK body, a msgpack map, becomes the JSON body with
    zjob_json; job maps (GET's job, LIST's jobs) are written as the CLI's
    --json writes them (zjob_job_to_json: names, ISO times, inputs and
    outputs as JSON), since their wire form (short keys, ranks, msgpack in
    bins) means nothing to a browser. An ERROR becomes
    {"error": {"code", "message"}} with its HTTP status.
    ========================================================================= */

#include "zjob_http_impl.h"

//  --------------------------------------------------------------------------
//  The broker call

zsock_t *
zjob_http_socket (zjob_http_request_t *req, int type, const char *endpoint)
{
    zjob_http_t *http = req->http;
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zjob_proto_socket_setup (sock);
    zsock_set_linger (sock, 0);
    if (*http->access.public_key) {
        zsock_set_curve_serverkey (sock, http->access.broker_key);
        zsock_set_curve_publickey (sock, http->access.public_key);
        zsock_set_curve_secretkey (sock, http->access.secret_key);
    }
    if (type == ZMQ_DEALER) {
        char identity [ZJOB_HTTP_PEER_MAX + 32];
        uint64_t number = atomic_fetch_add (&http->requests, 1) + 1;
        snprintf (identity, sizeof identity, "http %s #%" PRIu64, req->peer, number);
        zsock_set_identity (sock, identity);
    }
    if (zsock_connect (sock, "%s", endpoint)) {
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

//  Wait for the reply to request 1 on sock; the frame of the reply, or
//  NULL with err filled (a timeout, or the server stopping)
static zframe_t *
s_await (zjob_http_request_t *req, zsock_t *sock, zjob_cmd_t cmd, int timeout_ms,
         zjob_error_t *err)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (!atomic_load (&req->http->stopping)) {
        int64_t left = deadline - zjob_mono_ms ();
        if (left <= 0) {
            zjob_error_set (err, ZJOB_HTTP_GATEWAY_TIMEOUT, "the broker did not answer %s within %d ms",
                            zjob_cmd_name (cmd), timeout_ms);
            return NULL;
        }
        zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&item, 1, left < ZJOB_HTTP_SLICE_MS ? left : ZJOB_HTTP_SLICE_MS);
        if (rc < 0 && zmq_errno () != EINTR)
            break;
        if (rc <= 0)
            continue;
        zframe_t *frame = zframe_recv (sock);
        if (frame && zsock_rcvmore (sock)) {
            zframe_destroy (&frame);  //  Never sent by the protocol
            while (zsock_rcvmore (sock)) {
                zframe_t *rest = zframe_recv (sock);
                zframe_destroy (&rest);
            }
        }
        uint64_t request_id = 0;
        if (frame && zjob_msg_peek (zframe_data (frame), zframe_size (frame), &request_id, NULL)
            && request_id == 1)
            return frame;
        zframe_destroy (&frame);
    }
    zjob_error_set (err, ZJOB_UNAVAILABLE, "the HTTP server is stopping");
    return NULL;
}

//  Decode the reply frame (taken); the OK message, or NULL with err
static zjob_msg_t *
s_reply (zframe_t *frame, zjob_cmd_t cmd, zjob_error_t *err)
{
    zjob_error_t error;
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_BROKER_CLIENT, &error);
    if (!msg) {
        zframe_destroy (&frame);
        zjob_error_set (err, ZJOB_INTERNAL, "malformed reply to %s: %s", zjob_cmd_name (cmd),
                        error.text);
        return NULL;
    }
    zjob_msg_adopt (msg, &frame);
    zjob_cmd_t command = zjob_msg_command (msg);
    if (command == ZJOB_CMD_ERROR)
        zjob_msg_error (msg, err);
    else if (command != ZJOB_CMD_OK)
        zjob_error_set (err, ZJOB_INTERNAL, "%s is not a reply to %s", zjob_cmd_name (command),
                        zjob_cmd_name (cmd));
    else if (cmd != ZJOB_CMD_UNKNOWN && zjob_msg_check_reply (msg, cmd, &error) != 0)
        zjob_error_set (err, ZJOB_INTERNAL, "malformed reply to %s: %s", zjob_cmd_name (cmd),
                        error.text);
    else
        return msg;
    zjob_msg_destroy (&msg);
    return NULL;
}

zjob_msg_t *
zjob_http_call (zjob_http_request_t *req, zjob_msg_builder_t *builder, zjob_cmd_t cmd,
                int timeout_ms, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (builder, err);
    if (!frame)
        return NULL;
    zsock_t *sock = zjob_http_socket (req, ZMQ_DEALER, req->http->access.clients);
    if (!sock) {
        zframe_destroy (&frame);
        zjob_error_set (err, ZJOB_INTERNAL, "cannot connect to the broker at %s",
                        req->http->access.clients);
        return NULL;
    }
    zjob_msg_t *msg = NULL;
    if (zframe_send (&frame, sock, 0) != 0) {
        zframe_destroy (&frame);
        zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot send %s to the broker", zjob_cmd_name (cmd));
    }
    else {
        zframe_t *reply = s_await (req, sock, cmd, timeout_ms, err);
        if (reply)
            msg = s_reply (reply, cmd, err);
    }
    zsock_destroy (&sock);
    return msg;
}

//  --------------------------------------------------------------------------
//  Replies as JSON

//  The body of an OK as JSON, its job maps readable; NULL with err
static json_t *
s_body_json (zjob_msg_t *msg, zjob_error_t *err)
{
    json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (msg));
    if (!body || !json_is_object (body)) {
        json_decref (body);
        zjob_error_set (err, ZJOB_INTERNAL, "the reply's body is not a map");
        return NULL;
    }
    const msgpack_object *job = zjob_msg_field (msg, "job");
    if (job && job->type == MSGPACK_OBJECT_MAP) {
        zjob_job_t *decoded = zjob_msg_job (msg, "job", err);
        if (!decoded) {
            json_decref (body);
            return NULL;
        }
        json_object_set_new (body, "job", zjob_job_to_json (decoded));
        zjob_job_destroy (&decoded);
    }
    const msgpack_object *jobs = zjob_msg_field (msg, "jobs");
    if (jobs && jobs->type == MSGPACK_OBJECT_ARRAY) {
        zjob_job_t **list = NULL;
        size_t count = 0;
        if (zjob_msg_jobs (msg, "jobs", &list, &count, err)) {
            json_decref (body);
            return NULL;
        }
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++) {
            json_array_append_new (array, zjob_job_to_json (list [index]));
            zjob_job_destroy (&list [index]);
        }
        free (list);
        json_object_set_new (body, "jobs", array);
    }
    return body;
}

//  Send the message begun in builder and answer its reply as JSON
static enum MHD_Result
s_answer (zjob_http_request_t *req, zjob_msg_builder_t *builder, zjob_cmd_t cmd)
{
    zjob_error_t err;
    zjob_msg_t *msg = zjob_http_call (req, builder, cmd, ZJOB_HTTP_REPLY_MS, &err);
    zjob_msg_builder_destroy (&builder);
    json_t *body = msg ? s_body_json (msg, &err) : NULL;
    zjob_msg_destroy (&msg);
    return body ? zjob_http_json (req, MHD_HTTP_OK, body) : zjob_http_broker_error (req, &err);
}

//  A builder begun with cmd and request id 1; NULL if out of memory
static zjob_msg_builder_t *
s_begin (zjob_cmd_t cmd)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (builder)
        zjob_msg_begin (builder, cmd, 1);
    return builder;
}

static enum MHD_Result
s_simple (zjob_http_request_t *req, zjob_cmd_t cmd, const char *op, const char *key,
          const char *value)
{
    zjob_msg_builder_t *builder = s_begin (cmd);
    if (!builder)
        return zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (op)
        zjob_msg_add_str (builder, "op", op);
    if (key)
        zjob_msg_add_str (builder, key, value);
    return s_answer (req, builder, cmd);
}

//  --------------------------------------------------------------------------
//  GET /api/jobs: the query

#define S_TAGS_MAX 32  //  tags in one filter (PROTOCOL.md 9.4)
#define S_LIMIT_DEFAULT 50
#define S_LIMIT_MAX 1000

typedef struct {
    zjob_http_request_t *req;
    zjob_query_t query;
    char tag_text [1024];  //  The tag parameter, split in place
    const char *tags [S_TAGS_MAX];
    char error [ZJOB_ERROR_TEXT_MAX];  //  The first bad parameter, "" if none
} s_list_t;

static bool
s_uint (const char *text, uint64_t *value_p)
{
    if (!*text || strspn (text, "0123456789") != strlen (text) || strlen (text) > 19)
        return false;
    *value_p = strtoull (text, NULL, 10);
    return true;
}

//  status=a,b: the status mask; false if a name is unknown
static bool
s_statuses (const char *text, uint32_t *mask_p)
{
    char copy [256];
    if (!*text || strlen (text) >= sizeof copy)
        return false;
    snprintf (copy, sizeof copy, "%s", text);
    char *save = NULL;
    for (char *name = strtok_r (copy, ",", &save); name; name = strtok_r (NULL, ",", &save)) {
        int status = zjob_status_parse (name);
        if (status < 0)
            return false;
        *mask_p |= 1u << status;
    }
    return *mask_p != 0;
}

static bool
s_tags (s_list_t *list, const char *text)
{
    if (!*text || strlen (text) >= sizeof list->tag_text)
        return false;
    snprintf (list->tag_text, sizeof list->tag_text, "%s", text);
    char *save = NULL;
    for (char *tag = strtok_r (list->tag_text, ",", &save); tag; tag = strtok_r (NULL, ",", &save)) {
        if (list->query.filter.tag_count == S_TAGS_MAX)
            return false;
        list->tags [list->query.filter.tag_count++] = tag;
    }
    list->query.filter.tags = list->tags;
    return list->query.filter.tag_count > 0;
}

//  One parameter into the query; false if it is bad
static bool
s_list_param (s_list_t *list, const char *key, const char *value)
{
    zjob_filter_t *filter = &list->query.filter;
    uint64_t number;
    if (streq (key, "status"))
        return s_statuses (value, &filter->status_mask);
    if (streq (key, "tag"))
        return s_tags (list, value);
    if (streq (key, "scheduled")) {
        filter->scheduled = streq (value, "true") ? ZJOB_SCHEDULED_YES
            : streq (value, "false")              ? ZJOB_SCHEDULED_NO
                                                  : ZJOB_SCHEDULED_ANY;
        return filter->scheduled != ZJOB_SCHEDULED_ANY;
    }
    if (streq (key, "sort")) {
        int sort = zjob_sort_parse (value);
        list->query.sort_by = (zjob_sort_t) (sort < 0 ? 0 : sort);
        return sort >= 0;
    }
    if (streq (key, "order")) {
        list->query.descending = streq (value, "desc");
        return streq (value, "asc") || streq (value, "desc");
    }
    if (streq (key, "offset"))
        return s_uint (value, &number) && (list->query.offset = (size_t) number, true);
    if (streq (key, "limit"))
        return s_uint (value, &number) && number >= 1 && number <= S_LIMIT_MAX
            && (list->query.limit = (size_t) number, true);
    const char **name = streq (key, "workflow") ? &filter->workflow_id
        : streq (key, "user")                   ? &filter->user_id
        : streq (key, "batch")                  ? &filter->batch_id
        : streq (key, "waiting_on")             ? &filter->waiting_on
        : streq (key, "schedule")               ? &filter->schedule_id
                                                : NULL;
    if (!name)
        return false;
    *name = value;
    return *value != 0;
}

static enum MHD_Result
s_list_iterate (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    s_list_t *list = (s_list_t *) cls;
    static const char *known [] = { "status", "workflow", "user", "tag", "batch", "waiting_on",
                                    "schedule", "scheduled", "sort", "order", "offset", "limit",
                                    NULL };
    bool is_known = false;
    for (size_t index = 0; known [index]; index++)
        is_known |= streq (known [index], key);
    if (!is_known)
        snprintf (list->error, sizeof list->error, "unknown parameter '%s'", key);
    else if (!s_list_param (list, key, value ? value : ""))
        snprintf (list->error, sizeof list->error, "bad value for parameter '%s': '%.64s'%s", key,
                  value ? value : "",
                  streq (key, "limit")           ? " (1 to 1000)"
                      : streq (key, "status")    ? " (status names, comma-separated)"
                      : streq (key, "scheduled") ? " (true or false)"
                      : streq (key, "sort")      ? " (created, updated, priority or status)"
                      : streq (key, "order")     ? " (asc or desc)"
                                                 : "");
    return *list->error ? MHD_NO : MHD_YES;
}

static enum MHD_Result
s_list (zjob_http_request_t *req)
{
    s_list_t *list = (s_list_t *) zmalloc (sizeof (s_list_t));
    if (!list)
        return zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    list->req = req;
    list->query.limit = S_LIMIT_DEFAULT;
    MHD_get_connection_values (req->connection, MHD_GET_ARGUMENT_KIND, s_list_iterate, list);
    zjob_error_t err;
    if (!*list->error && zjob_filter_validate (&list->query.filter, &err))
        snprintf (list->error, sizeof list->error, "%s", err.text);
    enum MHD_Result result;
    zjob_msg_builder_t *builder = *list->error ? NULL : s_begin (ZJOB_CMD_LIST);
    if (*list->error)
        result = zjob_http_error (req, MHD_HTTP_BAD_REQUEST, "%s", list->error);
    else if (!builder)
        result = zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    else {
        zjob_msg_add_query (builder, &list->query);
        result = s_answer (req, builder, ZJOB_CMD_LIST);
    }
    free (list);
    return result;
}

//  --------------------------------------------------------------------------
//  Routes

static const struct {
    const char *action;
    zjob_cmd_t cmd;
} s_job_actions [] = { { "cancel", ZJOB_CMD_CANCEL }, { "retry", ZJOB_CMD_RETRY }, { "pause", ZJOB_CMD_PAUSE }, { "resume", ZJOB_CMD_RESUME }, { "delete", ZJOB_CMD_DELETE }, { "start", ZJOB_CMD_START }, { "run_now", ZJOB_CMD_RUN_NOW } };

//  /api/jobs/ID and /api/jobs/ID/ACTION (rest is what follows /api/jobs/)
static enum MHD_Result
s_job (zjob_http_request_t *req, char *rest, bool get)
{
    char *slash = strchr (rest, '/');
    if (!slash) {
        if (!get)
            return zjob_http_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "GET a job; POST its actions");
        return s_simple (req, ZJOB_CMD_GET, NULL, "id", rest);
    }
    *slash = 0;
    for (size_t index = 0; index < sizeof s_job_actions / sizeof s_job_actions [0]; index++) {
        if (!streq (slash + 1, s_job_actions [index].action))
            continue;
        if (get)
            return zjob_http_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "%s needs a POST",
                                    s_job_actions [index].action);
        zjob_msg_builder_t *builder = s_begin (s_job_actions [index].cmd);
        if (!builder)
            return zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        zjob_target_t target = { .id = rest };
        zjob_msg_add_target (builder, &target);
        return s_answer (req, builder, s_job_actions [index].cmd);
    }
    return zjob_http_error (req, MHD_HTTP_NOT_FOUND, "no job action '%s'", slash + 1);
}

//  /api/queues/WORKFLOW/pause|resume; a workflow name may hold '/'
static enum MHD_Result
s_queue (zjob_http_request_t *req, char *rest, bool get)
{
    char *slash = strrchr (rest, '/');
    if (!slash || slash == rest || (!streq (slash + 1, "pause") && !streq (slash + 1, "resume")))
        return zjob_http_error (req, MHD_HTTP_NOT_FOUND, "no such route: %s", req->path);
    if (get)
        return zjob_http_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "%s needs a POST", slash + 1);
    *slash = 0;
    return s_simple (req, ZJOB_CMD_QUEUE, slash + 1, "workflow_id", rest);
}

enum MHD_Result
zjob_http_api (zjob_http_request_t *req)
{
    bool get = streq (req->method, "GET") || streq (req->method, "HEAD");
    if (!get && !streq (req->method, "POST"))
        return zjob_http_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed",
                                req->method);
    const char *path = req->path;
    if (get && streq (path, "/api/stats"))
        return s_simple (req, ZJOB_CMD_STATS, NULL, NULL, NULL);
    if (get && streq (path, "/api/jobs"))
        return s_list (req);
    if (get && streq (path, "/api/workers"))
        return s_simple (req, ZJOB_CMD_WORKERS, NULL, NULL, NULL);
    if (get && streq (path, "/api/queues"))
        return s_simple (req, ZJOB_CMD_QUEUE, "list", NULL, NULL);
    if (strncmp (path, "/api/jobs/", 10) == 0 && path [10])
        return s_job (req, req->path + 10, get);
    if (strncmp (path, "/api/queues/", 12) == 0 && path [12])
        return s_queue (req, req->path + 12, get);
    if (get && strncmp (path, "/api/batches/", 13) == 0 && path [13])
        return s_simple (req, ZJOB_CMD_BATCH, "show", "id", path + 13);
    return zjob_http_error (req, MHD_HTTP_NOT_FOUND, "no such route: %s %s", req->method, path);
}

//  --------------------------------------------------------------------------
//  /metrics and the probes

enum MHD_Result
zjob_http_metrics (zjob_http_request_t *req)
{
    //  METRICS by name: until the protocol knows it, the broker answers
    //  its error for an unknown command, which is passed on
    zjob_cmd_t cmd = zjob_cmd_parse ("METRICS");
    zjob_msg_builder_t *builder = s_begin (cmd);
    if (!builder)
        return zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    zjob_error_t err;
    zjob_msg_t *msg = zjob_http_call (req, builder, cmd, ZJOB_HTTP_REPLY_MS, &err);
    zjob_msg_builder_destroy (&builder);
    if (!msg)
        return zjob_http_broker_error (req, &err);
    const char *text = zjob_msg_str (msg, "text");
    enum MHD_Result result
        = text ? zjob_http_respond (req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    text, strlen (text))
               : zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "METRICS gave no text");
    zjob_msg_destroy (&msg);
    return result;
}

//  A figure of STATS' store map (strings), copied into value; false if
//  absent
static bool
s_store_figure (zjob_msg_t *msg, const char *key, char *value, size_t size)
{
    const msgpack_object *store = zjob_msg_field (msg, "store");
    if (!store || store->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t index = 0; index < store->via.map.size; index++) {
        const msgpack_object_kv *pair = &store->via.map.ptr [index];
        if (pair->key.type == MSGPACK_OBJECT_STR && pair->key.via.str.size == strlen (key)
            && memcmp (pair->key.via.str.ptr, key, strlen (key)) == 0
            && pair->val.type == MSGPACK_OBJECT_STR) {
            snprintf (value, size, "%.*s", (int) pair->val.via.str.size, pair->val.via.str.ptr);
            return true;
        }
    }
    return false;
}

//  The answer to a probe from the reply msg (NULL: none came, err says
//  why) into text; the HTTP status
static int
s_probe_answer (zjob_msg_t *msg, const zjob_error_t *err, bool ready, char *text, size_t size)
{
    char writable [16] = "", why [ZJOB_ERROR_TEXT_MAX] = "";
    if (!msg) {
        snprintf (text, size, "the broker does not answer: %s\n", err->text);
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    if (!ready) {
        snprintf (text, size, "ok\n");
        return MHD_HTTP_OK;
    }
    s_store_figure (msg, "writable", writable, sizeof writable);
    if (streq (writable, "true")) {
        snprintf (text, size, "ready\n");
        return MHD_HTTP_OK;
    }
    s_store_figure (msg, "write_error", why, sizeof why);
    snprintf (text, size, "the store cannot write%s%s\n", *why ? ": " : "", why);
    return MHD_HTTP_SERVICE_UNAVAILABLE;
}

enum MHD_Result
zjob_http_probe (zjob_http_request_t *req, bool ready)
{
    zjob_cmd_t cmd = ready ? ZJOB_CMD_STATS : ZJOB_CMD_PING;
    zjob_msg_builder_t *builder = s_begin (cmd);
    if (!builder)
        return zjob_http_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    zjob_error_t err;
    zjob_msg_t *msg = zjob_http_call (req, builder, cmd, ZJOB_HTTP_PROBE_MS, &err);
    zjob_msg_builder_destroy (&builder);
    char text [ZJOB_ERROR_TEXT_MAX + 64];
    int status = s_probe_answer (msg, &err, ready, text, sizeof text);
    zjob_msg_destroy (&msg);
    return zjob_http_respond (req, status, "text/plain; charset=utf-8", text, strlen (text));
}
