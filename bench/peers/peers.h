/*  =========================================================================
    peers - what the parts of bench_peers share

    bench_peers (bench/bench_peers.c: the options, the matrix of scenarios,
    the rounds and the table) measures zjob and a peer on the same
    workload, one right after the other: beanstalkd for one job in flight
    per producer, Redis for pipelined producers (memory, and appendfsync
    always against zjob's file store with fsync=always). Its parts, one
    per file of bench/peers/:
      peers_run.c        one measured run: forked producers and workers,
                         their records followed, the rate and the CPU
                         per job of each role from /proc;
      peers_server.c     a peer's server (beanstalkd, redis-server) run
                         with fork and exec on a free loopback port;
      peers_zjob.c       zjob's side: a real zjobd, libzjob producers and
                         workers (the remote scenario through the proxy);
      peers_beanstalk.c  beanstalkd's side and its small text client;
      peers_redis.c      Redis's side, through hiredis;
      peers_proxy.c      the delaying TCP proxy of the remote scenario.
    The children, zjobd, the pipes of records and the CPU figures are
    bench_e2e's (bench/e2e/e2e_child.c, linked as objects): a producer or
    worker is an e2e_body_fn that reads its setup from peers_setup (set
    by the parent before it forks, so each child has its copy).
    ========================================================================= */

#ifndef PEERS_H_INCLUDED
#define PEERS_H_INCLUDED

#include "e2e.h"

#define PEERS_ROLES_MAX 64      //  producers, and workers, at most
#define PEERS_ROLES_MIN 1       //  and at least
#define PEERS_BODY_SIZE 100     //  bytes of every job's body (zjob: msgpack inputs)
#define PEERS_REPORT_EVERY 512  //  jobs between a worker's progress reports
#define PEERS_IDLE_MS 20        //  msecs without a job before a worker reports
#define PEERS_CONTROL_MS 100    //  msecs between an idle worker's looks at its pipe
#define PEERS_TUBE "bench"      //  beanstalkd tube, Redis list, zjob workflow

//  Who runs the scenario
typedef enum { PEERS_ZJOB = 0,
               PEERS_BEANSTALKD,
               PEERS_REDIS } peers_side_t;

//  One run: a side, its processes and its workload
typedef struct {
    const char *key;  //  the scenario's name for --only ("strict", ...)
    peers_side_t side;
    size_t producers;      //  producer processes
    size_t workers;        //  worker processes
    size_t jobs;           //  jobs in all
    size_t window;         //  jobs in flight per producer (1: synchronous)
    size_t slots;          //  zjob: slots per worker
    bool fsync;            //  zjob: file store fsync=always; Redis: appendfsync always
    int delay_ms;          //  zjob: ms each way through the proxy, -1: no proxy
    const char *prefetch;  //  zjob: ZJOB_WORKER_PREFETCH for the workers, NULL: unset
    int timeout_s;         //  secs the run may take
} peers_setup_t;

//  What a run measured
typedef struct {
    bool ok;              //  every job completed within the deadline
    char why [256];       //  what went wrong, when not ok
    double rate;          //  jobs/s: completed / (last completion - first submit)
    size_t done;          //  jobs the workers completed
    size_t refused;       //  submits refused
    double us_server;     //  CPU usecs per job: zjobd, beanstalkd or redis-server
    double us_producers;  //  same, all producers
    double us_workers;    //  same, all workers
    double us_proxy;      //  same, the delaying proxy (remote), else 0
    double busy;          //  CPU of all those processes, in cores
} peers_result_t;

//  The setup of the run under way, set by the parent before it forks the
//  run's children; each child reads its copy
extern const peers_setup_t *peers_setup;

//  --------------------------------------------------------------------------
//  peers_run.c

//  The processes of a run besides its producers and workers
typedef struct {
    pid_t server;                   //  the broker/server, whose CPU counts as "server"
    pid_t proxy;                    //  the delaying proxy, or 0
    const char *producer_endpoint;  //  what producers connect to
    const char *worker_endpoint;    //  what workers connect to
} peers_procs_t;

//  Run setup: fork its workers (each reports READY when it can take
//  jobs), then its producers (READY when connected), start them all at
//  once and follow their records until the workers completed every job
//  the producers got accepted, or the deadline; then stop them all.
//  Producers report DONE (accepted, first submit, last ack, refused),
//  workers PROGRESS (completed, -, last completion). Fills result.
void
peers_run (const peers_setup_t *setup, const peers_procs_t *procs, e2e_body_fn *producer,
           e2e_body_fn *worker, peers_result_t *result);

//  In a worker: report count completed, the last at last, if that is news
void
peers_progress (e2e_role_t *role, int64_t count, int64_t *reported, int64_t last);

//  In a worker: wait until fd is readable (1), reporting the count while
//  idle, or until the parent ends the run (0); what fails ends the child
int
peers_wait (e2e_role_t *role, int fd, int64_t count, int64_t *reported, int64_t last);

//  In a child: whether the parent closed the control pipe (the run is
//  over), looking without waiting
bool
peers_stopped (e2e_role_t *role);

//  In a producer: this producer's share of the setup's jobs
size_t
peers_share (const e2e_role_t *role);

//  --------------------------------------------------------------------------
//  peers_server.c: a peer's server

typedef struct {
    pid_t pid;                //  0 when not running
    int port;                 //  its loopback TCP port
    char log [E2E_PATH_MAX];  //  its stdout and stderr
} peers_server_t;

//  A TCP port on 127.0.0.1 that was free a moment ago, or -1
int
peers_free_port (void);

//  Run argv (argv [0] a path) with stdout and stderr to log, and wait
//  until server->port accepts a connection (at most E2E_READY_MS).
//  Returns 0, or -1 with why filled (it is then stopped).
int
peers_server_start (peers_server_t *server, char *const *argv, const char *log, char *why,
                    size_t size);

//  SIGTERM, wait (E2E_STOP_MS), then SIGKILL; reaps it
void
peers_server_stop (peers_server_t *server);

//  Remove path and all under it (a server's or a store's directory)
void
peers_remove_tree (const char *path);

//  A connected, blocking TCP socket to 127.0.0.1:port with TCP_NODELAY,
//  or -1
int
peers_connect (int port);

//  --------------------------------------------------------------------------
//  The sides: each runs setup on a fresh server (under dir) into result

void
peers_zjob_run (const peers_setup_t *setup, const char *dir, peers_result_t *result);

void
peers_beanstalk_run (const peers_setup_t *setup, const char *dir, peers_result_t *result);

void
peers_redis_run (const peers_setup_t *setup, const char *dir, peers_result_t *result);

//  --------------------------------------------------------------------------
//  peers_proxy.c: a child body. It listens on a free loopback port,
//  reports READY with "tcp://127.0.0.1:PORT" and forwards each connection
//  to 127.0.0.1:role->index, holding each chunk read for peers_setup's
//  delay_ms before writing it on, in both directions; it ends at EOF on
//  its control pipe.
void
peers_proxy (e2e_role_t *role);

#endif
