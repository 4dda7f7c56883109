/*  =========================================================================
    test_zjob_worker - what the worker library's tests share

    A client and workers on a broker actor in process, jobs submitted with
    small msgpack inputs, and waits with a deadline: for an engine event,
    a job's status, its results, what the broker's WORKERS says of a
    worker. Included by tests/test_zjob_worker*.c; its functions are static
    inline, so a file that uses some of them gets no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_WORKER_H_INCLUDED
#define TEST_ZJOB_WORKER_H_INCLUDED

#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "zjob_broker.h"
#include "helper_zjob_test.h"

#define DEADLINE_MS 5000  //  msecs any expected thing may take

//  --------------------------------------------------------------------------
//  Helpers

static inline void
s_broker_start (zjob_test_broker_t *broker, const char *store, const zjob_test_broker_t *like)
{
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start (broker, store, like, &err), 0, "broker: %s", err.text);
}

static inline zjob_client_t *
s_client (zjob_test_broker_t *broker)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (broker->clients, 2000, &err);
    cr_assert_not_null (client, "client: %s", err.text);
    return client;
}

static inline zjob_worker_t *
s_worker (zjob_test_broker_t *broker, const char *name, const char *workflow, size_t slots)
{
    zjob_error_t err;
    const char *workflows [] = { workflow };
    zjob_worker_t *worker = zjob_worker_new (broker->workers, name, workflows, 1, slots, &err);
    cr_assert_not_null (worker, "worker: %s", err.text);
    return worker;
}

//  A msgpack map {key: value} written into buffer (MAP_MAX bytes)
#define MAP_MAX 64
static inline const uint8_t *
s_map (const char *key, int64_t value, uint8_t *buffer, size_t *size_p)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_int64 (&pk, value);
    if (sbuf.size <= MAP_MAX)
        memcpy (buffer, sbuf.data, sbuf.size);
    *size_p = sbuf.size <= MAP_MAX ? sbuf.size : 0;
    msgpack_sbuffer_destroy (&sbuf);
    return buffer;
}

//  The integer at key in the msgpack map data, or fallback
static inline int64_t
s_map_int (const uint8_t *data, size_t size, const char *key, int64_t fallback)
{
    int64_t value = fallback;
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    if (data && msgpack_unpack_next (&result, (const char *) data, size, NULL) == MSGPACK_UNPACK_SUCCESS
        && result.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < result.data.via.map.size; i++) {
            msgpack_object_kv *kv = &result.data.via.map.ptr [i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen (key)
                && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0
                && (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER
                    || kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER))
                value = kv->val.via.i64;
        }
    msgpack_unpacked_destroy (&result);
    return value;
}

//  Submit one job of workflow with {key: value} inputs; returns its id
static inline void
s_submit (zjob_client_t *client, const char *workflow, const char *key, int64_t value,
          zjob_priority_t priority, char *id)
{
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *inputs = s_map (key, value, buffer, &size);
    zjob_spec_t spec = { .workflow_id = workflow, .inputs = inputs, .inputs_size = size, .priority = priority };
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
}

//  Run the engine until it has an event of kind (other events are a
//  failure), at most DEADLINE_MS. Returns the task.
static inline zjob_task_t *
s_expect (zjob_worker_t *worker, int kind)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        int got = zjob_worker_recv (worker, 20, &task, NULL);
        if (got == ZJOB_WORKER_NOTHING)
            continue;
        cr_assert_eq (got, kind, "expected event %d, got %d", kind, got);
        return task;
    }
    cr_assert_fail ("no event %d within %d ms", kind, DEADLINE_MS);
    return NULL;
}

//  Poll the job's status until it is status, keeping the engine (if any)
//  alive meanwhile; no engine event may come. At most DEADLINE_MS.
static inline void
s_expect_status (zjob_client_t *client, const char *id, int status, zjob_worker_t *worker)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    int now = -1;
    zjob_error_t err;
    while (zjob_mono_ms () < deadline) {
        now = zjob_client_status (client, id, &err);
        if (now == status)
            return;
        if (worker) {
            zjob_task_t *task;
            cr_assert_eq (zjob_worker_recv (worker, 10, &task, NULL), ZJOB_WORKER_NOTHING);
        }
        else
            zclock_sleep (10);
    }
    cr_assert_fail ("job %s is %s, not %s", id, now < 0 ? err.text : zjob_status_name (now),
                    zjob_status_name (status));
}

//  Keep the engine alive for ms, expecting no event
static inline void
s_pump (zjob_worker_t *worker, int ms)
{
    int64_t until = zjob_mono_ms () + ms;
    while (zjob_mono_ms () < until) {
        zjob_task_t *task;
        cr_assert_eq (zjob_worker_recv (worker, 10, &task, NULL), ZJOB_WORKER_NOTHING);
    }
}

//  The RESULTS of a job: status, outputs[key] or error kind
static inline void
s_expect_results (zjob_client_t *client, const char *id, const char *status,
                  const char *key, int64_t value, const char *error_kind)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_results (client, id, &err);
    cr_assert_not_null (reply, "results of %s: %s", id, err.text);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    cr_assert_str_eq (zjob_msg_str (msg, "status"), status);
    if (key) {
        size_t size;
        const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
        cr_assert_eq (s_map_int (outputs, size, key, -999), value);
    }
    if (error_kind)
        cr_assert_str_eq (zjob_msg_str (msg, "error_kind"), error_kind);
    zjob_reply_destroy (&reply);
}

//  What the broker's WORKERS says of worker_id: its slots and credit, or
//  false if it is not listed
static inline bool
s_worker_listed (zjob_client_t *client, const char *worker_id, uint64_t *slots_p,
                 uint64_t *credit_p)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_workers (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (zjob_reply_msg (reply), "workers");
    cr_assert (workers && workers->type == MSGPACK_OBJECT_ARRAY);
    bool found = false;
    for (uint32_t i = 0; i < workers->via.array.size && !found; i++) {
        const msgpack_object *map = &workers->via.array.ptr [i];
        uint64_t values [2] = { 0, 0 };
        bool mine = false;
        for (uint32_t k = 0; map->type == MSGPACK_OBJECT_MAP && k < map->via.map.size; k++) {
            const msgpack_object *key = &map->via.map.ptr [k].key;
            const msgpack_object *val = &map->via.map.ptr [k].val;
            if (key->type != MSGPACK_OBJECT_STR)
                continue;
            const char *names [] = { "slots", "credit" };
            for (int n = 0; n < 2; n++)
                if (key->via.str.size == strlen (names [n])
                    && memcmp (key->via.str.ptr, names [n], key->via.str.size) == 0
                    && val->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    values [n] = val->via.u64;
            if (key->via.str.size == 9 && memcmp (key->via.str.ptr, "worker_id", 9) == 0
                && val->type == MSGPACK_OBJECT_STR && val->via.str.size == strlen (worker_id)
                && memcmp (val->via.str.ptr, worker_id, val->via.str.size) == 0)
                mine = true;
        }
        if (mine) {
            found = true;
            *slots_p = values [0];
            *credit_p = values [1];
        }
    }
    zjob_reply_destroy (&reply);
    return found;
}

//  The job is queued and was never handed out
static inline void
s_expect_unattempted (zjob_client_t *client, const char *id)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_QUEUED, "job %s is %s", id, zjob_status_name (job->status));
    cr_assert_eq (job->attempts, 0, "job %s was handed out %u times", id,
                  (unsigned) job->attempts);
    zjob_job_destroy (&job);
}

#endif
