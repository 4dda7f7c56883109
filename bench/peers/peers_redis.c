/*  =========================================================================
    peers_redis - bench_peers: Redis's side of the pipelined scenarios

    redis-server (Debian's) on a loopback port of its own, in a fresh
    directory, without snapshots (--save ""), with the append-only file
    off for the window scenario and on with appendfsync always for the
    fsync one (every write fsynced before its reply, as zjob's file store
    with fsync=always). Clients through hiredis: a producer sends LPUSHes
    pipelined by the window (100: it appends them all, then reads the
    replies), a worker takes one job at a time with BRPOP, and waits for
    its reply in poll with its control pipe, to report its count when idle
    and end when the run is over.
    ========================================================================= */

#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "peers.h"

#define S_REDIS "/usr/bin/redis-server"

static redisContext *
s_connect (e2e_role_t *role)
{
    redisContext *redis = redisConnect ("127.0.0.1", atoi (role->endpoint));
    if (!redis || redis->err)
        e2e_fail (role, "connect", redis ? redis->errstr : "out of memory");
    return redis;
}

static void
s_producer (e2e_role_t *role)
{
    redisContext *redis = s_connect (role);
    char body [PEERS_BODY_SIZE];
    memset (body, 'x', sizeof body);
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    if (e2e_command (role, NULL) != 'G')
        exit (0);
    size_t share = peers_share (role), sent = 0, accepted = 0, refused = 0;
    size_t window = peers_setup->window;
    char first_error [200] = "";
    int64_t start = e2e_now_ns ();
    while (sent < share) {
        size_t count = share - sent < window ? share - sent : window;
        for (size_t i = 0; i < count; i++)
            redisAppendCommand (redis, "LPUSH %s %b", PEERS_TUBE, body, sizeof body);
        for (size_t i = 0; i < count; i++) {
            redisReply *reply;
            if (redisGetReply (redis, (void **) &reply) != REDIS_OK)
                e2e_fail (role, "LPUSH", redis->errstr);
            if (reply->type == REDIS_REPLY_INTEGER)
                accepted++;
            else if (refused++ == 0)
                snprintf (first_error, sizeof first_error, "%.180s",
                          reply->type == REDIS_REPLY_ERROR ? reply->str : "not an integer");
            freeReplyObject (reply);
        }
        sent += count;
    }
    e2e_report (role, E2E_REC_DONE, (int64_t) accepted, start, e2e_now_ns (), (int64_t) refused,
                first_error);
    while (e2e_command (role, NULL))
        ;  //  Until the run is over
    redisFree (redis);
}

//  Send a BRPOP and wait until its reply starts to come, reporting the
//  count when idle. 1 when it comes, 0 when the run is over.
static int
s_brpop (e2e_role_t *role, redisContext *redis, int64_t count, int64_t *reported, int64_t last)
{
    redisAppendCommand (redis, "BRPOP %s 0", PEERS_TUBE);
    int done = 0;
    while (!done)
        if (redisBufferWrite (redis, &done) != REDIS_OK)
            e2e_fail (role, "BRPOP", redis->errstr);
    return peers_wait (role, redis->fd, count, reported, last);
}

static void
s_worker (e2e_role_t *role)
{
    redisContext *redis = s_connect (role);
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    int64_t count = 0, reported = 0, last = 0;
    while (s_brpop (role, redis, count, &reported, last)) {
        redisReply *reply;
        if (redisGetReply (redis, (void **) &reply) != REDIS_OK)
            e2e_fail (role, "BRPOP", redis->errstr);
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
            || reply->element [1]->len != PEERS_BODY_SIZE)
            e2e_fail (role, "BRPOP", "not a job");
        freeReplyObject (reply);
        count++;
        last = e2e_now_ns ();
        if (count - reported >= PEERS_REPORT_EVERY)
            peers_progress (role, count, &reported, last);
    }
    redisFree (redis);
}

void
peers_redis_run (const peers_setup_t *setup, const char *dir, peers_result_t *result)
{
    peers_server_t server = { .port = peers_free_port () };
    char port [16], log [E2E_PATH_MAX], data [E2E_PATH_MAX];
    snprintf (port, sizeof port, "%d", server.port);
    snprintf (log, sizeof log, "%s/redis-%s.log", dir, setup->key);
    snprintf (data, sizeof data, "%s/redis-%s", dir, setup->key);
    if (server.port < 0 || zsys_dir_create ("%s", data)) {
        snprintf (result->why, sizeof result->why, "no free port or no directory %.200s", data);
        return;
    }
    char *argv [] = { S_REDIS, "--port", port, "--bind", "127.0.0.1", "--save", "",
                      "--dir", data, "--daemonize", "no", "--appendonly",
                      setup->fsync ? "yes" : "no", "--appendfsync", "always", NULL };
    if (peers_server_start (&server, argv, log, result->why, sizeof result->why) == 0) {
        peers_procs_t procs = { .server = server.pid, .producer_endpoint = port, .worker_endpoint = port };
        peers_run (setup, &procs, s_producer, s_worker, result);
        peers_server_stop (&server);
    }
    peers_remove_tree (data);
}
