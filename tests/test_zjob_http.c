/*  =========================================================================
    test_zjob_http - the broker's HTTP side against an in-process broker

    A broker actor on 127.0.0.1 (memory store) and zjob_http on an
    ephemeral port, spoken to over plain sockets (helper_zjob_http): every
    route, the error mapping, the token and the CSRF header, the event
    stream, and a stop that does not wait for what is open. Jobs are made
    over a raw DEALER with the proto codec, as any client would.
    ========================================================================= */

#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/stat.h>
#include "helper_zjob_http.h"
#include "helper_zjob_test.h"
#include "zjob_http.h"
#include "zjob_http_assets.h"
#include "zjob_json.h"
#include "zjob_log.h"
#include "zjob_util.h"

#define S_WAIT 10000  //  msecs any awaited thing may take

static zjob_test_broker_t s_broker;
static zjob_http_t *s_http;
static int s_port;
static zsock_t *s_client;                  //  A DEALER on the broker's clients socket
static char *s_dir;                        //  Token files
static const char *s_log_level = "error";  //  zjob_http's, from s_http_start

//  Start zjob_http on the test broker, with a token file of token (NULL:
//  none); NULL with err filled if it refuses
static zjob_http_t *
s_http_start (const char *token, zjob_error_t *err)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_broker_config_set (&config, "http", "127.0.0.1:0", NULL);
    zjob_broker_config_set (&config, "log-level", s_log_level, NULL);
    if (token) {
        char path [512];
        snprintf (path, sizeof path, "%s/token", s_dir);
        FILE *file = fopen (path, "w");
        cr_assert (file);
        fprintf (file, "%s\n", token);
        fclose (file);
        chmod (path, 0600);
        zjob_broker_config_set (&config, "http-token", path, NULL);
    }
    zjob_broker_access_t access;
    cr_assert_eq (zjob_broker_access (s_broker.actor, &access), 0);
    zjob_http_t *http = zjob_http_new (&config, &access, err);
    if (http)
        s_port = zjob_http_port (http);
    return http;
}

static void
s_setup (void)
{
    zjob_error_t err;
    s_dir = zjob_test_tmpdir ();
    cr_assert_eq (zjob_test_broker_start (&s_broker, "memory:", NULL, &err), 0, "%s", err.text);
    s_client = zjob_test_dealer (s_broker.clients);
    s_http = s_http_start (NULL, &err);
    cr_assert (s_http, "%s", err.text);
    cr_assert_gt (s_port, 0);
}

static void
s_teardown (void)
{
    zjob_http_destroy (&s_http);
    zsock_destroy (&s_client);
    zjob_test_broker_stop (&s_broker);
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (http, .init = s_setup, .fini = s_teardown, .timeout = 120);

//  The body of resp as JSON (the caller decrefs it)
static json_t *
s_json (const zjob_http_test_t *resp)
{
    zjob_error_t err;
    json_t *value = zjob_json_parse (resp->body, true, &err);
    cr_assert (value, "not JSON (%s): %s", err.text, resp->body);
    return value;
}

//  GET path: assert the status and return the body as JSON
static json_t *
s_get_json (const char *path, int status)
{
    zjob_http_test_t resp;
    zjob_http_test_get (s_port, path, NULL, &resp);
    cr_assert_eq (resp.status, status, "GET %s: %d %s", path, resp.status, resp.body);
    char *type = zjob_http_test_header (&resp, "Content-Type");
    cr_assert_str_eq (type, "application/json; charset=utf-8");
    free (type);
    json_t *body = s_json (&resp);
    zjob_http_test_free (&resp);
    return body;
}

//  An error body {"error": {"code", "message"}}: assert the code and that
//  the message holds part
static void
s_assert_error (const char *path, int status, const char *part)
{
    json_t *body = s_get_json (path, status);
    json_t *error = json_object_get (body, "error");
    cr_assert_eq (json_integer_value (json_object_get (error, "code")), status, "%s", path);
    const char *message = json_string_value (json_object_get (error, "message"));
    cr_assert (message && strstr (message, part), "%s: '%s' lacks '%s'", path, message, part);
    json_decref (body);
}

//  POST path with the CSRF header (or without it), no body
static int
s_post (const char *path, bool csrf, zjob_http_test_t *resp)
{
    return zjob_http_test_request (s_port, "POST", path, csrf ? "X-Zjob-Request: 1\r\n" : NULL,
                                   NULL, 0, resp, 15000);
}

static char *
s_submit (const char *workflow)
{
    char *id = zjob_test_submit (s_client, workflow, NULL, NULL);
    cr_assert (id);
    return id;
}

Test (http, probes_answer_and_carry_the_security_headers)
{
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (s_port, "/healthz", NULL, &resp), 200);
    cr_assert_str_eq (resp.body, "ok\n");
    const char *expected [][2] = {
        { "X-Content-Type-Options", "nosniff" },
        { "Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" },
        { "X-Frame-Options", "DENY" },
        { "Cache-Control", "no-store" }
    };
    for (size_t index = 0; index < 4; index++) {
        char *value = zjob_http_test_header (&resp, expected [index][0]);
        cr_assert_str_eq (value ? value : "", expected [index][1], "%s", expected [index][0]);
        free (value);
    }
    char *cors = zjob_http_test_header (&resp, "Access-Control-Allow-Origin");
    cr_assert_null (cors);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/readyz", NULL, &resp), 200);
    cr_assert_str_eq (resp.body, "ready\n");
    zjob_http_test_free (&resp);
    cr_assert_eq (s_post ("/healthz", true, &resp), 405);
    zjob_http_test_free (&resp);
}

Test (http, serves_every_embedded_asset_and_404_otherwise)
{
    size_t count = 0;
    const zjob_http_asset_t *assets = zjob_http_assets (&count);
    cr_assert_gt (count, 0);
    for (size_t index = 0; index < count; index++) {
        zjob_http_test_t resp;
        cr_assert_eq (zjob_http_test_get (s_port, assets [index].path, NULL, &resp), 200, "%s",
                      assets [index].path);
        cr_assert_eq (resp.body_size, assets [index].size);
        cr_assert_eq (memcmp (resp.body, assets [index].data, resp.body_size), 0);
        char *type = zjob_http_test_header (&resp, "Content-Type");
        cr_assert_str_eq (type, assets [index].content_type);
        free (type);
        char *frame = zjob_http_test_header (&resp, "X-Frame-Options");
        cr_assert_str_eq (frame, "DENY");
        free (frame);
        zjob_http_test_free (&resp);
    }
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (s_port, "/", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    s_assert_error ("/no/such/page", 404, "no such page");
    s_assert_error ("/api/nothing", 404, "no such route");
}

Test (http, stats_workers_queues_and_batches)
{
    char *id = s_submit ("resize");
    json_t *stats = s_get_json ("/api/stats", 200);
    cr_assert_eq (json_integer_value (json_object_get (stats, "jobs")), 1);
    cr_assert_eq (json_integer_value (json_object_get (json_object_get (stats, "by_status"),
                                                       "queued")),
                  1);
    json_decref (stats);
    json_t *workers = s_get_json ("/api/workers", 200);
    cr_assert (json_is_array (json_object_get (workers, "workers")));
    json_decref (workers);
    json_t *queues = s_get_json ("/api/queues", 200);
    json_t *first = json_array_get (json_object_get (queues, "queues"), 0);
    cr_assert_str_eq (json_string_value (json_object_get (first, "workflow_id")), "resize");
    json_decref (queues);
    s_assert_error ("/api/batches/nope", 404, "nope");
    free (id);
}

Test (http, jobs_list_one_job_and_their_errors)
{
    char *ids [3] = { s_submit ("resize"), s_submit ("resize"), s_submit ("encode") };
    json_t *list = s_get_json ("/api/jobs?limit=2", 200);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 3);
    json_t *jobs = json_object_get (list, "jobs");
    cr_assert_eq (json_array_size (jobs), 2);
    //  Readable jobs, as the CLI's --json writes them
    json_t *job = json_array_get (jobs, 0);
    cr_assert_str_eq (json_string_value (json_object_get (job, "id")), ids [0]);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "queued");
    json_decref (list);
    list = s_get_json ("/api/jobs?workflow=encode&status=queued,running&sort=created&order=desc"
                       "&offset=0&scheduled=false",
                       200);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    json_decref (list);
    char path [128];
    snprintf (path, sizeof path, "/api/jobs/%s", ids [1]);
    json_t *one = s_get_json (path, 200);
    cr_assert_str_eq (
        json_string_value (json_object_get (json_object_get (one, "job"), "workflow_id")),
        "resize");
    json_decref (one);
    s_assert_error ("/api/jobs/06H4K2BV3JDSN879B7RT", 404, "not found");
    s_assert_error ("/api/jobs?limit=0", 400, "'limit'");
    s_assert_error ("/api/jobs?limit=1001", 400, "'limit'");
    s_assert_error ("/api/jobs?offset=-1", 400, "'offset'");
    s_assert_error ("/api/jobs?status=bogus", 400, "'status'");
    s_assert_error ("/api/jobs?sort=size", 400, "'sort'");
    s_assert_error ("/api/jobs?order=up", 400, "'order'");
    s_assert_error ("/api/jobs?scheduled=maybe", 400, "'scheduled'");
    s_assert_error ("/api/jobs?colour=red", 400, "'colour'");
    for (int index = 0; index < 3; index++)
        free (ids [index]);
}

Test (http, post_cancel_needs_the_csrf_header_and_cancels)
{
    char *id = s_submit ("resize");
    char path [128];
    snprintf (path, sizeof path, "/api/jobs/%s/cancel", id);
    zjob_http_test_t resp;
    cr_assert_eq (s_post (path, false, &resp), 403);
    cr_assert (strstr (resp.body, "X-Zjob-Request"));
    zjob_http_test_free (&resp);
    cr_assert_eq (s_post (path, true, &resp), 200, "%s", resp.body);
    zjob_http_test_free (&resp);
    snprintf (path, sizeof path, "/api/jobs/%s", id);
    json_t *one = s_get_json (path, 200);
    cr_assert_str_eq (json_string_value (json_object_get (json_object_get (one, "job"), "status")),
                      "cancelled");
    json_decref (one);
    //  The broker's rules: cancelling it again is a conflict
    snprintf (path, sizeof path, "/api/jobs/%s/cancel", id);
    cr_assert_eq (s_post (path, true, &resp), 409, "%s", resp.body);
    zjob_http_test_free (&resp);
    snprintf (path, sizeof path, "/api/jobs/%s/explode", id);
    cr_assert_eq (s_post (path, true, &resp), 404);
    zjob_http_test_free (&resp);
    snprintf (path, sizeof path, "/api/jobs/%s/retry", id);
    cr_assert_eq (zjob_http_test_get (s_port, path, NULL, &resp), 405);
    zjob_http_test_free (&resp);
    cr_assert_eq (s_post (path, true, &resp), 200, "%s", resp.body);
    zjob_http_test_free (&resp);
    free (id);
}

Test (http, queue_pause_and_resume)
{
    char *id = s_submit ("img/resize");  //  A name with a '/'
    zjob_http_test_t resp;
    cr_assert_eq (s_post ("/api/queues/img%2Fresize/pause", true, &resp), 200, "%s", resp.body);
    json_t *body = s_json (&resp);
    json_t *queue = json_array_get (json_object_get (body, "queues"), 0);
    cr_assert_str_eq (json_string_value (json_object_get (queue, "workflow_id")), "img/resize");
    cr_assert (json_is_true (json_object_get (queue, "paused")));
    json_decref (body);
    zjob_http_test_free (&resp);
    cr_assert_eq (s_post ("/api/queues/img/resize/resume", true, &resp), 200, "%s", resp.body);
    cr_assert (strstr (resp.body, "\"paused\":false"));
    zjob_http_test_free (&resp);
    cr_assert_eq (s_post ("/api/queues/img/resize/drain", true, &resp), 404);
    zjob_http_test_free (&resp);
    free (id);
}

Test (http, metrics_answer_what_the_broker_says)
{
    zjob_http_test_t resp;
    int status = zjob_http_test_get (s_port, "/metrics", NULL, &resp);
    char *type = zjob_http_test_header (&resp, "Content-Type");
    if (zjob_cmd_parse ("METRICS") != ZJOB_CMD_UNKNOWN) {
        cr_assert_eq (status, 200, "%s", resp.body);
        cr_assert_str_eq (type, "text/plain; version=0.0.4; charset=utf-8");
        cr_assert (strstr (resp.body, "zjob_"));
    }
    else {
        //  Until the protocol has METRICS, the broker's error goes through
        cr_assert_eq (status, 400, "%s", resp.body);
        cr_assert (strstr (resp.body, "\"code\":400"));
    }
    free (type);
    zjob_http_test_free (&resp);
}

Test (http, request_bodies_are_capped)
{
    size_t size = 70 * 1024;
    char *body = (char *) malloc (size);
    memset (body, 'x', size);
    zjob_http_test_t resp;
    zjob_http_test_request (s_port, "POST", "/api/login", "X-Zjob-Request: 1\r\n", body, size,
                            &resp, 15000);
    cr_assert_eq (resp.status, 413, "%d %s", resp.status, resp.body ? resp.body : "");
    zjob_http_test_free (&resp);
    free (body);
}

Test (http, the_token_guards_everything_but_the_probes)
{
    zjob_error_t err;
    zjob_http_destroy (&s_http);
    cr_assert_null (s_http_start ("short", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "16"), "%s", err.text);
    const char *token = "s3cret-t0ken-for-the-http-side";
    s_http = s_http_start (token, &err);
    cr_assert (s_http, "%s", err.text);
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (s_port, "/api/stats", NULL, &resp), 401);
    char *challenge = zjob_http_test_header (&resp, "WWW-Authenticate");
    cr_assert_str_eq (challenge, "Bearer");
    free (challenge);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/metrics", NULL, &resp), 401);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/api/stats",
                                      "Authorization: Bearer s3cret-t0ken-for-the-http-sidX\r\n",
                                      &resp),
                  401);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/healthz", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/readyz", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    char header [128];
    snprintf (header, sizeof header, "Authorization: Bearer %s\r\n", token);
    cr_assert_eq (zjob_http_test_get (s_port, "/api/stats", header, &resp), 200);
    zjob_http_test_free (&resp);
    //  Login: a wrong token is 401, the right one sets the cookie
    const char *wrong = "{\"token\": \"not-the-token-at-all\"}";
    zjob_http_test_request (s_port, "POST", "/api/login", "X-Zjob-Request: 1\r\n", wrong,
                            strlen (wrong), &resp, 15000);
    cr_assert_eq (resp.status, 401);
    zjob_http_test_free (&resp);
    char login [128];
    snprintf (login, sizeof login, "{\"token\": \"%s\"}", token);
    zjob_http_test_request (s_port, "POST", "/api/login", "X-Zjob-Request: 1\r\n", login,
                            strlen (login), &resp, 15000);
    cr_assert_eq (resp.status, 204);
    char *cookie = zjob_http_test_header (&resp, "Set-Cookie");
    char expected [128];
    snprintf (expected, sizeof expected, "zjob_token=%s; HttpOnly; SameSite=Strict; Path=/", token);
    cr_assert_str_eq (cookie, expected);
    free (cookie);
    zjob_http_test_free (&resp);
    snprintf (header, sizeof header, "Cookie: zjob_token=%s\r\n", token);
    cr_assert_eq (zjob_http_test_get (s_port, "/api/stats", header, &resp), 200);
    zjob_http_test_free (&resp);
    zjob_http_test_request (s_port, "POST", "/api/logout", NULL, NULL, 0, &resp, 15000);
    cr_assert_eq (resp.status, 403);  //  The CSRF header, as every POST
    zjob_http_test_free (&resp);
    snprintf (header, sizeof header, "X-Zjob-Request: 1\r\nCookie: zjob_token=%s\r\n", token);
    zjob_http_test_request (s_port, "POST", "/api/logout", header, NULL, 0, &resp, 15000);
    cr_assert_eq (resp.status, 204);
    cookie = zjob_http_test_header (&resp, "Set-Cookie");
    cr_assert (cookie && strstr (cookie, "zjob_token=;") && strstr (cookie, "Max-Age=0"));
    free (cookie);
    zjob_http_test_free (&resp);
}

//  SUBMIT count jobs of workflow in SUBMITs of ZJOB_BATCH_MAX
static void
s_submit_many (const char *workflow, size_t count)
{
    zjob_spec_t *specs = (zjob_spec_t *) calloc (ZJOB_BATCH_MAX, sizeof (zjob_spec_t));
    for (size_t index = 0; index < ZJOB_BATCH_MAX; index++) {
        specs [index].workflow_id = workflow;
        specs [index].priority = ZJOB_PRIORITY_UNSET;
    }
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    for (size_t done = 0; done < count; done += ZJOB_BATCH_MAX) {
        size_t some = count - done < ZJOB_BATCH_MAX ? count - done : ZJOB_BATCH_MAX;
        zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, 1000 + done);
        zjob_msg_add_specs (builder, "jobs", specs, some);
        zjob_msg_t *reply = zjob_test_call (s_client, builder, 60000);
        cr_assert (reply && zjob_msg_command (reply) == ZJOB_CMD_OK);
        zjob_msg_destroy (&reply);
    }
    zjob_msg_builder_destroy (&builder);
    free (specs);
}

Test (http, a_deep_page_of_30000_jobs_answers)
{
    s_submit_many ("deep", 30000);
    int64_t start = zjob_mono_ms ();
    json_t *list = s_get_json ("/api/jobs?offset=29990&limit=50&sort=updated&order=desc", 200);
    int64_t took = zjob_mono_ms () - start;
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 30000);
    cr_assert_eq (json_array_size (json_object_get (list, "jobs")), 10);
    cr_assert_eq (json_integer_value (json_object_get (list, "offset")), 29990);
    json_decref (list);
    //  Two LIST steps of the broker (20,000 jobs a pass): milliseconds
    cr_assert_lt (took, 5000, "a page at offset 29,990 of 30,000 jobs: %" PRId64 " ms", took);
}

//  The distinct subscriptions the broker has seen
static int
s_subscriptions (void)
{
    zstr_send (s_broker.actor, "SUBSCRIPTIONS");
    char *seen = zstr_recv (s_broker.actor);
    int count = seen ? atoi (seen) : -1;
    zstr_free (&seen);
    return count;
}

//  Wait until the broker has seen count subscriptions
static void
s_wait_subscriptions (int count)
{
    int64_t deadline = zjob_mono_ms () + S_WAIT;
    while (s_subscriptions () < count) {
        cr_assert (zjob_mono_ms () < deadline, "the subscription never reached the broker");
        zclock_sleep (5);  //  Polling the broker's view, with a deadline
    }
}

Test (http, events_stream_a_job_submitted_after_connecting)
{
    int before = s_subscriptions ();
    int stream = zjob_http_test_open (s_port, "/api/events?workflow=resize", NULL);
    cr_assert_geq (stream, 0);
    char *text = NULL;
    cr_assert (zjob_http_test_wait (stream, &text, ": zjob events", S_WAIT), "%s", text);
    cr_assert (strstr (text, "Content-Type: text/event-stream"));
    cr_assert (strstr (text, "Cache-Control: no-store"));
    s_wait_subscriptions (before + 1);
    char *other = s_submit ("encode");  //  Not asked for
    char *id = s_submit ("resize");
    char expected [128];
    snprintf (expected, sizeof expected, "\"id\":\"%s\"", id);
    cr_assert (zjob_http_test_wait (stream, &text, expected, S_WAIT), "%s", text);
    cr_assert (strstr (text, "event: queued\ndata: {\"type\":\"queued\""), "%s", text);
    cr_assert (strstr (text, "\nid: "), "%s", text);
    cr_assert_null (strstr (text, other), "%s", text);
    close (stream);
    free (text);
    free (id);
    free (other);
}

Test (http, event_streams_are_limited)
{
    int streams [ZJOB_HTTP_STREAMS_MAX];
    for (int index = 0; index < ZJOB_HTTP_STREAMS_MAX; index++) {
        streams [index] = zjob_http_test_open (s_port, "/api/events", NULL);
        char *text = NULL;
        cr_assert (zjob_http_test_wait (streams [index], &text, ": zjob events", S_WAIT));
        free (text);
    }
    s_assert_error ("/api/events", 503, "too many event streams");
    close (streams [0]);
    //  The stream's slot is freed when its client leaves
    int64_t deadline = zjob_mono_ms () + S_WAIT;
    while (true) {
        zjob_http_test_t resp;
        int fd = zjob_http_test_open (s_port, "/api/events", NULL);
        char *text = NULL;
        bool opened = zjob_http_test_wait (fd, &text, "\r\n\r\n", S_WAIT)
            && strstr (text, "HTTP/1.1 200");
        free (text);
        close (fd);
        (void) resp;
        if (opened)
            break;
        cr_assert (zjob_mono_ms () < deadline, "the slot was never freed");
        zclock_sleep (20);  //  The server notices the close within a slice
    }
    for (int index = 1; index < ZJOB_HTTP_STREAMS_MAX; index++)
        close (streams [index]);
}

//  A thread that makes one request and keeps the answer's status
static void *
s_request_thread (void *arg)
{
    int *status = (int *) arg;
    zjob_http_test_t resp;
    *status = zjob_http_test_get (s_port, "/api/stats", NULL, &resp);
    zjob_http_test_free (&resp);
    return NULL;
}

//  The endpoint sock is bound to, into endpoint
static void
s_endpoint (char endpoint [ZJOB_BROKER_ENDPOINT_MAX], zsock_t *sock)
{
    char *bound = zsock_last_endpoint (sock);
    snprintf (endpoint, ZJOB_BROKER_ENDPOINT_MAX, "%s", bound);
    free (bound);
}

Test (http, destroy_returns_soon_with_a_stream_and_a_request_open)
{
    //  A "broker" that takes requests and never answers them
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    zsock_t *pub = zsock_new_pub ("tcp://127.0.0.1:*");
    cr_assert (router && pub);
    zjob_broker_access_t access;
    memset (&access, 0, sizeof access);
    s_endpoint (access.clients, router);
    s_endpoint (access.events, pub);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_broker_config_set (&config, "http", "127.0.0.1:0", NULL);
    zjob_broker_config_set (&config, "log-level", "error", NULL);
    zjob_error_t err;
    zjob_http_destroy (&s_http);
    s_http = zjob_http_new (&config, &access, &err);
    cr_assert (s_http, "%s", err.text);
    s_port = zjob_http_port (s_http);
    int stream = zjob_http_test_open (s_port, "/api/events", NULL);
    char *text = NULL;
    cr_assert (zjob_http_test_wait (stream, &text, ": zjob events", S_WAIT));
    int status = -1;
    pthread_t thread;
    pthread_create (&thread, NULL, s_request_thread, &status);
    //  The request is in flight once the "broker" has it: named by its peer
    zmsg_t *request = zmsg_recv (router);
    cr_assert (request);
    char *identity = zframe_strdup (zmsg_first (request));
    cr_assert (strncmp (identity, "http 127.0.0.1:", 15) == 0 && strstr (identity, " #"), "%s",
               identity);
    free (identity);
    zmsg_destroy (&request);
    int64_t start = zjob_mono_ms ();
    zjob_http_destroy (&s_http);
    int64_t took = zjob_mono_ms () - start;
    cr_assert_lt (took, 1000, "zjob_http_destroy took %" PRId64 " ms", took);
    pthread_join (thread, NULL);
    cr_assert_neq (status, 200);
    close (stream);
    free (text);
    zsock_destroy (&router);
    zsock_destroy (&pub);
}

Test (http, a_silent_broker_is_a_504)
{
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    zjob_broker_access_t access;
    memset (&access, 0, sizeof access);
    s_endpoint (access.clients, router);
    snprintf (access.events, sizeof access.events, "%s", s_broker.events);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_broker_config_set (&config, "http", "localhost:0", NULL);  //  A name
    zjob_broker_config_set (&config, "log-level", "error", NULL);
    zjob_error_t err;
    zjob_http_destroy (&s_http);
    s_http = zjob_http_new (&config, &access, &err);
    cr_assert (s_http, "%s", err.text);
    s_port = zjob_http_port (s_http);
    int64_t start = zjob_mono_ms ();
    json_t *body = s_get_json ("/api/stats", 504);
    int64_t took = zjob_mono_ms () - start;
    cr_assert_geq (took, ZJOB_HTTP_REPLY_MS - 100);
    cr_assert_lt (took, ZJOB_HTTP_REPLY_MS + 2000);
    json_decref (body);
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (s_port, "/healthz", NULL, &resp), 503);
    zjob_http_test_free (&resp);
    zsock_destroy (&router);
}

Test (http, bad_addresses_are_refused)
{
    const char *bad [] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "[::1", "[::1]",
                           "host:http", "no-such-host.invalid:0" };
    zjob_broker_access_t access;
    cr_assert_eq (zjob_broker_access (s_broker.actor, &access), 0);
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zjob_broker_config_t config;
        zjob_broker_config_init (&config);
        snprintf (config.http, sizeof config.http, "%s", bad [index]);
        zjob_error_t err;
        zjob_http_t *http = zjob_http_new (&config, &access, &err);
        cr_assert_null (http, "%s was taken", bad [index]);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%s: %d %s", bad [index], err.code, err.text);
    }
    //  A port in use cannot be bound
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    snprintf (config.http, sizeof config.http, "127.0.0.1:%d", s_port);
    zjob_error_t err;
    cr_assert_null (zjob_http_new (&config, &access, &err));
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%s", err.text);
}

Test (http, ipv6_loopback_binds)
{
    zjob_broker_access_t access;
    cr_assert_eq (zjob_broker_access (s_broker.actor, &access), 0);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_broker_config_set (&config, "log-level", "error", NULL);
    snprintf (config.http, sizeof config.http, "[::1]:0");
    zjob_error_t err;
    zjob_http_t *http = zjob_http_new (&config, &access, &err);
    if (!http && err.code == ZJOB_UNAVAILABLE)
        cr_skip_test ("no IPv6 loopback here: %s", err.text);
    cr_assert (http, "%s", err.text);
    cr_assert_gt (zjob_http_port (http), 0);
    zjob_http_destroy (&http);
    cr_assert_null (http);
    zjob_http_destroy (&http);  //  Twice is safe
}

Test (http, requests_are_logged_at_debug_without_the_token)
{
    char *log = NULL;
    size_t log_size = 0;
    FILE *stream = open_memstream (&log, &log_size);
    zjob_log_set_stream (stream);
    zjob_http_destroy (&s_http);
    s_log_level = "debug";
    const char *token = "never-in-the-log-0123456789";
    zjob_error_t err;
    s_http = s_http_start (token, &err);
    cr_assert (s_http, "%s", err.text);
    zjob_http_test_t resp;
    char header [128];
    snprintf (header, sizeof header, "Authorization: Bearer %s\r\n", token);
    cr_assert_eq (zjob_http_test_get (s_port, "/api/stats", header, &resp), 200);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (s_port, "/api/jobs%0Aforged", header, &resp), 404);
    zjob_http_test_free (&resp);
    zjob_http_destroy (&s_http);  //  Every request has completed and is logged
    zjob_log_set_stream (NULL);
    fclose (stream);
    cr_assert (strstr (log, "http GET /api/stats 200 "), "%s", log);
    cr_assert (strstr (log, "http GET /api/jobs?forged 404 "), "%s", log);
    cr_assert_null (strstr (log, token), "%s", log);
    free (log);
}

//  A thread that GETs /readyz and keeps the answer
static void *
s_readyz_thread (void *arg)
{
    zjob_http_test_t *resp = (zjob_http_test_t *) arg;
    zjob_http_test_get (s_port, "/readyz", NULL, resp);
    return NULL;
}

Test (http, readyz_is_503_with_the_reason_when_the_store_cannot_write)
{
    //  A "broker" whose STATS says the store cannot write
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    cr_assert (router);
    zjob_broker_access_t access;
    memset (&access, 0, sizeof access);
    s_endpoint (access.clients, router);
    snprintf (access.events, sizeof access.events, "%s", s_broker.events);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_broker_config_set (&config, "http", "127.0.0.1:0", NULL);
    zjob_broker_config_set (&config, "log-level", "error", NULL);
    zjob_error_t err;
    zjob_http_destroy (&s_http);
    s_http = zjob_http_new (&config, &access, &err);
    cr_assert (s_http, "%s", err.text);
    s_port = zjob_http_port (s_http);
    zjob_http_test_t resp;
    pthread_t thread;
    pthread_create (&thread, NULL, s_readyz_thread, &resp);
    zframe_t *identity = zframe_recv (router);
    zframe_t *request = zframe_recv (router);
    cr_assert (identity && request);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (request), zframe_size (request),
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_STATS);
    const char *keys [] = { "writable", "write_error" };
    const char *values [] = { "false", "No space left on device" };
    zjob_stats_t stats = { .store_name = "file", .store_keys = keys, .store_values = values, .store_count = 2 };
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
    zjob_msg_add_stats (builder, &stats);
    zframe_t *reply = zjob_msg_end (builder, &err);
    cr_assert (reply, "%s", err.text);
    zframe_send (&identity, router, ZFRAME_MORE);
    zframe_send (&reply, router, 0);
    pthread_join (thread, NULL);
    cr_assert_eq (resp.status, 503, "%d %s", resp.status, resp.body ? resp.body : "");
    cr_assert_str_eq (resp.body, "the store cannot write: No space left on device\n");
    zjob_http_test_free (&resp);
    zjob_msg_builder_destroy (&builder);
    zjob_msg_destroy (&msg);
    zframe_destroy (&request);
    zsock_destroy (&router);
}
