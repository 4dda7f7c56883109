/*  =========================================================================
    zjob_client - the client API of libzjob: job operations and events

    A client is one DEALER socket connected to the broker's clients
    endpoint. Every request carries a request id and the broker's reply
    echoes it, so the socket is pipelined: the asynchronous API
    (zjob_client_send_* then zjob_client_recv) keeps many requests in
    flight and matches replies by id, and the synchronous API is that same
    path with one request and a deadline. A synchronous call made while
    asynchronous requests are in flight keeps their replies aside for the
    next zjob_client_recv, so both APIs can share one client.

    Timeouts. A synchronous call waits at most the client's timeout (set at
    zjob_client_new) and then fails with ZJOB_UNAVAILABLE; a reply that
    arrives after that is dropped. After ZJOB_CLIENT_RECONNECT_AFTER
    timeouts in a row the client suspects its connection and opens a new
    one (PROTOCOL.md 8), forgetting the requests still in flight. Requests that change nothing (GET, LIST,
    STATUS, RESULTS, STATS, WORKERS, PING) and SUBMIT are sent again within
    the timeout when the first copy may have been lost (the broker restarted
    under the connection): reads are harmless to repeat, and SUBMIT carries
    an idempotency key per job, so the broker answers a repeat with the
    job it created the first time. The library makes up a key for every
    spec that has none; a caller that retries a SUBMIT itself after a
    timeout must set its own keys to get the same protection.

    Errors from the broker reach the caller unchanged: err gets the ERROR
    reply's code and message. Errors raised here are ZJOB_UNAVAILABLE (no
    answer), ZJOB_BAD_REQUEST (a malformed reply or argument) and
    ZJOB_TOO_MANY (the window of ZJOB_INFLIGHT_MAX requests is full).

    CURVE. A client made with a certificate (zjob_client_new_with) watches
    its handshakes with the broker, so that a key the broker does not
    accept is never a silent timeout: when the broker refuses the key, or
    the handshake breaks off (a wrong broker key, a broker without CURVE),
    the request waiting and every later one fail at once with
    ZJOB_UNAUTHORIZED and a message saying which. The client tries a new
    handshake at most every ZJOB_CLIENT_HANDSHAKE_RETRY_MS, with the next
    request, so a broker that reloads its keys lets it in again.

    Events are a separate object, zjob_events_t: a SUB socket on the
    broker's events endpoint, subscribed by job, workflow or event type with
    the topic scheme of PROTOCOL.md, whose events arrive as a small struct.

    A client, an events object and the replies they return belong to one
    thread at a time, as their sockets do.
    ========================================================================= */

#ifndef ZJOB_CLIENT_H_INCLUDED
#define ZJOB_CLIENT_H_INCLUDED

#include <czmq.h>
#include "zjob_export.h"
#include "zjob_version.h"
#include "zjob_error.h"
#include "zjob_job.h"
#include "zjob_query.h"
#include "zjob_msg.h"
#include "zjob_connect.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_CLIENT_TIMEOUT_DEFAULT 5000     //  msecs a synchronous call waits
#define ZJOB_CLIENT_RESEND_MIN_MS 250        //  msecs before a lost request is sent again
#define ZJOB_CLIENT_WAIT_MIN_MS 5            //  msecs between the first STATUS polls of wait
#define ZJOB_CLIENT_WAIT_MAX_MS 250          //  msecs between STATUS polls of wait, at most
#define ZJOB_CLIENT_RECONNECT_AFTER 3        //  timeouts in a row before a new connection
#define ZJOB_CLIENT_HANDSHAKE_RETRY_MS 1000  //  msecs between handshakes after one failed

typedef struct _zjob_client_t zjob_client_t;
typedef struct _zjob_reply_t zjob_reply_t;

//  --------------------------------------------------------------------------
//  Connecting

//  Connect to the broker's clients endpoint and check that it answers a
//  PING within timeout_ms (which becomes the timeout of every synchronous
//  call; <= 0 means ZJOB_CLIENT_TIMEOUT_DEFAULT). Returns NULL with err
//  filled: ZJOB_UNAVAILABLE if the broker did not answer, ZJOB_BAD_REQUEST
//  for an endpoint that cannot be connected. endpoint may be a comma list
//  of the brokers of one shared store ("tcp://a:5570,tcp://b:5570", at
//  most 16): requests go to whichever serves (zjob_connect.h), and a
//  synchronous call waits up to its timeout for one to. A SUBMIT resent
//  across a failover reaches the new broker: its idempotency key is what
//  makes it create one job.
ZJOB_EXPORT zjob_client_t *
zjob_client_new (const char *endpoint, int timeout_ms, zjob_error_t *err);

//  As zjob_client_new, with the CURVE options of opts (NULL, or no cert:
//  as zjob_client_new). Also fails with ZJOB_BAD_REQUEST for a bad
//  certificate or broker key (zjob_connect_apply), and with
//  ZJOB_UNAUTHORIZED when the handshake fails (see CURVE above). Since
//  libzjob 0.5.0.
ZJOB_EXPORT zjob_client_t *
zjob_client_new_with (const char *endpoint, int timeout_ms, const zjob_connect_opts_t *opts,
                      zjob_error_t *err);

//  Close the client; replies still in flight are dropped. Accepts NULL.
ZJOB_EXPORT void
zjob_client_destroy (zjob_client_t **self_p);

//  Change the timeout of synchronous calls (msecs, > 0).
ZJOB_EXPORT void
zjob_client_set_timeout (zjob_client_t *self, int timeout_ms);

//  The DEALER socket, for a poll loop: when it is readable, call
//  zjob_client_recv with timeout 0. Borrowed; do not read from it.
ZJOB_EXPORT zsock_t *
zjob_client_sock (zjob_client_t *self);

//  The endpoint the client connected to.
ZJOB_EXPORT const char *
zjob_client_endpoint (zjob_client_t *self);

//  --------------------------------------------------------------------------
//  Synchronous job operations. Each waits for the reply, at most the
//  client's timeout, and returns -1 / NULL with err filled on failure.

//  Create one job from spec, queued at once if auto_start. On success id
//  (ZJOB_ID_LEN + 1 bytes) receives the job id and 0 is returned.
ZJOB_EXPORT int
zjob_client_submit (zjob_client_t *self, const zjob_spec_t *spec, bool auto_start,
                    char *id, zjob_error_t *err);

//  Create count jobs in one message, all or none (ZJOB_BATCH_MAX at most).
//  On success ids[i] receives the i-th job's id and 0 is returned.
ZJOB_EXPORT int
zjob_client_submit_batch (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                          bool auto_start, char (*ids) [ZJOB_ID_LEN + 1],
                          zjob_error_t *err);

//  As zjob_client_submit_batch, the jobs joining the batch opts names
//  (NULL: none): the first SUBMIT of a batch id creates it (with its
//  callback, if any), later ones add to it while it is open, else 409.
ZJOB_EXPORT int
zjob_client_submit_batch_with (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                               bool auto_start, const zjob_batch_opts_t *opts,
                               char (*ids) [ZJOB_ID_LEN + 1], zjob_error_t *err);

//  Batches (BATCH). show: info receives batch id's state; close: no more
//  members (info, if not NULL, the state after); cancel: closed, then
//  every member that can be is cancelled (*cancelled_p, if not NULL,
//  their number); list: from offset, at most limit (0: the most), in id
//  order, *infos_p a malloc'd array of *count_p (the caller frees it),
//  *total_p (if not NULL) the number of batches. Each returns 0, or -1
//  with err filled (ZJOB_NOT_FOUND for an unknown batch).
ZJOB_EXPORT int
zjob_client_batch_show (zjob_client_t *self, const char *id, zjob_batch_info_t *info,
                        zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_batch_close (zjob_client_t *self, const char *id, zjob_batch_info_t *info,
                         zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_batch_cancel (zjob_client_t *self, const char *id, size_t *cancelled_p,
                          zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_batch_list (zjob_client_t *self, size_t offset, size_t limit,
                        zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                        zjob_error_t *err);

//  The job with id; the caller destroys it.
ZJOB_EXPORT zjob_job_t *
zjob_client_get (zjob_client_t *self, const char *id, zjob_error_t *err);

//  GET's whole reply, for what it holds besides the job: read the job
//  with zjob_msg_job (msg, "job", err) and the ids of its children still
//  waiting for it (at most ZJOB_CHILDREN_MAX; absent: none) with
//  zjob_msg_strs (msg, "children", &count), msg = zjob_reply_msg. The
//  caller destroys the reply; NULL with err filled on an error.
ZJOB_EXPORT zjob_reply_t *
zjob_client_get_reply (zjob_client_t *self, const char *id, zjob_error_t *err);

//  The jobs matching query (NULL: the first page of all jobs). *jobs_p
//  becomes an array of *count_p jobs (destroy each, then free the array);
//  *total_p, if not NULL, the number matching before paging. 0 or -1.
ZJOB_EXPORT int
zjob_client_list (zjob_client_t *self, const zjob_query_t *query, zjob_job_t ***jobs_p,
                  size_t *count_p, size_t *total_p, zjob_error_t *err);

//  One operation on one job. 0 or -1 (ZJOB_NOT_FOUND, ZJOB_CONFLICT...).
ZJOB_EXPORT int
zjob_client_delete (zjob_client_t *self, const char *id, zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_start (zjob_client_t *self, const char *id, zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_pause (zjob_client_t *self, const char *id, zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_resume (zjob_client_t *self, const char *id, zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_cancel (zjob_client_t *self, const char *id, zjob_error_t *err);

//  Re-run a failed or cancelled job (RETRY): queued again, ready at once,
//  its error history kept; its attempt count kept, or with reset_attempts
//  started again at 0. 0 or -1 (ZJOB_NOT_FOUND; ZJOB_CONFLICT for a job
//  in another status, or one a worker still holds after a cancel).
ZJOB_EXPORT int
zjob_client_retry (zjob_client_t *self, const char *id, bool reset_attempts,
                   zjob_error_t *err);

//  Make a queued job that waits for its run_at (delayed, or a retry
//  waiting for its backoff) ready now (RUN_NOW). 0 or -1 (ZJOB_NOT_FOUND;
//  ZJOB_CONFLICT for any other job).
ZJOB_EXPORT int
zjob_client_run_now (zjob_client_t *self, const char *id, zjob_error_t *err);

//  One of DELETE, START, PAUSE, RESUME, CANCEL, RETRY or RUN_NOW on every
//  job of target (ids or a filter). Returns the number of jobs it applied
//  to; the jobs it could not apply to (a conflict, say) are not an error.
//  -1 with err filled when the request itself fails.
ZJOB_EXPORT int
zjob_client_apply (zjob_client_t *self, zjob_cmd_t command, const zjob_target_t *target,
                   zjob_error_t *err);

//  RETRY or RUN_NOW of target (one id, ids or a filter) with options (NULL:
//  none; reset_attempts is for RETRY only). Returns the OK reply, to read
//  with zjob_reply_msg and the zjob_msg_* readers: "id" and "status" for
//  one id; "done", "failed", "errors" for ids or a filter, and with
//  dry_run "ids", the jobs it would do. A dry run changes nothing and is
//  sent again within the timeout like a read; the real operation is sent
//  once. NULL with err filled on an ERROR (for one id: the error the
//  operation gives, dry run or not) or no answer. The caller destroys the
//  reply.
ZJOB_EXPORT zjob_reply_t *
zjob_client_apply_with (zjob_client_t *self, zjob_cmd_t command, const zjob_target_t *target,
                        const zjob_apply_options_t *options, zjob_error_t *err);

//  The job's status (a zjob_status_t), or -1.
ZJOB_EXPORT int
zjob_client_status (zjob_client_t *self, const char *id, zjob_error_t *err);

//  The RESULTS reply of a finished job: read "status", "outputs" (bin,
//  completed) or "error_kind" and "error_message" (failed) with the
//  zjob_msg_* readers on zjob_reply_msg. NULL with ZJOB_CONFLICT while the
//  job is not finished. The caller destroys the reply.
ZJOB_EXPORT zjob_reply_t *
zjob_client_results (zjob_client_t *self, const char *id, zjob_error_t *err);

//  Delete the terminal jobs that finished more than retention_ms ago
//  (< 0: the broker's retention). Returns the number deleted, or -1.
ZJOB_EXPORT int
zjob_client_cleanup (zjob_client_t *self, int64_t retention_ms, zjob_error_t *err);

//  The broker's STATS or WORKERS reply, to read with zjob_reply_msg and
//  the zjob_msg_* field readers (PROTOCOL.md lists the fields). The caller
//  destroys it.
ZJOB_EXPORT zjob_reply_t *
zjob_client_stats (zjob_client_t *self, zjob_error_t *err);
ZJOB_EXPORT zjob_reply_t *
zjob_client_workers (zjob_client_t *self, zjob_error_t *err);

//  The broker's metrics (METRICS, admin only): the whole Prometheus text
//  exposition (format 0.0.4) into *text_p, NUL-terminated, the caller's
//  to free. 0, or -1 with err filled (ZJOB_FORBIDDEN for a client key).
ZJOB_EXPORT int
zjob_client_metrics (zjob_client_t *self, char **text_p, zjob_error_t *err);

//  Templates (TEMPLATE, PROTOCOL.md 9.12): named job settings a SUBMIT
//  spec can name in its template_name, merged into it by the broker.
//  Store spec (its workflow, inputs, priority, user, tags, metadata,
//  max_attempts, retry policy and timeouts; no idempotency key, run_at,
//  template, parents, batch or unique key) as template name, replacing a
//  template of that name whole; *created_p (may be NULL) says whether the
//  name was new. Sent again within the timeout (a replace is idempotent).
//  0, or -1 with err filled.
ZJOB_EXPORT int
zjob_client_template_set (zjob_client_t *self, const char *name, const zjob_spec_t *spec,
                          bool *created_p, zjob_error_t *err);
//  The template's OK reply: read its "template" map with zjob_msg_template
//  (the settings as a spec) and the zjob_msg_* readers (name, created_at,
//  updated_at) on zjob_reply_msg. NULL with ZJOB_NOT_FOUND if there is
//  none. The caller destroys the reply.
ZJOB_EXPORT zjob_reply_t *
zjob_client_template_get (zjob_client_t *self, const char *name, zjob_error_t *err);
//  A page of the templates by name, from offset, limit of them (0: the
//  broker's default, 100; at most ZJOB_TEMPLATE_PAGE_MAX): the OK reply's
//  "templates" (maps of name, workflow_id, priority, tags, created_at,
//  updated_at) and "total". The caller destroys the reply.
ZJOB_EXPORT zjob_reply_t *
zjob_client_template_list (zjob_client_t *self, size_t offset, size_t limit,
                           zjob_error_t *err);
//  Delete template name (jobs made from it keep what they got). 0, or -1
//  with ZJOB_NOT_FOUND if there is none.
ZJOB_EXPORT int
zjob_client_template_delete (zjob_client_t *self, const char *name, zjob_error_t *err);
//  --------------------------------------------------------------------------
//  Schedules (SCHEDULE, PROTOCOL.md): cron expressions that make jobs

//  A schedule to add; strings and bytes borrowed. Exactly one of
//  template_name and workflow_id; inputs, metadata, tags and priority go
//  with workflow_id. Zero is the default for every field.
typedef struct {
    const char *name;           //  Required, a name of at most 100 bytes
    const char *cron;           //  Required: 5 or 6 fields, a macro, @every
    const char *timezone;       //  IANA zone id ("Europe/Berlin"); NULL: UTC
    bool no_catch_up;           //  A due time missed while the broker was
                                //  down is skipped, not run once at start
    bool paused;                //  Added paused
    bool replace;               //  Replace a schedule of that name (else 409)
    const char *template_name;  //  The template it submits, or NULL
    const char *workflow_id;    //  Or the workflow of the job it submits
    const uint8_t *inputs;      //  msgpack map, or NULL
    size_t inputs_size;
    zjob_priority_t priority;  //  ZJOB_PRIORITY_UNSET (or 0 = low!) as in a spec
    const char *const *tags;
    size_t tag_count;
    const uint8_t *metadata;  //  msgpack map, or NULL
    size_t metadata_size;
} zjob_schedule_add_t;

//  Add a schedule. Returns the OK, whose "schedule" map holds it as
//  stored (with "next", its first due time, ms UTC), to read with
//  zjob_reply_msg and zjob_msg_field; NULL with err (400 a bad field, 404
//  an unknown template, 409 a name taken, 429 too many). The caller
//  destroys the reply.
ZJOB_EXPORT zjob_reply_t *
zjob_client_schedule_add (zjob_client_t *self, const zjob_schedule_add_t *schedule,
                          zjob_error_t *err);

//  Another SCHEDULE op on schedule name: "get", "pause", "resume",
//  "delete", "run_now" ("id": the job it made), or "list" (name NULL;
//  "schedules": an array of maps without inputs and metadata, "total").
//  Returns the OK (the caller destroys it), or NULL with err (404 no
//  such schedule).
ZJOB_EXPORT zjob_reply_t *
zjob_client_schedule (zjob_client_t *self, const char *op, const char *name,
                      zjob_error_t *err);
//  Per-workflow queue controls (QUEUE): pause or resume the handing out
//  of workflow_id's jobs (running jobs go on), durably. 0 or -1.
ZJOB_EXPORT int
zjob_client_queue_pause (zjob_client_t *self, const char *workflow_id, zjob_error_t *err);
ZJOB_EXPORT int
zjob_client_queue_resume (zjob_client_t *self, const char *workflow_id, zjob_error_t *err);

//  Set workflow_id's limits: concurrency (jobs running at once), rate
//  (jobs handed out a second, a token bucket) and burst (its tokens);
//  each < 0 is left as it is, 0 clears it (burst 0: max (1, rate)).
//  0 or -1 (ZJOB_BAD_REQUEST for a value out of range).
ZJOB_EXPORT int
zjob_client_queue_limit (zjob_client_t *self, const char *workflow_id, int64_t concurrency,
                         double rate, double burst, zjob_error_t *err);

//  Every workflow's queue (with settings or jobs), sorted by name: read
//  with zjob_msg_queue_count and zjob_msg_queue on zjob_reply_msg. The
//  caller destroys it.
ZJOB_EXPORT zjob_reply_t *
zjob_client_queue_list (zjob_client_t *self, zjob_error_t *err);

//  Check that the broker answers. 0 or -1 (ZJOB_UNAVAILABLE).
ZJOB_EXPORT int
zjob_client_ping (zjob_client_t *self, zjob_error_t *err);

//  Wait until the job is finished, at most timeout_ms. It polls STATUS
//  with a backoff from ZJOB_CLIENT_WAIT_MIN_MS to ZJOB_CLIENT_WAIT_MAX_MS,
//  so it needs no event subscription and cannot miss a change. Returns
//  the terminal status; -1 with ZJOB_ACCEPTED if the job is still not
//  finished at the deadline, or with the error of a failed STATUS.
ZJOB_EXPORT int
zjob_client_wait (zjob_client_t *self, const char *id, int timeout_ms, zjob_error_t *err);

//  --------------------------------------------------------------------------
//  Asynchronous requests. Each sends one request without waiting and
//  returns its request id (never 0), or 0 with err filled (ZJOB_TOO_MANY
//  when ZJOB_INFLIGHT_MAX requests wait for replies, ZJOB_BAD_REQUEST
//  for arguments that cannot be sent). The reply comes from
//  zjob_client_recv. Asynchronous requests are sent once. With a list of
//  endpoints, one fails at once (ZJOB_UNAVAILABLE) while no broker of the
//  list is connected (a failover): the caller sends it again later.

//  SUBMIT of count specs (1..ZJOB_BATCH_MAX); specs without an idempotency
//  key get one made up by the library.
ZJOB_EXPORT uint64_t
zjob_client_send_submit (zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                         bool auto_start, zjob_error_t *err);

//  GET, STATUS, RESULTS, DELETE, START, PAUSE, RESUME, CANCEL, RETRY or
//  RUN_NOW of one job.
ZJOB_EXPORT uint64_t
zjob_client_send_id (zjob_client_t *self, zjob_cmd_t command, const char *id,
                     zjob_error_t *err);

//  DELETE, START, PAUSE, RESUME, CANCEL, RETRY or RUN_NOW of a target (id,
//  ids or filter).
ZJOB_EXPORT uint64_t
zjob_client_send_target (zjob_client_t *self, zjob_cmd_t command,
                         const zjob_target_t *target, zjob_error_t *err);

//  RETRY or RUN_NOW of a target with options (NULL: none), as
//  zjob_client_apply_with, without waiting.
ZJOB_EXPORT uint64_t
zjob_client_send_target_with (zjob_client_t *self, zjob_cmd_t command,
                              const zjob_target_t *target,
                              const zjob_apply_options_t *options, zjob_error_t *err);

//  LIST with query (NULL: every job, first page).
ZJOB_EXPORT uint64_t
zjob_client_send_list (zjob_client_t *self, const zjob_query_t *query, zjob_error_t *err);

//  CLEANUP, STATS, WORKERS or PING.
ZJOB_EXPORT uint64_t
zjob_client_send_cmd (zjob_client_t *self, zjob_cmd_t command, zjob_error_t *err);

//  The next reply to an asynchronous request, waiting at most timeout_ms
//  (0: only what has arrived; -1: forever). Returns the reply (the caller
//  destroys it), or NULL when none came (err: ZJOB_UNAVAILABLE), the
//  handshake failed (ZJOB_UNAUTHORIZED: the requests in flight are lost;
//  zjob_client_forget them) or the wait was interrupted. A reply's status is the broker's verdict on the
//  request; a reply that does not match its request's reply table comes
//  as status ZJOB_BAD_REQUEST.
ZJOB_EXPORT zjob_reply_t *
zjob_client_recv (zjob_client_t *self, int timeout_ms, zjob_error_t *err);

//  Requests sent and not yet answered.
ZJOB_EXPORT size_t
zjob_client_inflight (zjob_client_t *self);

//  Stop waiting for the reply to request_id (0: for every request in
//  flight), freeing its place in the window; a late reply is dropped.
ZJOB_EXPORT void
zjob_client_forget (zjob_client_t *self, uint64_t request_id);

//  --------------------------------------------------------------------------
//  Replies

//  Destroy a reply. Accepts NULL; sets *self_p to NULL.
ZJOB_EXPORT void
zjob_reply_destroy (zjob_reply_t **self_p);

//  The request id it answers, and that request's command.
ZJOB_EXPORT uint64_t
zjob_reply_request_id (zjob_reply_t *self);
ZJOB_EXPORT zjob_cmd_t
zjob_reply_request (zjob_reply_t *self);

//  ZJOB_OK, or the error code of an ERROR reply.
ZJOB_EXPORT int
zjob_reply_status (zjob_reply_t *self);

//  Copy the reply's error into err (ZJOB_OK and "" for an OK reply).
//  Returns the status.
ZJOB_EXPORT int
zjob_reply_error (zjob_reply_t *self, zjob_error_t *err);

//  The decoded message, for the zjob_msg_* field readers. Borrowed.
ZJOB_EXPORT zjob_msg_t *
zjob_reply_msg (zjob_reply_t *self);

//  --------------------------------------------------------------------------
//  Events

typedef struct _zjob_events_t zjob_events_t;

#define ZJOB_EVENT_TYPE_MAX 32  //  bytes in an event type, with the NUL

//  One event, as received. Strings are copied in and cut to fit.
typedef struct {
    uint64_t seq;                          //  The broker's sequence number: a gap
                                           //  means events were missed
    char type [ZJOB_EVENT_TYPE_MAX];       //  A status name, "progress", "deleted",
                                           //  "worker_joined", "worker_left"...
    int64_t time;                          //  ms UTC of the change
    char id [ZJOB_ID_LEN + 1];             //  Job id; "" for a worker event
    char workflow_id [ZJOB_NAME_MAX + 1];  //  "" for a worker event
    char user_id [ZJOB_NAME_MAX + 1];      //  "" if none
    int status;                            //  zjob_status_t, -1 if not given
    int old_status;                        //  zjob_status_t, -1 if not given
    uint32_t attempts;                     //  Times dispatched, 0 if not given
    float progress;                        //  0.0 .. 1.0, as last reported
    char worker_id [ZJOB_NAME_MAX + 1];    //  "" if none
    char error_kind [ZJOB_NAME_MAX + 1];   //  "" unless failed
    char message [ZJOB_MESSAGE_MAX + 1];   //  Error, progress message or worker
                                           //  event's reason; "" if none
} zjob_event_info_t;

//  Connect a SUB socket to the broker's events endpoint, subscribed to
//  nothing yet. Returns NULL with err filled for a bad endpoint.
ZJOB_EXPORT zjob_events_t *
zjob_events_new (const char *endpoint, zjob_error_t *err);

//  The same to a broker that uses CURVE when opts has a certificate
//  (opts NULL, or its cert NULL: zjob_events_new). The socket is then an
//  XSUB, which filters nothing itself: the broker applies a client key's
//  subscriptions under its user's prefix "u/<user>/" (PROTOCOL.md 11), so
//  a SUB, filtering on the prefixes as given, would drop every event it
//  is sent. Returns NULL with err filled: a bad endpoint, or 400 for a
//  certificate or broker key zjob_connect_apply refuses.
ZJOB_EXPORT zjob_events_t *
zjob_events_new_with (const char *endpoint, const zjob_connect_opts_t *opts,
                      zjob_error_t *err);

//  Close the subscriber. Accepts NULL; sets *self_p to NULL.
ZJOB_EXPORT void
zjob_events_destroy (zjob_events_t **self_p);

//  Subscribe to the events of job id, or of workflow_id, or of type (a
//  status name, "progress", "deleted"), each NULL for any; the most
//  specific of id and workflow_id is used, narrowed by type. All NULL
//  subscribes to every event. The broker learns of a subscription after
//  a short delay: events published before it arrives are not seen.
//  Returns 0, or -1 with err filled (a name that does not fit a topic).
ZJOB_EXPORT int
zjob_events_subscribe (zjob_events_t *self, const char *type, const char *workflow_id,
                       const char *id, zjob_error_t *err);

//  Undo one zjob_events_subscribe with the same arguments. 0 or -1.
ZJOB_EXPORT int
zjob_events_unsubscribe (zjob_events_t *self, const char *type, const char *workflow_id,
                         const char *id, zjob_error_t *err);

//  Receive the next event into event, waiting at most timeout_ms (-1:
//  forever). Returns 0, or -1 when none came in time or the wait was
//  interrupted (err: ZJOB_UNAVAILABLE). Malformed events are skipped, and
//  so is the repeat of an event that overlapping subscriptions deliver
//  twice in a row (same sequence number).
ZJOB_EXPORT int
zjob_events_recv (zjob_events_t *self, zjob_event_info_t *event, int timeout_ms,
                  zjob_error_t *err);

//  The SUB (XSUB with CURVE) socket, for a poll loop. Borrowed; do not
//  read from it.
ZJOB_EXPORT zsock_t *
zjob_events_sock (zjob_events_t *self);

#ifdef __cplusplus
}
#endif

#endif
